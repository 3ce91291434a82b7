"""The drawing surface of a synthetic page: text with exact ink boxes, rules and layers.

A :class:`Canvas` holds

* ``ink``: the main text layer (alpha, uint8 (H, W)), printed in the page's ink colour;
* ``accent``: a second text layer in a colour (headings, logos' captions), made on demand;
* ``under``: an RGB layer of graphics under the text (photos, shading, logos), multiplied
  into the paper, made on demand;
* ``over``: an alpha layer with its own colour on top of everything (stamps, signatures).

Every word is rasterised once with FreeType (``getmask2``); its box is the bounding box of
the mask's non-zero pixels, so boxes hug the real ink (ascenders, descenders, italics),
whatever the font. Words land in ``canvas.words`` with a *run* id: a run is one row of
text drawn as a unit (a paragraph line, a table cell); ground-truth lines are built from
runs (:func:`textseg.data.synth.pages.assemble_lines`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .fonts import load_font, supported_text

__all__ = ["Canvas", "Word", "TextStyle"]


@dataclass
class Word:
    box: tuple      # ink box x0, y0, x1, y1 (pixel edges, float) on the page
    text: str
    run: int        # id of the row of text it belongs to
    size: float     # em size in px
    baseline: float
    vertical: bool = False  # rotated 90 degrees (reads bottom to top): a line of its own run
    layer: str = "ink"      # the layer it is printed in (knock = light on dark)
    effect: str = ""        # "", "hand" or "dots" (see TextStyle)
    space: float = 0.0      # the run's word space (px): a gap far wider ends a text segment


@dataclass
class TextStyle:
    """How a run of text looks: font file, em size in px, layer, darkness, width scale.

    ``space`` scales the word space (narrow-spaced bold sans, wide receipt spacing);
    ``tracking`` adds px between letters; ``effect`` is "" (plain FreeType), "hand"
    (per-glyph jitter of strength ``jitter``), "dots" (dot-matrix print) or "type"
    (typewriter strikes), see :mod:`.handwriting`."""

    path: str
    size: float
    layer: str = "ink"
    alpha: int = 255
    hscale: float = 1.0
    space: float = 1.0
    tracking: float = 0.0
    effect: str = ""
    jitter: float = 0.0
    underline: bool = False  # draw_words underlines the run (ink, not part of any word box)

    def font(self):
        return load_font(self.path, max(4, int(round(self.size))))

    def with_(self, **kw):
        d = dict(self.__dict__)
        d.update(kw)
        return TextStyle(**d)


def _mask_array(core):
    """numpy uint8 view of a FreeType mask (an ImagingCore)."""
    return np.asarray(Image.Image()._new(core))


class Canvas:
    """A page being drawn (see module doc). Coordinates are page pixels."""

    def __init__(self, width, height, dpi):
        self.w, self.h, self.dpi = int(width), int(height), float(dpi)
        self.ink = np.zeros((self.h, self.w), np.uint8)
        self.layers = {"ink": self.ink}
        self.under = None
        self.over = None
        self.over_color = (30, 60, 170)
        self.words: list[Word] = []
        self._run = 0
        self.rng = np.random.default_rng(0)  # glyph jitter; the page sets its own

    # ------------------------------------------------------------------ units
    def crop_height(self, h):
        """Cut the page to ``h`` px tall (a till roll cut after the text); words below
        are dropped."""
        h = int(max(8, min(self.h, round(h))))
        if h == self.h:
            return
        self.h = h
        for k in list(self.layers):
            self.layers[k] = self.layers[k][:h]
        self.ink = self.layers["ink"]
        if self.under is not None:
            self.under = self.under[:h]
        if self.over is not None:
            self.over = self.over[:h]
        self.words = [w for w in self.words if w.box[3] <= h]

    def px(self, pt):
        """Points (1/72 inch) to pixels at the page DPI."""
        return pt * self.dpi / 72.0

    def layer(self, name):
        if name not in self.layers:
            self.layers[name] = np.zeros((self.h, self.w), np.uint8)
        return self.layers[name]

    def under_layer(self):
        """The RGB graphics layer under the text (white = no graphics), made on demand."""
        if self.under is None:
            self.under = np.full((self.h, self.w, 3), 255, np.uint8)
        return self.under

    def over_layer(self):
        if self.over is None:
            self.over = np.zeros((self.h, self.w), np.uint8)
        return self.over

    def new_run(self):
        self._run += 1
        return self._run

    # ------------------------------------------------------------------ text
    def measure(self, text, style):
        """Advance width of ``text`` in px (with the style's width scale and tracking)."""
        w = style.font().getlength(text) * style.hscale
        if style.tracking and len(text) > 1:
            w += style.tracking * (len(text) - 1)
        return w

    def space(self, style):
        return style.font().getlength(" ") * style.hscale * style.space + style.tracking

    def draw_word(self, x, baseline, text, style, run, record=True):
        """Draw one word with its left origin at ``x`` on ``baseline``; returns its ink box
        (x0, y0, x1, y1) or None when nothing was drawn (blank or off the page)."""
        text = supported_text(style.path, text)
        if not text.strip():
            return None
        got = self._ink(text, style)
        if got is None:
            return None
        m, dx, dy = got
        box = self._paste(m, int(round(x + dx)), int(round(baseline)) + dy, style.layer, style.alpha)
        if box is not None and record:
            self.words.append(Word(box, str(text), run, float(style.size), float(baseline), False,
                                   style.layer, style.effect, self.space(style)))
        return box

    def _ink(self, text, style, stretch=cv2.INTER_LINEAR):
        """``(mask, dx, dy)`` of one word's ink, or None when it has none: the mask's left
        edge is ``dx`` px right of the word's origin, its top ``dy`` px below the baseline.
        ``stretch``: the interpolation that widens a glyph run (hscale > 1)."""
        if style.effect or style.tracking:
            from .handwriting import glyph_mask

            return glyph_mask(text, style, self.rng)
        core, (ox, oy) = style.font().getmask2(text, mode="L", anchor="ls")
        bb = core.getbbox()
        if bb is None:
            return None
        m = _mask_array(core)[bb[1]:bb[3], bb[0]:bb[2]]
        hs = style.hscale
        if abs(hs - 1.0) > 0.02:
            nw = max(1, int(round(m.shape[1] * hs)))
            m = cv2.resize(m, (nw, m.shape[0]), interpolation=cv2.INTER_AREA if hs < 1 else stretch)
        return m, (ox + bb[0]) * hs, oy + bb[1]

    def _paste(self, m, x0, y0, layer, alpha):
        h, w = m.shape
        X0, Y0, X1, Y1 = max(x0, 0), max(y0, 0), min(x0 + w, self.w), min(y0 + h, self.h)
        if X1 <= X0 or Y1 <= Y0:
            return None
        src = m[Y0 - y0:Y1 - y0, X0 - x0:X1 - x0]
        if alpha < 255:
            src = (src.astype(np.uint16) * alpha // 255).astype(np.uint8)
        dst = self.layer(layer)[Y0:Y1, X0:X1]
        np.maximum(dst, src, out=dst)
        # the box of what is on the page (a word cut by the page edge keeps its visible part)
        rows = np.flatnonzero(src.max(axis=1) > 0)
        cols = np.flatnonzero(src.max(axis=0) > 0)
        if len(rows) == 0:
            return None
        return (float(X0 + cols[0]), float(Y0 + rows[0]), float(X0 + cols[-1] + 1),
                float(Y0 + rows[-1] + 1))

    def draw_words(self, x, baseline, words, style, gaps=None, run=None):
        """Draw ``words`` left to right from ``x``, separated by ``gaps`` (px; default one
        space each). Returns the x after the last word. All words share one run."""
        run = self.new_run() if run is None else run
        sp = self.space(style)
        if any(" " in str(w) for w in words):  # tokens like "(506) 568-9973" are several words
            flat, flat_gaps = [], []
            for i, tok in enumerate(words):
                parts = str(tok).split() or [""]
                if flat:
                    flat_gaps.append(sp if gaps is None else gaps[i - 1])
                flat += parts
                flat_gaps += [sp] * (len(parts) - 1)
            words, gaps = flat, flat_gaps
        x_start = x
        for i, wd in enumerate(words):
            self.draw_word(x, baseline, wd, style, run)
            x += self.measure(wd, style)
            if i < len(words) - 1:
                x += sp if gaps is None else gaps[i]
        if style.underline and words:
            y = baseline + max(1.0, style.size * 0.12)
            self.line((x_start, y), (x, y), max(1.0, style.size * 0.06), style.layer, style.alpha)
        return x

    def draw_text(self, x, baseline, text, style, align="left", width=None, run=None):
        """One row of text (split on spaces) aligned left/right/center in ``width``."""
        words = text.split() if isinstance(text, str) else list(text)
        if not words:
            return x
        total = sum(self.measure(w, style) for w in words) + self.space(style) * (len(words) - 1)
        if align == "right":
            x = x + (width or 0) - total
        elif align == "center":
            x = x + ((width or 0) - total) / 2
        return self.draw_words(x, baseline, words, style, run=run)

    def word_mask(self, text, style):
        """(mask, text) of one word rendered alone, its rows spanning the font's ascent to
        descent (so rotated words line up on their baseline), or None."""
        text = supported_text(style.path, text)
        if not text.strip():
            return None
        got = self._ink(text, style, stretch=cv2.INTER_AREA)
        if got is None:
            return None
        m, _, dy = got
        asc, desc = style.font().getmetrics()
        top = max(0, asc + dy)
        full = np.zeros((max(asc + desc, top + m.shape[0]), m.shape[1]), np.uint8)
        full[top:top + m.shape[0]] = m
        return full, text

    def draw_vertical(self, x, y, words, style, run=None, top=0.0, bottom=None, up=True):
        """Words rotated 90 degrees, the run's left edge at ``x``: ``up`` reads bottom to
        top starting at ``y`` and stops above ``top``; otherwise top to bottom from
        ``h - y`` down to ``bottom``. Returns the number of words drawn."""
        run = self.new_run() if run is None else run
        gap = max(2.0, self.space(style))
        bottom = self.h - top if bottom is None else bottom
        y = float(y) if up else float(self.h - y)
        n = 0
        for wd in words:
            got = self.word_mask(str(wd), style)
            if got is None:
                continue
            m, text = got
            r = np.ascontiguousarray(np.rot90(m, 1 if up else -1))
            if (up and y - r.shape[0] < top) or (not up and y + r.shape[0] > bottom):
                break
            y0 = y - r.shape[0] if up else y
            box = self._paste(r, int(round(x)), int(round(y0)), style.layer, style.alpha)
            if box is not None:
                self.words.append(Word(box, text, run, float(style.size), float(x), True, style.layer,
                                       style.effect))
                n += 1
            y = y - r.shape[0] - gap if up else y + r.shape[0] + gap
        return n

    # ------------------------------------------------------------------ ink graphics
    def line(self, p0, p1, thickness=1.0, layer="ink", alpha=255):
        """An anti-aliased rule/segment in a text layer (not labelled)."""
        t = max(1, int(round(thickness)))
        cv2.line(self.layer(layer), (int(round(p0[0])), int(round(p0[1]))),
                 (int(round(p1[0])), int(round(p1[1]))), int(alpha), t, cv2.LINE_AA)

    def rect(self, x0, y0, x1, y1, thickness=1.0, fill=False, layer="ink", alpha=255):
        t = -1 if fill else max(1, int(round(thickness)))
        cv2.rectangle(self.layer(layer), (int(round(x0)), int(round(y0))),
                      (int(round(x1)), int(round(y1))), int(alpha), t, cv2.LINE_8)

    def dotted(self, x0, x1, y, step, radius=1, layer="ink", alpha=255):
        lay = self.layer(layer)
        for x in np.arange(x0, x1, step):
            cv2.circle(lay, (int(x), int(y)), radius, int(alpha), -1, cv2.LINE_AA)
