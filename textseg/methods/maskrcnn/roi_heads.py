"""The second stage: box head, mask head, proposal sampling and mask targets.

* :class:`BoxHead`: two FC layers (``fc_dim``) on 7 x 7 RoIAlign features, then 2-way
  logits (background, text) and class-specific box deltas (4, for text).
* :class:`MaskHead`: ``mask_convs`` 3x3 conv + ReLU, a 2x transposed conv + ReLU and a
  1x1 conv to one mask logit map (28 x 28 from 14 x 14 RoIs).
* :func:`mask_targets`: the 28 x 28 target of each positive RoI, sampled (nearest) from
  the instance-id map at the bin centres and compared with the matched instance's id.
* :func:`detections`: eval-mode scoring, NMS and the fixed top-D of each image.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .anchors import clip_boxes, index_range
from .nms import batched_nms, kept_mask
from .rpn import INVALID

__all__ = ["BoxHead", "MaskHead", "mask_targets", "detections"]


class BoxHead(nn.Module):
    def __init__(self, channels, pool, fc_dim):
        super().__init__()
        self.fc1 = nn.Linear(channels * pool * pool, fc_dim)
        self.fc2 = nn.Linear(fc_dim, fc_dim)
        self.cls = nn.Linear(fc_dim, 2)
        self.box = nn.Linear(fc_dim, 4)
        for fc in (self.fc1, self.fc2):
            nn.init.kaiming_uniform_(fc.weight, a=1)
            nn.init.zeros_(fc.bias)
        nn.init.normal_(self.cls.weight, std=0.01)
        nn.init.normal_(self.box.weight, std=0.001)
        nn.init.zeros_(self.cls.bias)
        nn.init.zeros_(self.box.bias)

    def forward(self, x):
        x = F.relu(self.fc1(x.flatten(1)))
        x = F.relu(self.fc2(x))
        return self.cls(x), self.box(x)


class MaskHead(nn.Module):
    def __init__(self, in_channels, channels, num_convs):
        super().__init__()
        convs, c = [], in_channels
        for _ in range(int(num_convs)):
            convs += [nn.Conv2d(c, channels, 3, padding=1), nn.ReLU(inplace=True)]
            c = channels
        self.convs = nn.Sequential(*convs)
        self.up = nn.ConvTranspose2d(c, channels, 2, stride=2)
        self.logits = nn.Conv2d(channels, 1, 1)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.logits.weight, std=0.001)

    def forward(self, x):
        return self.logits(F.relu(self.up(self.convs(x))))[:, 0]


def mask_targets(instances, batch, boxes, ids, size):
    """(n, size, size) float 0/1 targets: ``instances`` (B, 1, H, W) id map, ``batch`` (n,)
    image of each RoI, ``boxes`` (n, 4) RoIs (pixel centres at integers), ``ids`` (n,) the
    id (slot + 1) of each RoI's matched instance."""
    h, w = instances.shape[-2:]
    t = (torch.arange(size, device=boxes.device, dtype=boxes.dtype) + 0.5) / size
    xs = boxes[:, 0:1] + t[None] * (boxes[:, 2:3] - boxes[:, 0:1])                # (n, S)
    ys = boxes[:, 1:2] + t[None] * (boxes[:, 3:4] - boxes[:, 1:2])
    ix = torch.floor(xs + 0.5).clamp(0, w - 1).long()
    iy = torch.floor(ys + 0.5).clamp(0, h - 1).long()
    flat = (batch[:, None, None] * h + iy[:, :, None]) * w + ix[:, None, :]       # (n, S, S)
    values = instances.reshape(-1)[flat.reshape(-1)].reshape(flat.shape)
    return (values == ids[:, None, None]).float()


def detections(boxes, logits, valid, image_hw, score_thresh, nms_thresh, topd):
    """Eval: ``boxes`` (B, P, 4), ``logits`` (B, P) text-vs-background logit margins,
    ``valid`` (B, P) bool -> the D best after NMS per image: boxes (B, D, 4) and text
    probabilities (B, D), 0 where there is no detection.

    Ranking uses the logits, not the probabilities: confident probabilities saturate to
    exactly 1.0 in float32, and ties would let PyTorch and onnxruntime order (and so keep)
    detections differently. The final sort is stable (ties: lower index first, as ONNX
    TopK)."""
    boxes = clip_boxes(boxes, image_hw)
    logits = torch.where(valid, logits, torch.full_like(logits, INVALID))
    if logits.shape[1] < topd:  # fewer candidates than outputs: pad with empty ones
        pad = topd - logits.shape[1]
        boxes, logits = F.pad(boxes, (0, 0, 0, pad)), F.pad(logits, (0, pad), value=INVALID)
    p = min(max(float(score_thresh), 0.0), 1.0)
    thresh = max(math.log(p / (1 - p)) if 0 < p < 1 else (-math.inf if p <= 0 else math.inf),
                 INVALID / 2)
    n = logits.shape[1]
    groups = index_range(logits[:, 0]).long()[:, None].expand(-1, n).reshape(-1)
    keep = batched_nms(boxes.reshape(-1, 4), logits.reshape(-1), groups, nms_thresh, thresh)
    kept = kept_mask(keep, groups).reshape(-1, n)
    s = torch.where(kept, logits, torch.full_like(logits, INVALID))
    if torch.jit.is_tracing():  # ONNX TopK breaks ties by the lower index
        top, idx = s.topk(int(topd), dim=1)
    else:
        top, idx = torch.sort(s, dim=1, descending=True, stable=True)
        top, idx = top[:, :int(topd)], idx[:, :int(topd)]
    live = top > INVALID / 2
    boxes = torch.gather(boxes, 1, idx[..., None].expand(-1, -1, 4))
    return (torch.where(live[..., None], boxes, torch.zeros_like(boxes)),
            torch.where(live, torch.sigmoid(top), torch.zeros_like(top)))
