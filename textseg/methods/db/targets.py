"""DBNet training targets: shrunk probability map, threshold map and their masks.

For every polygon (area A, perimeter L) let D = A (1 - r^2) / L, r = ``shrink_ratio``
(px of network input).

* ``prob`` (1, h, w): 1 inside every non-ignored polygon shrunk by D (pyclipper), else 0.
* ``mask`` (1, h, w): 0 over ``###`` polygons, over text whose minimum-area rectangle is
  thinner than ``min_text_size`` and over polygons that a shrink by D makes vanish
  (the authors' rules); 1 elsewhere.
* ``thresh`` (1, h, w): ``thresh_min + (thresh_max - thresh_min) * max_p (1 - min(d_p / D_p, 1))``
  where d_p is the distance from the pixel to the border of non-ignored polygon p:
  ``thresh_max`` (0.7) on a border, falling linearly to ``thresh_min`` (0.3) at distance
  D inside and outside, and 0.3 elsewhere.
* ``thresh_mask`` (1, h, w): 1 inside the polygons dilated by D (the band where the L1
  loss on the threshold map applies), else 0.

The distances are exact point-to-segment distances, computed with numpy for all
polygons at once but only inside each polygon's bounding box grown by D: the pixels of
all boxes are laid end to end (polygon by polygon, in chunks), and one float32 pass per
edge slot keeps each pixel's smallest squared distance. The band is the polygons
(cv2.fillPoly) plus every pixel within D of a border: the round-joined dilation.

Map pixel (i, j) stands for the network-input point ((j + 0.5) s - 0.5, (i + 0.5) s - 0.5),
s the stride, as in the decoder. At stride 1 cv2.fillPoly's nearest-pixel rounding puts
the outline through the boundary pixels' centres; at s > 1 the shrunk polygon is shrunk
(s - 1) / 2 input px more before it is rasterised, so that a map pixel is text when its
block's centre lies inside it (the decoder moves the outline back out; see PSENet's
targets for the measurement). numpy/cv2/pyclipper only (runs in DataLoader workers).
"""

import math
from typing import Tuple

import cv2
import numpy as np

from textseg.geometry import annotation_polygons, shrink_polygon

from ...types import Annotations, Maps, PartConfig, Targets
from . import SPEC
from ..raster import fill_each

_CHUNK = 1 << 20      # box pixels per distance pass (bounds the temporary arrays)


def _checked(cfg):
    """The target options and the stride, with DBNet's range checks."""
    _, opts, stride = SPEC.target_options(cfg)
    if not 0.0 < float(opts["shrink_ratio"]) < 1.0:
        raise ValueError(f"DBNet shrink_ratio must be in (0, 1), got {opts['shrink_ratio']}")
    if not 0.0 <= float(opts["thresh_min"]) < float(opts["thresh_max"]) <= 1.0:
        raise ValueError(f"DBNet needs 0 <= thresh_min < thresh_max <= 1, got "
                         f"{opts['thresh_min']} and {opts['thresh_max']}")
    if stride < 1:
        raise ValueError(f"DBNet stride must be >= 1, got {stride}")
    return opts, stride


def shrink_distance(poly, shrink_ratio):
    """D = A (1 - r^2) / L of one polygon (N, 2), in its pixels (0 when degenerate)."""
    p = np.asarray(poly, dtype=np.float32).reshape(-1, 1, 2)
    perimeter = cv2.arcLength(p, True)
    return abs(cv2.contourArea(p)) * (1.0 - shrink_ratio ** 2) / perimeter if perimeter > 0 else 0.0


def _min_side(poly):
    return float(min(cv2.minAreaRect(np.asarray(poly, np.float32).reshape(-1, 2))[1]))


def _edge_table(polys):
    """(M, E, 4) float64 edges x0, y0, x1, y1 of M polygons; shorter polygons are padded
    with zero-length edges at their first point, which change no smallest distance."""
    e = max(len(p) for p in polys)
    table = np.empty((len(polys), e, 4), np.float64)
    for i, p in enumerate(polys):
        p = np.asarray(p, np.float64)
        table[i, :len(p)] = np.concatenate([p, np.roll(p, -1, axis=0)], axis=1)
        table[i, len(p):] = np.concatenate([p[0], p[0]])
    return table


def border_maps(polys, dists, hw, stride):
    """closeness (h, w) float32 = max_p (1 - min(d_p / D_p, 1)) for polygons (list of
    (N, 2) input px) and distances D (M,); d_p is the pixel's distance to p's border."""
    h, w = hw
    close = np.zeros(h * w, np.float32)
    if not polys:
        return close.reshape(h, w)
    dists = np.asarray(dists, np.float64)
    edges = _edge_table(polys)
    lo = np.array([p.min(axis=0) for p in polys]) - dists[:, None]
    hi = np.array([p.max(axis=0) for p in polys]) + dists[:, None]
    # map pixels whose centres ((j + 0.5) s - 0.5) may lie in [lo, hi]
    x0 = np.clip(np.ceil((lo[:, 0] + 0.5) / stride - 0.5), 0, w - 1).astype(np.int64)
    y0 = np.clip(np.ceil((lo[:, 1] + 0.5) / stride - 0.5), 0, h - 1).astype(np.int64)
    x1 = np.clip(np.floor((hi[:, 0] + 0.5) / stride - 0.5), 0, w - 1).astype(np.int64)
    y1 = np.clip(np.floor((hi[:, 1] + 0.5) / stride - 0.5), 0, h - 1).astype(np.int64)
    bw, bh = np.maximum(x1 - x0 + 1, 0), np.maximum(y1 - y0 + 1, 0)
    sizes = bw * bh
    ends = np.cumsum(sizes)
    start = 0
    while start < len(polys):  # chunks of whole polygons, about _CHUNK pixels each
        stop = int(np.searchsorted(ends, ends[start] - sizes[start] + _CHUNK, "right"))
        sel = slice(start, max(stop, start + 1))
        n = sizes[sel]
        rows = np.repeat(np.arange(sel.start, sel.stop), bh[sel])       # one per box row
        row_y = y0[rows] + np.arange(len(rows)) - np.repeat(np.cumsum(bh[sel]) - bh[sel], bh[sel])
        row_len = bw[rows]
        py = np.repeat(row_y, row_len)
        px = np.arange(int(n.sum())) + np.repeat(x0[rows] - (np.cumsum(row_len) - row_len), row_len)
        d = _distances(px, py, n, edges[sel], stride)
        val = 1.0 - np.minimum(d / np.repeat(dists[sel], n).astype(np.float32), 1.0)
        _max_into(close, py * w + px, val)
        start = sel.stop
    return close.reshape(h, w)


def _distances(px, py, n, edges, stride):
    """float32 distances of map pixels (px, py) to the borders of their polygons: the
    first n[0] pixels belong to polygon 0 of ``edges`` (m, E, 4), and so on."""
    f = np.float32
    x = (px * stride + (stride - 1) / 2.0).astype(f)
    y = (py * stride + (stride - 1) / 2.0).astype(f)
    best = np.full(len(px), np.inf, f)
    rx, ry, t = (np.empty(len(px), f) for _ in range(3))
    for k in range(edges.shape[1]):
        ax, ay, bx, by = edges[:, k].T
        dx, dy = bx - ax, by - ay
        inv = 1.0 / np.maximum(dx * dx + dy * dy, 1e-12)
        ax, ay, dx, dy, inv = (np.repeat(v.astype(f), n) for v in (ax, ay, dx, dy, inv))
        np.subtract(x, ax, out=rx)
        np.subtract(y, ay, out=ry)
        np.multiply(rx, dx, out=t)          # t = clip(((p - a) . (b - a)) / |b - a|^2, 0, 1)
        t += ry * dy
        t *= inv
        np.clip(t, 0.0, 1.0, out=t)
        rx -= t * dx                        # p - (a + t (b - a))
        ry -= t * dy
        rx *= rx
        ry *= ry
        rx += ry
        np.minimum(best, rx, out=best)
    return np.sqrt(best, out=best)


def _max_into(canvas, idx, val):
    """canvas[idx] = max(canvas[idx], val) with repeated indices (positive values only)."""
    keep = val > 0
    idx, val = idx[keep], val[keep]
    canvas[idx] = np.maximum(canvas[idx], val)  # a repeated index keeps one of its values
    dup = np.bincount(idx, minlength=len(canvas))[idx] > 1
    if dup.any():                                # ... so those pixels take the max again
        np.maximum.at(canvas, idx[dup], val[dup])


def _annotation_polygons(annotations):
    return annotation_polygons(annotations, np.float64)


def build_targets(annotations: Annotations, image_hw: Tuple[int, int],
                  cfg: PartConfig) -> Targets:
    """DBNet maps for one image: {'prob', 'mask', 'thresh', 'thresh_mask'}, each
    (1, h, w) float32 at the head's stride."""
    opts, stride = _checked(cfg)
    r = float(opts["shrink_ratio"])
    lo, hi = float(opts["thresh_min"]), float(opts["thresh_max"])
    h, w = math.ceil(int(image_hw[0]) / stride), math.ceil(int(image_hw[1]) / stride)
    prob = np.zeros((h, w), np.uint8)
    mask = np.ones((h, w), np.uint8)
    polys, ignore = _annotation_polygons(annotations)
    keep, dists, shrunk = [], [], []
    extra = (stride - 1) / 2.0
    for p, ign in zip(polys, ignore):
        d = shrink_distance(p, r)
        if not ign and d > 0 and _min_side(p) >= float(opts["min_text_size"]):
            pieces = shrink_polygon(p, d + extra)
            if not pieces and extra > 0:  # too thin for the extra: rasterise the plain shrink
                pieces = shrink_polygon(p, d)
            if pieces:
                keep.append(p)
                dists.append(d)
                shrunk.extend(pieces)
                continue
        fill_each(mask, [p], 0, stride)
    fill_each(prob, shrunk, 1, stride)
    close = border_maps(keep, dists, (h, w), stride)
    band = np.zeros((h, w), np.uint8)     # the dilation: inside, or within D of the border
    fill_each(band, keep, 1, stride)
    band[close > 0] = 1
    thresh = lo + (hi - lo) * close
    f = np.float32
    return {"prob": prob[None].astype(f), "mask": mask[None].astype(f),
            "thresh": thresh[None].astype(f), "thresh_mask": band[None].astype(f)}


def targets_to_maps(targets: Targets, cfg: PartConfig) -> Maps:
    """The maps a perfect head outputs in eval mode for these targets (what the decoder
    reads): ``{'prob': (1, h, w)}``, 1 inside the shrunk text, 0 elsewhere."""
    return {"prob": np.asarray(targets["prob"], dtype=np.float32).copy()}
