"""PSENet decoder: kernel maps -> text regions -> quads or polygons (numpy/OpenCV only).

1. (``scale_to_input``) the maps are upsampled bilinearly to stride 1, as the authors'
   code does before decoding; otherwise they are decoded at the head's stride, 16 times
   fewer pixels at stride 4, with region outlines still placed to sub-pixel precision
   (below);
2. pixels above ``thresh`` form the text mask (kernel 0) and the kernels; every kernel
   is cut to the text mask;
3. :func:`pse` labels the smallest kernel and expands the labels kernel by kernel;
4. regions under ``min_area`` (px^2 of network input) or whose mean text probability is
   under ``box_thresh`` are dropped; that mean is the region's score;
5. each region gives its minimum-area rectangle (default) or, with ``polygon``, its
   outer contour simplified (Douglas-Peucker) to ``polygon_epsilon`` x the region's
   text height (2 x area / perimeter, which suits curved bands too).

Coordinates: map pixel (i, j) at stride s covers input pixels j*s .. j*s + s - 1, its
centre the input point ((j + 0.5) s - 0.5, (i + 0.5) s - 0.5), as in ``targets``. A region's
outline through its boundary pixel centres is moved out by 0.5 - 0.5 / s map pixels, so
that a region covering map columns a..b gives input x from a*s to (b+1)*s - 1: the pixel
index range of the input pixels it covers (ICDAR ground truth's convention).
Outputs are in network-input pixels, clockwise from the top-left point.
"""

from typing import List

import cv2
import numpy as np

from textseg.geometry import (clockwise_from_top_left, expand_polygon, order_clockwise,
                              polygon_area, rect_corners, rotated_rects)

from ...types import Detection, Maps, PartConfig
from . import SPEC

__all__ = ["decode", "pse", "regions"]

_NONE = float(2 ** 62)  # key of a pixel that is not on the frontier
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def _expand(kernels, seeds, region):
    """Progressive scale expansion inside ``region`` (bool): the seeds grow through kernel
    K-2, then K-3, ... then kernel 0, one 4-neighbour ring per pass. Returns int32 labels
    (0 outside the region and where no label reaches).

    The reference's FIFO queue is followed exactly: every frontier pixel has its rank in
    the queue (seeds in raster order, then each ring ordered by the parent's rank and the
    direction up, down, left, right); a pixel reached by several labels takes the label
    of the lowest-ranked neighbour, and a pixel that labels a neighbour leaves the
    frontier for good. The key ``rank * size + position`` of every frontier pixel sits in
    a float64 map: per kernel one 3x3 cross erosion finds the first ring and each new
    pixel's parent, later rings look only at the neighbours of the last one.
    """
    h, w = seeds.shape[0] + 2, seeds.shape[1] + 2  # one-pixel frame: neighbours stay inside
    size = h * w
    labels = np.zeros((h, w), np.int32)
    labels[1:-1, 1:-1] = np.where(region, seeds, 0)
    inside = np.zeros((h, w), bool)
    inside[1:-1, 1:-1] = region
    flat = labels.reshape(-1)
    key = np.full(size, _NONE)
    pos = np.flatnonzero(flat)
    key[pos] = pos.astype(np.float64) * (size + 1)  # rank = raster position
    key2d = key.reshape(h, w)
    offsets = np.array([-w, w, -1, 1])  # up, down, left, right: the reference's order
    direction = np.zeros(2 * w + 1, np.int64)
    direction[offsets + w] = np.arange(4)
    rank = size
    for j in range(len(kernels) - 2, -1, -1):
        avail2d = inside & (labels == 0)
        avail2d[1:-1, 1:-1] &= kernels[j] != 0
        avail = avail2d.reshape(-1)
        best = cv2.erode(key2d, _CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=_NONE)
        new = np.flatnonzero(avail2d & (best < _NONE))
        k = best.reshape(-1)[new]
        while len(new):
            parent = (k - np.floor(k / size) * size).astype(np.int64)
            flat[new] = flat[parent]
            order = np.lexsort((direction[new - parent + w], k))
            new = new[order]
            key[parent] = _NONE
            key[new] = (rank + np.arange(len(new), dtype=np.float64)) * size + new
            rank += len(new)
            avail[new] = False
            cand = np.unique((new[:, None] + offsets).reshape(-1))
            cand = cand[avail[cand]]
            k = key[cand[:, None] + offsets].min(axis=1)
            new, k = cand[k < _NONE], k[k < _NONE]
    return labels[1:-1, 1:-1]


def pse(kernels, min_area=0):
    """Progressive scale expansion, the contract of the authors' Cython ``pse``.

    ``kernels`` uint8 (K, H, W), nonzero inside; kernels[0] the largest, kernels[-1] the
    smallest. The 4-connected components of kernels[-1] with at least ``min_area`` pixels
    are labelled (in raster order, numbering as cv2.connectedComponents, so labels of
    dropped components are skipped); the labels then grow breadth-first through
    kernels[-2], ..., kernels[0], a pixel going to the label that reaches it first.
    Returns the int32 (H, W) label map (0: background).

    Fast path: a 4-connected component of the union of the kernels that lies inside
    kernels[0] and holds one label ends up wholly in that label, so it is filled at once;
    the ring-by-ring growth runs only on components holding two or more labels (or
    pixels outside kernels[0]), inside their bounding box.

    Differences from the reference: its queue drops a pixel that has labelled a
    neighbour, even when the pixel still borders pixels of a later (larger) kernel, which
    can leave a few pixels unlabelled; the ring-by-ring growth reproduces that, the fast
    path labels them (0.06% of the labelled pixels on the stride-4 benchmark page). Its
    int16 coordinates limit it to maps under 32768 px; here there is no such limit.
    """
    k = np.asarray(kernels)
    if k.ndim != 3 or k.shape[0] < 1:
        raise ValueError(f"pse: expected kernels of shape (K, H, W), got {k.shape}")
    k = np.ascontiguousarray(k != 0).view(np.uint8)
    n, seeds, stats, _ = cv2.connectedComponentsWithStats(k[-1], connectivity=4, ltype=cv2.CV_32S)
    live = stats[:, cv2.CC_STAT_AREA] >= min_area
    live[0] = False
    if not live[1:].all():
        seeds = np.where(live, np.arange(n, dtype=np.int32), 0).astype(np.int32)[seeds]
    if len(k) == 1 or not live.any():
        return seeds
    union = np.bitwise_or.reduce(k, axis=0)
    m, comp, cstats, _ = cv2.connectedComponentsWithStats(union, connectivity=4, ltype=cv2.CV_32S)
    ys, xs = np.nonzero(seeds)
    comp_of = np.zeros(n, np.int64)
    comp_of[seeds[ys, xs]] = comp[ys, xs]
    labels = np.nonzero(live)[0]
    count = np.bincount(comp_of[labels], minlength=m)
    slow = count >= 2
    outside = union > k[0]
    if outside.any():
        slow |= np.bincount(comp[outside], minlength=m).astype(bool) & (count >= 1)
    fill = np.zeros(m, np.int32)
    one = count[comp_of[labels]] == 1
    fill[comp_of[labels[one]]] = labels[one]
    fill[slow] = 0
    fill[0] = 0
    out = fill[comp]
    if slow.any():
        idx = np.nonzero(slow)[0]
        x0, y0 = cstats[idx, 0].min(), cstats[idx, 1].min()
        x1 = (cstats[idx, 0] + cstats[idx, 2]).max()
        y1 = (cstats[idx, 1] + cstats[idx, 3]).max()
        region = slow[comp[y0:y1, x0:x1]]
        grown = _expand(k[:, y0:y1, x0:x1], seeds[y0:y1, x0:x1], region)
        out[y0:y1, x0:x1][region] = grown[region]
    return out


def upsample(kernels, factor):
    """(n, h, w) maps -> (n, h * factor, w * factor), bilinear with pixel centres aligned
    (cv2.resize's half-pixel convention, the same as the maps')."""
    if factor == 1:
        return kernels
    n, h, w = kernels.shape
    out = np.empty((n, h * factor, w * factor), np.float32)
    for c in range(n):
        out[c] = cv2.resize(kernels[c], (w * factor, h * factor), interpolation=cv2.INTER_LINEAR)
    return out


def regions(labels, score, min_area=0.0, box_thresh=0.0):
    """Per-label statistics of a label map, vectorised with np.bincount.

    Returns (ids, scores, points): the labels with at least ``min_area`` pixels and a mean
    ``score`` of at least ``box_thresh``, those means, and for each such label its
    boundary pixels as an (N, 2) float32 array of (x, y) (pixels with a 4-neighbour of
    another label; enough for hulls, rectangles and bounding boxes)."""
    n = int(labels.max()) + 1 if labels.size else 1
    flat = labels.reshape(-1)
    text = np.flatnonzero(flat)  # the background (label 0) is most of a page: skip it
    lab = flat[text]
    areas = np.bincount(lab, minlength=n)
    means = np.bincount(lab, weights=score.reshape(-1)[text], minlength=n) / np.maximum(areas, 1)
    keep = (areas >= min_area) & (means >= box_thresh)
    keep[0] = False
    ids = np.nonzero(keep)[0]
    if len(ids) == 0:
        return ids, np.zeros(0, np.float32), []
    lf = labels.astype(np.float64 if n >= (1 << 24) else np.float32)
    lo = cv2.erode(lf, _CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    hi = cv2.dilate(lf, _CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    ys, xs = np.nonzero((lo != lf) | (hi != lf))
    lab = labels[ys, xs]
    sel = keep[lab]
    ys, xs, lab = ys[sel], xs[sel], lab[sel]
    order = np.argsort(lab, kind="stable")
    pts = np.stack([xs[order], ys[order]], axis=1).astype(np.float32)
    ends = np.cumsum(np.bincount(lab, minlength=n)[ids])
    return ids, means[ids].astype(np.float32), np.split(pts, ends[:-1])


def _to_input(points, stride):
    """Map coordinates -> network-input coordinates (pixel centres at integers)."""
    return np.asarray(points, np.float64) * stride + (stride - 1) / 2.0


def _quads(point_sets, stride):
    """Minimum-area rectangles of the point sets, moved out by half a map pixel less half
    an input pixel, in input coordinates: (quads (M, 4, 2), valid (M,))."""
    if not len(point_sets):
        return np.zeros((0, 4, 2), np.float32), np.zeros(0, bool)
    centre, size, theta = rotated_rects(point_sets)
    size = size + (1.0 - 1.0 / stride)
    quads = rect_corners(centre, theta, size[:, 0], size[:, 1])
    return order_clockwise(_to_input(quads, stride)), (size > 0).all(axis=1)


def _polygon(labels, label, pts, stride, epsilon):
    """The simplified outer contour of one region in input coordinates, or None."""
    x0, y0 = pts.min(axis=0).astype(int)
    x1, y1 = pts.max(axis=0).astype(int) + 1
    mask = (labels[y0:y1, x0:x1] == label).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    contour = (max(contours, key=len).reshape(-1, 2) + [x0, y0]).astype(np.float32)
    # text height of a band: 2 area / perimeter (the pixel outline is one pixel short)
    height = 2.0 * cv2.contourArea(contour) / max(cv2.arcLength(contour, True), 1.0) + 1.0
    poly = cv2.approxPolyDP(contour, max(epsilon * height, 1.0), True)  # >= a staircase step
    poly = poly.reshape(-1, 2).astype(np.float64)
    if len(poly) < 4:
        return None
    grow = 0.5 - 0.5 / stride
    if grow > 0:
        pieces = expand_polygon(poly, grow)
        if not pieces:
            return None
        poly = max(pieces, key=lambda p: abs(polygon_area(p)))
    poly = _to_input(poly, stride)
    if abs(polygon_area(poly)) <= 0:
        return None
    return clockwise_from_top_left(poly)


def decode(maps: Maps, cfg: PartConfig) -> List[Detection]:
    """Text regions for one image from its maps ({'kernels': (n, h, w)} probabilities,
    kernel 0 the text region). Returns a list of (polygon float32 (N, 2), score) in
    network-input pixels: quads, or contours with ``polygon: true``."""
    head, opts, stride = SPEC.decode_options(cfg)
    k = np.asarray(maps["kernels"], dtype=np.float32)
    if k.ndim == 4 and k.shape[0] == 1:
        k = k[0]
    if k.ndim != 3 or k.shape[0] < 1:
        raise ValueError(f"PSENet decode: expected kernels of shape (n, h, w), got {k.shape}")
    if opts["scale_to_input"] and stride > 1:
        k, stride = upsample(k, stride), 1
    binary = k > float(opts["thresh"])
    binary[1:] &= binary[0]
    min_area = float(opts["min_area"]) / stride ** 2
    labels = pse(binary, min_area)
    ids, scores, point_sets = regions(labels, k[0], min_area, float(opts["box_thresh"]))
    scores = np.clip(scores, 0.0, 1.0)  # probabilities; inf in broken maps stays a score
    if opts["polygon"]:
        out = []
        for label, score, pts in zip(ids, scores, point_sets):
            poly = _polygon(labels, label, pts, stride, float(opts["polygon_epsilon"]))
            if poly is None:  # too small or thin for a contour: its rectangle
                quad, ok = _quads([pts], stride)
                poly = quad[0] if ok[0] else None
            if poly is not None:
                out.append((poly, float(score)))
        return out
    quads, valid = _quads(point_sets, stride)
    return [(q, float(s)) for q, s, ok in zip(quads, scores, valid) if ok]
