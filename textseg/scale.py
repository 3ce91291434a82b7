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

__all__ = ["glyph_height", "input_size", "page_size", "MIN_GLYPH_PX", "READ_GLYPH_PX",
           "TILE_GLYPH_PX", "GLYPH_PROBE_SIDE"]

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
