"""ONNX export: parity with PyTorch for every trunk x method, fp16, static shapes,
metadata, the parity check catching broken graphs, and the CLI."""

import importlib.util
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from conftest import ROOT, tiny_config
from textseg.config import to_plain
from textseg.detector import ONNX_CONFIG_KEY, Detector
from textseg.export import (ExportError, TOLERANCES, check_parity, export_onnx,
                            match_detections, synthetic_page)
from textseg.model import build_model

SIDES = (128, 88)  # long sides of the parity page: small, and not multiples of 32
PAGE = synthetic_page(h=330, w=250, seed=3)


def confident_model(method, trunk, seed=0, **extra):
    """A tiny model whose text maps are far from 0.5 in places, so decoding finds regions
    (at init the text layers give ~0.5 everywhere); EAST geometry stays at its init
    (~16 px boxes), as a trained model's would be, not saturated."""
    torch.manual_seed(seed)
    cfg = tiny_config(method, trunk, model__head__channels=8, **extra)
    model = build_model(cfg).eval()
    with torch.no_grad():
        if method == "east":
            model.head.score.weight.normal_(0.0, 0.6)
        else:  # nested kernels, as PSENet's are: one response, shrinking with the bias
            out = model.head.out
            out.weight.copy_(torch.randn_like(out.weight[:1]).mul_(0.6).expand_as(out.weight))
            out.bias.copy_(torch.linspace(0.0, -2.0, out.bias.numel()))
    return model, cfg


def export(model, cfg, path, **kw):
    kw.setdefault("check_image", PAGE)
    kw.setdefault("check_sides", SIDES)
    return export_onnx(model, str(path), cfg, **kw)


@pytest.fixture(scope="module")
def east_fpn(tmp_path_factory):
    model, cfg = confident_model("east", "fpn")
    path = tmp_path_factory.mktemp("onnx") / "east_fpn.onnx"
    report = export(model, cfg, path)
    return model, cfg, str(path), report


@pytest.mark.parametrize("method", ["east", "pse"])
@pytest.mark.parametrize("trunk", ["fcn", "unet", "fpn"])
def test_parity_every_trunk_and_method(tmp_path, trunk, method):
    model, cfg = confident_model(method, trunk)
    report = export(model, cfg, tmp_path / "m.onnx")
    rows = report["parity"]
    # two padded sizes through the Detector's preprocessing + one unpadded (odd) size
    assert [r["case"].split()[-1] for r in rows] == ["padded", "padded", "unpadded"]
    assert len({tuple(r["input"]) for r in rows}) == 3
    assert any(r["input"][0] % 32 or r["input"][1] % 32 for r in rows)
    for r in rows:
        errs = [v for k, v in r.items() if k.startswith("err_")]
        assert len(errs) == len(model.head.output_names)
        assert max(errs) <= TOLERANCES["fp32"][0]
        assert r["polygons"] == r["onnx_polygons"] and r["max_px"] <= 1.0
    assert sum(r["polygons"] for r in rows) > 0, "decode parity was vacuous (no polygons)"

    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert [o.name for o in proto.graph.output] == list(model.head.output_names)
    (inp,) = proto.graph.input
    assert inp.name == "image" and inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == [
        "batch", 3, "height", "width"]
    assert proto.opset_import[0].version >= 17
    onnx.checker.check_model(proto)
    assert not {t.name for t in proto.graph.initializer} - {
        i for n in proto.graph.node for i in n.input}, "unused initializers left"


def test_maskrcnn_exports_with_dynamic_size_and_parity(tmp_path):
    """Instance outputs (boxes, scores, masks) go through export_onnx whole, not cropped as
    maps are (a 640 px page once came back with 160 of its 1,000 detection slots)."""
    torch.manual_seed(0)
    cfg = tiny_config("maskrcnn", "fpn", model__head__fc_dim=32, model__head__mask_channels=8,
                      model__head__detections_per_image=300, model__head__rpn_post_nms_topk=400)
    model = build_model(cfg).eval()
    with torch.no_grad():  # confident text scores and full masks: decoding finds instances
        model.head.box_head.cls.bias.copy_(torch.tensor([-2.0, 2.0]))
        model.head.mask_head.logits.weight.mul_(0.01)
        model.head.mask_head.logits.bias.fill_(3.0)
    report = export(model, cfg, tmp_path / "m.onnx", check_sides=(320, 200))
    rows = report["parity"]
    assert len(rows) == 3 and sum(r["polygons"] for r in rows) > 0
    for r in rows:
        assert r["polygons"] == r["onnx_polygons"] and r["max_px"] <= 1.0
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    for hw in ((320, 256), (200, 136)):  # dynamic: every size gives every detection slot
        boxes, scores, masks = sess.run(None, {"image": np.zeros((1, 3) + hw, np.float32)})
        assert boxes.shape == (1, 300, 4) and scores.shape == (1, 300)
        assert masks.shape == (1, 300, 28, 28)
    det = Detector.from_onnx(str(tmp_path / "m.onnx"))
    assert det.method == "maskrcnn"
    polys = det(PAGE)
    assert polys and all(np.asarray(p).shape == (4, 2) for p, _ in polys)


def test_metadata_round_trip(east_fpn):
    model, cfg, path, _ = east_fpn
    proto = onnx.load(path)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta[ONNX_CONFIG_KEY]) == json.loads(json.dumps(to_plain(cfg)))
    assert meta["textseg.method"] == "east" and meta["textseg.trunk"] == "fpn"
    assert meta["textseg.output_stride"] == "4"
    assert json.loads(meta["textseg.output_names"]) == ["score", "geometry"]
    assert json.loads(meta["textseg.decode"]) == cfg["infer"]["decode"]
    assert json.loads(meta["textseg.input_mean"]) == [0.485, 0.456, 0.406]
    assert json.loads(meta["textseg.resize"]) == cfg["infer"]["resize"]
    assert meta["textseg.precision"] == "fp32" and "textseg.version" in meta

    # any size and a batch of 2 straight into the graph: maps are ceil(H/s) x ceil(W/s)
    sess = ort.InferenceSession(path)
    x = np.random.default_rng(0).normal(size=(2, 3, 45, 70)).astype(np.float32)
    with torch.no_grad():
        ref_maps = model(torch.from_numpy(x))
    for name, o in zip(model.head.output_names, sess.run(None, {"image": x})):
        assert o.shape == (2, ref_maps[name].shape[1], 12, 18)
        r = ref_maps[name].numpy()
        assert np.abs(o - r).max() <= 1e-4 * max(1.0, np.abs(r).max())

    det = Detector.from_onnx(path)
    assert det.method == "east" and det.backend.name == "onnxruntime"
    assert det.decode_cfg == Detector(cfg, None).decode_cfg
    ref = Detector.from_model(model, cfg)
    page = PAGE[:301, :233]  # odd size: resize + pad + rescale all take part
    a, b = ref(page), det(page)
    assert len(a) == len(b) > 0
    res = match_detections(a, b, 1.0)
    assert res["unmatched_ref"] == res["unmatched_other"] == 0


def test_fp16_export_loads_and_runs(tmp_path):
    # PSENet: its decoder (connected components) is stable under float16 rounding; LANMS
    # on a random EAST model's page-wide blob of boxes is not (a trained model's is sparse)
    model, cfg = confident_model("pse", "fpn")
    path = tmp_path / "half.onnx"
    report = export(model, cfg, path, fp16=True)
    assert report["precision"] == "fp16"
    fp32_bytes = 4 * sum(t.numel() for t in model.state_dict().values())
    assert os.path.getsize(path) < 0.55 * fp32_bytes
    for r in report["parity"]:
        assert max(v for k, v in r.items() if k.startswith("err_")) <= TOLERANCES["fp16"][0]
    assert sum(r["polygons"] for r in report["parity"]) > 0
    det = Detector.from_onnx(str(path))
    assert det.backend.half and det.cfg["model"]["head"]["method"] == "pse"
    assert ort.InferenceSession(str(path)).get_inputs()[0].type == "tensor(float16)"
    dets = det(PAGE)
    assert dets and all(p.dtype == np.float32 and p.shape[1] == 2 for p, _ in dets)


def test_static_export(tmp_path):
    model, cfg = confident_model("pse", "unet")
    path = tmp_path / "static.onnx"
    report = export(model, cfg, path, static_hw=(64, 96))
    assert report["static_hw"] == (64, 96) and report["parity"][0]["case"] == "static 64x96"
    sess = ort.InferenceSession(str(path))
    assert sess.get_inputs()[0].shape[1:] == [3, 64, 96]
    x = np.zeros((2, 3, 64, 96), np.float32)
    assert sess.run(None, {"image": x})[0].shape == (2, cfg["model"]["head"]["kernel_num"], 16, 24)
    with pytest.raises(Exception, match="dimension"):
        sess.run(None, {"image": np.zeros((1, 3, 96, 96), np.float32)})
    meta = sess.get_modelmeta().custom_metadata_map
    assert json.loads(meta["textseg.static_hw"]) == [64, 96]
    # the embedded config never asks for more than the graph takes
    assert json.loads(meta[ONNX_CONFIG_KEY])["infer"]["resize"]["long_side"] == 64


def test_parity_check_catches_a_different_graph(tmp_path, monkeypatch):
    import textseg.export as ex

    model, cfg = confident_model("east", "unet")
    other, _ = confident_model("east", "unet", seed=1)
    real_trace = ex.trace_to_onnx
    monkeypatch.setattr(ex, "trace_to_onnx", lambda m, **kw: real_trace(other, **kw))
    out = tmp_path / "bad.onnx"
    with pytest.raises(ExportError, match=r"parity .*map 'score' differs") as e:
        export(model, cfg, out)
    assert "\n" not in str(e.value)
    assert not out.exists() and not list(tmp_path.iterdir())  # no file, no temp file left


def test_parity_check_catches_small_output_errors(east_fpn, monkeypatch):
    import textseg.export as ex

    model, cfg, path, _ = east_fpn
    with open(path, "rb") as f:
        data = f.read()
    real_call = ex.OnnxBackend.__call__

    def perturbed(self, x):
        out = real_call(self, x)
        out["geometry"] = out["geometry"] * (1 + 1e-3)  # relative error 1e-3 > 1e-4
        return out

    check_parity(model, cfg, data, image=PAGE, sides=SIDES)  # the genuine graph passes
    monkeypatch.setattr(ex.OnnxBackend, "__call__", perturbed)
    with pytest.raises(ExportError, match="map 'geometry' differs"):
        check_parity(model, cfg, data, image=PAGE, sides=SIDES)


def test_match_detections():
    sq = np.array([[10, 10], [30, 10], [30, 20], [10, 20]], np.float32)
    ref = [(sq, 0.9), (sq + 100, 0.8)]
    # same polygons, other start vertex and order: distance 0
    assert match_detections(ref, [(np.roll(sq + 100, 1, 0), 0.8), (sq, 0.9)], 1.0) == {
        "matched": 2, "unmatched_ref": 0, "unmatched_other": 0, "max_dist": 0.0}
    moved = match_detections(ref, [(sq + [0.5, 0], 0.9), (sq + [102, 100], 0.8)], 1.0)
    assert moved["matched"] == 1 and moved["unmatched_ref"] == moved["unmatched_other"] == 1
    assert moved["max_dist"] == pytest.approx(0.5)
    assert match_detections(ref, [(sq, 0.9)], 1.0)["unmatched_ref"] == 1
    assert match_detections([], [], 1.0)["matched"] == 0


def test_bad_arguments(tmp_path, east_fpn):
    model, cfg, path, _ = east_fpn
    with pytest.raises(ExportError, match="opset 11"):
        export(model, cfg, tmp_path / "a.onnx", opset=11)
    with pytest.raises(ExportError, match="multiples of 32"):
        export(model, cfg, tmp_path / "a.onnx", static_hw=(70, 96))
    with pytest.raises(ExportError, match="needs the model's config"):
        export_onnx(model, str(tmp_path / "a.onnx"))
    with pytest.raises(ExportError, match="file exists"):
        export(model, cfg, path, overwrite=False, check=False)


def _cli(monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(ROOT, "tools"))
    spec = importlib.util.spec_from_file_location("export_onnx_cli",
                                                  os.path.join(ROOT, "tools", "export_onnx.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cli(tmp_path, capsys, monkeypatch):
    from textseg.checkpoint import save_checkpoint

    model, cfg = confident_model("pse", "fcn")
    ckpt = tmp_path / "c.pt"
    save_checkpoint(str(ckpt), model, cfg)
    out = tmp_path / "m.onnx"
    cli = _cli(monkeypatch)
    assert cli.main(["--checkpoint", str(ckpt), "--out", str(out), "--no-check"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert Detector.from_onnx(str(out)).method == "pse"
    mtime = out.stat().st_mtime_ns

    def error(argv):
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err
        return err

    assert "--overwrite" in error(["--checkpoint", str(ckpt), "--out", str(out)])
    assert out.stat().st_mtime_ns == mtime
    assert "checkpoint not found" in error(["--checkpoint", str(tmp_path / "no.pt"),
                                            "--out", str(tmp_path / "x.onnx")])
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    assert str(junk) in error(["--checkpoint", str(junk), "--out", str(tmp_path / "x.onnx")])
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert str(blocker) in error(["--checkpoint", str(ckpt), "--out", str(blocker / "m.onnx")])
    assert not (tmp_path / "x.onnx").exists()
