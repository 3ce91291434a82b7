import pytest
import torch
import torch.nn.functional as F

from textseg.backbones import BACKBONES, build_backbone
from textseg.trunks import FCN, FPN, TRUNKS, UNet
from textseg.trunks.layers import bilinear_upsampler

# resnet101 differs from resnet50 only in the depth of layer3 (same C2..C5 channels and
# strides); test_backbones covers it, the cross products skip it to stay fast
BACKBONE_CASES = [b for b in sorted(BACKBONES) if b != "resnet101"]
_FEATS = {}


def feats_of(name, h=70, w=90):
    """Real backbone features (no grad) for an input whose sides are not multiples of 32."""
    if (name, h, w) not in _FEATS:
        torch.manual_seed(0)
        net = build_backbone(name).eval()
        with torch.no_grad():
            _FEATS[name, h, w] = (net.out_channels, net(torch.randn(1, 3, h, w)))
    return _FEATS[name, h, w]


TRUNK_CASES = [("fcn", {}), ("fcn", {"variant": "16s"}), ("fcn", {"variant": "32s"}),
               ("fcn", {"fc": True, "fc_channels": 32}), ("unet", {}), ("fpn", {})]


@pytest.mark.parametrize("backbone", BACKBONE_CASES)
@pytest.mark.parametrize("trunk,options", TRUNK_CASES)
def test_trunk_output_is_c2_sized(backbone, trunk, options):
    in_channels, feats = feats_of(backbone)
    net = TRUNKS[trunk](in_channels, 16, **options).eval()
    with torch.no_grad():
        out = net(feats)
    assert net.out_channels == 16
    assert out.shape == (1, 16, *feats[0].shape[-2:])
    assert torch.isfinite(out).all()


def test_transposed_conv_starts_as_bilinear_upsampling():
    torch.manual_seed(0)
    up = bilinear_upsampler(5)
    assert up.kernel_size == (4, 4) and up.stride == (2, 2) and up.padding == (1, 1)
    x = torch.randn(2, 5, 9, 13)
    with torch.no_grad():
        ours = up(x)
    ref = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert ours.shape == ref.shape == (2, 5, 18, 26)
    torch.testing.assert_close(ours[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1], rtol=0, atol=1e-6)
    # on the border interpolate clamps while the transposed conv sees zero padding
    assert not torch.allclose(ours[..., 0, :], ref[..., 0, :])


def _sensitivity(net, feats, idx):
    """Does the output change when feature ``idx`` changes?"""
    with torch.no_grad():
        a = net(feats)
        other = list(feats)
        other[idx] = other[idx] + torch.randn_like(other[idx])
        return not torch.allclose(a, net(other))


@pytest.mark.parametrize("variant,uses", [("8s", [True, True, True]), ("16s", [False, True, True]),
                                          ("32s", [False, False, True])])
def test_fcn_variants_fuse_the_right_skips(variant, uses):
    in_channels, feats = feats_of("resnet18")
    net = FCN(in_channels, 8, variant=variant).eval()
    assert [_sensitivity(net, feats, i) for i in (1, 2, 3)] == uses
    assert (net.score3 is not None, net.score4 is not None) == (uses[0], uses[1])


def test_fcn_fc_block_is_fc6_fc7():
    in_channels, feats = feats_of("vgg16")
    net = FCN(in_channels, 8, fc=True, fc_channels=24, dropout=0.5)
    convs = [m for m in net.fc if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(7, 7), (1, 1)]
    assert convs[0].in_channels == 512 and convs[1].out_channels == 24
    assert any(isinstance(m, torch.nn.Dropout) for m in net.fc)
    with pytest.raises(ValueError, match="8s"):
        FCN(in_channels, 8, variant="4s")


def test_unet_concatenates_and_scales_widths():
    in_channels, feats = feats_of("resnet18")
    net = UNet(in_channels, 8).eval()
    stages = list(net.stages)
    assert [s.up.out_channels for s in stages] == [32, 16, 8]
    # the first conv of each stage sees upsampled + encoder channels (concatenation)
    assert [s.conv1[0].in_channels for s in stages] == [32 + 256, 16 + 128, 8 + 64]
    assert all(_sensitivity(net, feats, i) for i in range(4))
    assert UNet(in_channels, 8, widths=[20, 12, 6]).out_channels == 6


def test_fpn_pyramid_levels_and_top_down_path():
    in_channels, feats = feats_of("resnet18")
    net = FPN(in_channels, 8).eval()
    with torch.no_grad():
        pyramid = net.forward_pyramid(feats)
    assert [tuple(p.shape) for p in pyramid] == [(1, 8, *f.shape[-2:]) for f in feats]
    with torch.no_grad():  # C5 reaches P2 through the top-down path
        other = list(feats[:3]) + [feats[3] + torch.randn_like(feats[3])]
        assert not torch.allclose(net.forward_pyramid(other)[0], pyramid[0])
    assert net.fuse[0].in_channels == 4 * 8
    assert all(_sensitivity(net, feats, i) for i in range(4))


def test_trunks_reject_wrong_feature_lists():
    for cls in (FCN, UNet, FPN):
        with pytest.raises(ValueError, match="C2..C5"):
            cls([64, 128, 256], 8)


def test_fpn_fuse_kernel_one_is_a_1x1_fusion():
    from textseg.model import build_trunk

    chans = [16, 32, 64, 128]
    feats = [torch.randn(1, c, 32 // 2 ** k, 48 // 2 ** k) for k, c in enumerate(chans)]
    fpn = build_trunk("fpn", chans, 8, fuse_kernel=1).eval()
    assert fpn.fuse[0].kernel_size == (1, 1)
    assert fpn(feats).shape == (1, 8, 32, 48)
    assert build_trunk("fpn", chans, 8).fuse[0].kernel_size == (3, 3)
    with pytest.raises(ValueError, match="fpn trunk only"):
        build_trunk("unet", chans, 8, fuse_kernel=1)
    with pytest.raises(ValueError, match="fuse_kernel"):
        FPN(chans, 8, fuse_kernel=5)
