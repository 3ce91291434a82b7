import pytest
import torch

from textseg.backbones import BACKBONES, PretrainedError, build_backbone

# parameters without classifier and state-dict key counts of torchvision's models
# (checked once against torchvision 0.29 key by key: same names, same shapes)
TORCHVISION = {
    "resnet18": (11_176_512, 120),
    "resnet34": (21_284_672, 216),
    "resnet50": (23_508_032, 318),
    "resnet101": (42_500_160, 624),
    "vgg16": (14_714_688, 26),
    "vgg16_bn": (14_723_136, 91),
}
SAMPLE_KEYS = {
    "resnet18": ["conv1.weight", "bn1.running_mean", "layer2.0.downsample.0.weight",
                 "layer4.1.bn2.num_batches_tracked"],
    "resnet50": ["conv1.weight", "bn1.running_mean", "layer1.0.downsample.0.weight",
                 "layer1.0.downsample.1.running_var", "layer4.2.conv3.weight"],
    "vgg16": ["features.0.weight", "features.0.bias", "features.28.weight"],
    "vgg16_bn": ["features.0.weight", "features.1.running_mean", "features.41.weight"],
}


def test_resnet50_has_exactly_torchvision_parameter_count():
    net = build_backbone("resnet50")
    assert sum(p.numel() for p in net.parameters()) == 23_508_032


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_parameters_and_keys_match_torchvision(name):
    net = build_backbone(name)
    params, nkeys = TORCHVISION[name]
    assert sum(p.numel() for p in net.parameters()) == params
    sd = net.state_dict()
    assert len(sd) == nkeys
    for key in SAMPLE_KEYS.get(name, []):
        assert key in sd
    assert not any(k.startswith(("fc.", "classifier.", "avgpool")) for k in sd)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_outputs_at_strides_4_to_32(name):
    net = build_backbone(name).eval()
    with torch.no_grad():
        feats = net(torch.randn(1, 3, 64, 96))
    assert [f.shape[1] for f in feats] == net.out_channels
    assert [tuple(f.shape[-2:]) for f in feats] == [(64 // s, 96 // s) for s in (4, 8, 16, 32)]


def _with_classifier(state, name):
    state = dict(state)
    if name.startswith("resnet"):
        state["fc.weight"], state["fc.bias"] = torch.randn(10, 512), torch.randn(10)
    else:
        state["classifier.0.weight"] = torch.randn(8, 8)
    return state


@pytest.mark.parametrize("name", ["resnet18", "vgg16_bn"])
def test_torchvision_state_dict_round_trip(tmp_path, name):
    src = build_backbone(name)
    with torch.no_grad():  # make buffers distinguishable from a fresh init
        for k, v in src.state_dict().items():
            if v.is_floating_point():
                v.add_(torch.rand_like(v))
    path = tmp_path / "imagenet.pth"
    torch.save(_with_classifier(src.state_dict(), name), path)
    dst = build_backbone(name, pretrained=str(path))
    for k, v in src.state_dict().items():
        assert torch.equal(v, dst.state_dict()[k]), k


def test_old_files_without_num_batches_tracked_load(tmp_path):
    src = build_backbone("resnet18")
    state = {k: v for k, v in src.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "old.pth")
    dst = build_backbone("resnet18", pretrained=str(tmp_path / "old.pth"))
    assert torch.equal(dst.conv1.weight, src.conv1.weight)


def _error(tmp_path, state, name="resnet18"):
    path = tmp_path / "w.pth"
    torch.save(state, path)
    with pytest.raises(PretrainedError) as e:
        build_backbone(name, pretrained=str(path))
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_mismatching_weights_give_one_clear_error(tmp_path):
    state = build_backbone("resnet18").state_dict()
    missing = {k: v for k, v in state.items() if k != "layer1.0.conv1.weight"}
    msg = _error(tmp_path, missing)
    assert "missing keys: layer1.0.conv1.weight" in msg and "unexpected" not in msg
    msg = _error(tmp_path, {**state, "layer5.0.weight": torch.zeros(1)})
    assert "unexpected keys: layer5.0.weight" in msg and "missing" not in msg
    msg = _error(tmp_path, {**state, "conv1.weight": torch.zeros(64, 3, 3, 3)})
    assert "shape mismatch" in msg and "conv1.weight" in msg
    # a ResNet-50 file into a ResNet-18: many keys, listed briefly
    msg = _error(tmp_path, build_backbone("resnet50").state_dict())
    assert "in all)" in msg and len(msg) < 1000


def test_unreadable_or_absent_weights(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(PretrainedError, match="cannot read"):
        build_backbone("resnet18", pretrained=str(junk))
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        build_backbone("resnet18", pretrained=str(tmp_path / "nope.pth"))
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(PretrainedError, match="not a state dict"):
        build_backbone("resnet18", pretrained=str(tmp_path / "list.pth"))


def _bn_means(modules):
    return [m.running_mean.clone() for mod in modules for m in mod.modules()
            if isinstance(m, torch.nn.BatchNorm2d)]


def test_frozen_stages_stop_gradients_and_stay_in_eval():
    net = build_backbone("resnet18", frozen_stages=1).train()
    frozen, free = [net.conv1, net.bn1, net.layer1], [net.layer2, net.layer3, net.layer4]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for m in free for p in m.parameters())
    assert not net.bn1.training and not net.layer1.training and net.layer2.training
    before_frozen, before_free = _bn_means(frozen), _bn_means(free)
    sum(f.sum() for f in net(torch.randn(2, 3, 64, 64))).backward()
    assert all(torch.equal(a, b) for a, b in zip(before_frozen, _bn_means(frozen)))
    assert not all(torch.equal(a, b) for a, b in zip(before_free, _bn_means(free)))
    assert net.conv1.weight.grad is None and net.layer2[0].conv1.weight.grad is not None
    net.eval().train()  # train() again keeps them frozen
    assert not net.layer1.training and net.layer2.training


def test_vgg_stage_zero_is_the_first_conv_block():
    net = build_backbone("vgg16_bn", frozen_stages=0)
    assert [p.requires_grad for p in net.features[0].parameters()] == [False, False]
    assert not net.features[1].weight.requires_grad and not net.features[4].weight.requires_grad
    assert net.features[7].weight.requires_grad  # conv2_1
    net.train()
    assert not net.features[1].training and net.features[8].training


def test_frozen_bn_keeps_statistics_and_affine():
    net = build_backbone("resnet18", frozen_bn=True).train()
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(not m.training and not m.weight.requires_grad for m in bns)
    assert net.conv1.weight.requires_grad and net.training
    before = _bn_means([net])
    net(torch.randn(2, 3, 64, 64))
    assert all(torch.equal(a, b) for a, b in zip(before, _bn_means([net])))


def test_bad_arguments():
    with pytest.raises(ValueError, match="frozen_stages"):
        build_backbone("resnet18", frozen_stages=5)
    with pytest.raises(ValueError, match="resnet50"):
        build_backbone("resnet51")


def test_fast_stem_keeps_the_strides_with_a_third_of_the_stem_work():
    std = build_backbone("resnet18", width=0.5)
    fast = build_backbone("resnet18", width=0.5, stem="fast")
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        a, b = std.eval()(x), fast.eval()(x)
    assert [t.shape for t in a] == [t.shape for t in b]  # C2..C5 at strides 4..32
    assert isinstance(fast.maxpool, torch.nn.Identity)

    def stem_macs(net):  # multiply-adds per output pixel of the stride-2 map, summed
        convs = [m for m in net.conv1.modules() if isinstance(m, torch.nn.Conv2d)]
        total = 0.0
        for k, c in enumerate(convs):
            per = c.in_channels * c.out_channels * c.kernel_size[0] * c.kernel_size[1]
            total += per / (4.0 ** k)  # each later conv runs at a quarter of the pixels
        return total
    assert stem_macs(fast) < stem_macs(std) / 2.5
    # the rest of the network is the standard one: the same parameters outside the stem
    rest = {k: v.shape for k, v in std.state_dict().items() if not k.startswith("conv1")}
    assert {k: v.shape for k, v in fast.state_dict().items() if not k.startswith("conv1")} == rest


def test_fast_stem_is_for_resnets_without_imagenet_weights(tmp_path):
    with pytest.raises(ValueError, match="stem"):
        build_backbone("resnet18", stem="tiny")
    with pytest.raises(ValueError, match="ResNets only"):
        build_backbone("vgg16", stem="fast")
    with pytest.raises(ValueError, match="stem: standard"):
        build_backbone("resnet18", pretrained=str(tmp_path / "r18.pth"), stem="fast")
