"""Polygon helpers shared by every method: ordering, areas, offsetting, IoU, clipping.

Conventions (see docs/developing.md): a polygon is a float32 array of shape (N, 2) in
image pixels (x right, y down), clockwise in image coordinates starting at the top-left
point. "Clockwise in image coordinates" is what a reader sees as clockwise on screen; the
plain shoelace formula gives such polygons a *positive* area.

numpy, OpenCV, pyclipper and shapely only (never torch): decoders import this module.
"""

import numpy as np

__all__ = [
    "order_clockwise", "clockwise_from_top_left", "split_detection", "polygon_area",
    "quad_areas", "is_valid_polygon", "shrink_polygon", "expand_polygon", "offset_polygon",
    "min_area_quad", "rect_corners", "rotated_rects", "polygon_iou", "to_shapely",
    "clip_polygon", "bounding_boxes", "pad_across", "pad_polygons", "pad_detections",
]

# pyclipper works on integers: coordinates are scaled by this factor (1/256 px resolution).
_CLIPPER_SCALE = 256.0

# The three distinct cyclic orders of four points (the others are rotations/reversals).
_QUAD_ORDERS = np.array([[0, 1, 2, 3], [0, 1, 3, 2], [0, 2, 1, 3]])


def polygon_area(poly):
    """Signed shoelace area of (N, 2) or a batch (..., N, 2); positive when clockwise in
    image coordinates (y down). Returns a float (or an array for a batch)."""
    p = np.asarray(poly, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] != 2:
        raise ValueError(f"polygon_area: expected (..., N, 2) points, got shape {p.shape}")
    x, y = p[..., 0], p[..., 1]
    xn, yn = np.roll(x, -1, axis=-1), np.roll(y, -1, axis=-1)
    area = 0.5 * np.sum(x * yn - xn * y, axis=-1)
    return float(area) if np.ndim(area) == 0 else area


def quad_areas(quads):
    """Signed areas of a batch of quads (M, 4, 2) -> (M,) float64."""
    q = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2)
    return polygon_area(q).reshape(-1)


def order_clockwise(quad):
    """Order 4 points clockwise (image coordinates) starting at the top-left point.

    Accepts one quad (4, 2) or a batch (M, 4, 2); returns float32 of the same shape.
    Works whatever the input order (including a self-intersecting "bow-tie" order): of the
    three ways to join four points into a closed loop, the one with the largest absolute
    area is the simple polygon. The start is the point that begins the "top" edge: the
    rotation whose top edge and (reversed) bottom edge together point most nearly along +x,
    so a box rotated by 44 degrees starts at its left corner and one rotated by 46 degrees
    at its top corner (the change is unavoidable at 45 degrees; ties go to the lower index
    of the input's simple order).
    """
    q = np.asarray(quad, dtype=np.float64)
    single = q.ndim == 2
    if q.shape[-2:] != (4, 2) or q.ndim not in (2, 3):
        raise ValueError(f"order_clockwise: expected (4, 2) or (M, 4, 2), got shape {q.shape}")
    q = q.reshape(-1, 4, 2)
    m = len(q)
    if m == 0:
        return np.zeros((0, 4, 2), np.float32)
    cand = q[:, _QUAD_ORDERS]                                  # (M, 3, 4, 2)
    areas = polygon_area(cand)                                 # (M, 3)
    # prefer the given order (index 0) unless another is clearly larger
    best = np.argmax(np.abs(areas) * (1.0 + 1e-9 * (np.arange(3) == 0)), axis=1)
    simple = cand[np.arange(m), best]                          # (M, 4, 2)
    flip = areas[np.arange(m), best] < 0
    simple[flip] = simple[flip][:, ::-1]
    # choose the start: edge k -> k+1 (top) plus edge k+3 -> k+2 (bottom, reversed)
    d_top = np.roll(simple, -1, axis=1) - simple               # p[k+1] - p[k]
    d_bot = np.roll(simple, -2, axis=1) - np.roll(simple, -3, axis=1)  # p[k+2] - p[k+3]
    v = d_top + d_bot
    norm = np.hypot(v[..., 0], v[..., 1])
    cos = np.where(norm > 0, v[..., 0] / np.maximum(norm, 1e-12), -2.0)
    # degenerate (all points equal): fall back to the top-left by x + y
    deg = ~np.any(norm > 0, axis=1)
    if deg.any():
        cos[deg] = -(simple[deg, :, 0] + simple[deg, :, 1])
    start = np.argmax(cos, axis=1)
    idx = (start[:, None] + np.arange(4)[None, :]) % 4
    out = np.take_along_axis(simple, idx[..., None], axis=1).astype(np.float32)
    return out[0] if single else out


def to_shapely(poly, repair=True):
    """A shapely geometry for (N, 2) points. With ``repair`` an invalid (self-intersecting)
    polygon is made valid (``shapely.make_valid``), keeping only its areal parts. Fewer
    than 3 points or non-finite ones give an empty polygon."""
    import shapely
    from shapely.geometry import Polygon

    p = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3 or not np.isfinite(p).all():  # GEOS refuses NaN/inf rings
        return Polygon()
    g = Polygon(p)
    if repair and not g.is_valid:
        g = shapely.make_valid(g)
        if g.geom_type == "GeometryCollection":
            parts = [x for x in g.geoms if x.geom_type in ("Polygon", "MultiPolygon")]
            g = shapely.union_all(parts) if parts else Polygon()
        elif g.geom_type not in ("Polygon", "MultiPolygon"):
            g = Polygon()
    return g


def is_valid_polygon(poly, min_area=1e-6):
    """True for finite (N >= 3, 2) points with at least 3 distinct points, an absolute area
    above ``min_area`` and no self-intersection."""
    p = np.asarray(poly, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) < 3 or not np.all(np.isfinite(p)):
        return False
    if len(np.unique(p, axis=0)) < 3 or abs(polygon_area(p)) <= min_area:
        return False
    return bool(to_shapely(p, repair=False).is_valid)


def offset_polygon(poly, distance, arc_tolerance=0.05):
    """Offset a polygon by ``distance`` pixels (positive grows, negative shrinks) with round
    joins. Returns a list of float32 (K, 2) clockwise polygons (empty if it vanishes)."""
    import pyclipper

    p = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3 or not np.all(np.isfinite(p)):
        return []
    if distance == 0:
        return [clockwise_from_top_left(p)] if abs(polygon_area(p)) > 0 else []
    pco = pyclipper.PyclipperOffset()
    pco.ArcTolerance = arc_tolerance * _CLIPPER_SCALE
    pco.AddPath(np.round(p * _CLIPPER_SCALE).astype(np.int64).tolist(),
                pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    out = []
    for path in pco.Execute(float(distance) * _CLIPPER_SCALE):
        q = np.asarray(path, dtype=np.float64) / _CLIPPER_SCALE
        if len(q) >= 3 and abs(polygon_area(q)) > 0:
            out.append(clockwise_from_top_left(q))
    return out


def shrink_polygon(poly, distance):
    """Move every edge inwards by ``distance`` pixels (round joins); list of polygons."""
    return offset_polygon(poly, -abs(float(distance)))


def expand_polygon(poly, distance):
    """Move every edge outwards by ``distance`` pixels (round joins); list of polygons."""
    return offset_polygon(poly, abs(float(distance)))


def split_detection(det):
    """(polygon, score or None) of a detection given as a polygon or a (polygon, score) pair."""
    if isinstance(det, tuple) and len(det) == 2 and np.ndim(det[1]) == 0:
        return det[0], (None if det[1] is None else float(det[1]))
    return det, None


def clockwise_from_top_left(poly):
    """A polygon (N, 2) as float32, clockwise in image coordinates (positive shoelace area),
    starting at the point nearest the top-left (least x + y): the order every decoder
    returns."""
    import cv2

    p = np.asarray(poly, dtype=np.float32).reshape(-1, 2)
    # OpenCV's oriented area has polygon_area's sign, at 1/40 of the cost (decoders call
    # this once per region: thousands of times on a dense page)
    if len(p) >= 3 and cv2.contourArea(p, oriented=True) < 0:
        p = p[::-1]
    start = int(np.argmin(p[:, 0] + p[:, 1]))
    return np.concatenate([p[start:], p[:start]])


def rect_corners(centre, theta, w, h):
    """Corners (N, 4, 2) of rotated rectangles (centres (N, 2), angles (N,) in radians,
    widths and heights (N,)): top-left, top-right, bottom-right, bottom-left in the
    rectangle's own frame."""
    centre = np.asarray(centre, np.float64)
    u = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    v = np.stack([-np.sin(theta), np.cos(theta)], axis=-1)
    hu, hv = u * (np.asarray(w) / 2)[:, None], v * (np.asarray(h) / 2)[:, None]
    return np.stack([centre - hu - hv, centre + hu - hv, centre + hu + hv, centre - hu + hv], axis=1)


def rotated_rects(point_sets):
    """cv2.minAreaRect of each (N, 2) point set (or contour): centres (M, 2), sizes (M, 2)
    (width, height) and angles (M,) in radians, float64. The corners are
    ``rect_corners(centre, theta, size[:, 0], size[:, 1])``."""
    import cv2

    rects = [cv2.minAreaRect(p if isinstance(p, np.ndarray) and p.dtype in (np.int32, np.float32)
                             else np.asarray(p, np.float32).reshape(-1, 1, 2)) for p in point_sets]
    centre = np.array([r[0] for r in rects], np.float64).reshape(-1, 2)
    size = np.array([r[1] for r in rects], np.float64).reshape(-1, 2)
    theta = np.deg2rad(np.array([r[2] for r in rects], np.float64).reshape(-1))
    return centre, size, theta


def pad_across(poly, fraction, direction=None):
    """``poly`` (N, 2) grown across its text by ``fraction`` x its height on each side.

    ``direction``: the reading direction (a vector along the text), or None: for a quad
    the longer of its first two edges, for other polygons the longer side of their
    minimum-area rectangle. The height is the polygon's extent across that direction;
    every point moves away from the centre line (half way across that extent, along the
    direction) by ``fraction`` x height, so a rectangle's two long sides move out and its
    ends stay where they are. Returns float32 (N, 2), the same point order; ``fraction``
    0 returns the points unchanged."""
    p = np.asarray(poly, np.float64).reshape(-1, 2)
    if not fraction or len(p) < 3:
        return p.astype(np.float32)
    if direction is None:
        if len(p) == 4:
            return _pad_quads(p[None], fraction)[0]
        import cv2

        (_, _), (w, h), angle = cv2.minAreaRect(p.astype(np.float32).reshape(-1, 1, 2))
        t = np.deg2rad(angle) + (0.0 if w >= h else np.pi / 2)
        direction = (np.cos(t), np.sin(t))
    u = np.asarray(direction, np.float64).reshape(1, 2)
    return _pad_along(p[None], u / max(float(np.hypot(*u[0])), 1e-12), fraction)[0]


def _pad_along(pts, u, fraction):
    """(M, N, 2) point sets along (M, 2) unit directions, each padded as
    :func:`pad_across` pads one; float32."""
    n = np.stack([-u[:, 1], u[:, 0]], axis=1)
    c = np.einsum("mkd,md->mk", pts, n)
    lo, hi = c.min(axis=1, keepdims=True), c.max(axis=1, keepdims=True)
    shift = np.sign(c - 0.5 * (lo + hi)) * (float(fraction) * (hi - lo))
    return (pts + shift[..., None] * n[:, None, :]).astype(np.float32)


def _pad_quads(quads, fraction):
    """(M, 4, 2) quads padded along the longer of their first two edges, all at once."""
    e1, e2 = quads[:, 1] - quads[:, 0], quads[:, 2] - quads[:, 1]
    l1, l2 = np.hypot(e1[:, 0], e1[:, 1]), np.hypot(e2[:, 0], e2[:, 1])
    first = l1 >= l2
    u = np.where(first[:, None], e1, e2) / np.maximum(np.where(first, l1, l2), 1e-12)[:, None]
    return _pad_along(quads, u, fraction)


def pad_polygons(polys, fraction, directions=None):
    """Every polygon of ``polys`` :func:`pad_across` ``fraction``, the quads in one
    vectorised pass. ``directions``: one reading direction per polygon (a zero vector
    leaves that polygon as it is), or None for each polygon's own (as ``pad_across``
    finds it). Returns a list of float32 (N, 2)."""
    polys = [np.asarray(p, np.float64).reshape(-1, 2) for p in polys]
    if not fraction or not polys:
        return [p.astype(np.float32) for p in polys]
    dirs = None if directions is None else np.asarray(directions, np.float64).reshape(-1, 2)
    out = [p.astype(np.float32) for p in polys]
    quad = [k for k, p in enumerate(polys) if len(p) == 4 and (dirs is None or np.any(dirs[k]))]
    if quad:
        pts = np.stack([polys[k] for k in quad])
        if dirs is None:
            done = _pad_quads(pts, fraction)
        else:
            u = dirs[quad] / np.maximum(np.hypot(dirs[quad, 0], dirs[quad, 1]), 1e-12)[:, None]
            done = _pad_along(pts, u, fraction)
        for k, q in zip(quad, done):
            out[k] = q
    for k in sorted(set(range(len(polys))) - set(quad)):
        if dirs is None:
            out[k] = pad_across(polys[k], fraction)
        elif np.any(dirs[k]):
            out[k] = pad_across(polys[k], fraction, dirs[k])
    return out


def pad_detections(dets, fraction):
    """``[(polygon, score), ...]`` with every polygon :func:`pad_across` ``fraction``
    (its own direction, as ``pad_across`` finds it; the page layout pads along its lines'
    reading direction instead, which differs only for boxes taller than wide, such as
    one-character lines, by about a pixel). Quads are padded in one vectorised pass."""
    dets = list(dets)
    if not fraction or not dets:
        return dets
    return [(q, s) for q, (_, s) in zip(pad_polygons([p for p, _ in dets], fraction), dets)]


def min_area_quad(points):
    """Smallest rotated rectangle around (N >= 1, 2) points as an ordered (4, 2) float32 quad."""
    import cv2

    p = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if len(p) == 0:
        raise ValueError("min_area_quad: no points")
    box = cv2.boxPoints(cv2.minAreaRect(p))
    return order_clockwise(box)


def polygon_iou(a, b):
    """Intersection over union of two polygons (shapely; invalid input repaired first).
    0.0 when the union is empty."""
    ga, gb = to_shapely(a), to_shapely(b)
    if ga.is_empty or gb.is_empty:
        return 0.0
    inter = ga.intersection(gb).area
    union = ga.area + gb.area - inter
    return float(min(max(inter / union, 0.0), 1.0)) if union > 0 else 0.0  # float noise


def aabb_iou(a, b):
    """Intersection over union of two axis-aligned boxes ``(x0, y0, x1, y1)``; 0.0 when they
    do not overlap or the union is empty."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def clip_polygon(poly, w, h):
    """Clamp the coordinates of a polygon (or a batch (..., N, 2)) into the image:
    x to [0, w - 1] and y to [0, h - 1] (pixel indices, as ICDAR ground truth uses).
    Points keep their count and order; returns float32."""
    p = np.asarray(poly, dtype=np.float32).copy()
    p[..., 0] = np.clip(p[..., 0], 0, max(w - 1, 0))
    p[..., 1] = np.clip(p[..., 1], 0, max(h - 1, 0))
    return p


def bounding_boxes(polys):
    """Axis-aligned boxes (M, 4) float64 ``xmin, ymin, xmax, ymax`` of a list of polygons
    (any point counts) or of an (M, N, 2) array."""
    if isinstance(polys, np.ndarray) and polys.ndim == 3:
        p = polys.astype(np.float64)
        return np.concatenate([p.min(axis=1), p.max(axis=1)], axis=1)
    if len(polys) == 0:
        return np.zeros((0, 4), np.float64)
    return np.array([[*np.min(q, axis=0), *np.max(q, axis=0)]
                     for q in (np.asarray(x, np.float64).reshape(-1, 2) for x in polys)],
                    dtype=np.float64).reshape(-1, 4)


def annotation_polygons(annotations, dtype=np.float64):
    """(polygons, ignore flags) of the annotations with >= 3 finite points; the rest are
    skipped (targets never see degenerate ground truth)."""
    polys, ignore = [], []
    for ann in annotations:
        p = np.asarray(ann.polygon, dtype=np.float64).reshape(-1, 2)
        if len(p) < 3 or not np.isfinite(p).all():
            continue
        polys.append(p.astype(dtype, copy=False))
        ignore.append(bool(ann.ignore))
    return polys, ignore
