"""Till receipts: narrow long pages, thermal, dot-matrix and letter-spaced print.

:func:`receipt` is the ``receipt`` template: a store header (name in large bold type,
address, phone, tax IDs), key-value lines (date, cashier, table), a column header, item
rows with quantity, price and amount columns, totals (the grand total large), payment
lines and a footer, with barcodes or QR codes. The print is one of

* thermal sans or mono, faded unevenly (:func:`thermal_fade`, ``p_thermal``),
* dot-matrix mono (``p_dot_matrix``), or
* letter-spaced mono (``p_letter_spacing``): wide tracking, still one box per word.

Separator rules (``-----``, ``=====``, ``*****``, ``. . .``, drawn rules) are ink but not
labelled. Each column cell is its own run, so ground-truth lines end at column gaps.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import blocks as B
from . import extras as X
from . import graphics as gfx

__all__ = ["receipt", "thermal_fade"]


def thermal_fade(cv, rng):
    """Fade the ink layer: a smooth field, lighter print-head columns, a faint end."""
    h, w = cv.h, cv.w
    small = rng.uniform(0.0, 1.0, (max(2, h // 200), 3)).astype(np.float32)
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    lo = float(rng.uniform(0.35, 0.8))
    field = lo + (1.0 - lo) * np.clip(field, 0, 1)
    if rng.random() < 0.5:  # weak print-head elements: vertical light stripes
        cols = np.ones(w, np.float32)
        for _ in range(int(rng.integers(1, 6))):
            c = int(rng.integers(0, w))
            cols[c:c + int(rng.integers(1, 4))] *= float(rng.uniform(0.3, 0.8))
        field *= cols[None, :]
    ink = np.clip(cv.ink.astype(np.float32) * field, 0, 255).astype(np.uint8)
    cv.ink[:] = np.maximum(ink, (cv.ink > 0).astype(np.uint8))  # boxes measured before stay exact


def _rule(cv, fr, st, rng, kind):
    """A separator rule across the frame, not labelled."""
    asc = st.font().getmetrics()[0]
    y = fr.y + asc
    if kind == "line":
        yy = fr.y + asc * 0.6
        cv.line((fr.x0, yy), (fr.x1, yy), max(1.0, st.size * 0.06))
    elif kind == "dash":
        yy = fr.y + asc * 0.6
        step = st.size * float(rng.uniform(0.4, 0.9))
        for x in np.arange(fr.x0, fr.x1 - step * 0.5, step):
            cv.line((x, yy), (x + step * 0.55, yy), max(1.0, st.size * 0.06))
    else:
        ch = kind
        n = max(1, int(fr.width / max(1.0, cv.measure(ch, st))))
        cv.draw_word(fr.x0, y, ch * n, st, 0, record=False)
    fr.y += st.size * float(rng.uniform(0.9, 1.3))


def _row(cv, fr, cells, xs, aligns, st, lh):
    """One row: cells (lists of words) in columns [xs[j], xs[j+1]); each cell one run."""
    asc = st.font().getmetrics()[0]
    for j, cell in enumerate(cells):
        if not cell:
            continue
        w = xs[j + 1] - xs[j] - (cv.space(st) if j < len(cells) - 1 else 0)
        while len(cell) > 1 and cv.measure(" ".join(cell), st) > w:
            cell = cell[:-1]
        if cv.measure(" ".join(cell), st) > w and j < len(cells) - 1:
            continue
        cv.draw_text(xs[j], fr.y + asc, cell, st, aligns[j], w)
    fr.y += lh


def receipt(cv, rng, ps, cfg):
    """The ``receipt`` template (see module doc)."""
    c = ps.corpus
    m = cv.px(float(rng.uniform(6, 18)))
    fr = B.Frame(m, cv.w - m, m + cv.px(float(rng.uniform(0, 30))), cv.h - m)
    r = rng.random()
    pt = ps.body_pt
    body = ps.style(pt)
    if rng.random() < 0.6:  # till fonts are often condensed, and printed heavy
        body = body.with_(hscale=float(rng.uniform(0.78, 0.95)))
    if rng.random() < 0.25:
        body = body.with_(path=ps.family.path("bold"))
    look = "thermal"
    if r < cfg["p_dot_matrix"]:
        body = ps.mono(pt).with_(effect="dots")
        look = "dots"
    elif r < cfg["p_dot_matrix"] + cfg["p_letter_spacing"]:
        body = ps.mono(pt).with_(tracking=cv.px(pt) * float(rng.uniform(0.08, 0.45)),
                                 space=float(rng.uniform(1.0, 2.0)))
        look = "spaced"
    # a receipt line holds 28-48 characters: letter spacing and size give way to that
    need = int(rng.integers(26, 42))
    for _ in range(8):
        cols = 2 * cv.measure("0000.00", body) + cv.measure("Qty", body) + 4.5 * cv.space(body)
        if cv.measure("0" * need, body) <= fr.width and cols <= 0.7 * fr.width:
            break
        if body.tracking > 0.5:
            body = body.with_(tracking=body.tracking * 0.6)
        else:
            body = body.with_(size=body.size * 0.9)
    bold = body.with_(path=ps.family.path("bold") if look == "thermal" else ps.mono_family.path("bold"))
    lh = body.size * float(rng.uniform(1.1, 1.45))
    # header
    name = [w.upper() for w in c.title(rng, 1, 4)] if rng.random() < 0.7 else c.title(rng, 1, 4)
    if rng.random() < cfg["p_display"]:
        X.display_text(cv, fr, ps, rng, name[:2], px=float(rng.uniform(30, 90)), align="center")
    else:
        B.paragraph(cv, fr, ps, name, bold.with_(size=body.size * float(rng.uniform(1.1, 1.8))),
                    justify=False, indent=0, align="center", leading=1.2)
    for line in (c.title(rng, 1, 3) + [f"({c.token(rng, 'id')})"], [c.token(rng, "int")] + c.title(rng, 1, 3),
                 c.title(rng, 1, 3) + [c.token(rng, "int")], ["Tel:", c.token(rng, "phone")],
                 ["GST", "ID", "No:", c.token(rng, "code")]):
        if rng.random() < 0.75:
            B.paragraph(cv, fr, ps, line, body, justify=False, indent=0, align="center", leading=1.15)
    kinds = ["-", "=", "*", ".", "line", "dash", "_", "~"]
    sep = kinds[int(rng.integers(len(kinds)))]
    if rng.random() < cfg["p_inverse"]:
        fr.y += lh * 0.3
        X.inverse_bar(cv, fr, ps, ["TAX", "INVOICE"] if rng.random() < 0.5 else None,
                      pt=pt * 1.2, rng=rng)
    else:
        _rule(cv, fr, body, rng, sep)
    kv_x = fr.x0 + fr.width * float(rng.uniform(0.25, 0.4))
    colon_col = rng.random() < 0.5  # "Doc No.   : CS0058953" with the colons aligned
    pairs = rng.random() < 0.3      # two label/value pairs on a row ("Date: ...  Time: ...")
    keys = [["Date"], ["Cashier"], ["Table"], ["Invoice", "No"], ["Time"], ["Doc", "No."],
            ["Salesperson"], ["Terminal"], ["Ref.:"]]
    order = [keys[int(i)] for i in rng.permutation(len(keys))]
    colon = lambda lab: lab if lab[-1].endswith(":") else lab[:-1] + [lab[-1] + ":"]  # noqa: E731
    for n in range(int(rng.integers(1, 5))):
        if not fr.room(lh * 2):
            break
        label = order[n]
        v = {"Date": [c.token(rng, "date")], "Time": [c.token(rng, "time")]}.get(
            label[0], [c.token(rng, "id")] if rng.random() < 0.5 else [c.vocab_word(rng).upper()])
        if pairs:
            k2 = order[-1 - n]
            cells = [colon(label), v, colon(k2), [c.token(rng, "time")]]
            mid = fr.x0 + fr.width * 0.58
            _row(cv, fr, cells, [fr.x0, kv_x, mid, mid + (kv_x - fr.x0) * 0.7, fr.x1],
                 ["left"] * 4, body, lh)
        elif colon_col:
            _row(cv, fr, [[w.rstrip(":") for w in label], [":"], v], [fr.x0, kv_x - cv.space(body) * 2, kv_x, fr.x1],
                 ["left"] * 3, body, lh)
        else:
            _row(cv, fr, [colon(label) if rng.random() < 0.5 else label, v],
                 [fr.x0, kv_x, fr.x1], ["left", "left"], body, lh)
    # items: description, qty, price, amount
    num = cv.measure("0000.00", body) + cv.space(body) * 1.5
    qty = cv.measure("Qty", body) + cv.space(body) * 1.5
    xs = [fr.x0, fr.x1 - 2 * num - qty, fr.x1 - 2 * num, fr.x1 - num, fr.x1]
    aligns = ["left", "right", "right", "right"]
    if fr.room(lh * 4):
        _rule(cv, fr, body, rng, sep)
        _row(cv, fr, [["Item"], ["Qty"], ["Price"], ["Amount"]] if rng.random() < 0.6 else
             [["DESCRIPTION"], ["QTY"], ["U/P"], ["TOTAL"]], xs, aligns, body, lh)
        _rule(cv, fr, body, rng, sep)
    narrow = xs[1] - xs[0] < fr.width * 0.4
    two_line = rng.random() < 0.5 or narrow
    # narrow rolls print "2 @ 5.70" in one column: (code or quantity) | unit price | amount
    xs_n = [fr.x0, fr.x1 - 2.3 * num, fr.x1 - num, fr.x1]
    for _ in range(int(rng.integers(2, 25))):
        if not fr.room(lh * 6):
            break
        desc = c.title(rng, 1, 4)
        desc = [w.upper() for w in desc] if rng.random() < 0.6 else desc
        q = int(rng.integers(1, 6))
        price = float(np.exp(rng.uniform(0, 5)))
        cells = [[f"{q}"], [f"{price:.2f}"], [f"{q * price:.2f}"]]
        if narrow:
            _row(cv, fr, [desc], [fr.x0, fr.x1], ["left"], body, lh)
            first = [c.token(rng, "code")] if rng.random() < 0.5 else [f"{q}", "x"]
            _row(cv, fr, [first, [f"@{price:.2f}"], cells[2]], xs_n, ["left", "right", "right"], body, lh)
        elif two_line:
            _row(cv, fr, [desc], [fr.x0, fr.x1], ["left"], body, lh)
            _row(cv, fr, [[c.token(rng, "code")]] + cells, xs, aligns, body, lh)
        else:
            _row(cv, fr, [desc] + cells, xs, aligns, body, lh)
    if fr.room(lh * 5):
        _rule(cv, fr, body, rng, sep)
    tx = [fr.x0, fr.x0 + fr.width * float(rng.uniform(0.5, 0.7)), fr.x1]
    colon = rng.random() < 0.4
    label_align = "left" if rng.random() < 0.5 else "right"
    for label in (["Sub", "Total"], ["Tax", c.token(rng, "percent")], ["Rounding"], ["TOTAL"],
                  ["Cash"], ["Change"]):
        if not fr.room(lh * 2):
            break
        if label[0] in ("Rounding", "Cash", "Change") and rng.random() < 0.5:
            continue
        amt = [f"{np.exp(rng.uniform(0, 6)):.2f}"]
        if label == ["TOTAL"] and rng.random() < cfg["p_display"]:
            st = bold.with_(size=body.size * float(rng.uniform(1.4, 2.4)))
            a = st.font().getmetrics()
            if fr.room(sum(a) * 1.2):
                cv.draw_words(tx[0], fr.y + a[0], ["TOTAL"], st)
                cv.draw_text(tx[1], fr.y + a[0], amt, st, "right", tx[2] - tx[1])
                fr.y += sum(a) * 1.2
            continue
        if colon:
            label = label + [":"] if rng.random() < 0.5 else label[:-1] + [label[-1] + ":"]
        _row(cv, fr, [label, amt], tx, [label_align, "right"], bold if label[0] == "TOTAL" else body, lh)
    if fr.room(lh * 3):
        _rule(cv, fr, body, rng, sep)
    for line in ([w.upper() for w in c.title(rng, 2, 4)], ["Thank", "You!"] if rng.random() < 0.5
                 else ["THANK", "YOU", "PLEASE", "COME", "AGAIN"]):
        if fr.room(lh * 2):
            B.paragraph(cv, fr, ps, line, body, justify=False, indent=0, align="center", leading=1.2)
    if fr.room(cv.px(40)) and rng.random() < 0.6:
        if rng.random() < 0.6:
            gfx.barcode(cv, (fr.x0 + fr.width * 0.15, fr.y + 4, fr.x1 - fr.width * 0.15, fr.y + cv.px(26)), rng)
            fr.y += cv.px(30)
        else:
            s = min(fr.width * 0.4, cv.px(70))
            gfx.qr_code(cv, (fr.x0 + (fr.width - s) / 2, fr.y + 4, fr.x0 + (fr.width + s) / 2, fr.y + 4 + s), rng)
            fr.y += s + 8
    cv.crop_height(fr.y + m * float(rng.uniform(1.0, 4.0)))  # the roll is cut after the text
    if look != "dots" and rng.random() < cfg["p_thermal"]:
        thermal_fade(cv, rng)
        look += "+faded"
    return look
