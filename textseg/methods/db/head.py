"""DBNet head: a probability branch and a threshold branch, learned upsampling to stride 1.

Each branch (authors' ``SegDetector``): 3x3 conv+BN+ReLU to ``channels``, then 2x2
stride-2 transposed conv + BN + ReLU, then a 2x2 stride-2 transposed conv to one map
(stride 1 from the stride-4 trunk; ``stride`` 2 keeps one deconv, 4 a 1x1 conv).

* eval mode: ``{'prob': (B, 1, h, w)}``, the text probability (sigmoid); the threshold
  branch is not run (the decoder never reads it, and an ONNX export leaves it out).
* training mode: ``{'prob_logits', 'thresh_logits', 'binary_logits'}``, each
  (B, 1, h, w), where ``binary_logits = k (sigmoid(prob_logits) - sigmoid(thresh_logits))``
  is the logit of the approximate binary map ``B = 1 / (1 + exp(-k (P - T)))``. It is
  computed in float32 even under autocast (P - T of two float16 sigmoids, amplified by
  k = 50, would lose the precision the binary loss needs), and the losses apply the
  sigmoids themselves from the logits.
"""

import torch
from torch import nn

from textseg.trunks.layers import conv_bn_relu

from . import HEAD_DEFAULTS

_TRUNK_STRIDE = 4


def _deconv(cin, cout):
    up = nn.ConvTranspose2d(cin, cout, 2, stride=2, bias=cout == 1)
    nn.init.kaiming_normal_(up.weight, mode="fan_out", nonlinearity="relu")
    return up


def _branch(cin, channels, ups):
    """conv3x3+BN+ReLU, ``ups - 1`` x (deconv 2x + BN + ReLU), then a 2x deconv (or a 1x1
    conv when ``ups`` is 0) to one map."""
    layers = [conv_bn_relu(cin, channels)]
    for _ in range(ups - 1):
        layers += [_deconv(channels, channels), nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
    layers.append(_deconv(channels, 1) if ups else nn.Conv2d(channels, 1, 1))
    return nn.Sequential(*layers)


class Head(nn.Module):
    output_names = ("prob",)

    def __init__(self, in_channels, stride=HEAD_DEFAULTS["stride"],
                 channels=HEAD_DEFAULTS["channels"], k=HEAD_DEFAULTS["k"], method="db"):
        super().__init__()
        if method != "db":
            raise ValueError(f"DBNet head built for method {method!r}")
        if int(stride) not in (1, 2, 4):
            raise ValueError(f"DBNet head stride must be 1, 2 or 4, got {stride}")
        if int(channels) < 1:
            raise ValueError(f"DBNet head channels must be >= 1, got {channels}")
        if not float(k) > 0:
            raise ValueError(f"DBNet k must be positive, got {k}")
        self.stride = int(stride)
        self.k = float(k)
        ups = {1: 2, 2: 1, 4: 0}[self.stride]
        self.prob = _branch(int(in_channels), int(channels), ups)
        self.thresh = _branch(int(in_channels), int(channels), ups)

    def forward(self, feat):
        prob_logits = self.prob(feat)
        if not self.training:
            return {"prob": torch.sigmoid(prob_logits)}
        thresh_logits = self.thresh(feat)
        with torch.autocast(feat.device.type, enabled=False):
            p, t = torch.sigmoid(prob_logits.float()), torch.sigmoid(thresh_logits.float())
            binary_logits = self.k * (p - t)
        return {"prob_logits": prob_logits, "thresh_logits": thresh_logits,
                "binary_logits": binary_logits}
