"""UNet decoder trunk (Ronneberger, Fischer & Brox 2015) on a backbone's C2..C5.

Three decoder stages climb from C5 to stride 4. Each one upsamples the previous
map 2x with a learned 2x2/2 transposed convolution (the paper's "up-convolution"),
CONCATENATES the encoder feature of the same stride (C4, C3, C2), then applies two
3x3 conv+BN+ReLU.

Widths are scaled from ``channels`` = c: 4c at stride 16, 2c at stride 8 and c at
stride 4 (the output). c = 64 gives 256/128/64, the last three decoder stages
of the original UNet; that is the width we use for UNet (FCN and FPN use 256).
"""

import torch
from torch import nn

from .layers import conv_bn_relu, match_size


class UpStage(nn.Module):
    def __init__(self, cin, skip, cout):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 2, stride=2)
        nn.init.kaiming_normal_(self.up.weight, mode="fan_in", nonlinearity="relu")
        nn.init.zeros_(self.up.bias)
        self.conv1 = conv_bn_relu(cout + skip, cout, 3)
        self.conv2 = conv_bn_relu(cout, cout, 3)

    def forward(self, x, skip):
        x = match_size(self.up(x), skip)
        return self.conv2(self.conv1(torch.cat([x, skip], dim=1)))


class UNet(nn.Module):
    """``UNet(in_channels, channels, widths=None)``; ``widths`` overrides (4c, 2c, c)."""

    def __init__(self, in_channels, channels, widths=None):
        super().__init__()
        if len(in_channels) != 4:
            raise ValueError(f"UNet needs the channels of C2..C5, got {in_channels}")
        widths = list(widths or (4 * channels, 2 * channels, channels))
        c2, c3, c4, c5 = in_channels
        self.stages = nn.ModuleList([
            UpStage(c5, c4, widths[0]),
            UpStage(widths[0], c3, widths[1]),
            UpStage(widths[1], c2, widths[2]),
        ])
        self.out_channels = widths[2]

    def forward(self, feats):
        c2, c3, c4, c5 = feats
        x = c5
        for stage, skip in zip(self.stages, (c4, c3, c2)):
            x = stage(x, skip)
        return x
