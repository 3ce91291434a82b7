"""Region proposal network: the shared conv head, proposals, and anchor matching/sampling.

* :class:`RPNHead`: 3x3 conv + ReLU, then 1x1 objectness (A) and box deltas (4A) per level.
* :func:`proposals`: per level the top-k anchors by objectness are decoded and clipped,
  NMS runs per level and image, and the top-k of all levels are an image's proposals.
  Shapes stay fixed (a level with fewer anchors than k is padded with invalid entries),
  so the graph exports to ONNX for any input size.
* :func:`match`, :func:`sample`: Faster R-CNN labels (IoU >= 0.7 positive, < 0.3
  negative, each box's best anchors positive, don't-care overlap ignored) and the
  256-anchor minibatch of at most 50% positives.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .anchors import box_area, clip_boxes, decode, index_range
from .nms import batched_nms, box_iou, kept_mask

__all__ = ["RPNHead", "proposals", "match", "sample", "INVALID"]

#: objectness logit of padded / invalid proposals
INVALID = -1.0e4
#: anchors per chunk when matching (bounds the IoU matrix memory)
MATCH_CHUNK = 1 << 15


class RPNHead(nn.Module):
    """Shared over levels: returns per level objectness (B, h*w*A) and deltas (B, h*w*A, 4)."""

    def __init__(self, channels, num_anchors):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.objectness = nn.Conv2d(channels, num_anchors, 1)
        self.deltas = nn.Conv2d(channels, 4 * num_anchors, 1)
        for m in (self.conv, self.objectness, self.deltas):
            nn.init.normal_(m.weight, std=0.01)
            nn.init.zeros_(m.bias)

    def forward(self, feats):
        objs, deltas = [], []
        for f in feats:
            t = F.relu(self.conv(f))
            o, d = self.objectness(t), self.deltas(t)
            # channels are (anchor) and (anchor, coordinate): flatten as (row, column, anchor)
            objs.append(o.permute(0, 2, 3, 1).flatten(1))
            deltas.append(d.permute(0, 2, 3, 1).flatten(1).unflatten(1, (-1, 4)))
        return objs, deltas


def proposals(objs, deltas, anchors, image_hw, pre_topk, post_topk, nms_thresh, min_size=0.0):
    """Proposals (B, post_topk, 4) and their objectness logits (B, post_topk), best first;
    entries past an image's last proposal have logit :data:`INVALID`. Not differentiable."""
    boxes, scores, levels = [], [], []
    for lvl, (o, d, a) in enumerate(zip(objs, deltas, anchors)):
        k = int(pre_topk)
        o = F.pad(o.detach().float(), (0, k), value=INVALID)   # at least k entries
        d = F.pad(d.detach().float(), (0, 0, 0, k))
        a = F.pad(a, (0, 0, 0, k))
        top, idx = o.topk(k, dim=1)                             # (B, k)
        bx = decode(torch.gather(d, 1, idx[..., None].expand(-1, -1, 4)), a[idx])
        bx = clip_boxes(bx, image_hw)
        wh = bx[..., 2:] - bx[..., :2]
        ok = (wh > 0).all(dim=-1) & (wh >= min_size).all(dim=-1) & (top > INVALID / 2)
        boxes.append(bx)
        scores.append(torch.where(ok, top, torch.full_like(top, INVALID)))
        levels.append(torch.full_like(idx[0], lvl))
    boxes, scores, levels = torch.cat(boxes, 1), torch.cat(scores, 1), torch.cat(levels)
    n = scores.shape[1]
    image = index_range(scores[:, 0]).long()[:, None]
    groups = (image * len(objs) + levels[None]).reshape(-1)   # NMS per image and level
    keep = batched_nms(boxes.reshape(-1, 4), scores.reshape(-1), groups, nms_thresh, INVALID / 2)
    kept = kept_mask(keep, groups).reshape(-1, n)
    s = torch.where(kept, scores, torch.full_like(scores, INVALID))
    top, idx = s.topk(min(int(post_topk), n), dim=1)
    return torch.gather(boxes, 1, idx[..., None].expand(-1, -1, 4)), top


def _max_iou(anchors, gt):
    """Per anchor: best IoU and its box; per box: best IoU over anchors (chunked)."""
    best, arg = [], []
    col = gt.new_zeros(gt.shape[0])
    for s in range(0, anchors.shape[0], MATCH_CHUNK):
        iou = box_iou(anchors[s:s + MATCH_CHUNK], gt)
        v, i = iou.max(dim=1)
        best.append(v)
        arg.append(i)
        col = torch.maximum(col, iou.max(dim=0).values)
    return torch.cat(best), torch.cat(arg), col


def _ioa(boxes, regions):
    """Per box: largest intersection with a region divided by the box's own area."""
    out = boxes.new_zeros(boxes.shape[0])
    for s in range(0, boxes.shape[0], MATCH_CHUNK):
        b = boxes[s:s + MATCH_CHUNK]
        lt = torch.maximum(b[:, None, :2], regions[None, :, :2])
        rb = torch.minimum(b[:, None, 2:], regions[None, :, 2:])
        inter = (rb - lt).clamp(min=0).prod(dim=-1)
        out[s:s + MATCH_CHUNK] = (inter / box_area(b).clamp(min=1e-6)[:, None]).max(dim=1).values
    return out


def match(boxes, gt, ignore, pos_iou, neg_iou, ignore_ioa, best_match=True):
    """Labels (n,) long: 1 positive, 0 negative, -1 ignored, and the matched ``gt`` index
    (n,) of each box. ``gt`` (G, 4) text boxes, ``ignore`` (I, 4) don't-care boxes.
    ``best_match``: each text box's best-overlapping boxes are positive too."""
    n = boxes.shape[0]
    labels = torch.zeros(n, dtype=torch.long, device=boxes.device)
    matched = torch.zeros(n, dtype=torch.long, device=boxes.device)
    if gt.shape[0]:
        best, matched, col = _max_iou(boxes, gt)
        labels[best >= neg_iou] = -1
        labels[best >= pos_iou] = 1
        if best_match:
            # a box can only reach a text box's best IoU col[j] if its own best IoU is at
            # least that large: look again only at those (a small share of all anchors)
            low = col[col > 0]
            if low.numel():
                cand = torch.nonzero(best >= low.min()).squeeze(1)
                for s in range(0, cand.numel(), MATCH_CHUNK):
                    idx = cand[s:s + MATCH_CHUNK]
                    iou = box_iou(boxes[idx], gt)
                    hit = ((iou == col[None]) & (col[None] > 0)).any(dim=1)
                    labels[idx[hit]] = 1
    if ignore.shape[0]:
        labels[(labels == 0) & (_ioa(boxes, ignore) >= ignore_ioa)] = -1
    return labels, matched


def sample(labels, num, positive_fraction, generator=None):
    """Random indices of at most ``num * positive_fraction`` positives and enough
    negatives to make ``num`` (fewer when there are not enough)."""
    pos = torch.nonzero(labels == 1).squeeze(1)
    neg = torch.nonzero(labels == 0).squeeze(1)
    n_pos = min(pos.numel(), int(num * positive_fraction))
    n_neg = min(neg.numel(), int(num) - n_pos)
    pos = pos[torch.randperm(pos.numel(), device=pos.device, generator=generator)[:n_pos]]
    neg = neg[torch.randperm(neg.numel(), device=neg.device, generator=generator)[:n_neg]]
    return pos, neg
