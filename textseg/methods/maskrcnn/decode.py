"""Mask R-CNN decoder: detections (boxes, scores, 28 x 28 masks) -> polygons. numpy/OpenCV.

``decode({'boxes': (D, 4), 'scores': (D,), 'masks': (D, M, M)}, cfg)`` for one image:

1. detections scoring above ``score_thresh`` are kept (the head pads with score 0);
2. each mask is pasted into its box: the pixels whose centres lie in the box
   (x1 <= x <= x2, pixel centres at integers) read the mask bilinearly at
   u = (x - x1) / (x2 - x1) * M - 0.5 (one ``cv2.warpAffine``; the RoIAlign and target
   convention), and are text where the value exceeds ``mask_thresh``;
3. the polygon of an instance is the minimum-area quad around its text pixels (default),
   or with ``polygon=True`` its largest outer contour simplified by ``approx_epsilon`` px;
   masks with fewer than ``min_area`` text pixels are dropped.

Polygons are clockwise from the top-left, in network-input pixels; the score is the
detection's. The per-instance work is a few small OpenCV calls; corners and their ordering are
done for all quads at once.
"""

from typing import List

import cv2
import numpy as np

from ...geometry import clockwise_from_top_left, order_clockwise, rect_corners
from ...types import Detection, Maps, PartConfig
from . import SPEC

__all__ = ["decode", "paste_mask", "MAX_COORD"]

#: boxes with a coordinate beyond it (px of network input) are dropped as garbage
MAX_COORD = float(1 << 15)


def paste_mask(mask, box, thresh=0.5):
    """(binary uint8 patch, (x0, y0)) of one (M, M) mask pasted into ``box`` (x1, y1, x2, y2):
    the patch covers pixels x0..x0+w-1, y0..y0+h-1 (centres inside the box). None if empty."""
    x1, y1, x2, y2 = (float(v) for v in box)
    x0, y0 = int(np.ceil(x1)), int(np.ceil(y1))
    w, h = int(np.floor(x2)) - x0 + 1, int(np.floor(y2)) - y0 + 1
    if w <= 0 or h <= 0 or x2 <= x1 or y2 <= y1:
        return None, (x0, y0)
    m = mask.shape[0]
    sx, sy = m / (x2 - x1), m / (y2 - y1)
    warp = np.array([[sx, 0, sx * (x0 - x1) - 0.5], [0, sy, sy * (y0 - y1) - 0.5]], np.float64)
    patch = cv2.warpAffine(mask, warp, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REPLICATE)
    return (patch > thresh).astype(np.uint8), (x0, y0)


def _contour(binary, epsilon):
    """The largest outer contour of a binary patch, simplified, as (N, 2) float32."""
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    c = max(contours, key=cv2.contourArea)
    if epsilon > 0:
        c = cv2.approxPolyDP(c, float(epsilon), True)
    return c.reshape(-1, 2).astype(np.float32)


def decode(maps: Maps, cfg: PartConfig) -> List[Detection]:
    """List of (polygon float32 (N, 2), score) for one image's detections."""
    opts = SPEC.decode_options(cfg).opts
    scores = np.asarray(maps["scores"], np.float32).reshape(-1)
    boxes = np.asarray(maps["boxes"], np.float32).reshape(-1, 4)
    masks = np.asarray(maps["masks"], np.float32)
    if masks.ndim != 3 or len(masks) != len(scores) or len(boxes) != len(scores):
        raise ValueError(f"maskrcnn decode: expected boxes (D, 4), scores (D,), masks (D, M, M); "
                         f"got {boxes.shape}, {scores.shape}, {masks.shape}")
    # a head clips its boxes to the input: non-finite or absurd ones come from broken
    # weights (fp16 overflow, NaN); they are dropped, not pasted into gigapixel patches
    sane = np.isfinite(scores) & (np.abs(boxes) <= MAX_COORD).all(axis=1)
    keep = np.nonzero(sane & (scores > float(opts["score_thresh"])))[0]
    keep = keep[np.argsort(-scores[keep], kind="stable")]
    thresh, min_area = float(opts["mask_thresh"]), float(opts["min_area"])
    rects, polys, kept = [], [], []
    for i in keep:
        binary, (x0, y0) = paste_mask(masks[i], boxes[i], thresh)
        if binary is None or cv2.countNonZero(binary) < max(min_area, 1):
            continue
        if opts["polygon"]:
            poly = _contour(binary, opts["approx_epsilon"]) + np.float32([x0, y0])
            if len(poly) < 3 or cv2.contourArea(poly) <= 0:
                continue
            polys.append(clockwise_from_top_left(poly))
        else:
            contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            pts = np.concatenate(contours)  # same hull as all text pixels, far fewer points
            (cx, cy), (w, h), a = cv2.minAreaRect(pts)
            if w <= 0 or h <= 0:
                continue
            rects.append((cx + x0, cy + y0, w, h, a))
        kept.append(float(scores[i]))
    if not opts["polygon"]:
        if not rects:
            return []
        r = np.array(rects, np.float64)
        polys = order_clockwise(rect_corners(r[:, :2], np.deg2rad(r[:, 4]), r[:, 2], r[:, 3]))
    return [(np.asarray(p, np.float32), s) for p, s in zip(polys, kept)]
