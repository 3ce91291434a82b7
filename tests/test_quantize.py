"""int8 quantisation (textseg.quantize, tools/quantize_onnx.py) of a tiny exported model."""

import json
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest

from conftest import ROOT, tiny_config
from textseg import quantize
from textseg.detector import Detector


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    from textseg.export import export_onnx
    from textseg.model import build_model

    cfg = tiny_config("pse")
    cfg["infer"]["resize"]["max_side"] = 256  # small calibration inputs
    cfg["infer"]["resize"]["upscale_to"] = 0
    path = str(tmp_path_factory.mktemp("q") / "tiny.onnx")
    export_onnx(build_model(cfg, load_pretrained=False).eval(), path, cfg=cfg, check=False)
    return path


def test_quantized_model_keeps_metadata_and_loads(tiny_onnx, tmp_path):
    out = str(tmp_path / "tiny.int8.onnx")
    rep = quantize.quantize_onnx(tiny_onnx, out, calib=2, cache=str(tmp_path / "r.json"))
    assert rep["quantize_nodes"] > 0 and rep["bytes"] < rep["fp32_bytes"]
    assert rep["per_channel"] and rep["format"] == "QDQ" and rep["calibration_pages"] == 2
    meta = {p.key: p.value for p in onnx.load(out).metadata_props}
    src = {p.key: p.value for p in onnx.load(tiny_onnx).metadata_props}
    assert meta["textseg.config"] == src["textseg.config"]  # the Detector's settings
    assert meta["textseg.precision"] == "int8"
    assert json.loads(meta["textseg.quantization"])["calibration"] == "minmax"
    fp, q = Detector.from_onnx(tiny_onnx), Detector.from_onnx(out)
    assert q.cfg == fp.cfg
    x = np.random.default_rng(0).random((1, 3, 96, 128), dtype=np.float32)
    a, b = fp.backend(x), q.backend(x)
    assert set(a) == set(b) and all(a[k].shape == b[k].shape for k in a)
    assert max(float(np.abs(a[k] - b[k]).max()) for k in a) < 0.25  # close, not equal
    # the cached ranges give the same file without calibrating again
    out2 = str(tmp_path / "again.onnx")
    quantize.quantize_onnx(tiny_onnx, out2, calib=2, cache=str(tmp_path / "r.json"))
    assert open(out, "rb").read() == open(out2, "rb").read()


def test_refusals(tiny_onnx, tmp_path):
    out = tmp_path / "x.onnx"
    out.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        quantize.quantize_onnx(tiny_onnx, str(out), calib=1)
    assert out.read_bytes() == b"keep"
    with pytest.raises(ValueError, match="calibration method"):
        quantize.quantize_onnx(tiny_onnx, str(tmp_path / "y.onnx"), method="magic")
    with pytest.raises(ValueError, match="at least 1"):
        quantize.quantize_onnx(tiny_onnx, str(tmp_path / "y.onnx"), calib=0)
    assert not (tmp_path / "y.onnx").exists()


def test_verdict_uses_the_worst_set():
    rows = [{"folder": f, "level": "line", "model": m, "hmean": h}
            for f, m, h in (("a", "fp32", 0.90), ("a", "int8", 0.897), ("b", "fp32", 0.80),
                            ("b", "int8", 0.81))]
    ok, losses = quantize.verdict(rows)
    assert ok and dict((f, round(d, 4)) for f, _, d in losses) == {"a": 0.003, "b": -0.01}
    rows[1]["hmean"] = 0.894
    assert not quantize.verdict(rows)[0]
    assert quantize.verdict([])[0] is False  # nothing measured: no verdict for int8


def test_tool_refuses_an_existing_output_in_one_line(tiny_onnx, tmp_path):
    out = tmp_path / "t.int8.onnx"
    out.write_bytes(b"keep")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "quantize_onnx.py"),
                        "--model", tiny_onnx, "--out", str(out)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "exists" in p.stderr
    assert out.read_bytes() == b"keep"


def test_shipped_default_is_int8_and_fp32_stays_selectable():
    """The shipped default runs the int8 model; 'default-fp32' is its fp32 original, and
    the two find the same words (the int8 model lost no hmean on any dev set)."""
    from PIL import Image

    from textseg.detector import default_model_path

    int8, fp32 = default_model_path(), default_model_path("fp32")
    assert os.path.basename(int8) == "default.int8.onnx"
    assert os.path.basename(fp32) == "default.onnx"
    assert default_model_path("default-int8") == int8
    ops = lambda p: {n.op_type for n in onnx.load(p).graph.node}  # noqa: E731
    assert "QuantizeLinear" in ops(int8) and "QuantizeLinear" not in ops(fp32)
    page = np.asarray(Image.open(os.path.join(ROOT, "examples", "page.jpg")).convert("RGB"))
    page = page[: page.shape[0] // 3]
    a = Detector.load(threads=1)(page)
    b = Detector.load("default-fp32", threads=1)(page)
    assert len(a) > 20 and abs(len(a) - len(b)) <= max(2, 0.03 * len(b))


def test_shipped_fast_variant_is_selectable_and_finds_the_same_words():
    """'fast' is the int8 fast variant (fast stem, 1x1 fusion)."""
    import json

    from PIL import Image

    from textseg.detector import default_model_path

    path = default_model_path("fast")
    assert os.path.basename(path) == "fast.int8.onnx"
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    cfg = json.loads(meta["textseg.config"])
    assert cfg["model"]["backbone"]["stem"] == "fast"
    assert cfg["model"]["trunk"]["fuse_kernel"] == 1
    assert json.loads(meta["textseg.quantization"])["rewrites"] == {"fuse_upsampling": 1,
                                                                   "space_to_depth_stem": 1}
    # the infer settings are the default's (decoder, padding, line settings), but small
    # pages come up by at most 1.2x, not 1.6x (the fast variant loses less there)
    ref = json.loads({p.key: p.value for p in onnx.load(default_model_path()).metadata_props}
                     ["textseg.config"])
    assert cfg["infer"]["resize"]["max_upscale"] == 1.2
    assert ref["infer"]["resize"]["max_upscale"] == 1.6
    cfg["infer"]["resize"]["max_upscale"] = 1.6
    assert cfg["infer"] == ref["infer"]
    page = np.asarray(Image.open(os.path.join(ROOT, "examples", "page.jpg")).convert("RGB"))
    page = page[: page.shape[0] // 3]
    det = Detector.load("fast", threads=1)
    assert det.name == "textseg-fast"
    a, b = det(page), Detector.load(threads=1)(page)
    assert len(a) > 20 and abs(len(a) - len(b)) <= max(2, 0.05 * len(b))


def test_int8_files_declare_only_the_opsets_their_nodes_use(tmp_path, tiny_onnx):
    """onnxruntime's quantiser declares every domain it knows (ai.onnx.ml 5, ...); an older
    runtime the package allows (onnxruntime 1.17) then refuses the file. The shipped int8
    files and every file quantize_onnx writes keep the opsets their nodes use only."""
    from textseg.detector import default_model_path
    from textseg.quantize import drop_unused_opsets, quantize_onnx

    out = str(tmp_path / "q.onnx")
    quantize_onnx(tiny_onnx, out, calib=1)
    for path in (out, default_model_path("default-int8"), default_model_path("fast")):
        m = onnx.load(path)
        used = {n.domain or "" for n in m.graph.node}
        declared = {o.domain or "" for o in m.opset_import}
        assert declared == used | {""}, (path, declared, used)
        assert [o.version for o in m.opset_import if (o.domain or "") == ""] == [17]
    m = onnx.load(out)
    m.opset_import.add(domain="ai.onnx.ml", version=5)
    assert drop_unused_opsets(m) == ["ai.onnx.ml"]
    assert {o.domain for o in m.opset_import} == {""}
