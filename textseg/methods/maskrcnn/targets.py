"""Mask R-CNN training targets: fixed-size arrays, so the default DataLoader collate works.

* ``boxes`` (K, 4) float32: axis-aligned box (x1, y1, x2, y2) of each instance's polygon,
  clipped to the image, in network-input pixels (pixel centres at integers); zeros after
  the last instance. K = ``max_instances``.
* ``box_flags`` (K,) float32: 1 text, -1 don't care (``###`` or a box side under
  ``min_size``: neither positive nor negative for anchors and proposals), 0 padding.
* ``instances`` (1, H, W) int32 at input resolution: 0 background, i + 1 inside the polygon
  of instance i (mask targets are cut from it per positive RoI). Polygons are filled
  largest first, so where two overlap the smaller one keeps the pixels.

Instances entirely outside the image are dropped. Beyond K instances, text ones are kept
before don't-care ones, then larger before smaller; the rest are dropped with a warning.
:func:`targets_to_maps` gives the eval-mode outputs a perfect head would return for them
(the round trip of ``tools/check_targets.py`` and the method contract test).
numpy/cv2 only (runs in DataLoader workers).
"""

import warnings
from typing import Tuple

import cv2
import numpy as np

from ...types import Annotations, Maps, PartConfig, Targets
from . import SPEC

_SHIFT = 4  # fractional bits for cv2.fillPoly


def _checked(cfg):
    """The target options, with the check of max_instances."""
    opts = SPEC.target_options(cfg).opts
    if int(opts["max_instances"]) < 1:
        raise ValueError(f"maskrcnn targets: max_instances must be >= 1, "
                         f"got {opts['max_instances']}")
    return opts


def build_targets(annotations: Annotations, image_hw: Tuple[int, int],
                  cfg: PartConfig) -> Targets:
    """Fixed-size targets of one image (see the module docstring)."""
    opts = _checked(cfg)
    h, w = int(image_hw[0]), int(image_hw[1])
    k = int(opts["max_instances"])
    boxes = np.zeros((k, 4), np.float32)
    flags = np.zeros(k, np.float32)
    inst = np.zeros((1, h, w), np.int32)
    polys = [np.asarray(a.polygon, np.float64).reshape(-1, 2) for a in annotations]
    usable = [len(p) >= 3 and np.isfinite(p).all() for p in polys]  # no area: no instance
    annotations = [a for a, ok in zip(annotations, usable) if ok]
    polys = [p for p, ok in zip(polys, usable) if ok]
    if not polys:
        return {"boxes": boxes, "box_flags": flags, "instances": inst}
    lo = np.array([p.min(axis=0) for p in polys])
    hi = np.array([p.max(axis=0) for p in polys])
    limit = np.array([w - 1, h - 1], np.float64)
    inside = np.all(hi >= 0, axis=1) & np.all(lo <= limit, axis=1)
    box = np.concatenate([np.clip(lo, 0, limit), np.clip(hi, 0, limit)], axis=1)
    side = np.minimum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])
    care = np.array([not a.ignore for a in annotations]) & (side >= float(opts["min_size"]))
    area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
    idx = np.nonzero(inside)[0]
    idx = idx[np.lexsort((-area[idx], ~care[idx]))]  # text first, then larger first
    if len(idx) > k:
        warnings.warn(f"maskrcnn targets: {len(idx)} instances in one image, keeping {k} "
                      f"(raise model.targets.max_instances)", stacklevel=2)
        idx = idx[:k]
    n = len(idx)
    boxes[:n] = box[idx]
    flags[:n] = np.where(care[idx], 1.0, -1.0)
    canvas = inst[0]
    for slot in sorted(range(n), key=lambda s: -area[idx[s]]):  # largest first
        pts = np.round(polys[idx[slot]] * (1 << _SHIFT)).astype(np.int32)
        cv2.fillPoly(canvas, [pts], slot + 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return {"boxes": boxes, "box_flags": flags, "instances": inst}


def targets_to_maps(targets: Targets, cfg: PartConfig) -> Maps:
    """The detections a perfect head outputs for ``targets``: ``boxes`` (K, 4), ``scores``
    (K,) 1 for text and 0 for don't care and padding, and ``masks`` (K, M, M) (M = 2 x
    ``mask_pool``): each instance's pixels sampled at the mask cells' centres inside its box
    (x = x1 + (u + 0.5) (x2 - x1) / M, the convention the decoder pastes back with)."""
    head = SPEC.target_options(cfg).head
    m = 2 * int(head["mask_pool"])
    boxes = np.asarray(targets["boxes"], np.float32).reshape(-1, 4)
    flags = np.asarray(targets["box_flags"], np.float32).reshape(-1)
    inst = np.asarray(targets["instances"]).reshape(np.shape(targets["instances"])[-2:])
    masks = np.zeros((len(boxes), m, m), np.float32)
    scores = (flags > 0).astype(np.float32)
    for i in np.nonzero(scores)[0]:
        x1, y1, x2, y2 = (float(v) for v in boxes[i])
        if x2 <= x1 or y2 <= y1:
            scores[i] = 0.0
            continue
        sx, sy = (x2 - x1) / m, (y2 - y1) / m
        warp = np.array([[sx, 0, x1 + 0.5 * sx], [0, sy, y1 + 0.5 * sy]], np.float64)
        own = (inst == i + 1).astype(np.float32)
        masks[i] = cv2.warpAffine(own, warp, (m, m), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_CONSTANT)
    return {"boxes": boxes.copy(), "scores": scores, "masks": masks}
