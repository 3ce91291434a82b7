"""Exact graph rewrites (textseg.onnx_passes) on a tiny exported DBNet."""

import numpy as np
import onnx
import onnxruntime as ort
import torch

from conftest import tiny_config


def _export(tmp_path, method="db", **extra):
    from textseg.export import export_onnx
    from textseg.model import build_model

    torch.manual_seed(0)
    cfg = tiny_config(method, **extra)
    model = build_model(cfg, load_pretrained=False)
    g = torch.Generator().manual_seed(1)
    for m in model.head.modules():  # BatchNorm statistics far from (0, 1): folding matters
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g))
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(n, generator=g))
            m.bias.data.copy_(torch.randn(n, generator=g))
    path = str(tmp_path / f"{method}.onnx")
    export_onnx(model.eval(), path, cfg=cfg, check=False)
    return path


def _run(proto_or_path, x):
    src = proto_or_path if isinstance(proto_or_path, str) else proto_or_path.SerializeToString()
    s = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})


def test_fuse_upsampling_is_exact_and_removes_transposed_convs(tmp_path):
    from textseg.onnx_passes import fuse_upsampling

    path = _export(tmp_path)
    proto = onnx.load(path)
    before = [n.op_type for n in proto.graph.node]
    assert before.count("ConvTranspose") == 2 and "BatchNormalization" in before
    assert fuse_upsampling(proto) == 1
    onnx.checker.check_model(proto)
    after = [n.op_type for n in proto.graph.node]
    assert "ConvTranspose" not in after and "BatchNormalization" not in after
    assert after.count("DepthToSpace") == 1
    rng = np.random.default_rng(0)
    for hw in ((64, 96), (75, 131)):  # padded inside the graph, maps cropped back
        x = rng.random((1, 3) + hw, dtype=np.float32)
        ref, new = _run(path, x), _run(proto, x)
        assert ref[0].shape == new[0].shape == (1, 1) + hw
        assert float(np.abs(ref[0] - new[0]).max()) < 1e-5
        assert float(np.abs(ref[0] - 0.5).max()) > 0.01  # not a constant map
    assert fuse_upsampling(proto) == 0  # nothing left to rewrite


def test_fuse_upsampling_leaves_other_graphs_alone(tmp_path):
    from textseg.onnx_passes import fuse_upsampling

    path = _export(tmp_path, method="east")  # no transposed-convolution head
    proto = onnx.load(path)
    nodes = [(n.op_type, tuple(n.input)) for n in proto.graph.node]
    assert fuse_upsampling(proto) == 0
    assert [(n.op_type, tuple(n.input)) for n in proto.graph.node] == nodes


def test_space_to_depth_stem_is_exact(tmp_path):
    from textseg.onnx_passes import image_path, space_to_depth_stem

    path = _export(tmp_path)
    proto = onnx.load(path)
    first = next(n for n in proto.graph.node if n.op_type == "Conv")
    assert [a.ints for a in first.attribute if a.name == "kernel_shape"][0] == [7, 7]
    assert image_path(proto) and all("Pad" in n or "Slice" in n for n in image_path(proto))
    assert space_to_depth_stem(proto) == 1
    onnx.checker.check_model(proto)
    ops = [n.op_type for n in proto.graph.node]
    assert "SpaceToDepth" in ops
    stem = next(n for n in proto.graph.node if n.op_type == "Conv")
    attrs = {a.name: list(a.ints) for a in stem.attribute}
    assert attrs["kernel_shape"] == [4, 4] and attrs["strides"] == [1, 1]
    assert attrs["pads"] == [2, 2, 1, 1]
    assert any("s2d" in n for n in image_path(proto))  # the SpaceToDepth is on the path
    rng = np.random.default_rng(1)
    for hw in ((64, 96), (67, 101)):
        x = rng.random((1, 3) + hw, dtype=np.float32)
        ref, new = _run(path, x), _run(proto, x)
        assert ref[0].shape == new[0].shape
        assert float(np.abs(ref[0] - new[0]).max()) < 1e-5
    assert space_to_depth_stem(proto) == 0  # the new stem is stride 1


def test_space_to_depth_stem_needs_the_exports_pad(tmp_path):
    from onnx import TensorProto, helper, numpy_helper

    from textseg.onnx_passes import space_to_depth_stem

    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, None, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    proto = helper.make_model(graph)
    assert space_to_depth_stem(proto) == 0  # an odd H would not go into SpaceToDepth
    # a constant pad of 1 does not make every size even either
    pads = numpy_helper.from_array(np.array([0, 0, 0, 1, 0, 0, 0, 1], np.int64), "pads")
    graph = helper.make_graph(
        [helper.make_node("Pad", ["x", "pads"], ["xp"]),
         helper.make_node("Conv", ["xp", "w"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, None, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, pads])
    assert space_to_depth_stem(helper.make_model(graph)) == 0


def test_quantized_db_model_runs_the_rewritten_graph(tmp_path):
    from textseg.quantize import quantize_onnx

    path = _export(tmp_path)
    out = str(tmp_path / "db.int8.onnx")
    rep = quantize_onnx(path, out, calib=1)
    assert rep["rewrites"] == {"fuse_upsampling": 1, "space_to_depth_stem": 1}
    proto = onnx.load(out)
    ops = [n.op_type for n in proto.graph.node]
    assert "ConvTranspose" not in ops and "DepthToSpace" in ops and "SpaceToDepth" in ops
    # the image path stays float: the image is quantised once, after the SpaceToDepth
    # (onnxruntime 1.23, the Python 3.10 pin, has no uint8 SpaceToDepth)
    s2d = next(n for n in proto.graph.node if n.op_type == "SpaceToDepth")
    assert s2d.name in rep["float_nodes"]
    readers = [n.op_type for n in proto.graph.node if s2d.output[0] in n.input]
    assert readers == ["QuantizeLinear"]
    x = np.random.default_rng(2).random((1, 3, 96, 128), dtype=np.float32)
    plain = quantize_onnx(path, str(tmp_path / "plain.onnx"), calib=1, rewrite=False)
    assert plain["rewrites"] == {} and plain["float_nodes"] == []
    assert "ConvTranspose" in [n.op_type for n in onnx.load(plain["path"]).graph.node]
    a, b = _run(out, x)[0], _run(plain["path"], x)[0]
    # one calibration cache serves both graphs: the rewritten one keeps its own file
    cache = tmp_path / "ranges.json"
    quantize_onnx(path, str(tmp_path / "c1.onnx"), calib=1, rewrite=False, cache=str(cache))
    quantize_onnx(path, str(tmp_path / "c2.onnx"), calib=1, cache=str(cache))
    assert cache.exists() and (tmp_path / "ranges.rewritten.json").exists()
    assert a.shape == b.shape and float(np.abs(a - b).max()) < 0.25  # both near the fp32 maps


def test_fast_variant_gets_both_rewrites_exactly(tmp_path):
    """The fast stem's first conv (3x3/2 on the image) goes through SpaceToDepth too."""
    from textseg.onnx_passes import fuse_upsampling, space_to_depth_stem

    path = _export(tmp_path, model__backbone__stem="fast", model__trunk__fuse_kernel=1)
    proto = onnx.load(path)
    first = next(n for n in proto.graph.node if n.op_type == "Conv")
    assert [a.ints for a in first.attribute if a.name == "kernel_shape"][0] == [3, 3]
    assert not any(n.op_type == "MaxPool" for n in proto.graph.node)
    assert space_to_depth_stem(proto) == 1 and fuse_upsampling(proto) == 1
    onnx.checker.check_model(proto)
    stem = next(n for n in proto.graph.node if n.op_type == "Conv")
    assert {a.name: list(a.ints) for a in stem.attribute}["kernel_shape"] == [2, 2]
    rng = np.random.default_rng(3)
    for hw in ((64, 96), (67, 101)):
        x = rng.random((1, 3) + hw, dtype=np.float32)
        ref, new = _run(path, x), _run(proto, x)
        assert ref[0].shape == new[0].shape == (1, 1) + hw
        assert float(np.abs(ref[0] - new[0]).max()) < 1e-5
