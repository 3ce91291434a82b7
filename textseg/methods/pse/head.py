"""PSENet head: 3x3 conv+BN+ReLU, then a 1x1 conv to ``kernel_num`` maps.

``forward(feat)`` returns ``{'kernels': (B, kernel_num, h, w)}``; channel 0 is the whole
text region, the last channel the smallest kernel. In training mode the maps are
**logits** (the loss applies the sigmoid); in eval mode they are **probabilities**
(sigmoid applied), which is what the decoder and an ONNX export read.

The trunk's feature is at stride 4. ``stride`` 2 or 1 upsamples the logits bilinearly
(the authors' code trains and decodes at stride 1 this way); the upsampling has no
parameters, so a model trained at one stride runs at another.
"""

import torch
import torch.nn.functional as F
from torch import nn

from textseg.trunks.layers import conv_bn_relu

from . import HEAD_DEFAULTS

_TRUNK_STRIDE = 4


class Head(nn.Module):
    output_names = ("kernels",)

    def __init__(self, in_channels, kernel_num=HEAD_DEFAULTS["kernel_num"],
                 stride=HEAD_DEFAULTS["stride"], channels=HEAD_DEFAULTS["channels"],
                 num_convs=HEAD_DEFAULTS["num_convs"]):
        super().__init__()
        if int(kernel_num) < 2:
            raise ValueError(f"PSENet needs kernel_num >= 2 (text map + kernels), got {kernel_num}")
        if int(stride) not in (1, 2, 4):
            raise ValueError(f"PSENet head stride must be 1, 2 or 4, got {stride}")
        self.kernel_num = int(kernel_num)
        self.stride = int(stride)
        layers, cin = [], int(in_channels)
        for _ in range(int(num_convs)):
            layers.append(conv_bn_relu(cin, int(channels)))
            cin = int(channels)
        self.convs = nn.Sequential(*layers)
        self.out = nn.Conv2d(cin, self.kernel_num, 1)
        nn.init.normal_(self.out.weight, std=0.01)
        nn.init.zeros_(self.out.bias)

    def forward(self, feat):
        x = self.out(self.convs(feat))
        if self.stride != _TRUNK_STRIDE:
            x = F.interpolate(x, scale_factor=_TRUNK_STRIDE // self.stride, mode="bilinear",
                              align_corners=False)
        if not self.training:
            x = torch.sigmoid(x)
        return {"kernels": x}
