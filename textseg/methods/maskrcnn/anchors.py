"""Anchors on the pyramid levels and the box <-> delta encoding of Faster R-CNN.

Coordinates are textseg's: network-input pixels with pixel centres at integers. A feature
pixel j of a level with stride s is centred on input point ``(j + 0.5) * s - 0.5`` (as
in the EAST targets); its anchors are centred there too.

An anchor of ``size`` S, ``scale`` k and aspect ratio r = h / w has area (k S)^2,
w = k S / sqrt(r), h = k S sqrt(r) (so ratio 0.25 is a box four times wider than tall).
"""

import math

import torch
from torch.onnx.operators import shape_as_tensor

__all__ = ["cell_anchors", "grid_anchors", "encode", "decode", "clip_boxes", "box_area", "dims",
           "index_range"]

#: largest log(w / w_anchor) a decoded box may have (Detectron's clamp)
DELTA_CLAMP = math.log(1000.0 / 16)


def dims(x):
    """``x.shape``; while tracing for ONNX, a tensor whose entries stay dynamic in the graph."""
    if torch.jit.is_tracing():
        return shape_as_tensor(x)
    return x.shape


def index_range(row):
    """``arange(len(row))`` as float32 from a 1-D tensor; dynamic when traced."""
    return torch.ones_like(row, dtype=torch.float32).cumsum(0) - 1


def cell_anchors(size, ratios, scales=(1.0,)):
    """(A, 4) anchors centred on the origin: for each scale, for each ratio."""
    out = []
    for k in scales:
        for r in ratios:
            w = float(size) * float(k) / math.sqrt(float(r))
            h = float(size) * float(k) * math.sqrt(float(r))
            out.append([-w / 2, -h / 2, w / 2, h / 2])
    return torch.tensor(out, dtype=torch.float32)


def grid_anchors(cell, feat, stride):
    """(h * w * A, 4) anchors of a level with features ``feat`` (B, C, h, w) and ``stride``,
    in the order (row, column, anchor): the order of a (B, A, h, w) head output permuted
    to (B, h, w, A). Sizes stay dynamic when traced for ONNX."""
    ys = (index_range(feat[0, 0, :, 0]) + 0.5) * stride - 0.5
    xs = (index_range(feat[0, 0, 0, :]) + 0.5) * stride - 0.5
    cy, cx = torch.meshgrid(ys, xs, indexing="ij")
    centres = torch.stack([cx, cy, cx, cy], dim=-1).reshape(-1, 1, 4)
    return (centres + cell.to(centres)[None]).reshape(-1, 4)


def box_area(boxes):
    w = (boxes[..., 2] - boxes[..., 0]).clamp(min=0)
    return w * (boxes[..., 3] - boxes[..., 1]).clamp(min=0)


def encode(boxes, refs, weights=(1.0, 1.0, 1.0, 1.0)):
    """Deltas (dx, dy, dw, dh) that turn ``refs`` (n, 4) into ``boxes`` (n, 4)."""
    wx, wy, ww, wh = weights
    rw = (refs[:, 2] - refs[:, 0]).clamp(min=1e-3)
    rh = (refs[:, 3] - refs[:, 1]).clamp(min=1e-3)
    rx = refs[:, 0] + 0.5 * rw
    ry = refs[:, 1] + 0.5 * rh
    bw = (boxes[:, 2] - boxes[:, 0]).clamp(min=1e-3)
    bh = (boxes[:, 3] - boxes[:, 1]).clamp(min=1e-3)
    bx = boxes[:, 0] + 0.5 * bw
    by = boxes[:, 1] + 0.5 * bh
    return torch.stack([wx * (bx - rx) / rw, wy * (by - ry) / rh,
                        ww * torch.log(bw / rw), wh * torch.log(bh / rh)], dim=1)


def decode(deltas, refs, weights=(1.0, 1.0, 1.0, 1.0)):
    """Boxes (..., 4) from ``deltas`` (..., 4) applied to ``refs`` (..., 4)."""
    wx, wy, ww, wh = weights
    rw = refs[..., 2] - refs[..., 0]
    rh = refs[..., 3] - refs[..., 1]
    rx = refs[..., 0] + 0.5 * rw
    ry = refs[..., 1] + 0.5 * rh
    dx, dy = deltas[..., 0] / wx, deltas[..., 1] / wy
    dw = (deltas[..., 2] / ww).clamp(max=DELTA_CLAMP)
    dh = (deltas[..., 3] / wh).clamp(max=DELTA_CLAMP)
    cx, cy = rx + dx * rw, ry + dy * rh
    w, h = rw * torch.exp(dw), rh * torch.exp(dh)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def clip_boxes(boxes, hw):
    """Boxes clipped to the input [0, w - 1] x [0, h - 1] (pixel centres); ``hw`` ints or
    0-d tensors (from :func:`dims`)."""
    h, w = (torch.as_tensor(v, device=boxes.device).to(boxes.dtype) - 1 for v in hw)
    x = torch.minimum(boxes[..., 0::2].clamp(min=0), w)
    y = torch.minimum(boxes[..., 1::2].clamp(min=0), h)
    return torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], dim=-1)
