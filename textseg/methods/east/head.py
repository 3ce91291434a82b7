"""EAST output head: a small conv stack, then 1x1 convs for the score and the geometry.

Outputs (eval mode, what the decoder reads), at ``stride`` w.r.t. the network input:

* ``score`` (B, 1, h, w): text probability (sigmoid).
* ``geometry``: RBOX (B, 5, h, w): distances from the pixel to the top, right, bottom and
  left edges of its word's rectangle, ``sigmoid * max_text_size`` pixels of the network
  input, then the angle ``(sigmoid - 0.5) * pi / 2`` in [-pi/4, pi/4] (radians; positive
  turns the text clockwise on screen). The paper states [-pi/2, pi/2]; with [-pi/4, pi/4]
  the "top" edge is the one nearest to horizontal, so every rectangle has a single
  description and document text (angle ~0) sits far from the wrap-around.
  QUAD (B, 8, h, w): signed offsets x1, y1, ..., x4, y4 from the pixel to the corners
  (clockwise from the top-left), ``(2 * sigmoid - 1) * max_text_size`` pixels.

In training mode the dict also holds ``score_logits`` (before the sigmoid) for a
numerically stable cross-entropy.
"""

import math

import torch
from torch import nn

from . import HEAD_DEFAULTS


class Head(nn.Module):
    output_names = ("score", "geometry")

    def __init__(self, in_channels, geometry=HEAD_DEFAULTS["geometry"],
                 max_text_size=HEAD_DEFAULTS["max_text_size"], stride=HEAD_DEFAULTS["stride"],
                 channels=HEAD_DEFAULTS["channels"], num_convs=HEAD_DEFAULTS["num_convs"],
                 method="east"):
        super().__init__()
        if method != "east":
            raise ValueError(f"EAST head built for method {method!r}")
        if geometry not in ("rbox", "quad"):
            raise ValueError(f"EAST geometry must be 'rbox' or 'quad', got {geometry!r}")
        stride = int(stride)
        if stride < 4 or stride % 4 or (stride & (stride - 1)):
            raise ValueError(f"EAST head stride must be 4, 8, 16, ... (the trunk is at 4), got {stride}")
        if not max_text_size > 0:
            raise ValueError(f"EAST max_text_size must be positive, got {max_text_size}")
        self.geometry_kind = geometry
        self.max_text_size = float(max_text_size)
        self.stride = stride
        layers, c = [], in_channels
        for _ in range(int(num_convs)):
            layers += [nn.Conv2d(c, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                       nn.ReLU(inplace=True)]
            c = channels
        self.convs = nn.Sequential(*layers)
        self.score = nn.Conv2d(c, 1, 1)
        self.geometry = nn.Conv2d(c, 5 if geometry == "rbox" else 8, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for conv in (self.score, self.geometry):
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)
        if geometry == "rbox":  # start at 16 px distances and angle 0
            p = 16.0 / self.max_text_size
            nn.init.constant_(self.geometry.bias[:4], math.log(p / (1 - p)))

    def forward(self, feat):
        if self.stride > 4:
            k = self.stride // 4
            feat = nn.functional.avg_pool2d(feat, k, k, ceil_mode=True)
        x = self.convs(feat)
        logits = self.score(x)
        g = torch.sigmoid(self.geometry(x))
        if self.geometry_kind == "rbox":
            geometry = torch.cat([g[:, :4] * self.max_text_size, (g[:, 4:] - 0.5) * (math.pi / 2)], 1)
        else:
            geometry = (2 * g - 1) * self.max_text_size
        out = {"score": torch.sigmoid(logits), "geometry": geometry}
        if self.training:
            out["score_logits"] = logits
        return out
