"""Detector.load (overrides validated once, at start-up), config.with_infer and the error
base every user-facing error inherits."""

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, tiny_config
from textseg import errors
from textseg.config import ConfigError, with_infer
from textseg.detector import Detector

EAST = os.path.join(ROOT, "configs", "east_fpn_r50.yaml")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    from textseg.checkpoint import save_checkpoint
    from textseg.model import build_model

    cfg = tiny_config("pse")
    path = tmp_path_factory.mktemp("load") / "pse.pt"
    save_checkpoint(str(path), build_model(cfg, load_pretrained=False), cfg)
    return str(path)


def one_line(exc_info):
    msg = str(exc_info.value)
    assert "\n" not in msg
    return msg


def test_load_applies_overrides_on_top_of_a_config(ckpt, tmp_path):
    plain = Detector.load(ckpt, threads=1)
    assert plain.method == "pse" and plain.spec.name == "pse"
    assert plain.decode_cfg == Detector.from_checkpoint(ckpt).decode_cfg
    det = Detector.load(ckpt, decode=["min_area=20", "polygon=true"], threshold=0.9, max_side=256)
    assert det.decode_cfg["min_area"] == 20.0 and det.decode_cfg["polygon"] is True
    assert det.decode_cfg["box_thresh"] == 0.9  # PSENet's main threshold
    assert det.resize["max_side"] == 256 and det.cfg["infer"]["resize"]["max_side"] == 256
    assert det.decode_cfg["stride"] == plain.decode_cfg["stride"]
    assert Detector.load(ckpt, decode={"box_thresh": 0.5}).decode_cfg["box_thresh"] == 0.5
    cfg = tmp_path / "fixed.yaml"
    cfg.write_text("model: {head: {method: pse}}\n"
                   "infer: {resize: {policy: fixed, long_side: 320}, decode: {box_thresh: 0.95}}\n")
    det = Detector.load(ckpt, config=str(cfg), decode=["box_thresh=0.7"])
    assert det.resize["policy"] == "fixed" and det.decode_cfg["box_thresh"] == 0.7
    assert det.input_size(640, 480) == (320, 240)
    page = np.full((64, 80, 3), 255, np.uint8)
    assert isinstance(det(page), list)


def test_load_refuses_bad_settings_before_any_image(ckpt):
    with pytest.raises(ConfigError) as e:
        Detector.load(ckpt, decode=["min_area=abc"])
    assert "infer.decode.min_area" in one_line(e) and "abc" in str(e.value)
    with pytest.raises(ConfigError) as e:
        Detector.load(ckpt, decode=["box_threshold=0.9"])
    assert "box_threshold" in one_line(e) and "box_thresh" in str(e.value)
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        Detector.load(ckpt, decode=["min_area"])
    with pytest.raises(ConfigError, match="max_side"):
        Detector.load(ckpt, max_side=8)
    with pytest.raises(ConfigError, match="method 'east'"):
        Detector.load(ckpt, config=EAST)


def test_with_infer_takes_infer_keys_only():
    cfg = tiny_config("east")
    out = with_infer(cfg, overrides=["infer.decode.score_thresh=0.5", "infer.batch_size=2"])
    assert out["infer"]["decode"]["score_thresh"] == 0.5 and out["infer"]["batch_size"] == 2
    assert cfg["infer"]["decode"]["score_thresh"] == 0.8  # the caller's config is left alone
    assert out["model"] == cfg["model"]
    with pytest.raises(ConfigError, match="only infer"):
        with_infer(cfg, overrides=["train.steps=3"])
    with pytest.raises(ConfigError, match="override 'infer.decode.nms_thresh=x'"):
        with_infer(cfg, overrides=["infer.decode.nms_thresh=x"])
    assert with_infer(cfg, EAST)["infer"] == with_infer(cfg, {"model": {"head": {"method": "east"}}})[
        "infer"]


def test_every_user_error_inherits_the_base_and_keeps_its_builtin_one():
    from textseg.backbones import PretrainedError
    from textseg.checkpoint import CheckpointError
    from textseg.data.dataset import DataError
    from textseg.data.icdar import GTFormatError
    from textseg.data.images import ImageLoadError
    from textseg.evaluation import EvaluationError
    from textseg.export import ExportError
    from textseg.fileio import OutputDirError
    from textseg.training import TrainingError

    for cls in (ConfigError, CheckpointError, DataError, GTFormatError, ImageLoadError,
                EvaluationError, ExportError, OutputDirError, TrainingError, PretrainedError,
                errors.ModelError):
        assert issubclass(cls, errors.TextsegError), cls
    for cls in (ConfigError, GTFormatError, EvaluationError, PretrainedError):
        assert issubclass(cls, ValueError), cls
    assert issubclass(OutputDirError, OSError)
    assert str(GTFormatError("a.txt", 3, "bad")) == "a.txt:3: bad"
    assert ConfigError("x", "a.b").key == "a.b"


def test_tools_classify_errors_by_type():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import _common
    finally:
        sys.path.pop(0)

    class NewError(errors.TextsegError):
        pass

    assert _common.is_user_error(NewError("x")) and _common.is_user_error(FileNotFoundError())
    assert not _common.is_user_error(ValueError("a bug")) and not _common.is_user_error(KeyError())


def test_detect_cli_bad_decode_value_is_one_line_at_start(ckpt, tmp_path):
    from PIL import Image

    for i in range(2):
        Image.fromarray(np.full((40, 60, 3), 255, np.uint8)).save(tmp_path / f"p{i}.png")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "detect.py"),
                        str(tmp_path / "p0.png"), str(tmp_path / "p1.png"), "--model", ckpt,
                        "--decode", "min_area=abc", "--no-progress"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 2 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "min_area" in lines[0] and lines[0].startswith("error: ")
