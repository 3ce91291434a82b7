"""Trainable weights back from an exported ONNX model (BatchNorm folded at export)."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT, tiny_config
from textseg.export import synthetic_page

PAGE = synthetic_page(h=200, w=160, seed=4)


def _trained_like(method, trunk="fpn", seed=0):
    """A tiny model whose BatchNorms are not at their init (as a trained model's are)."""
    from textseg.model import build_model

    torch.manual_seed(seed)
    cfg = tiny_config(method, trunk, model__head__channels=8)
    model = build_model(cfg)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
    return model.eval(), cfg


def _export(model, cfg, path):
    from textseg.export import export_onnx

    export_onnx(model, str(path), cfg, check_image=PAGE, check_sides=(96,))
    return str(path)


@pytest.mark.parametrize("method,trunk", [("pse", "fpn"), ("db", "fpn"), ("east", "unet")])
def test_rebuilt_model_reproduces_the_onnx_outputs(tmp_path, method, trunk):
    from textseg.onnx_import import weights_from_onnx

    model, cfg = _trained_like(method, trunk)
    path = _export(model, cfg, tmp_path / "m.onnx")
    rebuilt, rcfg = weights_from_onnx(path, calibration=[PAGE])
    assert rcfg["model"]["head"]["method"] == method
    x = torch.from_numpy(np.random.default_rng(1).random((1, 3, 96, 128), dtype=np.float32))
    with torch.no_grad():
        a, b = model(x), rebuilt.eval()(x)
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-4), (k, float((a[k] - b[k]).abs().max()))
    # every BatchNorm got the statistics of its input on the calibration page: in train
    # mode (batch statistics) that page still gives about what the exported network gives
    from textseg.data.images import normalize

    x = torch.from_numpy(normalize(PAGE[:192, :160]))[None]  # multiples of 32
    with torch.no_grad():
        ref = model.trunk(model.backbone(x))
        got = rebuilt.train().trunk(rebuilt.backbone(x))  # heads differ in train mode
    ref, got = (t[0] if isinstance(t, (list, tuple)) else t for t in (ref, got))
    err = float((ref - got).abs().mean())
    assert err < 0.25 * float(ref.abs().mean()), err  # batch statistics of one page


def test_cli_writes_an_init_checkpoint_that_train_and_detector_take(tmp_path):
    from textseg.checkpoint import init_from
    from textseg.detector import Detector
    from textseg.model import build_model

    model, cfg = _trained_like("db")
    path = _export(model, cfg, tmp_path / "m.onnx")
    out = tmp_path / "start.pt"
    tool = os.path.join(ROOT, "tools", "init_from_onnx.py")
    p = subprocess.run([sys.executable, tool, path, "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    loaded, new = init_from(build_model(cfg), str(out))
    assert new == 0
    det = Detector.from_checkpoint(str(out))
    onnx_det = Detector.from_onnx(path)
    a, b = det(PAGE), onnx_det(PAGE)
    assert len(a) == len(b)
    again = subprocess.run([sys.executable, tool, path, "--out", str(out)],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "--overwrite" in again.stderr
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    p = subprocess.run([sys.executable, tool, str(bad), "--out", str(tmp_path / "x.pt")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "bad.onnx" in p.stderr and len(p.stderr.strip().splitlines()) == 1
