"""Filled-in forms: ruled boxes and tables, typed or handwritten entries, check boxes.

:func:`boxform` is the ``boxform`` page template: a fax/copy header line now and then, a
title (often bold sans with narrow spaces), then a stack of rows of ruled boxes, each with
a small printed caption and an entry filled in by hand (a handwriting-style font with
glyph jitter, in pen colour) or typed in another font (a typewriter face), check-box rows
with ticks and crosses, ruled tables with dark header rows, and at the bottom a signature
over a line, a handwritten date and a stamp. Signatures, ticks, crosses and stamps are
ink but never labelled; every entry word, printed or handwritten, is.

:func:`fill_value` (a field's entry, handwritten with probability ``p_hand``) is also used
by the other form templates.
"""

from __future__ import annotations

import numpy as np

from . import blocks as B
from . import extras as X
from . import graphics as gfx
from .handwriting import hand_style

__all__ = ["boxform", "fill_value", "entry_style", "fax_header"]


def entry_style(ps, rng, pt, p_hand):
    """The style of entries on a form: handwriting (pen) or a second typeface."""
    if rng.random() < p_hand:
        return hand_style(ps, pt * float(rng.uniform(1.05, 1.5)), rng,
                          layer="pen" if rng.random() < 0.75 else "ink")
    fam = ps.mono_family if rng.random() < 0.6 else ps.head_family
    return ps.style(pt * float(rng.uniform(0.9, 1.1)), "regular", family=fam)


def _value(ps, rng):
    kind = str(rng.choice(["name", "date", "amount", "id", "phone", "text", "text", "int"]))
    return B._cell_text(ps, rng, kind)


def fill_value(cv, x, baseline, x1, ps, rng, style, words=None):
    """Write an entry from ``x`` on ``baseline`` if it fits before ``x1``."""
    words = words or _value(ps, rng)
    slack = 1.15 if style.effect == "hand" else 1.0  # glyph jitter widens handwriting a little
    while words and x + cv.measure(" ".join(words), style) * slack > x1:
        words = words[:-1]
    if words:
        cv.draw_words(x, baseline, words, style)


def fax_header(cv, ps, rng, left, right, y):
    """The line a fax machine prints at the top (date and time, sender, number, page),
    in small mono, where the band is still free. Returns True when drawn."""
    st = ps.mono(float(rng.uniform(6, 8.5)), "bold" if rng.random() < 0.3 else "regular")
    asc, desc = st.font().getmetrics()
    c = ps.corpus
    y = max(asc + 2, y)
    if not X.is_free(cv, (left, y - asc, cv.w - right, y + desc), 2):
        return False
    parts = [[c.token(rng, "date"), c.token(rng, "time")], [w.upper() for w in c.title(rng, 1, 3)],
             [c.token(rng, "phone")], ["P." + f"{int(rng.integers(1, 9)):02d}"]]
    xs = np.linspace(left, cv.w - right, len(parts) + 1)
    for x, x1, words in zip(xs[:-1], xs[1:], parts):
        while words and cv.measure(" ".join(words), st) > x1 - x - cv.space(st):
            words = words[:-1]
        if words:
            cv.draw_words(x, y, words, st)
    return True


def _box_row(cv, fr, ps, rng, cap, entry, p_hand, t):
    """One row of ruled boxes: caption at the top-left of each, entry below it."""
    ncol = int(rng.choice([1, 2, 2, 3, 4]))
    cuts = np.sort(rng.uniform(0.15, 0.85, ncol - 1)) if ncol > 1 else np.zeros(0)
    xs = np.concatenate([[fr.x0], fr.x0 + cuts * fr.width, [fr.x1]])
    ca, cd = cap.font().getmetrics()
    ea, ed = entry.font().getmetrics()
    ea = max(ea, entry.size * 0.9)  # script fonts reach above their nominal ascent
    h = ca + cd + (ea + ed) * float(rng.uniform(1.2, 1.7))
    if not fr.room(h):
        return False
    y0 = fr.y
    if rng.random() < 0.12:  # a grey-shaded row (dithered or screened on copies)
        gfx.shaded_band(cv, (xs[0], y0, xs[-1], y0 + h), rng, float(rng.uniform(170, 235)))
    cv.rect(xs[0], y0, xs[-1], y0 + h, t)
    for x in xs[1:-1]:
        cv.line((x, y0), (x, y0 + h), t)
    for j in range(ncol):
        x0, x1 = xs[j] + cv.px(2), xs[j + 1] - cv.px(2)
        n = f"{int(rng.integers(1, 40))}." if rng.random() < 0.3 else None
        label = ([n] if n else []) + ps.corpus.title(rng, 1, 4)
        while label and cv.measure(" ".join(label), cap) > x1 - x0:
            label = label[:-1]
        if label:
            cv.draw_words(x0, y0 + cv.px(1) + ca, label, cap)
        if rng.random() < 0.2:  # a row of check boxes instead of an entry
            sub = B.Frame(x0, x1, y0 + ca + cd + cv.px(2), y0 + h)
            X.checkbox_row(cv, sub, ps, rng, cap.with_(size=cap.size * 1.15))
        elif rng.random() < 0.8:
            st = entry if rng.random() < 0.8 else entry_style(ps, rng, ps.body_pt, p_hand)
            st = st.with_(size=min(st.size, entry.size * 1.1))
            base = max(y0 + ca + cd + ea * 1.1, y0 + h - ed * 1.3)
            fill_value(cv, x0 + cv.px(float(rng.uniform(2, 20))), base, x1, ps, rng, st)
    fr.y = y0 + h
    return True


def _line_row(cv, fr, ps, rng, cap, entry, t):
    """``Label: ____entry____`` fields (1-3 per row) in the style of typed forms."""
    ea, ed = entry.font().getmetrics()
    ca, _ = cap.font().getmetrics()
    h = (ea + ed) * float(rng.uniform(1.4, 2.2))
    if not fr.room(h):
        return
    ncol = int(rng.choice([1, 1, 2, 3]))
    cw = fr.width / ncol
    base = fr.y + h - ed * 1.2
    for j in range(ncol):
        x0 = fr.x0 + j * cw
        label = ps.corpus.title(rng, 1, 3)
        if rng.random() < 0.6:
            label[-1] += ":"
        lx = cv.draw_words(x0, base, label, cap) + cv.px(ps.body_pt) * float(rng.uniform(0.5, 3))
        x1 = x0 + cw - cv.px(ps.body_pt)
        if lx + cv.px(30) > x1:
            continue
        cv.line((lx, base + ed * 0.6), (x1, base + ed * 0.6), t)
        if rng.random() < 0.8:
            fill_value(cv, lx + cv.px(float(rng.uniform(2, 30))), base, x1, ps, rng, entry)
    fr.y += h


def _table(cv, fr, ps, rng, entry, t, inverse):
    """A ruled table: header row (dark with knocked-out text, or bold), entry cells."""
    ncol = int(rng.integers(2, 6))
    nrow = int(rng.integers(2, 7))
    cap = ps.style(ps.body_pt * 0.85, "bold")
    a, d = cap.font().getmetrics()
    ea, ed = entry.font().getmetrics()
    rh = (ea + ed) * float(rng.uniform(1.2, 1.6))
    hh = (a + d) * 1.5
    if not fr.room(hh + rh * 2):
        return
    xs = np.linspace(fr.x0, fr.x1, ncol + 1)
    y0 = fr.y
    if inverse:
        X._dark_fill(cv, rng, (xs[0], y0, xs[-1], y0 + hh))
        cap = cap.with_(layer="knock", alpha=255)
    for j in range(ncol):
        words = ps.corpus.title(rng, 1, 2)
        if cv.measure(" ".join(words), cap) < xs[j + 1] - xs[j] - cv.px(4):
            cv.draw_text(xs[j] + cv.px(2), y0 + (hh - a - d) / 2 + a, words, cap, "center",
                         xs[j + 1] - xs[j] - cv.px(4))
    y = y0 + hh
    if not inverse and rng.random() < 0.3:  # a grey header row
        gfx.shaded_band(cv, (xs[0], y0, xs[-1], y), rng, float(rng.uniform(160, 230)))
    kinds = [str(rng.choice(["text", "amount", "date", "int", "id"])) for _ in range(ncol)]
    for _ in range(nrow):
        if not fr.room(y - fr.y + rh):
            break
        for j in range(ncol):
            if rng.random() < 0.75:
                words = B._cell_text(ps, rng, kinds[j])
                fill_value(cv, xs[j] + cv.px(3), y + rh - ed - (rh - ea - ed) / 2, xs[j + 1] - cv.px(3),
                           ps, rng, entry, words)
        y += rh
        cv.line((xs[0], y), (xs[-1], y), t)
    cv.rect(xs[0], y0, xs[-1], y, t)
    for x in xs[1:-1]:
        cv.line((x, y0), (x, y), t)
    fr.y = y + cv.px(ps.body_pt) * 0.8


def boxform(cv, rng, ps, cfg):
    """The ``boxform`` template (see module doc)."""
    left, top, right, bottom = (cv.px(72 * float(rng.uniform(0.3, 0.8))) for _ in range(4))
    p_hand = float(cfg["p_handwriting"])
    if rng.random() < 0.35:
        fax_header(cv, ps, rng, left, right, top * float(rng.uniform(0.3, 0.7)))
    fr = B.Frame(left, cv.w - right, top, cv.h - bottom)
    if rng.random() < 0.4:
        gfx.logo(cv, (left, top, left + cv.px(40), top + cv.px(40)), rng)
        fr.x0 += cv.px(48)
    if rng.random() < cfg["p_narrow_space"]:
        X.narrow_line(cv, fr, ps, rng, pt=float(rng.uniform(11, 20)))
    else:
        B.heading(cv, fr, ps, pt=float(rng.uniform(12, 22)), align=str(rng.choice(["left", "center"])))
    fr.x0 = left
    if rng.random() < 0.5:
        B.paragraph(cv, fr, ps, ps.corpus.sentence(rng, 6, 30), ps.style(ps.body_pt * 0.8),
                    justify=False, indent=0)
    t = max(1.0, cv.px(float(rng.uniform(0.4, 1.0))))
    cap = ps.style(ps.body_pt * float(rng.uniform(0.7, 0.95)), "bold" if rng.random() < 0.4 else "regular")
    if rng.random() < cfg["p_narrow_space"]:
        cap = X.bold_sans(ps, ps.body_pt * float(rng.uniform(0.75, 0.95)), rng, narrow=True)
    open_form = rng.random() < 0.4  # label: entry over underlines, lots of white space
    entry = entry_style(ps, rng, ps.body_pt, p_hand)
    guard = 0
    reserve = cv.px(60)
    fr.bottom -= reserve
    while not fr.full and guard < 60:
        guard += 1
        r = rng.random()
        if r < 0.55 and open_form:
            _line_row(cv, fr, ps, rng, cap, entry, t)
            if rng.random() < 0.25:
                fr.y += cv.px(ps.body_pt) * float(rng.uniform(1, 5))
        elif r < 0.55:
            _box_row(cv, fr, ps, rng, cap, entry, p_hand, t)
        elif r < 0.68:
            fr.y += cv.px(ps.body_pt) * 0.6
            _table(cv, fr, ps, rng, entry, t, rng.random() < cfg["p_inverse"] * 1.5)
        elif r < 0.78:
            fr.y += cv.px(ps.body_pt) * 0.4
            X.inverse_bar(cv, fr, ps, rng=rng) if rng.random() < cfg["p_inverse"] * 1.5 else \
                X.narrow_line(cv, fr, ps, rng, pt=ps.body_pt)
        elif r < 0.88:
            fr.y += cv.px(ps.body_pt) * 0.3
            X.checkbox_row(cv, fr, ps, rng)
        else:
            B.paragraph(cv, fr, ps, ps.corpus.paragraph(rng, 10, 60), ps.style(float(rng.uniform(6, 8))),
                        justify=False, indent=0)
    # signature block
    fr.bottom += reserve
    fr.full = False
    y = min(fr.y + cv.px(36), fr.bottom - cv.px(6))
    if y > fr.y + cv.px(20):
        x = left + cv.px(float(rng.uniform(0, 60)))
        w = min(cv.px(170), fr.width * 0.45)
        cv.line((x, y), (x + w, y), t)
        small = ps.style(ps.body_pt * 0.75)
        cv.draw_words(x, y + small.size, ["Signature"] if rng.random() < 0.6 else ps.corpus.title(rng, 1, 2),
                      small)
        if rng.random() < 0.85:
            gfx.signature(cv, (x + w * 0.05, y - cv.px(30), x + w * 0.9, y + cv.px(4)), rng)
        dx = x + w + cv.px(30)
        if dx + cv.px(120) < fr.x1:
            cv.line((dx, y), (dx + cv.px(110), y), t)
            cv.draw_words(dx, y + small.size, ["Date"], small)
            hs = hand_style(ps, ps.body_pt * 1.3, rng, layer="pen")
            fill_value(cv, dx + cv.px(6), y - cv.px(3), dx + cv.px(110), ps, rng, hs,
                       [ps.corpus.token(rng, "date")])
    if rng.random() < 0.3:  # a document number at the foot (archive stamps)
        st = X.bold_sans(ps, float(rng.uniform(10, 16)), rng)
        a = st.font().getmetrics()[0]
        cv.draw_text(left, cv.h - bottom * float(rng.uniform(0.3, 0.8)) + a * 0.5,
                     [str(int(rng.integers(10 ** 8, 10 ** 10)))], st, "right", fr.x1 - left)
    if rng.random() < 0.5:
        r = cv.px(float(rng.uniform(25, 55)))
        gfx.stamp(cv, (float(rng.uniform(cv.w * 0.5, cv.w - r)), float(rng.uniform(cv.h * 0.6, cv.h - r))), r, rng)
    return 1
