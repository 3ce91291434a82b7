"""Layout blocks of synthetic pages: paragraphs, headings, lists, tables, form fields, code.

A block draws into a :class:`Frame` (a column of the page with a vertical cursor) and
moves the cursor down; when the frame is full it sets ``frame.full`` and stops drawing, so
a page simply ends where its text runs out of room (as real pages do). The page's
typography is a :class:`PageStyle`, drawn once per page by :func:`page_style`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import graphics as gfx
from .fonts import families
from .render import TextStyle

__all__ = ["Frame", "PageStyle", "page_style", "paragraph", "heading", "bullet_list",
           "table", "form_fields", "code_block", "option_list", "key_values", "figure",
           "vspace", "rule"]


@dataclass
class Frame:
    x0: float
    x1: float
    y: float
    bottom: float
    full: bool = False

    @property
    def width(self):
        return self.x1 - self.x0

    def room(self, h):
        """True if ``h`` px still fit; otherwise marks the frame full."""
        if self.y + h > self.bottom:
            self.full = True
        return not self.full


class PageStyle:
    """Typography of one page: families, sizes (px), leading, justification, colours."""

    def __init__(self, cv, rng, corpus, kind=None, body_pt=None, mono=False):
        fams = families()
        self.corpus, self.rng = corpus, rng
        kind = kind or ("mono" if mono else str(rng.choice(["serif", "sans"], p=[0.55, 0.45])))
        pick = lambda k: fams[k][int(rng.integers(len(fams[k])))]  # noqa: E731
        self.family = pick(kind)
        self.head_family = self.family if rng.random() < 0.6 else pick(str(rng.choice(["serif", "sans"])))
        self.mono_family = pick("mono")
        pt = body_pt if body_pt is not None else float(np.clip(rng.normal(10, 1.6), 6.5, 14))
        self.body_pt = pt
        self.hscale = 1.0 if rng.random() < 0.6 else float(rng.uniform(0.8, 1.12))
        self.leading = float(rng.uniform(1.12, 1.5))
        self.justify = rng.random() < 0.5
        self.hyphenate = self.justify and rng.random() < 0.5
        self.indent = float(rng.choice([0, 0, 1.5, 2.5])) * cv.px(pt)
        self.para_gap = float(rng.uniform(0.0, 0.9)) * cv.px(pt)
        self.accent = rng.random() < 0.3
        self.caps_heads = rng.random() < 0.3
        self.ink_alpha = int(rng.integers(200, 256))
        self.cv = cv
        self.body = self.style(pt)

    typewriter = False  # typed pages: the mono faces strike like a typewriter's keys

    def style(self, pt, weight="regular", family=None, layer="ink", alpha=None):
        fam = family or self.family
        st = TextStyle(fam.path(weight), self.cv.px(pt), layer,
                       self.ink_alpha if alpha is None else alpha, self.hscale)
        return st.with_(effect="type") if self.typewriter and fam.kind == "mono" else st

    def mono(self, pt, weight="regular"):
        st = TextStyle(self.mono_family.path(weight), self.cv.px(pt), "ink", self.ink_alpha, 1.0)
        return st.with_(effect="type") if self.typewriter else st

    def head(self, pt, weight="bold"):
        return self.style(pt, weight, self.head_family, "accent" if self.accent else "ink")


def page_style(cv, rng, corpus, **kw):
    return PageStyle(cv, rng, corpus, **kw)


# ---------------------------------------------------------------------------- text flow

def _metrics(cv, style):
    asc, desc = style.font().getmetrics()
    return float(asc), float(desc)


def _spice(rng, corpus, words, p_token=0.04, caps=False):
    """Mix generated tokens (numbers, dates, URLs) into prose; optionally all caps."""
    out = []
    for w in words:
        if rng.random() < p_token:
            out.append(corpus.token(rng))
        else:
            out.append(w)
    return [w.upper() for w in out] if caps else out


def _break_lines(cv, words, style, width, first_width, hyphenate):
    """Greedy line breaking; long words are hyphenated when allowed."""
    sp = cv.space(style)
    lines, cur, cur_w = [], [], 0.0
    i, avail = 0, first_width
    words = list(words)
    while i < len(words):
        w = words[i]
        ww = cv.measure(w, style)
        need = ww + (sp if cur else 0.0)
        if not cur and ww > avail:  # wider than the column: left out (it would run into the next)
            i += 1
            continue
        if cur_w + need <= avail:
            cur.append(w)
            cur_w += need
            i += 1
            continue
        left = avail - cur_w - sp
        if hyphenate and len(w) >= 7 and w.isalpha() and left > 0.25 * avail:
            for k in range(len(w) - 3, 2, -1):
                if cv.measure(w[:k] + "-", style) <= left:
                    cur.append(w[:k] + "-")
                    words[i] = w[k:]
                    break
        lines.append(cur)
        cur, cur_w, avail = [], 0.0, width
    if cur:
        lines.append(cur)
    return lines


def paragraph(cv, fr, ps, words, style=None, justify=None, indent=None, hanging=0.0,
              align="left", leading=None):
    """Flow ``words`` into the frame; returns the number of lines drawn."""
    style = style or ps.body
    justify = ps.justify if justify is None else justify
    indent = ps.indent if indent is None else indent
    asc, desc = _metrics(cv, style)
    lh = style.size * (leading or ps.leading)
    lines = _break_lines(cv, words, style, fr.width - hanging, fr.width - indent,
                         ps.hyphenate and justify)
    sp = cv.space(style)
    for i, line in enumerate(lines):
        if not fr.room(asc + desc):
            return i
        x = fr.x0 + (indent if i == 0 else hanging)
        avail = fr.x1 - x
        widths = [cv.measure(w, style) for w in line]
        natural = sum(widths) + sp * (len(line) - 1)
        gaps = None
        if justify and i < len(lines) - 1 and len(line) > 1 and natural < avail:
            extra = (avail - natural) / (len(line) - 1)
            if extra < 0.8 * style.size:  # wider gaps would read as separate segments
                gaps = [sp + extra] * (len(line) - 1)
        elif align in ("center", "right"):
            x += (avail - natural) / (2 if align == "center" else 1)
        cv.draw_words(x, fr.y + asc, line, style, gaps)
        fr.y += lh
    fr.y += ps.para_gap
    return len(lines)


def vspace(fr, px):
    fr.y += px


def heading(cv, fr, ps, words=None, pt=None, number=None, align="left", underline=False):
    rng = ps.rng
    pt = pt or ps.body_pt * float(rng.uniform(1.1, 2.0))
    words = words or ps.corpus.title(rng, 1, 6)
    if ps.caps_heads:
        words = [w.upper() for w in words]
    if number:
        words = [number] + list(words)
    style = ps.head(pt, "bold" if rng.random() < 0.85 else "bolditalic")
    cfg = getattr(ps, "cfg", None)
    if cfg is not None and not underline and rng.random() < cfg["p_underline"]:
        style = style.with_(underline=True)  # underlined words, as typed headings are
    fr.y += cv.px(pt) * float(rng.uniform(0.3, 0.9))
    asc, desc = _metrics(cv, style)
    if not fr.room(asc + desc + cv.px(ps.body_pt) * 2):
        return
    paragraph(cv, fr, ps, words, style, justify=False, indent=0, align=align, leading=1.2)
    if underline:
        cv.line((fr.x0, fr.y - cv.px(pt) * 0.1), (fr.x1, fr.y - cv.px(pt) * 0.1), max(1, cv.px(0.8)))
        fr.y += cv.px(pt) * 0.3


def rule(cv, fr, ps, thickness_pt=0.6):
    fr.y += cv.px(ps.body_pt) * 0.5
    if fr.room(cv.px(ps.body_pt)):
        cv.line((fr.x0, fr.y), (fr.x1, fr.y), max(1.0, cv.px(thickness_pt)))
    fr.y += cv.px(ps.body_pt) * 0.6


def bullet_list(cv, fr, ps, n=None, numbered=None):
    rng = ps.rng
    n = n or int(rng.integers(2, 7))
    numbered = rng.random() < 0.4 if numbered is None else numbered
    marks = ["\u2022", "-", "*", "\u2013", "o", "\u25aa"]
    mark = marks[int(rng.integers(len(marks)))]
    kind = int(rng.integers(3))
    s = ps.body
    indent = cv.px(ps.body_pt) * float(rng.uniform(0.5, 2.5))
    gap = cv.px(ps.body_pt) * float(rng.uniform(0.6, 2.2))
    asc, _ = _metrics(cv, s)
    for i in range(n):
        if fr.full:
            return
        label = mark if not numbered else [f"{i + 1}.", f"{chr(97 + i % 26)})", f"({i + 1})"][kind]
        sub = Frame(fr.x0 + indent + gap, fr.x1, fr.y, fr.bottom)
        y0 = fr.y
        if not fr.room(s.size * 1.2):
            return
        cv.draw_words(fr.x0 + indent, y0 + asc, [label], s)
        words = _spice(rng, ps.corpus, ps.corpus.sentence(rng, 3, 40), 0.05)
        paragraph(cv, sub, ps, words, justify=False, indent=0)
        fr.y, fr.full = sub.y, sub.full


def _cell_text(ps, rng, kind):
    c = ps.corpus
    if kind == "text":
        return [w.strip(".,;:") or "x" for w in c.sentence(rng, 1, 3)]
    if kind == "name":
        return c.name(rng)
    return [c.token(rng, kind)]


def table(cv, fr, ps, rows=None, rules=None):
    """A table with a bold header row; rules: none, rows, grid, zebra or box."""
    rng = ps.rng
    rules = rules or str(rng.choice(["none", "rows", "grid", "zebra", "box"]))
    ncol = int(rng.integers(2, 7))
    kinds = ["text"] + [str(rng.choice(["text", "amount", "date", "int", "id", "percent", "name",
                                        "version", "time"])) for _ in range(ncol - 1)]
    pt = ps.body_pt * float(rng.uniform(0.8, 1.0))
    s, sb = ps.style(pt), ps.style(pt, "bold")
    pad = cv.px(pt) * float(rng.uniform(0.4, 1.2))
    rows = rows or int(rng.integers(3, 25))
    header = [ps.corpus.title(rng, 1, 2) for _ in range(ncol)]
    body = [[_cell_text(ps, rng, k) for k in kinds] for _ in range(rows)]
    sp = cv.space(s)
    wid = [max(cv.measure(" ".join(header[j]), sb),
               max(cv.measure(" ".join(r[j]), s) + sp for r in body)) + 2 * pad for j in range(ncol)]
    while sum(wid) > fr.width and len(wid) > 1:  # drop columns that do not fit
        wid.pop()
        header.pop()
        kinds.pop()
        body = [r[:-1] for r in body]
    if sum(wid) > fr.width:
        return
    spare = fr.width - sum(wid)
    if rng.random() < 0.5:
        wid = [w + spare / len(wid) for w in wid]
    xs = np.concatenate([[fr.x0], fr.x0 + np.cumsum(wid)])
    asc, desc = _metrics(cv, s)
    rh = (asc + desc) * float(rng.uniform(1.15, 1.6))
    fr.y += cv.px(pt) * 0.5
    top = fr.y
    cfg = getattr(ps, "cfg", None)
    inverse = cfg is not None and rng.random() < cfg["p_inverse"]
    for r, row in enumerate([header] + body):
        if not fr.room(rh):
            break
        st = sb if r == 0 else s
        if r == 0 and inverse:  # light header text on a dark row
            from .extras import _dark_fill
            _dark_fill(cv, rng, (xs[0], fr.y, xs[-1], fr.y + rh))
            st = sb.with_(layer="knock", alpha=255)
        if rules == "zebra" and r % 2 == 1:
            gfx.shaded_band(cv, (xs[0], fr.y, xs[-1], fr.y + rh), rng, 235)
        base = fr.y + (rh - asc - desc) / 2 + asc
        for j, cell in enumerate(row):
            align = "right" if (r > 0 and kinds[j] in ("amount", "int", "percent")) else \
                "center" if r == 0 and rng.random() < 0.3 else "left"
            cv.draw_text(xs[j] + pad, base, cell, st, align, wid[j] - 2 * pad)
        if rules in ("rows", "grid") or (r == 0 and rules != "none"):
            cv.line((xs[0], fr.y + rh), (xs[-1], fr.y + rh), max(1.0, cv.px(0.5)))
        fr.y += rh
    if rules in ("grid", "box"):
        cv.rect(xs[0], top, xs[-1], fr.y, max(1.0, cv.px(0.6)))
    if rules == "grid":
        for x in xs[1:-1]:
            cv.line((x, top), (x, fr.y), max(1.0, cv.px(0.5)))
    fr.y += cv.px(pt) * 0.8


def _narrow_maybe(ps, rng, style):
    """With the page config's ``p_narrow_space``: bold sans with narrow word spaces; with
    ``p_underline``: underlined."""
    cfg = getattr(ps, "cfg", None)
    if cfg is None:
        return style
    if rng.random() < cfg["p_narrow_space"]:
        from .extras import bold_sans
        style = bold_sans(ps, style.size * 72.0 / ps.cv.dpi, rng, narrow=True)
    if rng.random() < cfg["p_underline"]:
        style = style.with_(underline=True)
    return style


def key_values(cv, fr, ps, n=None):
    """Label: value rows (metadata, invoice headers), labels bold or regular."""
    rng = ps.rng
    n = n or int(rng.integers(2, 8))
    s, sb = ps.body, ps.style(ps.body_pt, "bold" if rng.random() < 0.6 else "regular")
    sb = _narrow_maybe(ps, rng, sb)
    asc, desc = _metrics(cv, s)
    col = cv.px(ps.body_pt) * float(rng.uniform(6, 12))
    colon = rng.random() < 0.7
    for _ in range(n):
        if not fr.room(asc + desc):
            return
        label = ps.corpus.title(rng, 1, 3)
        if colon:
            label[-1] += ":"
        kind = str(rng.choice(["date", "amount", "id", "phone", "email", "url", "name", "text"]))
        value = _cell_text(ps, rng, kind)
        end = cv.draw_words(fr.x0, fr.y + asc, label, sb)
        x = max(fr.x0 + col, end + 2 * cv.space(s))
        while value and x + cv.measure(" ".join(value), s) > fr.x1:
            value = value[:-1]
        if value:
            cv.draw_words(x, fr.y + asc, value, s)
        fr.y += s.size * ps.leading


def form_fields(cv, fr, ps, n=None):
    """Form rows: labels with underlines, boxes (empty or filled), checkboxes."""
    rng = ps.rng
    n = n or int(rng.integers(3, 10))
    pt = ps.body_pt
    s = ps.style(pt)
    sl = ps.style(pt * float(rng.uniform(0.75, 1.0)), "bold" if rng.random() < 0.4 else "regular")
    sl = _narrow_maybe(ps, rng, sl)
    asc, desc = _metrics(cv, s)
    boxed = rng.random() < 0.5
    filled = float(rng.uniform(0.2, 0.9))
    cfg = getattr(ps, "cfg", None)
    hand = None
    if cfg is not None and rng.random() < cfg["p_handwriting"]:
        from .forms import entry_style
        hand = entry_style(ps, rng, pt, 1.0)
        hand = hand.with_(size=min(hand.size, s.size * 1.15))  # stays within the row
    t = max(1.0, cv.px(0.6))
    for _ in range(n):
        h = (asc + desc) * (2.2 if boxed else 1.8)
        if not fr.room(h):
            return
        ncol = int(rng.integers(1, 4))
        cw = fr.width / ncol
        for j in range(ncol):
            x0 = fr.x0 + j * cw
            label = ps.corpus.title(rng, 1, 3)
            if rng.random() < 0.2:  # a row of checkboxes
                bx = x0
                for k in range(int(rng.integers(1, 4))):
                    sz = asc * 0.9
                    word = [ps.corpus.vocab_word(rng).capitalize()]
                    if bx + sz * 1.6 + cv.measure(word[0], sl) > x0 + cw - sz:
                        break
                    cv.rect(bx, fr.y + asc - sz, bx + sz, fr.y + asc, t)
                    if rng.random() < 0.4:
                        cv.line((bx + 2, fr.y + asc - sz + 2), (bx + sz - 2, fr.y + asc - 2), t)
                        cv.line((bx + sz - 2, fr.y + asc - sz + 2), (bx + 2, fr.y + asc - 2), t)
                    bx = cv.draw_words(bx + sz * 1.6, fr.y + asc, word, sl) + sz * 1.5
                    if bx > x0 + cw - sz * 4:
                        break
                continue
            if rng.random() < 0.8:
                label[-1] += ":"
            while len(label) > 1 and cv.measure(" ".join(label), sl) > cw * 0.6:
                label = label[:-1]
            if cv.measure(" ".join(label), sl) > cw * 0.6:
                continue
            lx = cv.draw_words(x0, fr.y + asc, label, sl) + cv.px(pt) * 0.5
            if boxed:
                cv.rect(lx, fr.y - desc * 0.5, x0 + cw - cv.px(pt), fr.y + asc + desc * 1.8, t)
            else:
                cv.line((lx, fr.y + asc + desc), (x0 + cw - cv.px(pt), fr.y + asc + desc), t)
            if rng.random() < filled:
                kind = str(rng.choice(["name", "date", "amount", "id", "phone", "email", "text"]))
                value = _cell_text(ps, rng, kind)
                sv = s if hand is None else hand
                slack = 1.0 if hand is None else 1.15  # glyph jitter widens handwriting a little
                if lx + cv.px(pt) * 0.4 + cv.measure(" ".join(value), sv) * slack < x0 + cw - cv.px(pt):
                    cv.draw_words(lx + cv.px(pt) * 0.4, fr.y + asc, value, sv)
        fr.y += h


def code_block(cv, fr, ps, n=None, pt=None, numbers=None):
    """Monospace source lines with their indentation (code listings, man page examples)."""
    rng = ps.rng
    n = n or int(rng.integers(4, 40))
    pt = pt or ps.body_pt * float(rng.uniform(0.8, 1.0))
    s = ps.mono(pt)
    asc, desc = _metrics(cv, s)
    cw = cv.measure("0", s)
    numbers = rng.random() < 0.3 if numbers is None else numbers
    lead = 5 * cw if numbers else 0.0
    first = int(rng.integers(1, 400))
    lh = s.size * float(rng.uniform(1.05, 1.3))
    for i, ln in enumerate(ps.corpus.code_block(rng, n)):
        if not fr.room(asc + desc):
            return
        if numbers:
            cv.draw_text(fr.x0, fr.y + asc, str(first + i), s.with_(alpha=150), "right", 4 * cw)
        ind = len(ln) - len(ln.lstrip(" "))
        words = ln.split()
        x = fr.x0 + lead + ind * cw
        gaps = []
        pos = ind
        for w in words[:-1]:  # keep the source's own spacing
            pos = ln.index(w, pos) + len(w)
            nxt = ln.index(words[len(gaps) + 1], pos)
            gaps.append((nxt - pos) * cw)
            pos = nxt
        while words and x + sum(cv.measure(w, s) for w in words) + sum(gaps[:len(words) - 1]) > fr.x1:
            words = words[:-1]  # a long line is cut at the column edge
        gaps = gaps[:max(0, len(words) - 1)]
        if words:
            cv.draw_words(x, fr.y + asc, words, s, gaps)
        fr.y += lh
    fr.y += lh * 0.5


def option_list(cv, fr, ps, n=None):
    """man-page style options: ``-x, --long-option VALUE`` in bold, indented description."""
    rng = ps.rng
    n = n or int(rng.integers(2, 8))
    sb = ps.style(ps.body_pt, "bold")
    asc, _ = _metrics(cv, sb)
    ind = cv.px(ps.body_pt) * float(rng.uniform(3, 6))
    for _ in range(n):
        if not fr.room(sb.size * 2):
            return
        name = ps.corpus.identifier(rng).strip("_").replace("_", "-").lower() or "all"
        opt = [f"-{name[0]},", f"--{name}"] if rng.random() < 0.6 else [f"--{name}"]
        if rng.random() < 0.4:
            opt.append(str(rng.choice(["FILE", "N", "DIR", "[=WHEN]", "SIZE", "NAME"])))
        cv.draw_words(fr.x0, fr.y + asc, opt, sb)
        fr.y += sb.size * ps.leading
        sub = Frame(fr.x0 + ind, fr.x1, fr.y, fr.bottom)
        paragraph(cv, sub, ps, ps.corpus.sentence(rng, 5, 45), justify=ps.justify, indent=0)
        fr.y, fr.full = sub.y, sub.full


def figure(cv, fr, ps, kind=None, caption=True):
    """A photo, chart, logo or QR code with an optional caption below it."""
    rng = ps.rng
    kind = kind or str(rng.choice(["photo", "chart", "photo", "qr"]))
    h = fr.width * float(rng.uniform(0.25, 0.75)) if kind != "qr" else min(fr.width * 0.3, cv.px(90))
    w = fr.width * float(rng.uniform(0.5, 1.0)) if kind != "qr" else h
    if not fr.room(h + cv.px(ps.body_pt) * 3):
        return
    x0 = fr.x0 + (fr.width - w) * float(rng.choice([0.0, 0.5]))
    fr.y += cv.px(ps.body_pt) * 0.5
    box = (x0, fr.y, x0 + w, fr.y + h)
    {"photo": gfx.photo, "chart": gfx.bar_chart, "qr": gfx.qr_code}[kind](cv, box, rng)
    fr.y += h + cv.px(ps.body_pt) * 0.6
    if caption:
        words = [f"{rng.choice(['Figure', 'Fig.', 'Table', 'Abb.'])}", f"{rng.integers(1, 20)}:"] \
            + ps.corpus.sentence(rng, 2, 14)
        paragraph(cv, fr, ps, words, ps.style(ps.body_pt * 0.85, "italic"), justify=False, indent=0)
