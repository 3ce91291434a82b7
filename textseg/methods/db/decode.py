"""DBNet decoder: probability map -> text regions -> quads or polygons (numpy/OpenCV only).

1. the probability map is binarised at ``thresh``;
2. the regions are its 8-connected components: one ``cv2.findContours`` call
   (external outlines) for the whole map, one ``cv2.connectedComponents`` call for the
   labels; each outline's first point gives its label;
3. a region's score is the mean probability over its own pixels (masked by the region,
   not by its box): one ``np.bincount`` over the text pixels for all regions at once;
4. each region's minimum-area rectangle (area A', perimeter L') is grown by D' on every
   side: ``unclip: ratio``: D' = A' unclip_ratio / L' (the paper); ``unclip: inverse``:
   the D that the targets' shrink with ``shrink_ratio`` r took away, the root of
   (8 - 4c) D^2 + (1 - c) L' D - c A' = 0 with c = 1 - r^2 (exact for rectangles:
   then D = c A / L holds for the grown rectangle A, L). Growing the rectangle by D' is
   what the reference does (a round-joined pyclipper offset, then its minimum-area
   rectangle), without pyclipper. With ``inverse`` the rectangle's thickness comes from
   the region's pixel count (robust on slanted, thin regions; ``_thickness_from_area``);
5. regions thinner than ``min_size`` or scoring under ``box_thresh``, and boxes thinner
   than ``min_size + 2`` after growing, are dropped; there is no cap on the number of
   regions (a dense page has thousands of words).

With ``polygon: true`` each region's outline is offset by D' instead (pyclipper, mitre
joins, which keep a box's corners; A' and L' of the outline) and simplified
(Douglas-Peucker) to ``polygon_epsilon`` x the text height (2 x area / perimeter).

Coordinates: map pixel (i, j) at stride s is the input point ((j + 0.5) s - 0.5,
(i + 0.5) s - 0.5), as in ``targets``; at s > 1 outlines through boundary pixel centres
are moved out by 0.5 - 0.5 / s map pixels first (the targets shrink by (s - 1) / 2 input
px more before rasterising). Outputs are in network-input pixels, clockwise from the
top-left point.
"""

from typing import List

import cv2
import numpy as np
import pyclipper

from textseg.geometry import clockwise_from_top_left, order_clockwise, rect_corners, rotated_rects

from ...types import Detection, Maps, PartConfig
from . import SPEC

__all__ = ["decode", "region_scores", "regions", "unclip_distance"]

_CLIPPER_SCALE = 256.0


def _checked(cfg):
    """The decode options (``unclip`` checked by the spec) and the stride."""
    _, opts, stride = SPEC.decode_options(cfg)
    if not 0.0 < float(opts["shrink_ratio"]) < 1.0:
        raise ValueError(f"DBNet decode shrink_ratio must be in (0, 1), got {opts['shrink_ratio']}")
    return opts, stride


def unclip_distance(area, perimeter, opts):
    """D' (same shape as ``area``) for regions of area A' and perimeter L' (input px)."""
    a = np.asarray(area, np.float64)
    per = np.maximum(np.asarray(perimeter, np.float64), 1e-6)
    if opts["unclip"] == "ratio":
        return a * float(opts["unclip_ratio"]) / per
    c = 1.0 - float(opts["shrink_ratio"]) ** 2
    qa, qb = 8.0 - 4.0 * c, (1.0 - c) * per
    return (np.sqrt(qb * qb + 4.0 * qa * c * a) - qb) / (2.0 * qa)


def regions(prob, thresh):
    """Outlines, scores and sizes of the regions of ``prob > thresh``.

    Returns (contours, scores, areas): the external outline of each 8-connected region
    (cv2 int32 (K, 1, 2), map pixels), the mean probability over its pixels and its
    number of pixels (M,)."""
    bitmap = (prob > thresh).view(np.uint8)
    contours, _ = cv2.findContours(bitmap, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return (contours, *region_scores(bitmap, prob, contours))


def region_scores(bitmap, prob, contours):
    """(means, areas): mean of ``prob`` over the pixels of the 8-connected region of
    ``bitmap`` (uint8) that each outline bounds, and its pixel count; one labelling and
    one bincount for all regions."""
    if not len(contours):
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    n, labels = cv2.connectedComponents(bitmap, connectivity=8, ltype=cv2.CV_32S)
    text = bitmap.view(bool)
    lab = labels[text]
    area = np.bincount(lab, minlength=n)
    total = np.bincount(lab, weights=prob[text], minlength=n)
    first = np.array([c[0, 0] for c in contours])  # a pixel of the region, (x, y)
    ids = labels[first[:, 1], first[:, 0]]
    means = np.nan_to_num(total[ids] / np.maximum(area[ids], 1), nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(means, 0.0, 1.0).astype(np.float32), area[ids]


def _thickness_from_area(size, areas):
    """Rectangles' shorter sides re-estimated from the regions' pixel counts.

    A polygon rasterised with nearest-pixel rounding (the targets) covers about
    (w + 1) (h + 1) pixels, w x h its size between boundary pixel centres. Along a
    slanted edge the boundary pixels step up and down, so the rectangle around them is
    up to a pixel too thick, and ``unclip: inverse`` multiplies a thickness error ~2.6x
    for long text (r = 0.4); the count is unbiased."""
    size = size.copy()
    long_ax = np.argmax(size, axis=1)
    rows = np.arange(len(size))
    length = size[rows, long_ax]
    thick = size[rows, 1 - long_ax]
    est = np.clip(areas / (length + 1.0) - 1.0, 0.0, thick)
    size[rows, 1 - long_ax] = est
    return size


def _area(p):
    """Signed shoelace area of (N, 2) points, positive when clockwise in image coordinates."""
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(x[:-1] @ y[1:] - x[1:] @ y[:-1] + x[-1] * y[0] - x[0] * y[-1])


def _offset(pts, distance):
    """The largest piece of ``pts`` (N, 2) offset outwards by ``distance`` px with mitre
    joins (pyclipper on a 1/256 px grid; pyclipper's mitre limit 2), or None."""
    pco = pyclipper.PyclipperOffset()
    pco.AddPath(np.round(pts * _CLIPPER_SCALE).astype(np.int64).tolist(), pyclipper.JT_MITER,
                pyclipper.ET_CLOSEDPOLYGON)
    pieces = [np.asarray(q, np.float64) / _CLIPPER_SCALE
              for q in pco.Execute(distance * _CLIPPER_SCALE) if len(q) >= 3]
    return max(pieces, key=lambda q: abs(_area(q))) if pieces else None


def _polygon(contour, stride, opts):
    """The grown, simplified outline of one region in input pixels, or None."""
    pts = contour.reshape(-1, 2).astype(np.float64) * stride + (stride - 1) / 2.0
    if len(pts) < 3:
        return None
    grow = (0.5 - 0.5 / stride) * stride
    area = abs(_area(pts))
    perimeter = cv2.arcLength(pts.astype(np.float32), True)
    area, perimeter = area + perimeter * grow + 4 * grow * grow, perimeter + 8 * grow
    poly = _offset(pts, grow + float(unclip_distance(area, perimeter, opts)))
    if poly is None:
        return None
    poly = poly.astype(np.float32)
    height = 2.0 * abs(_area(poly)) / max(cv2.arcLength(poly, True), 1e-6)
    eps = max(float(opts["polygon_epsilon"]) * height, 1.0)
    poly = cv2.approxPolyDP(poly.reshape(-1, 1, 2), eps, True).reshape(-1, 2)
    if len(poly) < 4 or min(cv2.minAreaRect(poly)[1]) < float(opts["min_size"]) + 2:
        return None
    return clockwise_from_top_left(poly)


def decode(maps: Maps, cfg: PartConfig) -> List[Detection]:
    """Text regions for one image from its maps ({'prob': (1, h, w)} probabilities).
    Returns a list of (polygon float32 (N, 2), score) in network-input pixels: quads, or
    outlines with ``polygon: true``."""
    opts, stride = _checked(cfg)
    prob = np.asarray(maps["prob"], dtype=np.float32)
    while prob.ndim > 2 and prob.shape[0] == 1:
        prob = prob[0]
    if prob.ndim != 2:
        raise ValueError(f"DBNet decode: expected prob of shape (1, h, w), "
                         f"got {np.shape(maps['prob'])}")
    contours, scores, areas = regions(np.ascontiguousarray(prob), float(opts["thresh"]))
    if not contours:
        return []
    centre, rect, theta = rotated_rects(contours)
    min_size = float(opts["min_size"])
    keep = (((rect.min(axis=1) + (1.0 - 1.0 / stride)) * stride >= min_size)
            & (scores >= float(opts["box_thresh"])))
    if opts["unclip"] == "inverse":  # the thickness from the pixel count (see above)
        rect = _thickness_from_area(rect, areas)
    centre = centre * stride + (stride - 1) / 2.0          # map -> input pixels
    size = (rect + (1.0 - 1.0 / stride)) * stride
    if opts["polygon"]:
        out = []
        for i in np.flatnonzero(keep):
            poly = _polygon(contours[i], stride, opts)
            if poly is not None:
                out.append((poly, float(scores[i])))
        return out
    idx = np.flatnonzero(keep)
    size = size[idx]
    d = unclip_distance(size[:, 0] * size[:, 1], 2.0 * (size[:, 0] + size[:, 1]), opts)
    size = size + 2.0 * d[:, None]
    ok = size.min(axis=1) >= min_size + 2
    idx, size = idx[ok], size[ok]
    if not len(idx):
        return []
    quads = order_clockwise(rect_corners(centre[idx], theta[idx], size[:, 0], size[:, 1]))
    return [(q, float(s)) for q, s in zip(quads, scores[idx])]
