"""The command-line tools other than detect on bad input, run as a user runs them (a
subprocess from the repository root): exit code 2, one line naming the file (and line), no
traceback, nothing half-written. Also the library errors behind them: weights of another
model, ONNX files that are not textseg exports."""

import json
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from conftest import ROOT

TINY = ["model.backbone.name=resnet18", "model.backbone.width=0.125", "model.trunk.channels=8",
        "model.head.channels=8"]
EAST = os.path.join(ROOT, "configs", "east_fpn_r50.yaml")


def tool(name, *args, timeout=180):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8")
    p = subprocess.run([sys.executable, os.path.join("tools", name), *map(str, args)], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=timeout)
    return p


def one_line_error(p, *words):
    """Exit 2, stderr is a single ``error: ...`` line holding every word."""
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert "Traceback" not in p.stderr
    for w in words:
        assert str(w) in lines[0], (w, lines[0])
    return lines[0]


def stray_files(folder):
    """Temporary or partial files left in ``folder``."""
    return [f for f in os.listdir(folder) if f.startswith(".") or f.endswith(".tmp")]


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    """A tiny PSENet checkpoint."""
    from textseg.checkpoint import save_checkpoint
    from textseg.config import load_config
    from textseg.model import build_model

    cfg = load_config(os.path.join(ROOT, "configs", "pse_fpn_r50.yaml"), TINY)
    path = tmp_path_factory.mktemp("ckpt") / "pse.pt"
    save_checkpoint(str(path), build_model(cfg, load_pretrained=False), cfg)
    return path


# ----------------------------------------------------------------------------- eval

def test_eval_bad_inputs(tmp_path):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    (gt / "gt_img_1.txt").write_text("0,0,10,0,10,10,0,10,a\n1,2,3\n")
    (pred / "res_img_1.txt").write_text("0,0,10,0,10,10,0,10\n")
    one_line_error(tool("eval.py", "--gt", gt, "--pred", pred), "gt_img_1.txt:2:")
    (gt / "gt_img_1.txt").write_text("0,0,10,0,10,10,0,10,a\n")
    (pred / "res_img_7.txt").write_text("0,0,10,0,10,10,0,10\n")
    one_line_error(tool("eval.py", "--gt", gt, "--pred", pred), "res_img_7.txt", "no ground truth")
    (pred / "res_img_7.txt").unlink()
    (pred / "res_img_1.txt").write_text("0,0,10,0,10,10,0,10\n0,0,nan,0,10,10,0,10\n")
    one_line_error(tool("eval.py", "--gt", gt, "--pred", pred), "res_img_1.txt:2:")
    (pred / "res_img_1.txt").write_bytes(b"\xff\xfe\x00 binary\n")
    one_line_error(tool("eval.py", "--gt", gt, "--pred", pred), "res_img_1.txt", "UTF-8")
    one_line_error(tool("eval.py", "--gt", tmp_path / "nogt", "--pred", pred), "nogt", "not found")
    one_line_error(tool("eval.py", "--gt", gt, "--pred", tmp_path / "nop"), "nop", "not found")
    (pred / "res_img_1.txt").write_text("0,0,10,0,10,10,0,10\n")
    p = tool("eval.py", "--gt", gt, "--pred", pred, "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["hmean"] == 1.0


def test_eval_model_mode_bad_checkpoint(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_text("not a model")
    data = tmp_path / "data"
    data.mkdir()
    one_line_error(tool("eval.py", "--checkpoint", junk, "--data", data), "junk.pt",
                   "not a PyTorch file")



def test_eval_model_mode_ground_truth_rules_match_folder_mode(tmp_path, tiny_ckpt):
    """A malformed GT line is an error naming file:line unless --lenient, as in folder mode."""
    from PIL import Image

    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "words").mkdir()
    Image.fromarray(np.full((64, 96, 3), 255, np.uint8)).save(data / "images" / "img_1.png")
    (data / "words" / "gt_img_1.txt").write_text("0,0,10,0,10,10,0,10,a\n1,2,3\n")
    one_line_error(tool("eval.py", "--checkpoint", tiny_ckpt, "--data", data), "gt_img_1.txt:2:")
    p = tool("eval.py", "--checkpoint", tiny_ckpt, "--data", data, "--lenient", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1])["gt_care"] == 1


def test_eval_and_detector_take_a_configs_infer_section(tmp_path, tiny_ckpt):
    from textseg.config import ConfigError
    from textseg.detector import Detector

    det = Detector.from_checkpoint(str(tiny_ckpt))
    stride = det.decode_cfg["stride"]
    cfg = tmp_path / "strict.yaml"
    cfg.write_text("model: {head: {method: pse}}\n"
                   "infer: {resize: {policy: fixed, long_side: 320}, decode: {box_thresh: 0.95}}\n")
    det.use_infer_config(str(cfg))
    assert det.decode_cfg["box_thresh"] == 0.95 and det.decode_cfg["stride"] == stride
    assert det.resize["policy"] == "fixed" and det.input_size(640, 480) == (320, 240)
    with pytest.raises(ConfigError, match="method 'east'"):
        det.use_infer_config(EAST)
    data = tmp_path / "data"
    data.mkdir()
    one_line_error(tool("eval.py", "--checkpoint", tiny_ckpt, "--data", data, "--config", EAST),
                   "east_fpn_r50.yaml", "method 'east'")


# ----------------------------------------------------------------------------- train

def test_train_config_override_error(tmp_path):
    wd = tmp_path / "wd"
    one_line_error(tool("train.py", "--config", EAST, "--work-dir", wd, "model.trunk.chanels=8"),
                   "model.trunk.chanels", "unknown key", "channels")
    # a bad key in the YAML file and a missing --data folder: tests/test_training.py;
    # a work dir that cannot be created: tests/test_train_interrupt.py



def test_train_bad_validation_folder_and_intervals_fail_before_training(tmp_path, synth_dir):
    wd = tmp_path / "wd"
    args = ["--config", EAST, "--data", synth_dir, "--work-dir", wd, *TINY]
    one_line_error(tool("train.py", *args, "--val", tmp_path / "nope"), "nope", "not found")
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(tool("train.py", *args, "--val", empty), "empty", "ground truth")
    one_line_error(tool("train.py", *args, "train.log_every=0"), "train.log_every", ">= 1")
    one_line_error(tool("train.py", *args, "model.backbone.width=0"), "model.backbone.width")
    assert not (wd / "last.pt").exists()


def test_train_resume_from_bad_checkpoints(tmp_path, tiny_ckpt):
    wd = tmp_path / "wd"
    wd.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    args = ["--config", EAST, "--data", data, "--work-dir", wd, "--resume", *TINY]
    one_line_error(tool("train.py", *args), "last.pt", "not found")
    good = tiny_ckpt.read_bytes()
    (wd / "last.pt").write_bytes(good[: len(good) // 3])
    one_line_error(tool("train.py", *args), "last.pt", "truncated")
    (wd / "last.pt").write_bytes(good)  # a PSENet checkpoint into an EAST model
    one_line_error(tool("train.py", *args), "last.pt", "do not fit")
    assert (wd / "last.pt").read_bytes() == good and not stray_files(wd)


# ----------------------------------------------------------------------------- export_onnx

def test_export_onnx_bad_inputs(tmp_path, tiny_ckpt):
    out = tmp_path / "out"
    out.mkdir()
    notes = tmp_path / "notes.pt"
    notes.write_text("hello\n")
    one_line_error(tool("export_onnx.py", "--checkpoint", notes, "--out", out / "m.onnx"),
                   "notes.pt", "not a PyTorch file")
    good = tiny_ckpt.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good[: len(good) // 2])
    one_line_error(tool("export_onnx.py", "--checkpoint", cut, "--out", out / "m.onnx"),
                   "cut.pt", "truncated")
    assert os.listdir(out) == []
    existing = out / "m.onnx"
    existing.write_bytes(b"keep me")
    one_line_error(tool("export_onnx.py", "--checkpoint", tiny_ckpt, "--out", existing),
                   "m.onnx", "--overwrite")
    assert existing.read_bytes() == b"keep me" and os.listdir(out) == ["m.onnx"]


# ----------------------------------------------------------------------------- small tools

def test_make_synth_refuses_a_non_empty_folder(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "mine.txt").write_text("precious")
    one_line_error(tool("make_synth.py", "--n", "1", "--out", out, "--no-progress"), out,
                   "not empty", "--overwrite")
    assert os.listdir(out) == ["mine.txt"] and (out / "mine.txt").read_text() == "precious"
    f = tmp_path / "file"
    f.write_text("x")
    one_line_error(tool("make_synth.py", "--n", "1", "--out", f, "--no-progress"), f,
                   "not a folder")


def test_show_data_and_check_targets_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(tool("show_data.py", "--data", empty, "--out", tmp_path / "o"), empty,
                   "no image")
    assert not (tmp_path / "o").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  head: {method: nope}\n")
    one_line_error(tool("check_targets.py", "--config", bad, "--data", empty), "bad.yaml:2",
                   "model.head.method", "east")
    one_line_error(tool("check_targets.py", "--config", EAST, "--data", empty), empty)


# ----------------------------------------------------------------------------- library

def test_weights_of_another_model_are_refused(tiny_ckpt):
    import torch

    from textseg.checkpoint import CheckpointError, load_checkpoint, load_weights
    from textseg.config import load_config
    from textseg.model import build_model

    state = load_checkpoint(str(tiny_ckpt))["model"]
    for cfg_path, extra, words in [
            (EAST, [], ["do not fit", "missing", "unexpected"]),                 # other method
            (os.path.join(ROOT, "configs", "pse_unet_r50.yaml"), [], ["do not fit"]),  # trunk
            (os.path.join(ROOT, "configs", "pse_fpn_r50.yaml"), ["model.head.kernel_num=3"],
             ["other shapes"])]:
        model = build_model(load_config(cfg_path, TINY + extra), load_pretrained=False)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        with pytest.raises(CheckpointError) as e:
            load_weights(model, state, str(tiny_ckpt))
        msg = str(e.value)
        assert str(tiny_ckpt) in msg and "\n" not in msg
        assert all(w in msg for w in words), msg
        assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def _onnx_file(path, n_inputs=1, metadata=None):
    inputs = [helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, [1, 3, "h", "w"])
              for i in range(n_inputs)]
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, "h", "w"])
    node = helper.make_node("Identity" if n_inputs == 1 else "Add", [i.name for i in inputs], ["y"])
    model = helper.make_model(helper.make_graph([node], "g", inputs, [out]),
                              opset_imports=[helper.make_opsetid("", 17)])
    for k, v in (metadata or {}).items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=k, value=v))
    onnx.save(model, str(path))
    return str(path)


def test_onnx_files_that_are_not_textseg_exports(tmp_path, tiny_ckpt):
    from textseg.checkpoint import load_checkpoint
    from textseg.config import to_plain
    from textseg.detector import ONNX_CONFIG_KEY, Detector, ModelError

    cfg = json.dumps(to_plain(load_checkpoint(str(tiny_ckpt))["config"]))
    cases = [
        (_onnx_file(tmp_path / "plain.onnx"), "no textseg metadata"),
        (_onnx_file(tmp_path / "two.onnx", 2, {ONNX_CONFIG_KEY: cfg}), "one (N, 3, H, W)"),
        (_onnx_file(tmp_path / "json.onnx", 1, {ONNX_CONFIG_KEY: "{not json"}), "damaged"),
        (_onnx_file(tmp_path / "method.onnx", 1,
                    {ONNX_CONFIG_KEY: json.dumps({"model": {"head": {"method": "yolo"}}})}),
         "damaged"),
    ]
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(np.random.default_rng(0).bytes(500))
    cases.append((str(junk), "not a loadable ONNX model"))
    for path, words in cases:
        with pytest.raises(ModelError) as e:
            Detector.from_onnx(path)
        assert str(e.value).startswith(path + ": ") and words in str(e.value), str(e.value)
        assert "\n" not in str(e.value)
    # the same through the CLI: one line, exit 2
    one_line_error(tool("detect.py", tmp_path, "--model", tmp_path / "two.onnx"), "two.onnx")


def test_checkpoint_with_a_foreign_config_names_the_file(tmp_path, tiny_ckpt):
    import torch

    ckpt = torch.load(str(tiny_ckpt), weights_only=True)
    ckpt["config"]["model"]["trunk"]["new_option"] = 1  # e.g. from a newer textseg
    path = tmp_path / "newer.pt"
    torch.save(ckpt, str(path))
    img = tmp_path / "a.png"
    from PIL import Image

    Image.new("RGB", (32, 32), "white").save(img)
    one_line_error(tool("detect.py", img, "--model", path), "newer.pt", "new_option")


def test_make_synth_set_changes_generator_settings_and_checks_them(tmp_path):
    out = tmp_path / "data"
    p = tool("make_synth.py", "--n", "1", "--out", out, "--no-progress", "--seed", "3",
             "--set", "p_narrow_space=0.7", "--set", "templates.receipt=1",
             "--set", "templates.article=0")
    assert p.returncode == 0, p.stderr
    cfg = json.loads((out / "manifest.json").read_text())["config"]
    assert cfg["p_narrow_space"] == 0.7
    assert cfg["templates"]["receipt"] == 1 and cfg["templates"]["article"] == 0
    assert cfg["templates"]["boxform"] > 0  # the other shares are kept
    bad = tmp_path / "bad"
    for setting, words in [("p_nope=1", ("p_nope", "unknown key")),
                           ("templates.nope=1", ("nope", "unknown template")),
                           ("p_photocopy=abc", ("p_photocopy", "number")),
                           ("p_photocopy=1.5", ("p_photocopy", "probability")),
                           ("templates.form=-1", ("templates.form", "share")),
                           ("p_photocopy", ("KEY=VALUE",)),
                           ("dpi_range=[50,60]", ("--dpi-range",))]:
        one_line_error(tool("make_synth.py", "--n", "1", "--out", bad, "--no-progress",
                            "--set", setting), "--set", *words)
        assert not bad.exists()
