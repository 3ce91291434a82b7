"""Page elements that real scans have and clean layouts lack.

* :func:`inverse_bar`: light text knocked out of a dark bar (section bars, table headers);
  the text is in the ``knock`` layer, printed in the paper's colour, and labelled;
* :func:`vertical_id`: a document ID or form number running up (or down) the page edge,
  labelled as tall word quads, one line per run;
* :func:`display_text`: display type 30-200 px tall (titles, totals, big numbers);
* :func:`narrow_line`: bold sans with narrow word spaces (each word still its own box);
* :func:`tick`, :func:`cross`: hand-drawn check marks (ink, never labelled);
* :func:`checkbox_row`: boxes with labels, some ticked or crossed;
* :func:`text_stamp`: an office stamp with words (RECEIVED, a date) in a coloured frame;
  its words are text and labelled, its frame is not.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import graphics as gfx
from .fonts import families

__all__ = ["inverse_bar", "vertical_id", "display_text", "narrow_line", "tick", "cross",
           "checkbox_row", "bold_sans", "text_stamp", "is_free"]

_STAMP_WORDS = ["RECEIVED", "PAID", "COPY", "FAXED", "APPROVED", "FILED", "ORIGINAL", "URGENT",
                "CONFIDENTIAL", "ENTERED", "POSTED", "VOID"]


def bold_sans(ps, pt, rng, narrow=False):
    """A bold sans style (from any sans family); ``narrow``: word spaces 30-65% wide."""
    fams = families()["sans"]
    fam = fams[int(rng.integers(len(fams)))]
    st = ps.style(pt, "bold", family=fam)
    if narrow:
        st = st.with_(space=float(rng.uniform(0.3, 0.65)))
    return st


def is_free(cv, box, margin=2):
    """True when nothing is drawn yet in ``box`` (x0, y0, x1, y1) and its margin."""
    x0, y0 = int(max(0, box[0] - margin)), int(max(0, box[1] - margin))
    x1, y1 = int(min(cv.w, box[2] + margin)), int(min(cv.h, box[3] + margin))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return False
    if any(lay[y0:y1, x0:x1].any() for lay in cv.layers.values()):
        return False
    if cv.over is not None and cv.over[y0:y1, x0:x1].any():
        return False
    return cv.under is None or not (cv.under[y0:y1, x0:x1] < 250).any()


def inverse_bar(cv, fr, ps, words=None, pt=None, rng=None):
    """A dark full-width bar with light text; moves the frame cursor below it."""
    rng = rng or ps.rng
    pt = pt or ps.body_pt * float(rng.uniform(0.9, 1.5))
    st = ps.style(pt, "bold" if rng.random() < 0.8 else "regular",
                  family=ps.head_family if rng.random() < 0.5 else None)
    st = st.with_(layer="knock", alpha=255)
    asc, desc = st.font().getmetrics()
    h = (asc + desc) * float(rng.uniform(1.2, 1.8))
    if not fr.room(h + cv.px(ps.body_pt)):
        return
    words = words or ps.corpus.title(rng, 1, 6)
    if rng.random() < 0.5:
        words = [w.upper() for w in words]
    x0 = fr.x0
    x1 = fr.x1 if rng.random() < 0.75 else fr.x0 + fr.width * float(rng.uniform(0.4, 0.8))
    y0 = fr.y
    _dark_fill(cv, rng, (x0, y0, x1, y0 + h))
    base = y0 + (h - asc - desc) / 2 + asc
    align = str(rng.choice(["left", "center", "left"]))
    pad = cv.px(pt) * 0.4
    while len(words) > 1 and cv.measure(" ".join(words), st) > x1 - x0 - 2 * pad:
        words = words[:-1]
    if cv.measure(" ".join(words), st) < x1 - x0 - 2 * pad:
        cv.draw_text(x0 + pad, base, words, st, align, x1 - x0 - 2 * pad)
    fr.y = y0 + h + cv.px(ps.body_pt) * 0.4


def _dark_fill(cv, rng, box):
    """Fill ``box`` with a dark ink (black or a dark colour in the graphics layer)."""
    x0, y0, x1, y1 = box
    if rng.random() < 0.6:
        cv.rect(x0, y0, x1, y1, fill=True, alpha=int(rng.integers(190, 256)))
    else:
        col = np.array(gfx._COLOURS[int(rng.integers(len(gfx._COLOURS)))], np.float32) * 0.6
        u = cv.under_layer()
        X0, Y0, X1, Y1 = gfx._clip_box(cv, box)
        u[Y0:Y1, X0:X1] = np.minimum(u[Y0:Y1, X0:X1], col.astype(np.uint8))


def vertical_id(cv, ps, rng, side=None):
    """An ID running along the left or right edge (bottom to top, now and then top to
    bottom), in the page margin."""
    c = ps.corpus
    kind = rng.random()
    if kind < 0.5:
        words = [str(int(rng.integers(10 ** 7, 10 ** 10)))]
    elif kind < 0.8:
        words = c.title(rng, 1, 3) + [c.token(rng, "id")]
    else:
        words = c.sentence(rng, 3, 9)
    pt = float(rng.uniform(6, 16))
    st = ps.style(pt, "bold" if rng.random() < 0.4 else "regular",
                  family=ps.mono_family if rng.random() < 0.4 else None)
    asc, desc = st.font().getmetrics()
    length = sum(cv.measure(w, st) for w in words) + cv.space(st) * (len(words) + 1)
    up = rng.random() < 0.8
    for side in ([side] if side else list(rng.permutation(["left", "right"]))):
        x = cv.px(float(rng.uniform(6, 24))) if side == "left" else \
            cv.w - cv.px(float(rng.uniform(6, 24))) - (asc + desc)
        y = cv.h * float(rng.uniform(0.45, 0.95))
        y0 = y - length if up else cv.h - y
        if y0 > cv.h * 0.03 and is_free(cv, (x, y0, x + asc + desc, y0 + length), 3):
            return cv.draw_vertical(x, y, words, st, top=cv.h * 0.03, up=up) > 0
    return False


def display_text(cv, fr, ps, rng, words=None, px=None, align=None):
    """One line of display type ``px`` tall (cap height; 30-200 px), shrunk to fit."""
    px = px or float(np.exp(rng.uniform(np.log(30), np.log(200))))
    n = 3 if px < 60 else 2 if px < 110 else 1  # big type: few, short words (they must fit)
    if not words:
        if rng.random() < 0.7:
            words = ps.corpus.title(rng, 1, n)
            if px >= 110:
                words = [min(words, key=len)[:8]]
        else:
            words = [ps.corpus.token(rng, str(rng.choice(["amount", "int", "date"] if px < 110 else ["int"])))]
    pt = px / 0.72 * 72.0 / cv.dpi
    fam = ps.head_family if rng.random() < 0.6 else families()["sans"][int(rng.integers(len(families()["sans"])))]
    st = ps.style(pt, "bold" if rng.random() < 0.7 else "regular", family=fam,
                  layer="accent" if rng.random() < 0.3 else "ink")
    for _ in range(8):
        if cv.measure(" ".join(words), st) <= fr.width or st.size < 12:
            break
        st = st.with_(size=st.size * 0.75)
    if cv.measure(" ".join(words), st) > fr.width:
        words = words[:1]
    asc, desc = st.font().getmetrics()
    gap = st.size * 0.2
    if not fr.room(asc + desc + gap * 2):
        return
    cv.draw_text(fr.x0, fr.y + gap + asc, words, st, align or str(rng.choice(["left", "center"])), fr.width)
    fr.y += gap * 2 + asc + desc


def narrow_line(cv, fr, ps, rng, words=None, pt=None):
    """A row of bold sans with narrow word spaces (form labels, headings)."""
    pt = pt or ps.body_pt * float(rng.uniform(0.9, 1.4))
    st = bold_sans(ps, pt, rng, narrow=True)
    words = words or [w.upper() if rng.random() < 0.6 else w for w in ps.corpus.title(rng, 2, 7)]
    asc, desc = st.font().getmetrics()
    if not fr.room(asc + desc):
        return
    while words and cv.measure(" ".join(words), st) > fr.width:
        words = words[:-1]
    cv.draw_words(fr.x0, fr.y + asc, words, st)
    fr.y += (asc + desc) * 1.3


def tick(cv, box, rng, layer="pen"):
    """A hand-drawn check mark inside/over ``box`` (not labelled)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    j = lambda: rng.normal(0, 0.06)  # noqa: E731
    pts = np.array([[x0 + w * (0.1 + j()), y0 + h * (0.55 + j())],
                    [x0 + w * (0.4 + j()), y0 + h * (0.95 + j())],
                    [x0 + w * (1.1 + j()), y0 - h * (0.2 + abs(j()))]])
    t = max(1, int(round(max(w, h) * float(rng.uniform(0.08, 0.16)))))
    cv2.polylines(cv.layer(layer), [np.round(pts).astype(np.int32)], False, 255, t, cv2.LINE_AA)


def cross(cv, box, rng, layer="pen"):
    x0, y0, x1, y1 = box
    t = max(1, int(round((x1 - x0) * float(rng.uniform(0.08, 0.15)))))
    e = (x1 - x0) * 0.1
    lay = cv.layer(layer)
    for a, b in (((x0 + e, y0 + e), (x1 - e, y1 - e)), ((x1 - e, y0 + e), (x0 + e, y1 - e))):
        a = (int(a[0] + rng.normal(0, e)), int(a[1] + rng.normal(0, e)))
        b = (int(b[0] + rng.normal(0, e)), int(b[1] + rng.normal(0, e)))
        cv2.line(lay, a, b, 255, t, cv2.LINE_AA)


def checkbox_row(cv, fr, ps, rng, style=None, n=None):
    """``[ ] label  [x] label ...`` on one row; marks are ticks or crosses in pen or ink."""
    s = style or ps.body
    asc, desc = s.font().getmetrics()
    if not fr.room((asc + desc) * 1.6):
        return
    sz = asc * float(rng.uniform(0.8, 1.05))
    t = max(1.0, cv.px(0.6))
    x = fr.x0
    n = n or int(rng.integers(2, 6))
    y = fr.y + asc
    for _ in range(n):
        label = ps.corpus.title(rng, 1, 2) if rng.random() < 0.7 else [str(rng.choice(["Yes", "No", "N/A"]))]
        width = sz * 1.6 + cv.measure(" ".join(label), s) + sz * 1.5
        if x + width > fr.x1:
            break
        cv.rect(x, y - sz, x + sz, y, t)
        r = rng.random()
        if r < 0.3:
            tick(cv, (x, y - sz, x + sz, y), rng, "pen" if rng.random() < 0.7 else "ink")
        elif r < 0.45:
            cross(cv, (x, y - sz, x + sz, y), rng, "pen" if rng.random() < 0.6 else "ink")
        x = cv.draw_words(x + sz * 1.6, y, label, s) + sz * 1.5
    fr.y += (asc + desc) * 1.6


def text_stamp(cv, ps, rng, x, y):
    """A rubber stamp with words at (x, y) (top-left): a frame, a word, a date, in the
    accent colour, a little worn. Drawn only where it fits on the page."""
    c = ps.corpus
    lines = [[str(rng.choice(_STAMP_WORDS))]]
    if rng.random() < 0.8:
        lines.append(c.token(rng, "date").upper().split())
    if rng.random() < 0.3:
        lines.append([w.upper() for w in c.title(rng, 1, 2)])
    pt = float(rng.uniform(8, 16))
    st = bold_sans(ps, pt, rng).with_(layer="accent", alpha=int(rng.integers(150, 240)))
    asc, desc = st.font().getmetrics()
    widths = [cv.measure(" ".join(ln), st) for ln in lines]
    pad = st.size * 0.4
    w, h = max(widths) + 2 * pad, len(lines) * (asc + desc) * 1.15 + 2 * pad
    if x + w >= cv.w or y + h >= cv.h or x < 0 or y < 0 or not is_free(cv, (x, y, x + w, y + h), 3):
        return False
    t = max(1.0, st.size * 0.08)
    cv.rect(x, y, x + w, y + h, t, layer="accent", alpha=st.alpha)
    if rng.random() < 0.5:
        cv.rect(x + 2 * t, y + 2 * t, x + w - 2 * t, y + h - 2 * t, 1, layer="accent", alpha=st.alpha)
    yy = y + pad
    for ln, lw in zip(lines, widths):
        cv.draw_text(x + pad, yy + asc, ln, st, "center", w - 2 * pad)
        yy += (asc + desc) * 1.15
    return True
