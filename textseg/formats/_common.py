"""Helpers shared by the format modules (points, boxes, XML writing)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from ..fileio import atomic_open


def bbox(poly):
    """Integer (x0, y0, x1, y1): the bounds of the polygon's integer points
    (:func:`int_points`, so that the box and the written points agree)."""
    p = int_points(poly, None)
    return (int(p[:, 0].min()), int(p[:, 1].min()), int(p[:, 0].max()), int(p[:, 1].max()))


def int_points(poly, clip_min=0):
    """Polygon points as integers (never below ``clip_min``): the pixel holding each point
    (floor), which is also what the ICDAR protocol makes of float coordinates (it
    truncates), so files read back score as the float polygons do."""
    p = np.floor(np.asarray(poly, np.float64).reshape(-1, 2) + 1e-6).astype(np.int64)
    if clip_min is not None:
        p = np.maximum(p, clip_min)
    return p


def points_attr(poly, clip_min=0):
    """``"x1,y1 x2,y2 ..."`` (integers)."""
    return " ".join(f"{x},{y}" for x, y in int_points(poly, clip_min))


def parse_points(text):
    """``"x1,y1 x2,y2"`` or ``"x1 y1 x2 y2"`` -> float32 (N, 2)."""
    vals = text.replace(",", " ").split()
    return np.asarray([float(v) for v in vals], np.float32).reshape(-1, 2)


def box_polygon(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def write_xml(path, root, overwrite, doctype=None, namespaces=(), short_empty=True):
    """Serialise an ElementTree ``root`` (UTF-8, declaration, indented) atomically."""
    for prefix, uri in namespaces:
        ET.register_namespace(prefix, uri)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=short_empty)
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' + (doctype + "\n" if doctype else "")
    with atomic_open(path, "w" if overwrite else "x", encoding="utf-8") as f:
        f.write(head + body + "\n")


def rounded_direction(direction):
    """The nearest multiple of 90 degrees to a reading direction (degrees)."""
    return int(round(float(direction) / 90.0)) % 4 * 90
