import os
import subprocess
import sys
import types

import pytest
import yaml

from textseg import methods
from textseg.config import (BACKBONE_NAMES, DEFAULTS, TRUNK_NAMES, ConfigError, dump_config,
                            load_config, save_config)

FAKE = {"HEAD_DEFAULTS": {"stride": 4, "width": 8}, "TARGET_DEFAULTS": {"shrink": 0.4},
        "LOSS_DEFAULTS": {"weights": [1.0, 2.0]}, "DECODE_DEFAULTS": {"threshold": 0.5, "nms": None}}
BASE = {"model": {"head": {"method": "fake"}}}


@pytest.fixture(autouse=True)
def fake_method(monkeypatch):
    """A method 'fake' with option defaults, so these tests need no real method."""
    pkg = types.ModuleType("textseg_fake_method")
    for k, v in FAKE.items():
        setattr(pkg, k, v)
    monkeypatch.setitem(sys.modules, "textseg_fake_method", pkg)
    monkeypatch.setitem(methods.METHODS, "fake", "textseg_fake_method")


def error(source, overrides=()):
    with pytest.raises(ConfigError) as e:
        load_config(source, overrides)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_defaults_merged_with_method_sections():
    cfg = load_config(BASE)
    assert set(cfg) == {"model", "data", "train", "infer"}
    assert cfg["model"]["head"] == {"method": "fake", "stride": 4, "width": 8}
    assert cfg["model"]["targets"] == {"shrink": 0.4}
    assert cfg["model"]["loss"] == {"weights": [1.0, 2.0]}
    assert cfg["infer"]["decode"] == {"threshold": 0.5, "nms": None}
    assert cfg["model"]["backbone"] == DEFAULTS["model"]["backbone"]
    assert cfg["train"]["optimizer"]["betas"] == [0.9, 0.999]
    assert cfg["data"]["augment"]["scale"] == [0.5, 2.0] and cfg["data"]["synth"] is None
    assert cfg["infer"]["resize"]["policy"] == "document"
    FAKE["TARGET_DEFAULTS"]["shrink"] = 0.4  # the method's dict is copied, not shared
    cfg["model"]["targets"]["shrink"] = 9
    assert load_config(BASE)["model"]["targets"]["shrink"] == 0.4


def test_overrides_are_parsed_as_yaml_and_typed():
    cfg = load_config(BASE, ["train.optimizer.lr=1e-4", "train.clip_grad=1", "model.trunk.name=fcn",
                             "model.trunk.variant=16s", "data.augment.scale=[1, 1.5]",
                             "model.head.width=12", "infer.decode.nms=[1, 2]", "train.amp=bf16",
                             "data.val=/some/dir", "model.backbone.pretrained=r50.pth"])
    assert cfg["train"]["optimizer"]["lr"] == 1e-4
    assert cfg["train"]["clip_grad"] == 1.0 and isinstance(cfg["train"]["clip_grad"], float)
    assert cfg["model"]["trunk"] == {"name": "fcn", "channels": 256, "variant": "16s", "fc": False,
                                     "fuse_kernel": 3}
    assert cfg["data"]["augment"]["scale"] == [1.0, 1.5]
    assert cfg["model"]["head"]["width"] == 12 and cfg["infer"]["decode"]["nms"] == [1, 2]
    assert cfg["train"]["amp"] == "bf16" and cfg["data"]["val"] == "/some/dir"
    # the caller's dict is left alone
    assert BASE == {"model": {"head": {"method": "fake"}}}


def test_training_sources_and_synth():
    cfg = load_config(BASE, ["data.level=line", "data.train=[a, {path: b, ratio: 2, level: word}]",
                             "data.synth.on_the_fly=true"])
    assert cfg["data"]["train"] == [{"path": "a", "ratio": 1.0, "level": "line"},
                                    {"path": "b", "ratio": 2.0, "level": "word"}]
    assert cfg["data"]["synth"] == {"dir": None, "on_the_fly": True, "ratio": 1.0, "seed": 0}
    assert "data.train[0].path" in error(BASE, ["data.train=[{ratio: 1}]"])
    assert "data.train[0].level" in error(BASE, ["data.train=[{path: a, level: page}]"])
    assert "data.synth" in error(BASE, ["data.synth.ratio=0.5"])


def test_unknown_key_names_the_full_path_and_the_allowed_keys():
    msg = error(BASE, ["model.trunk.chanels=3"])
    assert "model.trunk.chanels" in msg and "unknown key" in msg
    assert "name, channels, variant, fc" in msg
    assert "model.head.depth" in error(BASE, ["model.head.depth=3"])
    assert "width" in error(BASE, ["model.head.depth=3"])
    assert "top level" in error({**BASE, "trian": {}})
    assert "infer.decode.thresh" in error({**BASE, "infer": {"decode": {"thresh": 0.3}}})


@pytest.mark.parametrize("override,key,allowed", [
    ("model.trunk.name=resnet", "model.trunk.name", "fcn, unet, fpn"),
    ("model.backbone.name=resnet51", "model.backbone.name", "resnet18, resnet34, resnet50"),
    ("train.optimizer.name=rmsprop", "train.optimizer.name", "adam, adamw, sgd"),
    ("train.schedule.name=step", "train.schedule.name", "poly, cosine, constant"),
    ("train.amp=fp32", "train.amp", "null, bf16, fp16"),
    ("infer.resize.policy=auto", "infer.resize.policy", "document, fixed"),
    ("model.trunk.variant=4s", "model.trunk.variant", "8s, 16s, 32s"),
    ("model.head.method=nope", "model.head.method", "fake"),
])
def test_bad_names_list_the_allowed_values(override, key, allowed):
    msg = error(BASE, [override])
    assert key in msg and allowed in msg and override in msg


@pytest.mark.parametrize("override,key,want", [
    ("train.steps=abc", "train.steps", "an integer"),
    ("train.steps=2.5", "train.steps", "an integer"),
    ("train.optimizer.lr=fast", "train.optimizer.lr", "a number"),
    ("model.backbone.frozen_bn=1", "model.backbone.frozen_bn", "true or false"),
    ("data.level=3", "data.level", "word, line"),
    ("train.device=1", "train.device", "a string"),
    ("data.augment.scale=[1, 2, 3]", "data.augment.scale", "a list of 2 numbers"),
    ("model.trunk.channels=0", "model.trunk.channels", ">= 1"),
    ("model.backbone.frozen_stages=5", "model.backbone.frozen_stages", "-1..4"),
    ("model.trunk=fpn", "model.trunk", "a mapping"),
    ("model.trunk.fc=true", "model.trunk.fc", "fcn"),
    ("model.trunk.variant=8s", "model.trunk.variant", "fcn"),
    ("model.backbone.pretrained=3", "model.backbone.pretrained", "a path"),
    ("model.head.method=[east]", "model.head.method", "fake"),
])
def test_bad_values_name_the_key_and_the_type(override, key, want):
    msg = error(BASE, [override])
    assert key in msg and want in msg


def test_malformed_overrides():
    assert "key.sub=value" in error(BASE, ["train.steps"])
    assert "not valid YAML" in error(BASE, ["train.steps=[1"])
    assert "train.steps: expected an integer" in error(BASE, ["train.steps.max=3"])
    msg = error({**BASE, "train": {"steps": 5}}, ["train.steps.max=3"])
    assert "train.steps is a value, not a section" in msg


def test_errors_in_a_file_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  head: {method: fake}\n  trunk:\n    name: resnet\n")
    msg = error(str(path))
    assert msg.startswith(f"{path}:4: model.trunk.name")
    path.write_text("model:\n  head: {method: fake}\ntrain:\n  optimizer:\n    lr: [\n")
    assert error(str(path)).startswith(f"{path}:")
    assert "not found" in error(str(tmp_path / "missing.yaml"))
    path.write_text("- a\n- b\n")
    assert "mapping" in error(str(path))


def test_missing_method_package_is_a_config_error(monkeypatch):
    monkeypatch.setitem(methods.METHODS, "ghost", "textseg.methods.ghost_does_not_exist")
    msg = error({"model": {"head": {"method": "ghost"}}})
    assert "model.head.method" in msg and "not available" in msg


def test_round_trip_through_yaml_is_identity(tmp_path):
    cfg = load_config(BASE, ["model.trunk.name=unet", "model.trunk.channels=64", "data.train=[x]"])
    assert load_config(cfg) == cfg  # a checkpoint's config loads again unchanged
    save_config(cfg, tmp_path / "c.yaml")
    assert load_config(str(tmp_path / "c.yaml")) == cfg
    assert yaml.safe_load(dump_config(cfg)) == cfg


def test_names_match_the_model_tables():
    from textseg.model import BACKBONES, TRUNKS

    assert set(BACKBONE_NAMES) == set(BACKBONES) and set(TRUNK_NAMES) == set(TRUNKS)


def test_config_does_not_import_torch():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = "import sys, textseg.config; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


def test_method_choices_are_checked():
    from textseg.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="model.head.geometry.*rbox, quad"):
        load_config({"model": {"head": {"method": "east", "geometry": "hexagon"}}})


def test_infer_pad_defaults_to_zero_and_is_a_fraction():
    assert load_config(BASE)["infer"]["pad"] == 0.0
    assert load_config(BASE, ["infer.pad=0.03"])["infer"]["pad"] == 0.03
    assert "infer.pad" in error(BASE, ["infer.pad=1.5"])
    assert "infer.pad" in error(BASE, ["infer.pad=-0.1"])
