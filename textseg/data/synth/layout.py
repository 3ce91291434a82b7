"""Page templates for synthetic pages: articles in 1-3 columns, forms, letters, receipts,
man pages, code listings, tables and sparse title pages.

:func:`layout_page` draws one page into a :class:`~textseg.data.synth.render.Canvas` and
returns a dict describing it (template, fonts, sizes) for the page's ``meta``.
"""

from __future__ import annotations

import numpy as np

from . import blocks as B
from . import extras as X
from . import forms
from . import graphics as gfx
from . import receipts
from .fonts import typewriter_families
from .handwriting import hand_style
from .render import Canvas

__all__ = ["TEMPLATES", "PAPERS", "new_canvas", "layout_page"]

# paper sizes in inches (portrait)
PAPERS = {"a4": (8.27, 11.69), "letter": (8.5, 11.0), "legal": (8.5, 14.0), "a5": (5.83, 8.27),
          "b5": (6.93, 9.84)}
_PAPER_P = {"a4": 0.5, "letter": 0.35, "legal": 0.04, "a5": 0.06, "b5": 0.05}

TEMPLATES = {"article": 0.22, "report": 0.1, "form": 0.1, "boxform": 0.14, "letter": 0.08,
             "receipt": 0.16, "manpage": 0.06, "listing": 0.06, "sparse": 0.08}


def new_canvas(rng, template, dpi, max_side):
    """A blank canvas of a paper size suited to the template (receipts are narrow)."""
    if template == "receipt":  # till rolls: 58 or 80 mm wide, short to very long
        w_in = float(rng.choice([2.28, 3.15])) * float(rng.uniform(0.85, 1.1))
        # a long roll, cut after the text (receipts.receipt): the text decides the length
        h_in = w_in * float(rng.uniform(3.0, 5.0))
        paper = "receipt"
    else:
        names = list(_PAPER_P)
        paper = names[int(rng.choice(len(names), p=np.array(list(_PAPER_P.values())) /
                                     sum(_PAPER_P.values())))]
        w_in, h_in = PAPERS[paper]
        if template in ("article", "report", "sparse") and rng.random() < 0.06:
            w_in, h_in = h_in, w_in  # landscape
    eff = dpi
    if max_side:  # a receipt is cut shorter after drawing and the scan scales it to max_side
        eff = min(dpi, max_side * (1.6 if template == "receipt" else 1.0) / max(w_in, h_in))
    cv = Canvas(round(w_in * eff), round(h_in * eff), eff)
    return cv, paper


def _margins(cv, rng, lo=0.35, hi=1.1):
    m = [cv.px(72 * float(rng.uniform(lo, hi))) for _ in range(4)]  # left, top, right, bottom
    return m


def _header_footer(cv, rng, ps, left, top, right, bottom):
    """Running header, rule, footer with page number. Returns the new (top, bottom)."""
    small = ps.style(ps.body_pt * float(rng.uniform(0.7, 0.9)),
                     "italic" if rng.random() < 0.4 else "regular")
    asc = small.font().getmetrics()[0]
    w = cv.w - left - right
    if rng.random() < 0.6:
        y = top + asc
        cv.draw_text(left, y, ps.corpus.title(rng, 1, 5), small)
        if rng.random() < 0.6:
            cv.draw_text(left, y, [ps.corpus.token(rng, "date")], small, "right", w)
        if rng.random() < 0.5:
            cv.line((left, y + small.size * 0.5), (cv.w - right, y + small.size * 0.5),
                    max(1, cv.px(0.5)))
        top = y + small.size * 1.5
    if rng.random() < 0.75:
        y = cv.h - bottom
        n = int(rng.integers(1, 300))
        text = [str(rng.choice([f"{n}", f"- {n} -", f"Page {n}", f"Page {n} of {n + int(rng.integers(0, 30))}",
                                f"{n}/{n + 3}"]))]
        align = str(rng.choice(["center", "right", "left"]))
        cv.draw_text(left, y, text[0].split(), small, align, w)
        if rng.random() < 0.4:
            cv.draw_text(left, y, ps.corpus.title(rng, 1, 4), small,
                         "left" if align != "left" else "right", w)
        bottom = bottom + small.size * 2.0
    return top, bottom


def _columns(cv, left, top, right, bottom, n, gutter):
    w = (cv.w - left - right - gutter * (n - 1)) / n
    return [B.Frame(left + i * (w + gutter), left + i * (w + gutter) + w, top, cv.h - bottom)
            for i in range(n)]


def _flow(cv, rng, ps, frames, weights):
    """Fill frames with a random sequence of blocks (by weight) until all are full."""
    weights = dict(weights)
    cfg = getattr(ps, "cfg", None)
    if cfg is not None:  # v2 blocks, each on a share of the pages
        for kind, key, wt in (("display", "p_display", 0.5), ("inverse", "p_inverse", 0.6),
                              ("narrow", "p_narrow_space", 0.8)):
            if rng.random() < cfg[key]:
                weights[kind] = wt
    names = list(weights)
    p = np.array([weights[k] for k in names], np.float64)
    p /= p.sum()
    sec = 0
    for fr in frames:
        guard = 0
        while not fr.full and guard < 200:
            guard += 1
            y0 = fr.y
            kind = names[int(rng.choice(len(names), p=p))]
            if kind == "para":
                words = B._spice(rng, ps.corpus, ps.corpus.paragraph(rng, 8, 140),
                                 0.03, caps=rng.random() < 0.04)
                B.paragraph(cv, fr, ps, words)
            elif kind == "heading":
                sec += 1
                num = f"{sec}." if rng.random() < 0.3 else None
                B.heading(cv, fr, ps, number=num, pt=ps.body_pt * float(rng.uniform(1.0, 1.6)))
            elif kind == "list":
                B.bullet_list(cv, fr, ps)
            elif kind == "table":
                B.table(cv, fr, ps, rows=int(rng.integers(2, 14)))
            elif kind == "code":
                B.code_block(cv, fr, ps, n=int(rng.integers(3, 14)))
            elif kind == "figure":
                B.figure(cv, fr, ps)
            elif kind == "kv":
                B.key_values(cv, fr, ps)
            elif kind == "form":
                B.form_fields(cv, fr, ps)
            elif kind == "options":
                B.option_list(cv, fr, ps)
            elif kind == "small":
                st = ps.style(float(rng.uniform(6.0, 7.5)))
                B.paragraph(cv, fr, ps, ps.corpus.paragraph(rng, 20, 120), st)
            elif kind == "rule":
                B.rule(cv, fr, ps)
            elif kind == "display":
                X.display_text(cv, fr, ps, rng)
            elif kind == "inverse":
                fr.y += cv.px(ps.body_pt) * 0.5
                X.inverse_bar(cv, fr, ps, rng=rng)
            elif kind == "narrow":
                X.narrow_line(cv, fr, ps, rng)
            if fr.y == y0 and not fr.full:  # nothing fitted: leave a gap and go on
                fr.y += cv.px(ps.body_pt)


# ---------------------------------------------------------------------------- templates

def _article(cv, rng, ps):
    left, top, right, bottom = _margins(cv, rng)
    top, bottom = _header_footer(cv, rng, ps, left, top, right, bottom)
    fr = B.Frame(left, cv.w - right, top, cv.h - bottom)
    if rng.random() < 0.25:
        gfx.logo(cv, (left, top, left + cv.px(40), top + cv.px(40)), rng)
        fr.y += cv.px(46)
    if rng.random() < 0.8:
        B.heading(cv, fr, ps, ps.corpus.title(rng, 2, 10), pt=float(rng.uniform(14, 28)),
                  align=str(rng.choice(["left", "center"])))
    if rng.random() < 0.4:
        st = ps.style(ps.body_pt, "italic")
        B.paragraph(cv, fr, ps, ps.corpus.name(rng) + [ps.corpus.token(rng, "email")], st,
                    justify=False, indent=0, align="center")
    ncol = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15])) if cv.w < cv.h else int(rng.integers(2, 4))
    if rng.random() < 0.1:  # dense small print (contracts, terms, directories)
        ncol = max(ncol, 2 if cv.w < cv.h else 3)
        ps.body_pt = float(rng.uniform(6, 7.5))
        ps.body = ps.style(ps.body_pt)
        ps.para_gap *= 0.3
    elif ncol > 1:
        ps.body_pt = min(ps.body_pt, 10.5)
        ps.body = ps.style(ps.body_pt)
    gutter = cv.px(ps.body_pt) * float(rng.uniform(1.5, 4))
    frames = _columns(cv, left, fr.y, right, cv.h - fr.bottom, ncol, gutter)
    if ncol > 1 and rng.random() < 0.4:
        for a, b in zip(frames[:-1], frames[1:]):
            x = (a.x1 + b.x0) / 2
            cv.line((x, a.y), (x, a.bottom), 1)
    _flow(cv, rng, ps, frames, {"para": 10, "heading": 2.5, "list": 1.5, "table": 1.0,
                                "figure": 0.5, "code": 0.4, "small": 0.3, "rule": 0.2})
    return ncol


def _report(cv, rng, ps):
    left, top, right, bottom = _margins(cv, rng, 0.3, 0.9)
    top, bottom = _header_footer(cv, rng, ps, left, top, right, bottom)
    fr = B.Frame(left, cv.w - right, top, cv.h - bottom)
    if rng.random() < 0.6:
        gfx.logo(cv, (cv.w - right - cv.px(50), top, cv.w - right, top + cv.px(50)), rng)
    B.heading(cv, fr, ps, pt=float(rng.uniform(13, 24)))
    B.key_values(cv, fr, ps)
    _flow(cv, rng, ps, [fr], {"table": 5, "para": 2, "heading": 1.5, "kv": 1, "figure": 0.5,
                              "small": 0.5})
    return 1


def _form(cv, rng, ps):
    left, top, right, bottom = _margins(cv, rng, 0.3, 0.8)
    fr = B.Frame(left, cv.w - right, top, cv.h - bottom)
    gfx.logo(cv, (left, top, left + cv.px(45), top + cv.px(45)), rng)
    sub = B.Frame(left + cv.px(55), cv.w - right, top, cv.h - bottom)
    B.heading(cv, sub, ps, pt=float(rng.uniform(13, 22)))
    B.paragraph(cv, sub, ps, ps.corpus.sentence(rng, 4, 14), ps.style(ps.body_pt * 0.85),
                justify=False, indent=0)
    fr.y = max(sub.y, top + cv.px(50))
    if rng.random() < 0.5:
        gfx.barcode(cv, (cv.w - right - cv.px(120), top, cv.w - right, top + cv.px(25)), rng)
    while not fr.full:
        if rng.random() < 0.7:
            if rng.random() < 0.6:  # section band
                fr.y += cv.px(ps.body_pt)
                if fr.room(cv.px(ps.body_pt) * 2):
                    gfx.shaded_band(cv, (fr.x0, fr.y, fr.x1, fr.y + cv.px(ps.body_pt) * 1.6), rng)
                    cv.draw_words(fr.x0 + cv.px(3), fr.y + cv.px(ps.body_pt) * 1.2,
                                  ps.corpus.title(rng, 1, 4), ps.style(ps.body_pt, "bold"))
                    fr.y += cv.px(ps.body_pt) * 2.2
            B.form_fields(cv, fr, ps)
        elif rng.random() < 0.5:
            B.table(cv, fr, ps, rows=int(rng.integers(2, 8)), rules="grid")
        else:
            B.paragraph(cv, fr, ps, ps.corpus.paragraph(rng, 15, 80), ps.style(float(rng.uniform(6, 8))))
    if rng.random() < 0.7:  # signature over a line
        y = cv.h - bottom - cv.px(20)
        x = left + cv.px(float(rng.uniform(0, 200)))
        gfx.signature(cv, (x, y - cv.px(40), x + cv.px(140), y + cv.px(6)), rng)
    return 1


def _letter(cv, rng, ps):
    left, top, right, bottom = _margins(cv, rng, 0.7, 1.3)
    fr = B.Frame(left, cv.w - right, top, cv.h - bottom)
    c = ps.corpus
    gfx.logo(cv, (left, top, left + cv.px(36), top + cv.px(36)), rng)
    hs = ps.head(float(rng.uniform(13, 20)))
    cv.draw_words(left + cv.px(44), top + cv.px(26), c.title(rng, 1, 3), hs)
    small = ps.style(ps.body_pt * 0.8)
    y = top
    for line in ([c.token(rng, "phone")], [c.token(rng, "email")], [c.token(rng, "url")]):
        y += small.size * 1.3
        cv.draw_text(left, y, line, small, "right", fr.width)
    fr.y = top + cv.px(60)
    sub = B.Frame(left, left + fr.width * 0.5, fr.y, fr.bottom)
    for line in (c.name(rng), c.title(rng, 1, 3), [c.token(rng, "int")] + c.title(rng, 1, 2),
                 [c.token(rng, "id"), c.vocab_word(rng).capitalize()]):
        B.paragraph(cv, sub, ps, line, justify=False, indent=0, leading=1.25)
    fr.y = sub.y + cv.px(ps.body_pt) * 2
    cv.draw_text(left, fr.y, [c.token(rng, "date")], ps.body, "right", fr.width)
    fr.y += cv.px(ps.body_pt) * 2
    B.paragraph(cv, fr, ps, ["Re:"] + c.sentence(rng, 2, 8), ps.style(ps.body_pt, "bold"),
                justify=False, indent=0)
    B.paragraph(cv, fr, ps, ["Dear", c.name(rng)[-1] + ","], justify=False, indent=0)
    for _ in range(int(rng.integers(1, 6))):
        B.paragraph(cv, fr, ps, B._spice(rng, c, c.paragraph(rng, 20, 110)), indent=0)
        fr.y += cv.px(ps.body_pt) * 0.5
    if fr.room(cv.px(80)):
        B.paragraph(cv, fr, ps, [str(rng.choice(["Sincerely,", "Yours", "Regards,", "Best"]))],
                    justify=False, indent=0)
        gfx.signature(cv, (left, fr.y, left + cv.px(150), fr.y + cv.px(36)), rng)
        fr.y += cv.px(40)
        B.paragraph(cv, fr, ps, c.name(rng), justify=False, indent=0)
    fy = cv.h - bottom * 0.6
    cv.line((left, fy - cv.px(9)), (cv.w - right, fy - cv.px(9)), 1)
    cv.draw_text(left, fy, c.title(rng, 3, 9) + [c.token(rng, "id")],
                 ps.style(float(rng.uniform(6, 7.5))), "center", fr.width)
    return 1


def _manpage(cv, rng, ps):
    left, top, right, bottom = _margins(cv, rng, 0.6, 1.1)
    c = ps.corpus
    name = c.identifier(rng).strip("_").lower() or "tool"
    sec = int(rng.integers(1, 9))
    w = cv.w - left - right
    asc = ps.body.font().getmetrics()[0]
    cv.draw_text(left, top + asc, [f"{name.upper()}({sec})"], ps.body)
    cv.draw_text(left, top + asc, c.title(rng, 2, 3), ps.body, "center", w)
    cv.draw_text(left, top + asc, [f"{name.upper()}({sec})"], ps.body, "right", w)
    cv.draw_text(left, cv.h - bottom, [c.token(rng, "version"), c.token(rng, "date")], ps.body)
    cv.draw_text(left, cv.h - bottom, [f"{name.upper()}({sec})"], ps.body, "right", w)
    fr = B.Frame(left, cv.w - right, top + ps.body.size * 3, cv.h - bottom - ps.body.size * 2)
    ind = cv.px(ps.body_pt) * float(rng.uniform(3, 6))
    for title in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "FILES", "SEE ALSO",
                  "BUGS", "AUTHOR"):
        if fr.full:
            break
        B.paragraph(cv, fr, ps, [title], ps.style(ps.body_pt, "bold"), justify=False, indent=0)
        sub = B.Frame(left + ind, fr.x1, fr.y, fr.bottom)
        if title == "OPTIONS":
            B.option_list(cv, sub, ps)
        elif title in ("SYNOPSIS", "EXAMPLES"):
            B.code_block(cv, sub, ps, n=int(rng.integers(1, 6)), pt=ps.body_pt)
        else:
            for _ in range(int(rng.integers(1, 4))):
                B.paragraph(cv, sub, ps, B._spice(rng, c, c.paragraph(rng, 6, 110)), indent=0)
        fr.y, fr.full = sub.y, sub.full
    return 1


def _listing(cv, rng, ps):
    left, top, right, bottom = _margins(cv, rng, 0.3, 0.9)
    small = ps.mono(ps.body_pt, "bold")
    asc = small.font().getmetrics()[0]
    w = cv.w - left - right
    if rng.random() < 0.8:  # enscript-like header
        cv.draw_text(left, top + asc, [ps.corpus.identifier(rng) + ".py"], small)
        cv.draw_text(left, top + asc, [ps.corpus.token(rng, "date"), ps.corpus.token(rng, "time")],
                     small, "center", w)
        cv.draw_text(left, top + asc, ["Page", str(rng.integers(1, 40))], small, "right", w)
        top += small.size * 2.5
    fr = B.Frame(left, cv.w - right, top, cv.h - bottom)
    while not fr.full:
        if rng.random() < 0.75:
            B.code_block(cv, fr, ps, n=int(rng.integers(5, 60)), pt=ps.body_pt)
        else:
            B.paragraph(cv, fr, ps, ps.corpus.comment(rng) + ps.corpus.sentence(rng, 0, 30),
                        ps.mono(ps.body_pt), justify=False, indent=0)
    return 1


def _sparse(cv, rng, ps):
    left, top, right, bottom = _margins(cv, rng, 0.8, 1.6)
    fr = B.Frame(left, cv.w - right, top + cv.px(float(rng.uniform(0, 200))), cv.h - bottom)
    if rng.random() < 0.6:
        s = cv.px(float(rng.uniform(40, 110)))
        gfx.logo(cv, ((cv.w - s) / 2, fr.y, (cv.w + s) / 2, fr.y + s), rng)
        fr.y += s + cv.px(20)
    if rng.random() < ps.cfg["p_display"] * 2.5:  # title pages: display type, up to 200 px
        X.display_text(cv, fr, ps, rng, align="center")
    for _ in range(int(rng.integers(1, 4))):
        B.heading(cv, fr, ps, ps.corpus.title(rng, 1, 6), pt=float(rng.uniform(16, 28)),
                  align="center")
    for _ in range(int(rng.integers(1, 6))):
        fr.y += cv.px(float(rng.uniform(6, 40)))
        B.paragraph(cv, fr, ps, ps.corpus.sentence(rng, 3, 40), justify=False, indent=0,
                    align=str(rng.choice(["center", "left"])))
    if rng.random() < 0.5:
        B.figure(cv, fr, ps, "photo", caption=rng.random() < 0.5)
    return 1


_DRAW = {"article": _article, "report": _report, "form": _form, "letter": _letter,
         "manpage": _manpage, "listing": _listing, "sparse": _sparse}
_DRAW_CFG = {"receipt": receipts.receipt, "boxform": forms.boxform}


def _extras(cv, rng, ps, cfg, template):
    """Elements mixed into any template: display type, inverse bars, vertical IDs, notes."""
    out = {}
    if template not in ("receipt",) and rng.random() < cfg["p_vertical"]:
        out["vertical"] = bool(X.vertical_id(cv, ps, rng))
    if template not in ("receipt", "listing", "manpage") and rng.random() < cfg["p_text_stamp"]:
        for _ in range(6):  # a free spot (stamps go where there is room)
            x, y = float(rng.uniform(0, cv.w * 0.75)), float(rng.uniform(0, cv.h * 0.9))
            if X.text_stamp(cv, ps, rng, x, y):
                out["text_stamp"] = True
                break
    if template in ("letter", "form", "report", "article") and rng.random() < cfg["p_fax_header"]:
        m = cv.px(float(rng.uniform(10, 40)))
        out["fax_header"] = forms.fax_header(cv, ps, rng, m, m, cv.px(float(rng.uniform(8, 20))))
    if rng.random() < cfg["p_hand_note"]:  # a handwritten note or date in free space
        st = hand_style(ps, float(rng.uniform(9, 18)), rng, layer="pen")
        x = float(rng.uniform(0, cv.w * 0.6))
        y = float(rng.uniform(cv.h * 0.05, cv.h * 0.95))
        words = [ps.corpus.token(rng, "date")] if rng.random() < 0.4 else ps.corpus.sentence(rng, 1, 4)
        _free_text(cv, x, y, words, st)
        out["hand_note"] = True
    return out


def _free_text(cv, x, y, words, st):
    """Draw words at (x, y) only where that strip of the page has nothing on it yet."""
    a, d = st.font().getmetrics()
    w = cv.measure(" ".join(words), st) * 1.15
    if X.is_free(cv, (x, y - a * 1.2, x + w, y + d * 1.2), 2):
        cv.draw_words(x, y, words, st)


def layout_page(cv, rng, corpus, template, cfg=None):
    """Draw ``template`` on ``cv``; returns a meta dict. ``cfg``: the synth config (its
    v2 probabilities; :data:`~textseg.data.synth.pages.SYNTH_DEFAULTS` when None)."""
    if cfg is None:
        from .pages import merge_config
        cfg = merge_config(None)
    mono = template in ("receipt", "listing") and rng.random() < 0.85 or \
        (template == "manpage" and rng.random() < 0.3) or \
        (template in ("boxform", "form") and rng.random() < 0.45) or (template == "letter" and rng.random() < 0.3)
    if template == "receipt":
        mono = rng.random() < 0.4
    pt = None
    if template == "receipt":
        pt = float(rng.uniform(8.5, 13))
    elif template == "listing":
        pt = float(rng.uniform(6.5, 10))
    ps = B.page_style(cv, rng, corpus, body_pt=pt, mono=mono)
    ps.cfg = cfg
    if template in ("letter", "form", "boxform", "report") and rng.random() < cfg["p_typewriter"]:
        ps.typewriter = True  # its mono text (body, entries) is typed, in a typewriter face
        tw = typewriter_families()
        ps.mono_family = tw[int(rng.integers(len(tw)))]
        if ps.family.kind == "mono":
            ps.family = ps.mono_family
        ps.body = ps.style(ps.body_pt)
    if template == "sparse":
        ps.body_pt = float(rng.uniform(11, 20))
        ps.body = ps.style(ps.body_pt)
    extra = {}
    if template in _DRAW_CFG:
        columns = _DRAW_CFG[template](cv, rng, ps, cfg)
        if template == "receipt":
            extra["print"], columns = columns, 1
    else:
        columns = _DRAW[template](cv, rng, ps)
    meta = {"template": template, "font": ps.family.name, "body_pt": round(ps.body_pt, 2),
            "columns": columns, "justify": bool(ps.justify), "hscale": round(ps.hscale, 3), **extra}
    if template != "boxform" and rng.random() < 0.12:  # a stamp somewhere
        r = cv.px(float(rng.uniform(25, 60)))
        gfx.stamp(cv, (float(rng.uniform(r, cv.w - r)), float(rng.uniform(r, cv.h - r))), r, rng)
    if rng.random() < cfg["p_scribble"]:  # a handwritten scribble somewhere (not labelled)
        x = float(rng.uniform(0, cv.w * 0.7))
        y = float(rng.uniform(0, cv.h * 0.9))
        gfx.scribble(cv, (x, y, x + cv.px(float(rng.uniform(40, 150))), y + cv.px(25)), rng)
    meta.update(_extras(cv, rng, ps, cfg, template))
    return meta
