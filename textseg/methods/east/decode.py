"""EAST decoder: score + geometry maps -> quads (numpy/OpenCV only, no torch).

1. pixels whose score exceeds ``score_thresh`` are candidates, in row-major order;
2. each candidate restores a quad from its geometry (all at once);
3. locality-aware NMS merges them (:func:`lanms`, same contract as lanms-neo);
4. boxes whose mean score inside is at or under ``box_thresh`` (or whose shorter side is
   under ``min_size``) are dropped; the mean score is the box's returned score.

Quads are in network-input pixels, clockwise from the top-left corner. Map pixel (i, j)
stands for the input point ((j + 0.5) * stride - 0.5, (i + 0.5) * stride - 0.5), as in
``targets``.
"""

from typing import List

import cv2
import numpy as np

from ...types import Detection, Maps, PartConfig
from . import SPEC
from .lanms import lanms
from ...geometry import order_clockwise
from .rbox import min_area_rects, restore_rbox
from ..raster import map_pixel_centres, to_map_coords

__all__ = ["decode", "lanms", "candidates", "box_scores", "MAX_COORD"]

#: candidate boxes with a corner beyond it (px of network input) are garbage
MAX_COORD = float(1 << 15)


def candidates(maps, cfg):
    """Candidate boxes (N, 9) float32 ``x1, y1, ..., x4, y4, score`` in row-major order of
    their pixels: the input of the locality-aware NMS."""
    head, opts, stride = SPEC.decode_options(cfg)
    score = np.asarray(maps["score"], dtype=np.float32).reshape(maps["score"].shape[-2:])
    geo = np.asarray(maps["geometry"], dtype=np.float32)
    ys, xs = np.nonzero(score > opts["score_thresh"])
    points = map_pixel_centres(xs, ys, stride)
    g = geo[:, ys, xs].T.astype(np.float64)
    n_geo = 5 if head["geometry"] == "rbox" else 8
    if geo.shape[0] != n_geo:
        raise ValueError(f"EAST {head['geometry'].upper()} geometry needs {n_geo} channels, "
                         f"got {geo.shape[0]}")
    with np.errstate(invalid="ignore", over="ignore"):  # broken maps: rows dropped below
        if n_geo == 5:
            quads = restore_rbox(points, g[:, :4], g[:, 4])
        else:
            quads = points[:, None, :] + g.reshape(-1, 4, 2)
        boxes = np.concatenate([quads.reshape(-1, 8), score[ys, xs, None]], axis=1).astype(np.float32)
    # a head's geometry is bounded (sigmoid x max_text_size): NaN, inf or absurd corners
    # come from broken weights and are dropped; scores are probabilities (NMS weights)
    sane = np.isfinite(boxes).all(axis=1) & (np.abs(boxes[:, :8]) <= MAX_COORD).all(axis=1)
    boxes = boxes[sane]
    np.clip(boxes[:, 8], 0.0, 1.0, out=boxes[:, 8])
    return boxes


def box_scores(score, quads, stride):
    """Mean of the score map (h, w) inside each quad (N, 4, 2) given in input pixels."""
    h, w = score.shape
    pts = to_map_coords(quads, stride)
    out = np.zeros(len(quads), dtype=np.float32)
    lo = np.clip(np.floor(pts.min(axis=1)).astype(int), 0, [w - 1, h - 1])
    hi = np.clip(np.ceil(pts.max(axis=1)).astype(int) + 1, 1, [w, h])
    fixed = np.round(pts * 16).astype(np.int32)
    for i in range(len(quads)):
        (x0, y0), (x1, y1) = lo[i], hi[i]
        roi = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(roi, [fixed[i] - np.array([x0, y0], np.int32) * 16], 1, shift=4)
        out[i] = cv2.mean(score[y0:y1, x0:x1], mask=roi)[0] if roi.any() else 0.0
    return out


def decode(maps: Maps, cfg: PartConfig) -> List[Detection]:
    """Quads for one image from its maps ({'score': (1, h, w), 'geometry': (C, h, w)}).

    Returns a list of (quad float32 (4, 2), score) in network-input pixels."""
    head, opts, stride = SPEC.decode_options(cfg)
    boxes = candidates(maps, cfg)
    if len(boxes) == 0:
        return []
    merged = lanms(boxes, float(opts["nms_thresh"]))
    quads = order_clockwise(merged[:, :8].reshape(-1, 4, 2)).astype(np.float64)
    score = np.asarray(maps["score"], dtype=np.float32).reshape(maps["score"].shape[-2:])
    scores = np.clip(box_scores(score, quads, stride), 0.0, 1.0)  # NaN stays NaN: dropped
    keep = scores > float(opts["box_thresh"])
    if opts["min_size"] > 0:
        _, _, w, h = min_area_rects(quads)
        keep &= np.minimum(w, h) >= float(opts["min_size"])
    return [(q.astype(np.float32), float(s)) for q, s in zip(quads[keep], scores[keep])]
