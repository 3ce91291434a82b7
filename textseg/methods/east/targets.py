"""EAST training targets: score, geometry and training mask at the output stride.

Map pixel (i, j) stands for the network-input point ((j + 0.5) * stride - 0.5,
(i + 0.5) * stride - 0.5): the centre of the stride x stride block of input pixels it
covers (pixel centres at integer coordinates). The decoder uses the same convention.

* ``score`` (1, h, w): 1 inside the shrunk quad of each text box (paper, 3.3.1).
* ``geometry``: RBOX (5, h, w) distances from the pixel to the top, right, bottom and
  left edges of the box's minimum-area rectangle, then its angle (see ``rbox``); QUAD
  (8, h, w) offsets x1, y1, ..., x4, y4 from the pixel to the box's corners, clockwise
  from the top-left. Valid where ``score`` is 1.
* ``mask`` (1, h, w): 0 over ``###`` boxes, boxes whose shorter side is under
  ``min_text_size``, and pixels the shrunk quad rasterises to but whose centre falls
  outside the rectangle (their geometry would be negative); 1 elsewhere.

Each pixel belongs to one box: shrunk quads are rasterised into an index map, largest
first, so a small box overlapping a large one keeps its pixels. numpy/cv2 only.
"""

import math
from typing import Tuple

import numpy as np

from ...types import Annotations, Maps, PartConfig, Targets
from . import SPEC
from ...geometry import min_area_quad, order_clockwise
from ..raster import fill_each, map_pixel_centres
from .rbox import min_area_rects, shrink_quads


def _annotation_quads(annotations):
    """Quads (K, 4, 2) clockwise from the top-left, and the ``ignore`` flags, of the
    annotations with a usable polygon (polygons of more than 4 points: min-area quad)."""
    quads, ignore = [], []
    for ann in annotations:
        poly = np.asarray(ann.polygon, dtype=np.float64).reshape(-1, 2)
        if len(poly) < 3 or not np.isfinite(poly).all():
            continue
        quads.append(min_area_quad(poly) if len(poly) != 4 else poly)
        ignore.append(bool(ann.ignore))
    if not quads:
        return np.zeros((0, 4, 2)), np.zeros(0, dtype=bool)
    return order_clockwise(np.stack(quads)).astype(np.float64), np.array(ignore)


def build_targets(annotations: Annotations, image_hw: Tuple[int, int],
                  cfg: PartConfig) -> Targets:
    """EAST maps for one image: {'score', 'geometry', 'mask'} float32 (C, h, w)."""
    head, opts, stride = SPEC.target_options(cfg)  # geometry checked there
    height, width = int(image_hw[0]), int(image_hw[1])
    h, w = math.ceil(height / stride), math.ceil(width / stride)
    n_geo = 5 if head["geometry"] == "rbox" else 8
    score = np.zeros((h, w), np.float32)
    geometry = np.zeros((n_geo, h, w), np.float32)
    mask = np.ones((h, w), np.uint8)

    quads, ignore = _annotation_quads(annotations)
    centre, theta, rw, rh = min_area_rects(quads)
    ignore = ignore | (np.minimum(rw, rh) < float(opts["min_text_size"]))
    fill_each(mask, quads[ignore], 0, stride)

    keep = np.nonzero(~ignore)[0]
    keep = keep[np.argsort(-rw[keep] * rh[keep], kind="stable")]  # small boxes paint last
    index = fill_each(np.zeros((h, w), np.int32), shrink_quads(quads[keep], opts["shrink_ratio"]),
                      (keep + 1).tolist(), stride)
    ys, xs = np.nonzero(index)
    k = index[ys, xs] - 1
    p = map_pixel_centres(xs, ys, stride)
    d = p - centre[k]
    cos, sin = np.cos(theta[k]), np.sin(theta[k])
    along, across = d[:, 0] * cos + d[:, 1] * sin, -d[:, 0] * sin + d[:, 1] * cos
    dist = np.stack([across + rh[k] / 2, rw[k] / 2 - along, rh[k] / 2 - across, along + rw[k] / 2], axis=1)
    inside = (dist >= 0).all(axis=1)
    mask[ys[~inside], xs[~inside]] = 0
    ys, xs, k, p = ys[inside], xs[inside], k[inside], p[inside]
    score[ys, xs] = 1.0
    if n_geo == 5:
        geometry[:4, ys, xs] = dist[inside].T
        geometry[4, ys, xs] = theta[k]
    else:
        geometry[:, ys, xs] = (quads[k] - p[:, None, :]).reshape(-1, 8).T
    return {"score": score[None], "geometry": geometry, "mask": mask[None].astype(np.float32)}


def targets_to_maps(targets: Targets, cfg: PartConfig) -> Maps:
    """The maps a perfect head would output in eval mode for these targets (what the
    decoder reads): the score map, and the geometry clipped to the head's range."""
    head = SPEC.target_options(cfg).head
    limit = float(head["max_text_size"])
    geo = np.array(targets["geometry"], dtype=np.float32, copy=True)
    if head["geometry"] == "rbox":
        geo[:4] = np.clip(geo[:4], 0.0, limit)
    else:
        geo = np.clip(geo, -limit, limit)
    return {"score": np.asarray(targets["score"], dtype=np.float32), "geometry": geo}
