"""Small building blocks shared by the trunks."""

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(cin, cout, k=3):
    """k x k conv (no bias, 'same' padding) + BatchNorm + ReLU, Kaiming-initialised."""
    conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def conv1x1(cin, cout):
    conv = nn.Conv2d(cin, cout, 1)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    nn.init.zeros_(conv.bias)
    return conv


def bilinear_kernel(k):
    """(k, k) kernel of a stride-k//2 transposed conv that upsamples bilinearly."""
    factor = (k + 1) // 2
    center = factor - 1 if k % 2 == 1 else factor - 0.5
    og = 1.0 - (torch.arange(k, dtype=torch.float64) - center).abs() / factor
    return (og[:, None] * og[None, :]).float()


def bilinear_upsampler(channels):
    """Learned 2x upsampling, ConvTranspose2d(k=4, s=2, p=1), initialised to bilinear.

    Channel i maps to channel i with the bilinear kernel and nothing else, so at init
    the layer equals ``F.interpolate(x, scale_factor=2, mode='bilinear')`` except on the
    one-pixel border (where interpolate clamps and the transposed conv sees zeros).
    """
    up = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1, bias=False)
    with torch.no_grad():
        up.weight.zero_()
        idx = torch.arange(channels)
        up.weight[idx, idx] = bilinear_kernel(4)
    return up


def match_size(x, ref):
    """``x`` cropped (bottom/right) to ``ref``'s spatial size, or resized if smaller.

    An upsampled map is at least its skip's size whenever the input side is a multiple
    of 32 (the model pads to that) and for ResNet strides in general; VGG's floor-mode
    pools can leave it one pixel short on odd sides, then it is resized bilinearly.
    """
    h, w = ref.shape[-2:]
    x = x[..., :h, :w]
    if x.shape[-2] != h or x.shape[-1] != w:
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    return x
