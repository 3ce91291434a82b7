"""Non-text marks on synthetic pages: photos, logos, stamps, signatures, barcodes, charts.

None of these is labelled: they are there so the detector learns that rules, shapes,
halftone, scribbles and stamp rings are not words. Each function draws into a
:class:`~textseg.data.synth.render.Canvas` inside the box it is given and returns nothing.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["photo", "logo", "stamp", "signature", "barcode", "qr_code", "bar_chart",
           "shaded_band", "scribble"]

_COLOURS = [(200, 30, 30), (30, 60, 170), (20, 120, 60), (120, 40, 140), (210, 120, 20),
            (0, 110, 150), (90, 90, 90)]


def _clip_box(cv, box):
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return max(x0, 0), max(y0, 0), min(x1, cv.w), min(y1, cv.h)


def _smooth_field(rng, h, w, cells=6, channels=3):
    small = rng.uniform(0, 255, size=(cells, cells, channels)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(big, 0, 255).reshape(h, w, channels)


def photo(cv, box, rng, halftone=None):
    """A smooth random picture (blobs of colour or grey), optionally as a halftone screen."""
    x0, y0, x1, y1 = _clip_box(cv, box)
    h, w = y1 - y0, x1 - x0
    if h < 4 or w < 4:
        return
    img = _smooth_field(rng, h, w, int(rng.integers(3, 9)))
    for _ in range(int(rng.integers(2, 7))):  # a few shapes so it is not only a gradient
        c = tuple(float(v) for v in rng.uniform(0, 255, 3))
        cv2.ellipse(img, (int(rng.uniform(0, w)), int(rng.uniform(0, h))),
                    (int(rng.uniform(3, w / 3 + 4)), int(rng.uniform(3, h / 3 + 4))),
                    float(rng.uniform(0, 180)), 0, 360, c, -1, cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.5, 3.0)))
    gray = rng.random() < 0.5
    if gray:
        img = np.repeat(img.mean(axis=2, keepdims=True), 3, axis=2)
    if halftone if halftone is not None else rng.random() < 0.3:
        period = float(rng.uniform(3.0, 6.0))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        a = np.deg2rad(45.0)
        u, v = xx * np.cos(a) + yy * np.sin(a), -xx * np.sin(a) + yy * np.cos(a)
        screen = (np.cos(2 * np.pi * u / period) * np.cos(2 * np.pi * v / period) + 1) * 127.5
        img = np.where(img.mean(axis=2, keepdims=True) > screen[..., None], 255.0, 30.0) \
            if gray else np.where(img > screen[..., None], 255.0, img * 0.3)
    cv.under_layer()[y0:y1, x0:x1] = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        cv.rect(x0, y0, x1 - 1, y1 - 1, 1)


def shaded_band(cv, box, rng, grey=None):
    """A flat or gradient tint (table zebra rows, header bars) under the text."""
    x0, y0, x1, y1 = _clip_box(cv, box)
    if x1 <= x0 or y1 <= y0:
        return
    if grey is None:
        grey = float(rng.uniform(200, 245))
    base = np.array([grey] * 3, np.float32)
    if rng.random() < 0.35:
        base = np.array(_COLOURS[int(rng.integers(len(_COLOURS)))], np.float32) * 0.25 + 190
    u = cv.under_layer()
    u[y0:y1, x0:x1] = np.minimum(u[y0:y1, x0:x1], base.astype(np.uint8))


def logo(cv, box, rng):
    """Coloured geometric shapes (circle, ring, triangle, squares, swoosh)."""
    x0, y0, x1, y1 = _clip_box(cv, box)
    w, h = x1 - x0, y1 - y0
    if w < 6 or h < 6:
        return
    u = cv.under_layer()
    col = _COLOURS[int(rng.integers(len(_COLOURS)))]
    col2 = _COLOURS[int(rng.integers(len(_COLOURS)))]
    cx, cy, r = x0 + w // 2, y0 + h // 2, min(w, h) // 2
    kind = int(rng.integers(5))
    if kind == 0:
        cv2.circle(u, (cx, cy), r, col, -1, cv2.LINE_AA)
        cv2.circle(u, (cx, cy), int(r * rng.uniform(0.3, 0.7)), (255, 255, 255), -1, cv2.LINE_AA)
    elif kind == 1:
        pts = np.array([[cx, y0], [x1 - 1, y1 - 1], [x0, y1 - 1]], np.int32)
        cv2.fillPoly(u, [pts], col, cv2.LINE_AA)
    elif kind == 2:
        s = max(2, min(w, h) // 2 - 1)
        cv2.rectangle(u, (x0, y0), (x0 + s, y0 + s), col, -1)
        cv2.rectangle(u, (x0 + s + 1, y0 + s + 1), (x0 + 2 * s, y0 + 2 * s), col2, -1)
    elif kind == 3:
        n = int(rng.integers(5, 9))
        ang = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 1)
        pts = np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1).astype(np.int32)
        cv2.fillPoly(u, [pts], col, cv2.LINE_AA)
    else:
        cv2.ellipse(u, (cx, cy), (r, max(2, r // 3)), float(rng.uniform(-30, 30)), 0, 360, col,
                    max(2, r // 5), cv2.LINE_AA)
        cv2.circle(u, (cx, cy), max(2, r // 4), col2, -1, cv2.LINE_AA)


def _curve(rng, x0, y0, w, h, n_ctrl, n_pts=120):
    """A smooth random stroke through ``n_ctrl`` points in the box."""
    xs = np.sort(rng.uniform(0, w, n_ctrl)) if rng.random() < 0.7 else rng.uniform(0, w, n_ctrl)
    ys = rng.uniform(0, h, n_ctrl)
    t = np.linspace(0, n_ctrl - 1, n_pts)
    px = np.interp(t, np.arange(n_ctrl), xs)
    py = np.interp(t, np.arange(n_ctrl), ys)
    k = np.ones(9) / 9.0
    px = np.convolve(np.pad(px, 4, mode="edge"), k, mode="valid")
    py = np.convolve(np.pad(py, 4, mode="edge"), k, mode="valid")
    return np.stack([x0 + px, y0 + py], 1).astype(np.int32)


def signature(cv, box, rng):
    """A handwritten-looking scribble in blue or black ink (on top of everything)."""
    x0, y0, x1, y1 = _clip_box(cv, box)
    if x1 - x0 < 10 or y1 - y0 < 6:
        return
    ov = cv.over_layer()
    cv.over_color = (20, 40, 150) if rng.random() < 0.6 else (25, 25, 35)
    t = max(1, int(round(cv.px(rng.uniform(0.6, 1.6)))))
    for _ in range(int(rng.integers(1, 4))):
        pts = _curve(rng, x0, y0, x1 - x0, y1 - y0, int(rng.integers(6, 16)))
        cv2.polylines(ov, [pts], False, 230, t, cv2.LINE_AA)


def scribble(cv, box, rng):
    """A short handwritten mark (tick, underline, circled note) that is not labelled."""
    signature(cv, box, rng)


def stamp(cv, center, radius, rng):
    """A coloured, rotated rubber stamp: rings or a frame with text-like marks, worn ink."""
    cx, cy = center
    r = int(radius)
    size = 2 * r + 8
    m = np.zeros((size, size), np.uint8)
    c = size // 2
    t = max(1, r // 18)
    if rng.random() < 0.5:
        cv2.circle(m, (c, c), r, 255, t + 1, cv2.LINE_AA)
        cv2.circle(m, (c, c), int(r * 0.72), 255, t, cv2.LINE_AA)
        for a in np.linspace(0, 360, int(rng.integers(14, 28)), endpoint=False):  # glyph-ish ticks
            a0 = np.deg2rad(a + rng.uniform(-3, 3))
            r0, r1 = r * 0.78, r * rng.uniform(0.86, 0.94)
            cv2.line(m, (int(c + r0 * np.cos(a0)), int(c + r0 * np.sin(a0))),
                     (int(c + r1 * np.cos(a0 + 0.05)), int(c + r1 * np.sin(a0 + 0.05))), 255, t)
        cv2.drawMarker(m, (c, c), 255, cv2.MARKER_STAR, int(r * 0.5), t)
    else:
        hh = int(r * rng.uniform(0.45, 0.7))
        cv2.rectangle(m, (4, c - hh), (size - 5, c + hh), 255, t + 1)
        cv2.rectangle(m, (4 + 3 * t, c - hh + 3 * t), (size - 5 - 3 * t, c + hh - 3 * t), 255, t)
        for row in (c - hh // 3, c + hh // 3):  # rows of blobs: text-like but not text
            x = 10 + 3 * t
            while x < size - 14 - 3 * t:
                bw = int(rng.integers(3, 10)) * max(1, t)
                cv2.rectangle(m, (x, row - 2 * t - 1), (min(x + bw, size - 12), row + 2 * t + 1), 255, -1)
                x += bw + int(rng.integers(2, 6)) * max(1, t)
    rot = cv2.getRotationMatrix2D((c, c), float(rng.uniform(-35, 35)), 1.0)
    m = cv2.warpAffine(m, rot, (size, size))
    wear = rng.uniform(0.4, 1.0, size=m.shape) > rng.uniform(0.0, 0.35)
    m = (m * wear * rng.uniform(0.55, 0.9)).astype(np.uint8)
    x0, y0 = int(cx) - c, int(cy) - c
    X0, Y0, X1, Y1 = max(x0, 0), max(y0, 0), min(x0 + size, cv.w), min(y0 + size, cv.h)
    if X1 <= X0 or Y1 <= Y0:
        return
    ov = cv.over_layer()
    np.maximum(ov[Y0:Y1, X0:X1], m[Y0 - y0:Y1 - y0, X0 - x0:X1 - x0], out=ov[Y0:Y1, X0:X1])
    cv.over_color = [(190, 30, 40), (40, 60, 170), (110, 40, 130)][int(rng.integers(3))]


def barcode(cv, box, rng):
    """Vertical bars of random widths (a 1-D barcode) in the ink layer."""
    x0, y0, x1, y1 = _clip_box(cv, box)
    unit = max(1.0, (x1 - x0) / 110.0)
    x = float(x0)
    lay = cv.layer("ink")
    bar = True
    while x < x1:
        wdt = unit * int(rng.integers(1, 4))
        if bar:
            lay[y0:y1, int(x):int(min(x + wdt, x1))] = 255
        x += wdt
        bar = not bar


def qr_code(cv, box, rng):
    """A QR-like square of random modules with three finder patterns."""
    x0, y0, x1, y1 = _clip_box(cv, box)
    s = min(x1 - x0, y1 - y0)
    n = 25
    mod = s // n
    if mod < 1:
        return
    grid = (rng.random((n, n)) < 0.5).astype(np.uint8)
    for fy, fx in ((0, 0), (0, n - 7), (n - 7, 0)):
        grid[fy:fy + 7, fx:fx + 7] = 1
        grid[fy + 1:fy + 6, fx + 1:fx + 6] = 0
        grid[fy + 2:fy + 5, fx + 2:fx + 5] = 1
    img = np.kron(grid, np.ones((mod, mod), np.uint8)) * 255
    lay = cv.layer("ink")
    lay[y0:y0 + img.shape[0], x0:x0 + img.shape[1]] = np.maximum(
        lay[y0:y0 + img.shape[0], x0:x0 + img.shape[1]], img)


def bar_chart(cv, box, rng):
    """Axes with coloured bars or a polyline (the graphic part of a chart)."""
    x0, y0, x1, y1 = _clip_box(cv, box)
    if x1 - x0 < 30 or y1 - y0 < 30:
        return
    cv.line((x0, y1), (x1, y1), 1)
    cv.line((x0, y0), (x0, y1), 1)
    u = cv.under_layer()
    n = int(rng.integers(3, 12))
    vals = rng.uniform(0.1, 0.95, n)
    col = _COLOURS[int(rng.integers(len(_COLOURS)))]
    step = (x1 - x0) / n
    if rng.random() < 0.6:
        for i, v in enumerate(vals):
            bx = int(x0 + i * step + step * 0.2)
            cv2.rectangle(u, (bx, int(y1 - v * (y1 - y0))), (int(bx + step * 0.6), y1 - 1), col, -1)
    else:
        pts = np.stack([x0 + (np.arange(n) + 0.5) * step, y1 - vals * (y1 - y0)], 1).astype(np.int32)
        cv2.polylines(u, [pts], False, col, max(1, int(cv.px(1.2))), cv2.LINE_AA)
