"""Feature Pyramid Network trunk (Lin et al. 2017), fused to one map as PSENet does.

1x1 laterals bring C2..C5 to ``channels``; the top-down path upsamples by nearest
neighbour to the lateral's exact size and ADDs; a 3x3 smoothing conv gives P2..P5.
For a segmentation head, P3..P5 are upsampled bilinearly (align_corners=False) to
P2's size, concatenated (4 x channels) and reduced by a 3x3 conv+BN+ReLU to
``channels`` at stride 4 (``fuse_kernel=1``: a 1x1 conv, a ninth of the work, for heads
whose first layer is a 3x3 conv anyway, as DBNet's). :meth:`FPN.forward_pyramid` returns P2..P5 for heads that
work per level (Mask R-CNN).

Laterals and smoothing convs are conv+BN+ReLU (as in PSENet), which trains well
from scratch; the paper's FPN used plain convolutions.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .layers import conv_bn_relu


class FPN(nn.Module):
    """``FPN(in_channels, channels, fuse=True, fuse_kernel=3)``; ``out_channels == channels``.

    ``fuse=False`` leaves out the fusion conv, for models that only use
    :meth:`forward_pyramid` (no unused parameters under DistributedDataParallel).
    """

    def __init__(self, in_channels, channels, fuse=True, fuse_kernel=3):
        super().__init__()
        if len(in_channels) != 4:
            raise ValueError(f"FPN needs the channels of C2..C5, got {in_channels}")
        if fuse_kernel not in (1, 3):
            raise ValueError(f"FPN fuse_kernel must be 1 or 3, got {fuse_kernel!r}")
        self.laterals = nn.ModuleList(conv_bn_relu(c, channels, 1) for c in in_channels)
        self.smooth = nn.ModuleList(conv_bn_relu(channels, channels, 3) for _ in in_channels)
        self.fuse = conv_bn_relu(4 * channels, channels, int(fuse_kernel)) if fuse else None
        self.pyramid_channels = channels
        self.out_channels = channels

    def forward_pyramid(self, feats):
        """[P2, P3, P4, P5] at strides 4, 8, 16, 32, each with ``channels``."""
        lats = [lat(f) for lat, f in zip(self.laterals, feats)]
        top = lats[-1]
        merged = [top]
        for lat in reversed(lats[:-1]):
            top = lat + F.interpolate(top, size=lat.shape[-2:], mode="nearest")
            merged.append(top)
        return [s(p) for s, p in zip(self.smooth, reversed(merged))]

    def forward(self, feats):
        if self.fuse is None:
            raise RuntimeError("this FPN was built with fuse=False: use forward_pyramid")
        p2, *coarse = self.forward_pyramid(feats)
        size = p2.shape[-2:]
        ups = [F.interpolate(p, size=size, mode="bilinear", align_corners=False) for p in coarse]
        return self.fuse(torch.cat([p2, *ups], dim=1))
