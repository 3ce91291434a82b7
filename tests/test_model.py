import math
import sys
import types

import pytest
import torch
from torch import nn

from textseg import methods
from textseg.config import load_config
from textseg.model import (BACKBONES, TRUNKS, TextSegModel, build_model, build_trunk,
                           count_parameters)

# resnet101 differs from resnet50 only in the depth of layer3 (same C2..C5 channels and
# strides); test_backbones covers it, the cross products skip it to stay fast
BACKBONE_CASES = [b for b in sorted(BACKBONES) if b != "resnet101"]


class TinyHead(nn.Module):
    """A 1x1-conv head with two maps at ``stride`` (upsampled from 4 when smaller)."""

    def __init__(self, in_channels, stride=4, width=2):
        super().__init__()
        self.stride = stride
        self.output_names = ("score", "geo")
        self.conv = nn.Conv2d(in_channels, 1 + width, 1)

    def forward(self, feat):
        y = self.conv(feat)
        if self.stride < 4:
            y = nn.functional.interpolate(y, scale_factor=4 // self.stride, mode="bilinear")
        elif self.stride > 4:
            y = nn.functional.avg_pool2d(y, self.stride // 4)
        return {"score": torch.sigmoid(y[:, :1]), "geo": y[:, 1:]}


@pytest.fixture(autouse=True)
def tiny_method(monkeypatch):
    pkg = types.ModuleType("textseg_tiny_method")
    pkg.__path__ = []
    pkg.HEAD_DEFAULTS, pkg.TARGET_DEFAULTS = {"stride": 4, "width": 2}, {}
    pkg.LOSS_DEFAULTS, pkg.DECODE_DEFAULTS = {}, {}
    head = types.ModuleType("textseg_tiny_method.head")
    head.Head = TinyHead
    monkeypatch.setitem(sys.modules, "textseg_tiny_method", pkg)
    monkeypatch.setitem(sys.modules, "textseg_tiny_method.head", head)
    monkeypatch.setitem(methods.METHODS, "tiny", "textseg_tiny_method")


def config(backbone="resnet18", trunk="fpn", *overrides):
    return load_config({"model": {"head": {"method": "tiny"}}},
                       [f"model.backbone.name={backbone}", f"model.trunk.name={trunk}",
                        "model.trunk.channels=16", *overrides])


def first_layer(model):
    bb = model.backbone
    return bb.conv1.weight if hasattr(bb, "conv1") else bb.features[0].weight


@pytest.mark.parametrize("backbone", BACKBONE_CASES)
@pytest.mark.parametrize("trunk", sorted(TRUNKS))
def test_every_backbone_with_every_trunk(backbone, trunk):
    torch.manual_seed(0)
    model = build_model(config(backbone, trunk)).train()
    x = torch.randn(1, 3, 38, 50)  # sides not multiples of 32 (the model pads to 64 x 64)
    out = model(x)
    assert set(out) == {"score", "geo"}
    assert out["score"].shape == (1, 1, math.ceil(38 / 4), math.ceil(50 / 4))
    assert out["geo"].shape == (1, 2, 10, 13)
    (out["score"].mean() + out["geo"].square().mean()).backward()
    grad = first_layer(model).grad
    assert grad is not None and grad.abs().sum() > 0


@pytest.mark.parametrize("stride,hw", [(1, (70, 90)), (2, (35, 45)), (8, (9, 12))])
def test_outputs_cropped_to_the_head_stride(stride, hw):
    model = build_model(config("resnet18", "fpn", f"model.head.stride={stride}")).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 70, 90))
    assert model.stride == stride and model.output_names == ("score", "geo")
    assert out["score"].shape == (2, 1, *hw)


def test_padding_does_not_change_a_multiple_of_32_input():
    model = build_model(config("resnet18", "unet")).eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        out = model(x)
        direct = model.head(model.trunk(model.backbone(x)))
    assert torch.equal(out["score"], direct["score"])


def test_pretrained_backbone_goes_through_build_model(tmp_path):
    src = build_model(config())
    torch.save(src.backbone.state_dict(), tmp_path / "r18.pth")
    cfg = config("resnet18", "fpn", f"model.backbone.pretrained={tmp_path / 'r18.pth'}",
                 "model.backbone.frozen_stages=2")
    model = build_model(cfg)
    assert torch.equal(model.backbone.layer3[0].conv1.weight, src.backbone.layer3[0].conv1.weight)
    frozen = sum(p.numel() for m in (model.backbone.conv1, model.backbone.bn1,
                                      model.backbone.layer1, model.backbone.layer2)
                 for p in m.parameters())
    assert count_parameters(model) - count_parameters(model, trainable_only=True) == frozen
    # weights that come from a checkpoint need no pretrained file
    cfg["model"]["backbone"]["pretrained"] = str(tmp_path / "gone.pth")
    assert isinstance(build_model(cfg, load_pretrained=False), TextSegModel)
    with pytest.raises(FileNotFoundError):
        build_model(cfg)


def test_count_parameters_and_trunk_options():
    model = build_model(config("resnet18", "fcn", "model.trunk.variant=16s", "model.trunk.fc=true"))
    assert count_parameters(model) == sum(p.numel() for p in model.parameters())
    assert model.trunk.fc is not None and model.trunk.variant == "16s"
    with pytest.raises(ValueError, match="fcn only"):
        build_trunk("fpn", [64, 128, 256, 512], 16, variant="8s")


def test_benchmark_rows_and_table():
    from textseg.benchmarks.models import bench_models, count_macs, format_table

    threads = torch.get_num_threads()
    conv = nn.Conv2d(3, 4, 3, padding=1)
    assert count_macs(conv, torch.zeros(1, 3, 5, 6)) == 4 * 5 * 6 * 3 * 9
    rows = bench_models(trunks=("fcn-16s", "fpn"), backbones=("resnet18",), sizes=((64, 96),),
                        channels=8, threads=1, warmup=0, repeats=2, memory=False)
    assert [r["trunk"] for r in rows] == ["fcn-16s", "fpn"] and torch.get_num_threads() == threads
    for r in rows:
        assert r["params"] == r["params_backbone"] + r["params_trunk"] + r["params_head"]
        assert r["params_backbone"] == 11_176_512 and r["ms_median"] > 0 and r["gmacs"] > 0
    table = format_table(rows).splitlines()
    assert len(table) == 4 and "fcn-16s" in table[2] and table[1].startswith("|---|")


def test_padding_is_zero_at_the_bottom_right():
    model = build_model(config("resnet18", "fcn")).eval()
    x = torch.randn(1, 3, 70, 90)
    with torch.no_grad():
        out = model(x)["score"]
        padded = torch.nn.functional.pad(x, (0, 6, 0, 26))
        ref = model.head(model.trunk(model.backbone(padded)))["score"][..., :18, :23]
    torch.testing.assert_close(out, ref)


def test_onnx_export_pads_any_input_size(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = build_model(config("resnet18", "fpn", "model.trunk.channels=8")).eval()
    path = str(tmp_path / "m.onnx")
    torch.onnx.export(model, (torch.randn(1, 3, 64, 64),), path, input_names=["image"],
                      output_names=["score", "geo"], dynamic_axes={"image": {2: "h", 3: "w"}},
                      opset_version=17, dynamo=False)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = torch.randn(1, 3, 70, 90)
    score = sess.run(["score"], {"image": x.numpy()})[0]
    with torch.no_grad():
        ref = model(x)["score"].numpy()
    assert score.shape == ref.shape == (1, 1, 18, 23)
    assert abs(score - ref).max() < 1e-4


class PyramidHead(nn.Module):
    """A head on [P2..P5] that returns fixed-size 'instances' and sees targets in training."""

    stride, output_names = 4, ("boxes",)

    def __init__(self, in_channels, stride=4):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 4, 1)

    def forward(self, pyramid, targets=None):
        boxes = torch.stack([self.conv(p).mean((2, 3)) for p in pyramid], 1)  # (B, 4 levels, 4)
        return {"boxes": boxes, "levels": [p.shape[-2:] for p in pyramid], "targets": targets}


def test_pyramid_method_gets_fpn_levels_and_targets(monkeypatch):
    pkg = types.ModuleType("textseg_pyr_method")
    pkg.HEAD_DEFAULTS, pkg.TARGET_DEFAULTS, pkg.LOSS_DEFAULTS, pkg.DECODE_DEFAULTS = \
        {"stride": 4}, {}, {}, {}
    pkg.INPUT, pkg.NEEDS_TARGETS, pkg.OUTPUT_KIND = "pyramid", True, "instances"
    head = types.ModuleType("textseg_pyr_method.head")
    head.Head = PyramidHead
    monkeypatch.setitem(sys.modules, "textseg_pyr_method", pkg)
    monkeypatch.setitem(sys.modules, "textseg_pyr_method.head", head)
    monkeypatch.setitem(methods.METHODS, "pyr", "textseg_pyr_method")
    cfg = load_config({"model": {"head": {"method": "pyr"}}},
                      ["model.backbone.name=resnet18", "model.trunk.channels=8"])
    model = build_model(cfg)
    assert model.trunk.fuse is None  # no unused fusion conv
    out = model(torch.randn(1, 3, 70, 90), targets="T")
    assert out["boxes"].shape == (1, 4, 4) and out["targets"] == "T"
    assert [tuple(s) for s in out["levels"]] == [(24, 24), (12, 12), (6, 6), (3, 3)]
    from textseg.config import ConfigError

    with pytest.raises(ConfigError, match="model.trunk.name.*fpn"):
        load_config({"model": {"head": {"method": "pyr"}, "trunk": {"name": "unet"}}})
