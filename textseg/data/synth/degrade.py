"""Heavy degradations: faxes and photocopies, photographed pages.

* :func:`photocopy`: a grey page made into a fax or photocopy: contrast pushed, dark copier
  edges, toner streaks, then one of threshold, ordered dither or halftone screen (grey
  fills become dot patterns), speckle (isolated dots, never labelled), fax line doubling;
* :func:`creases` (before the warp): fold lines, a light and a dark side;
* :func:`surface` and :func:`shadow` (after the warp): the table a receipt was
  photographed on, and a soft shadow over part of it.

All draws come from the ``rng`` given; images are uint8.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["photocopy", "speckle", "creases", "surface", "shadow", "streaks"]

_BAYER2 = np.array([[0, 2], [3, 1]], np.float32)


def _bayer(n):
    m = _BAYER2
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return (m + 0.5) / m.size


def speckle(g, rng, density):
    """Black dots (1-3 px, some in small clusters) and a few white drop-outs."""
    h, w = g.shape
    n = int(h * w * density)
    if n <= 0:
        return g
    xs, ys = rng.integers(0, w, n), rng.integers(0, h, n)
    rs = rng.choice([0, 0, 0, 1, 1, 2], n)
    for x, y, r in zip(xs, ys, rs):
        cv2.circle(g, (int(x), int(y)), int(r), 0, -1)
    for _ in range(int(rng.integers(0, 6))):  # clusters (dirty glass)
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        k = int(rng.integers(5, 40))
        pts = np.stack([cx + rng.normal(0, 12, k), cy + rng.normal(0, 12, k)], 1).astype(np.int32)
        for x, y in pts:
            cv2.circle(g, (int(x), int(y)), int(rng.integers(0, 2)), 0, -1)
    m = n // 4
    xs, ys = rng.integers(0, w, m), rng.integers(0, h, m)
    g[ys, xs] = 255
    return g


def streaks(g, rng):
    """Toner streaks: thin dark vertical (or horizontal) lines and light bands."""
    h, w = g.shape
    vertical = rng.random() < 0.75
    L, M = (w, h) if vertical else (h, w)
    for _ in range(int(rng.integers(1, 6))):
        c = int(rng.integers(0, L))
        wid = int(rng.integers(1, 4)) if rng.random() < 0.7 else int(rng.integers(8, 40))
        dark = wid < 8  # wide streaks are missing toner (light)
        k = float(rng.uniform(0.25, 0.8)) if dark else float(rng.uniform(1.05, 1.3))
        a, b = int(rng.uniform(0, 0.5) * M), int(rng.uniform(0.5, 1.0) * M)
        sl = (slice(a, b), slice(c, c + wid)) if vertical else (slice(c, c + wid), slice(a, b))
        g[sl] = np.clip(g[sl] * k, 0, 255).astype(np.uint8)
    return g


def _edges(g, rng):
    """Dark copier edges along one or two sides."""
    h, w = g.shape
    for side in rng.choice(4, int(rng.integers(1, 3)), replace=False):
        d = max(1, int(rng.uniform(0.005, 0.04) * (w if side < 2 else h)))
        k = float(rng.uniform(0.1, 0.6))
        ramp = np.linspace(k, 1.0, d, dtype=np.float32)
        if side == 0:
            g[:, :d] = (g[:, :d] * ramp[None, :]).astype(np.uint8)
        elif side == 1:
            g[:, w - d:] = (g[:, w - d:] * ramp[::-1][None, :]).astype(np.uint8)
        elif side == 2:
            g[:d, :] = (g[:d, :] * ramp[:, None]).astype(np.uint8)
        else:
            g[h - d:, :] = (g[h - d:, :] * ramp[::-1][:, None]).astype(np.uint8)
    return g


def photocopy(g, rng, cfg):
    """Grey uint8 page -> (degraded grey page, meta)."""
    meta = {}
    # contrast: the paper (a high percentile) goes to white, the ink towards black
    sub = g[::7, ::7]
    paper = float(np.percentile(sub, 75))
    hi = min(paper * float(rng.uniform(0.8, 0.97)), 250.0)
    lo = min(float(np.percentile(sub, 1)) + float(rng.uniform(0, 40)), hi - 60)
    lut = np.clip((np.arange(256, dtype=np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    g = cv2.LUT(g, lut)
    if rng.random() < 0.5:
        g = _edges(g, rng)
    if rng.random() < cfg["p_streaks"]:
        g = streaks(g, rng)
        meta["streaks"] = True
    src = g
    r = rng.random()
    mode = "grey"
    # screens and dither act on the grey fills: dark text stays solid, paper stays white
    solid, blank = float(rng.uniform(70, 120)), float(rng.uniform(215, 240))
    if r < cfg["p_dither"]:
        n = int(rng.choice([4, 8]))
        t = np.tile((_bayer(n) * 255).astype(np.uint8), (g.shape[0] // n + 1, g.shape[1] // n + 1))
        g = (g > t[:g.shape[0], :g.shape[1]]).astype(np.uint8) * np.uint8(255)
        mode = "dither"
    elif r < cfg["p_dither"] + cfg["p_halftone"]:
        k = 2 * np.pi / float(rng.uniform(3.0, 5.5))
        y = np.arange(g.shape[0], dtype=np.float32)[:, None]
        x = np.arange(g.shape[1], dtype=np.float32)[None, :]
        if rng.random() < 0.6:  # a 45-degree screen: cos(ku) cos(kv) = (cos(k'y) + cos(k'x)) / 2
            screen = (np.cos(np.sqrt(2) * k * y) + np.cos(np.sqrt(2) * k * x)) * 63.75 + 127.5
        else:
            screen = np.cos(k * y) * np.cos(k * x) * 127.5 + 127.5
        g = (g > screen.astype(np.uint8)).astype(np.uint8) * np.uint8(255)
        mode = "halftone"
    elif r < 0.75:
        ink, paper = np.percentile(g[::5, ::5], [1, 75])  # between ink and paper
        g = cv2.threshold(g, float(ink + (paper - ink) * rng.uniform(0.4, 0.75)), 255, cv2.THRESH_BINARY)[1]
        mode = "threshold"
    if mode in ("dither", "halftone"):
        g[src < solid] = 0
        g[src > blank] = 255
    meta["copy"] = mode
    if mode != "grey" and rng.random() < 0.35:  # fax: half vertical resolution
        h, w = g.shape
        s = cv2.resize(g, (w, max(1, h // 2)), interpolation=cv2.INTER_AREA)
        s = cv2.threshold(s, 127, 255, cv2.THRESH_BINARY)[1]
        g = cv2.resize(s, (w, h), interpolation=cv2.INTER_NEAREST)
        meta["fax_lines"] = True
    if rng.random() < cfg["p_speckle"]:
        dens = float(np.exp(rng.uniform(np.log(2e-5), np.log(4e-4))))
        g = speckle(g, rng, dens)
        meta["speckle"] = round(dens * 1e4, 2)
    return g, meta


def creases(page, rng):
    """1-3 fold lines across the page: a light ridge beside a dark valley (computed in the
    band around each fold only)."""
    h, w = page.shape[:2]
    out = page.copy()
    for _ in range(int(rng.integers(1, 4))):
        horiz = rng.random() < 0.75
        slope = float(np.tan(rng.normal(0, 0.05)))
        s = float(rng.uniform(1.5, 5.0))
        k = float(rng.uniform(0.06, 0.2))
        img = out if horiz else out.swapaxes(0, 1)  # a vertical fold is a horizontal one, transposed
        H, W = img.shape[:2]
        c = float(rng.uniform(0.1, 0.9)) * H
        ends = [c + slope * (0 - W / 2), c + slope * (W - W / 2)]
        y0, y1 = int(max(0, min(ends) - 4 * s)), int(min(H, max(ends) + 9 * s))
        if y1 <= y0:
            continue
        yy = np.arange(y0, y1, dtype=np.float32)[:, None]
        xx = np.arange(W, dtype=np.float32)[None, :]
        d = yy - (c + slope * (xx - W / 2))
        f = 1.0 - k * np.exp(-(d / s) ** 2) + 0.6 * k * np.exp(-((d - 2.5 * s) / (2 * s)) ** 2)
        band = img[y0:y1].astype(np.float32)
        band *= f if band.ndim == 2 else f[..., None]
        img[y0:y1] = np.clip(band, 0, 255).astype(np.uint8)
    return out


def surface(shape, rng, ch):
    """A table top behind a photographed receipt: a coloured, mottled, lit surface."""
    h, w = shape
    base = np.array(rng.choice([[90, 70, 50], [150, 120, 90], [60, 60, 65], [200, 200, 205],
                                [40, 35, 30], [120, 130, 140]]), np.float32)
    small = rng.uniform(0.7, 1.2, (6, 6)).astype(np.float32)
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img = field[..., None] * base[None, None, :]
    noise = rng.normal(0, 6, (h // 4 + 1, w // 4 + 1)).astype(np.float32)
    img += cv2.resize(noise, (w, h))[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    return img if ch == 3 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def shadow(img, rng):
    """A soft shadow (a hand or a phone) over one side of the photo."""
    h, w = img.shape[:2]
    f = max(1, max(h, w) // 200)  # drawn and blurred small, then scaled up: it is smooth
    sh, sw = max(2, h // f), max(2, w // f)
    m = np.zeros((sh, sw), np.float32)
    side = int(rng.integers(4))
    pts = rng.uniform(0, 1, (5, 2)) * np.array([sw, sh])
    edge = {0: (0, None), 1: (sw, None), 2: (None, 0), 3: (None, sh)}[side]
    pts[:2] = [[edge[0] if edge[0] is not None else 0, edge[1] if edge[1] is not None else 0],
               [edge[0] if edge[0] is not None else sw, edge[1] if edge[1] is not None else sh]]
    hull = cv2.convexHull(pts.astype(np.float32)).astype(np.int32)
    cv2.fillPoly(m, [hull], 1.0)
    m = cv2.GaussianBlur(m, (0, 0), float(rng.uniform(0.02, 0.08)) * max(sh, sw))
    k = float(rng.uniform(0.2, 0.55))
    f = cv2.resize(1.0 - k * m, (w, h), interpolation=cv2.INTER_LINEAR)
    if img.ndim == 3:
        f = cv2.merge([f, f, f])
    return cv2.multiply(img, f, dtype=cv2.CV_8U)
