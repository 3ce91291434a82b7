"""Rasterising polygons onto output maps, shared by the methods' target builders.

Map pixel (i, j) at stride s stands for the network-input point ((j + 0.5) * s - 0.5,
(i + 0.5) * s - 0.5): map pixel centres sit at integers, so stride 1 is the identity.
Polygons are drawn with ``cv2.fillPoly`` in fixed point (``SHIFT`` fractional bits), which
keeps sub-pixel edges instead of truncating them. numpy/cv2 only (runs in DataLoader
workers).
"""

import cv2
import numpy as np

SHIFT = 4  # fractional bits for cv2.fillPoly


def to_map_coords(points, stride):
    """Network-input pixel coordinates -> map coordinates (map pixel centres at integers)."""
    return (np.asarray(points, dtype=np.float64) + 0.5) / stride - 0.5


def map_pixel_centres(xs, ys, stride):
    """Network-input coordinates (K, 2) of map pixels (columns xs, rows ys)."""
    return np.stack([(xs + 0.5) * stride - 0.5, (ys + 0.5) * stride - 0.5], axis=1)


def fixed_points(poly, stride):
    """Polygon (..., 2) in input pixels -> int32 fillPoly points in map coordinates, with
    ``SHIFT`` fractional bits, shaped (N, 1, 2) (or (K, N, 2) for a stack of K polygons)."""
    pts = np.round(to_map_coords(poly, stride) * (1 << SHIFT)).astype(np.int32)
    return pts if pts.ndim == 3 else pts.reshape(-1, 1, 2)


def fill_each(canvas, polys, values, stride):
    """Draw polygons (each (N, 2) in input pixels) onto ``canvas`` one fillPoly call each,
    in order, so a later polygon overwrites an earlier one. One fillPoly call with several
    contours would use the even-odd rule and leave overlaps empty. ``values``: one value
    for all, or one per polygon."""
    if np.isscalar(values):
        values = [values] * len(polys)
    for poly, value in zip(polys, values):
        cv2.fillPoly(canvas, [fixed_points(np.asarray(poly).reshape(-1, 2), stride)], value,
                     lineType=cv2.LINE_8, shift=SHIFT)
    return canvas


def fill_together(canvas, polys, value, stride):
    """Draw polygons with one fillPoly call (fast; right only when none overlap: fillPoly
    fills several contours with the even-odd rule)."""
    if len(polys):
        cv2.fillPoly(canvas, [fixed_points(np.asarray(p).reshape(-1, 2), stride) for p in polys],
                     value, lineType=cv2.LINE_8, shift=SHIFT)
    return canvas
