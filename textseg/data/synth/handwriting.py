"""Glyph-by-glyph rendering: handwriting jitter, letter spacing and dot-matrix print.

:func:`glyph_mask` draws a word one glyph at a time so that each glyph can move on its
own:

* ``effect="hand"``: every glyph gets a small random rotation, scale, slant and baseline
  offset, and the baseline wobbles along the word (a handwriting-style font plus this
  jitter looks filled in by hand);
* ``tracking``: extra px between letters (letter-spaced receipt and typewriter print);
  the word is still one mask, so it stays one word box however wide the spacing;
* ``effect="dots"``: the glyph mask is resampled on a grid of round dots (dot-matrix
  and low-resolution thermal printers);
* ``effect="type"``: typewriter strikes: each glyph a little off the baseline, some
  lighter than others, now and then broken by a worn ribbon.

The result is one mask per word, so the ground-truth box is still the ink's bounding box.
Randomness comes from the canvas's generator (seeded by the page).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
from PIL import Image

from .fonts import families, hand_families, load_font

__all__ = ["glyph_mask", "hand_style", "dots"]


@functools.lru_cache(maxsize=8192)
def _glyph(path, size_px, ch):
    """(mask, dx, dy) of one glyph (cached: pages draw the same glyphs over and over)."""
    core, (ox, oy) = load_font(path, size_px).getmask2(ch, mode="L", anchor="ls")
    bb = core.getbbox()
    if bb is None:
        return None
    m = np.asarray(Image.Image()._new(core))[bb[1]:bb[3], bb[0]:bb[2]]
    m.setflags(write=False)
    return m, ox + bb[0], oy + bb[1]


def _jitter(m, rng, strength, size):
    """Random affine of one glyph mask around its centre (padded so nothing is cut)."""
    h, w = m.shape
    p = int(max(h, w) * 0.3) + 2
    src = cv2.copyMakeBorder(m, p, p, p, p, cv2.BORDER_CONSTANT, value=0)
    ang = float(rng.normal(0, 5.0 * strength))
    sc = float(np.clip(1.0 + rng.normal(0, 0.07 * strength), 0.8, 1.2))
    shear = float(rng.normal(0, 0.12 * strength))
    c = (src.shape[1] / 2, src.shape[0] / 2)
    A = cv2.getRotationMatrix2D(c, ang, sc)
    A[0, 1] += shear
    A[0, 2] -= shear * c[1]
    out = cv2.warpAffine(src, A, (src.shape[1], src.shape[0]), flags=cv2.INTER_LINEAR)
    return out, p


def dots(m, size, rng=None):
    """A glyph mask redrawn as a grid of round dots (dot-matrix print): about 9 dots per
    em, drawn 4x larger and scaled down so small print stays legible."""
    cell = max(1.2, min(size / 9.0, 3.0 + size / 30.0))
    h, w = m.shape
    gh, gw = max(1, int(round(h / cell))), max(1, int(round(w / cell)))
    grid = cv2.resize(m, (gw, gh), interpolation=cv2.INTER_AREA)
    up = 4
    c = cell * up
    out = np.zeros((int(round(h * up)), int(round(w * up))), np.uint8)
    r = max(1, int(round(c * (0.5 if cell < 3 else 0.4))))  # big print: separate dots
    ys, xs = np.nonzero(grid > 60)
    for y, x in zip(ys, xs):
        cv2.circle(out, (int(x * c + c / 2), int(y * c + c / 2)), r, 255, -1, cv2.LINE_8)
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_AREA)


def glyph_mask(text, style, rng):
    """(mask, dx, dy) of ``text`` drawn glyph by glyph: the mask's top-left is at
    (pen x + dx, baseline + dy). None when nothing is drawn."""
    font = style.font()
    size = float(style.size)
    hs = float(style.hscale)
    hand = style.effect == "hand"
    strength = float(style.jitter) if hand else 0.0
    adv = sum(font.getlength(ch) for ch in text) * hs + style.tracking * len(text)
    pad = int(size * 0.8) + 4
    W, H = int(adv + 2 * pad + size), int(size * 2.2 + 2 * pad)
    base = pad + int(size * 1.2)
    canvas = np.zeros((H, W), np.uint8)
    x = float(pad)
    phase, freq = float(rng.uniform(0, 6.3)), float(rng.uniform(0.3, 1.2))
    slope = float(rng.normal(0, 0.02 * strength))
    drawn = False
    for i, ch in enumerate(text):
        step = font.getlength(ch) * hs
        g = _glyph(style.path, max(4, int(round(size))), ch) if not ch.isspace() else None
        if g is not None:
            m, ox, oy = g
            if abs(hs - 1.0) > 0.02:
                m = cv2.resize(m, (max(1, int(round(m.shape[1] * hs))), m.shape[0]),
                               interpolation=cv2.INTER_AREA)
            p = 0
            dy = 0.0
            if strength > 0:
                m, p = _jitter(m, rng, strength, size)
                dy = (np.sin(phase + freq * i) * 0.05 + rng.normal(0, 0.025)) * size * strength \
                    + slope * (x - pad)
            elif style.effect == "type":  # typewriter: each key strikes a little off and unevenly
                dy = float(rng.normal(0, 0.025 * size))
                m = (m.astype(np.float32) * float(rng.uniform(0.55, 1.0))).astype(np.uint8)
                if rng.random() < 0.15 and min(m.shape) > 4:  # a worn ribbon: broken strokes
                    m = np.where(rng.random(m.shape) < 0.25, m // 3, m).astype(np.uint8)
            X, Y = int(round(x + ox * hs)) - p, int(round(base + oy + dy)) - p
            X, Y = max(0, min(X, W - m.shape[1])), max(0, min(Y, H - m.shape[0]))
            dst = canvas[Y:Y + m.shape[0], X:X + m.shape[1]]
            np.maximum(dst, m[:dst.shape[0], :dst.shape[1]], out=dst)
            drawn = True
        x += step + style.tracking
        if strength > 0:
            x += float(rng.normal(0, 0.03 * size * strength))
    if not drawn:
        return None
    if style.effect == "dots":
        canvas = dots(canvas, size)
    elif hand:  # a pen's stroke width: thin script fonts get a bolder line
        k = int(round(size * float(rng.uniform(0.0, 0.07))))
        if k >= 1:
            canvas = cv2.dilate(canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k + 1, k + 1)))
    rows = np.flatnonzero(canvas.max(axis=1) > 0)
    cols = np.flatnonzero(canvas.max(axis=0) > 0)
    if len(rows) == 0:
        return None
    m = canvas[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return np.ascontiguousarray(m), int(cols[0]) - pad, int(rows[0]) - base


def hand_style(ps, pt, rng, layer="ink", alpha=None):
    """A handwriting TextStyle: a handwriting-style family (or an italic one where none is
    installed) with glyph jitter, written larger and often in blue ink (``over`` layer)."""
    fams = hand_families()
    fam = fams[int(rng.integers(len(fams)))]
    weight = "regular" if rng.random() < 0.8 or fam.kind != "hand" else "bold"
    if fam.kind != "hand":
        weight = "italic"
    st = ps.style(pt, weight, family=fam, layer=layer, alpha=alpha)
    return st.with_(effect="hand", jitter=float(rng.uniform(0.5, 1.3)), hscale=float(rng.uniform(0.9, 1.15)))


def printed_family(kind, rng):
    fams = families()[kind]
    return fams[int(rng.integers(len(fams)))]
