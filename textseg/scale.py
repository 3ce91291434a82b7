"""Page scale: how large a page goes into the network.

:func:`input_size` is the resize policy of a model's ``infer.resize`` section (``fixed``:
the long side to ``long_side``; ``document``: native resolution, the long side capped at
``max_side``, small pages brought up to ``upscale_to``). :func:`page_size` adds the
text-scale policy (``glyph_px``): the page's glyph height, measured by
:func:`glyph_height`, decides the scale, so large type on a small receipt is not blown up
past the network's view and costs less. numpy and OpenCV only.
"""

from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

__all__ = ["glyph_height", "input_size", "page_size", "content_box", "MIN_GLYPH_PX",
           "READ_GLYPH_PX", "TILE_GLYPH_PX", "GLYPH_PROBE_SIDE", "CONTENT_PROBE_SIDE"]

#: glyph height (median, network-input pixels) below which the shipped document model loses
#: words: measured on examples/page.jpg (word hmean 0.96 at 12 px, 0.88 at 8.4, 0.65 at 6.6)
MIN_GLYPH_PX = 10
#: glyph height the warning's suggested max_side brings the text back to; below it, a
#: page the cap shrinks is cut into tiles instead (``infer.tile.enabled: auto``)
READ_GLYPH_PX = 12
#: glyph height tiles bring small text to (never above the resize policy's own scale)
TILE_GLYPH_PX = 16
#: long side (px) of the copy on which ``infer.resize.glyph_px`` measures the glyphs
GLYPH_PROBE_SIDE = 1000
#: long side (px) of the copy on which ``infer.resize.crop_margins`` finds the content
CONTENT_PROBE_SIDE = 600


def glyph_height(image, scale=1.0) -> Optional[float]:
    """The median height in ``image`` pixels of the dark connected components (glyphs)
    after Otsu binarisation, measured on a copy resized by ``scale``; None when fewer than
    20 glyph-like components are found (a photo, a blank page)."""
    import cv2

    g = image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image),
                                                   cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        size = (max(1, round(g.shape[1] * scale)), max(1, round(g.shape[0] * scale)))
        g = cv2.resize(g, size, interpolation=cv2.INTER_AREA)
    _, b = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    n, _, st, _ = cv2.connectedComponentsWithStats(b, connectivity=8)
    hh, ww, area = (st[1:, k] for k in (cv2.CC_STAT_HEIGHT, cv2.CC_STAT_WIDTH, cv2.CC_STAT_AREA))
    keep = (hh >= 2) & (area >= 3) & (hh < g.shape[0] / 3) & (ww < 8 * hh) & (hh < 8 * ww)
    if keep.sum() < 20:
        return None
    return float(np.median(hh[keep])) / min(1.0, scale)


def input_size(h: int, w: int, resize: Mapping) -> tuple:
    """Network input size (before padding) of an h x w image under an ``infer.resize``
    section: ``fixed`` scales the long side to ``long_side``; ``document`` keeps the native
    resolution with the long side capped at ``max_side`` and, with ``upscale_to``, brings
    smaller pages up to that long side (low-resolution scans: small text), by at most
    ``max_upscale`` times (0: no limit; a 100-DPI form is not blown up past what helps)."""
    if resize["policy"] == "fixed":
        s = float(resize["long_side"]) / max(h, w)
    else:
        s = min(1.0, float(resize["max_side"]) / max(h, w))
        up = float(resize.get("upscale_to") or 0)
        if up > 0 and max(h, w) < up:
            s = min(up, float(resize["max_side"])) / max(h, w)
            cap = float(resize.get("max_upscale") or 0)
            if cap > 0:
                s = max(1.0, min(s, cap))
    return max(1, int(round(h * s))), max(1, int(round(w * s)))


def page_size(image, resize: Mapping) -> tuple:
    """Network input size (before padding) of ``image`` under an ``infer.resize`` section:
    :func:`input_size`, or with ``glyph_px`` (document policy) the scale that brings the
    page's glyphs (:func:`glyph_height`, measured on a copy with a
    :data:`GLYPH_PROBE_SIDE` px long side) to ``glyph_px`` px, never above
    :func:`input_size`'s scale and never below a ``min_long`` px long side: large type is
    not blown up past what the network sees whole, and small pages of large text cost
    less. Pages with no measurable glyphs keep :func:`input_size`."""
    h, w = image.shape[:2]
    nh, nw = input_size(h, w, resize)
    target = float(resize.get("glyph_px") or 0)
    if target <= 0 or resize.get("policy") != "document":
        return nh, nw
    glyph = glyph_height(image, scale=min(1.0, GLYPH_PROBE_SIDE / max(h, w)))
    if glyph is None:
        return nh, nw
    hi = nh / h
    lo = min(hi, float(resize.get("min_long") or 640) / max(h, w))
    s = min(hi, max(lo, target / glyph))
    return max(1, int(round(h * s))), max(1, int(round(w * s)))


def content_box(image, pad: float = 0.02, min_gain: float = 0.1) -> Optional[tuple]:
    """The part of a page that holds anything but its blank margins, ``(x0, y0, x1, y1)``
    in image pixels (x1, y1 exclusive), or None when cropping would save less than
    ``min_gain`` of the area (or the page is blank).

    Measured on a copy with a :data:`CONTENT_PROBE_SIDE` px long side: pixels whose 3x3
    morphological gradient is over 48 grey levels (ink edges, rules, page edges, stamps:
    anything with contrast; flat paper and flat backgrounds have none, and a one-pixel
    speck fades below it in the smaller copy), specks under 2x2 of them removed, in rows and columns that hold at least 6 of them (scan noise does not
    widen the box; a glyph's edges give a few per row, a line of text dozens). On the three dev sets no ground-truth box falls outside it. The box is
    widened by ``pad`` x the long side on every side, so text at the edge keeps the
    context the network sees around it. Scan noise and dark borders only make the box
    larger; what it can lose is very faint, small text alone in a margin (turn
    ``infer.resize.crop_margins`` off for such pages)."""
    import cv2

    h, w = image.shape[:2]
    g = image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image[..., :3]),
                                                   cv2.COLOR_RGB2GRAY)
    scale = min(1.0, CONTENT_PROBE_SIDE / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        g = cv2.resize(g, size, interpolation=cv2.INTER_AREA)
    grad = (cv2.morphologyEx(g, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 48)
    grad[[0, -1], :] = False  # the resize's own border
    grad[:, [0, -1]] = False
    # specks under 2x2 probe pixels go; the edge band of a stroke is 3+ pixels wide
    grad = cv2.morphologyEx(grad.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    rows = np.flatnonzero(grad.sum(1) >= 6)
    cols = np.flatnonzero(grad.sum(0) >= 6)
    if len(rows) == 0 or len(cols) == 0:
        return None
    m = pad * max(h, w)
    x0 = max(0, int(np.floor(cols[0] / scale - m)))
    y0 = max(0, int(np.floor(rows[0] / scale - m)))
    x1 = min(w, int(np.ceil((cols[-1] + 1) / scale + m)))
    y1 = min(h, int(np.ceil((rows[-1] + 1) / scale + m)))
    if (x1 - x0) * (y1 - y0) > (1.0 - min_gain) * h * w:
        return None
    return x0, y0, x1, y1
