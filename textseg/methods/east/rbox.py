"""Quad and rotated-rectangle helpers shared by EAST's targets and decoder (numpy only).

All functions work on many quads at once: (N, 4, 2) arrays in image pixels (x right,
y down). Rectangle convention (RBOX): centre (cx, cy), angle theta in [-pi/4, pi/4), width
w along u = (cos theta, sin theta) and height h along v = (-sin theta, cos theta). A
positive theta turns the text line clockwise on screen (its right end goes down). The
edge nearest to horizontal is the "top" one, so each rectangle has one description.
"""

import numpy as np


def min_area_rects(quads):
    """Minimum-area rectangles of quads (N, 4, 2): centre (N, 2), theta, w, h (N,).

    One side of the minimum-area rectangle of a point set lies on its convex hull; the
    hull edges of four points are among their six connecting segments, so trying those
    six directions is exact."""
    q = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2)
    pairs = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2], [1, 3]])
    d = q[:, pairs[:, 1]] - q[:, pairs[:, 0]]  # (N, 6, 2)
    phi = np.arctan2(d[..., 1], d[..., 0])
    theta = np.mod(phi + np.pi / 4, np.pi / 2) - np.pi / 4  # the same rectangle family
    cos, sin = np.cos(theta), np.sin(theta)
    a = q[:, None, :, 0] * cos[..., None] + q[:, None, :, 1] * sin[..., None]  # (N, 6, 4)
    b = -q[:, None, :, 0] * sin[..., None] + q[:, None, :, 1] * cos[..., None]
    w, h = np.ptp(a, axis=2), np.ptp(b, axis=2)
    best = np.argmin(w * h, axis=1)
    rows = np.arange(len(q))
    theta, cos, sin = theta[rows, best], cos[rows, best], sin[rows, best]
    am = (a.max(axis=2) + a.min(axis=2))[rows, best] / 2
    bm = (b.max(axis=2) + b.min(axis=2))[rows, best] / 2
    centre = np.stack([am * cos - bm * sin, am * sin + bm * cos], axis=1)
    return centre, theta, w[rows, best], h[rows, best]


def restore_rbox(points, dist, theta):
    """Rectangles from points (N, 2) and their distances (N, 4) to the top, right, bottom
    and left edges at angle theta (N,): corners (N, 4, 2) clockwise from the top-left."""
    u = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
    v = np.stack([-np.sin(theta), np.cos(theta)], axis=-1)
    top, right, bottom, left = (dist[:, i, None] for i in range(4))
    return np.stack([points - left * u - top * v, points + right * u - top * v,
                     points + right * u + bottom * v, points - left * u + bottom * v], axis=1)


def shrink_quads(quads, ratio=0.3):
    """EAST's shrunk quads (paper, section 3.3.1): the reference length r_i of corner i
    is its shorter adjacent edge; each edge's ends move inward along it by ratio * r_i,
    the longer pair of opposite edges first, then the other pair."""
    q = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2).copy()
    edge = np.linalg.norm(np.roll(q, -1, axis=1) - q, axis=2)  # edge i: corner i -> i+1
    r = np.minimum(edge, np.roll(edge, 1, axis=1))
    first_02 = edge[:, 0] + edge[:, 2] >= edge[:, 1] + edge[:, 3]
    rows = np.arange(len(q))
    for step in range(2):
        for i in (0, 2):
            e = np.where(first_02 == (step == 0), i, i + 1)  # edge index per quad
            j = (e + 1) % 4
            p0, p1 = q[rows, e], q[rows, j]
            d = p1 - p0
            unit = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
            q[rows, e] = p0 + ratio * r[rows, e, None] * unit
            q[rows, j] = p1 - ratio * r[rows, j, None] * unit
    return q
