"""The page hierarchy: page -> blocks -> lines -> words, in reading order.

    from textseg.layout import analyze
    layout = analyze(words, image)          # PageLayout
    for block in layout.blocks:
        for line in block.lines:
            for word in line.words:
                word.polygon, word.order, word.direction, word.score, word.text

Every element has a ``polygon`` (float32 (N, 2), image pixels of the *input* image,
clockwise, starting at the element's top-left *in its reading direction*: for an
upside-down page that is the bottom-right corner seen on screen), a ``score``, a
``direction`` (degrees, the reading direction in the image: 0 left to right, 90 top to
bottom, 180 right to left (an upside-down page), 270 bottom to top) and an ``order``: its
0-based index in reading order among the elements of its kind on the page. ``text`` is
empty ("") until a recogniser fills it.

:meth:`PageLayout.to_dict` / :meth:`PageLayout.from_dict` give the JSON hierarchy;
:func:`write_layout_json` writes it atomically. numpy only (no torch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Word", "Line", "Block", "PageLayout", "write_layout_json", "read_layout_json",
           "LAYOUT_JSON_VERSION"]

LAYOUT_JSON_VERSION = 1


def _poly(p):
    return np.asarray(p, dtype=np.float32).reshape(-1, 2)


def _round(poly, decimals):
    return np.round(np.asarray(poly, np.float64), decimals).tolist()


def _shape(el, decimals):
    """The JSON fields every element has: polygon, score, direction."""
    return {"polygon": _round(el.polygon, decimals),
            "score": None if el.score is None else round(float(el.score), 4),
            "direction": round(float(el.direction), 2)}


@dataclass
class Word:
    polygon: np.ndarray
    score: float | None = None
    direction: float = 0.0
    order: int = 0
    text: str = ""
    #: index of the word in the detections it was built from (-1: unknown)
    index: int = -1

    def __post_init__(self):
        self.polygon = _poly(self.polygon)

    def to_dict(self, decimals=2):
        return {"order": self.order, "index": self.index, **_shape(self, decimals), "text": self.text}


@dataclass
class Line:
    polygon: np.ndarray
    words: list = field(default_factory=list)
    score: float | None = None
    direction: float = 0.0
    order: int = 0
    text: str = ""
    #: two points (x, y) on the baseline, start and end in reading order (None: unknown)
    baseline: np.ndarray | None = None

    def __post_init__(self):
        self.polygon = _poly(self.polygon)
        if self.baseline is not None:
            self.baseline = _poly(self.baseline)

    def to_dict(self, decimals=2):
        return {"order": self.order, **_shape(self, decimals), "text": self.text,
                "baseline": None if self.baseline is None else _round(self.baseline, decimals),
                "words": [w.to_dict(decimals) for w in self.words]}


@dataclass
class Block:
    polygon: np.ndarray
    lines: list = field(default_factory=list)
    score: float | None = None
    direction: float = 0.0
    order: int = 0
    #: "text" (a paragraph) or "table" (cells, lines read row by row)
    kind: str = "text"

    def __post_init__(self):
        self.polygon = _poly(self.polygon)

    @property
    def words(self):
        return [w for line in self.lines for w in line.words]

    def to_dict(self, decimals=2):
        return {"order": self.order, "kind": self.kind, **_shape(self, decimals),
                "lines": [line.to_dict(decimals) for line in self.lines]}


@dataclass
class PageLayout:
    width: int
    height: int
    blocks: list = field(default_factory=list)
    #: page orientation (0, 90, 180, 270): the reading direction of its text, see the module
    orientation: int = 0
    #: skew (degrees): text lines run at orientation + skew in the image
    skew: float = 0.0
    #: confidence of the orientation, 0..1 (None: not measured)
    orientation_confidence: float | None = None
    image: str = ""

    @property
    def lines(self):
        return [line for b in self.blocks for line in b.lines]

    @property
    def words(self):
        return [w for b in self.blocks for line in b.lines for w in line.words]

    def detections(self, level="word"):
        """``[(polygon, score), ...]`` of one level (``word``, ``line`` or ``block``) in
        reading order: what the flat writers (:mod:`textseg.output`) take."""
        items = {"word": self.words, "line": self.lines, "block": self.blocks}[level]
        return [(e.polygon, e.score) for e in items]

    def renumber(self):
        """Set every element's ``order`` from its position (blocks, then lines, then words)."""
        nl = nw = 0
        for bi, b in enumerate(self.blocks):
            b.order = bi
            for line in b.lines:
                line.order, nl = nl, nl + 1
                for w in line.words:
                    w.order, nw = nw, nw + 1
        return self

    def to_dict(self, decimals=2):
        return {"version": LAYOUT_JSON_VERSION, "image": self.image, "width": int(self.width),
                "height": int(self.height), "orientation": int(self.orientation),
                "skew": round(float(self.skew), 3),
                "orientation_confidence": (None if self.orientation_confidence is None
                                           else round(float(self.orientation_confidence), 4)),
                "blocks": [b.to_dict(decimals) for b in self.blocks]}

    @classmethod
    def from_dict(cls, d):
        blocks = []
        for bd in d.get("blocks", []):
            lines = []
            for ld in bd.get("lines", []):
                words = [Word(w["polygon"], w.get("score"), w.get("direction", 0.0),
                              w.get("order", 0), w.get("text", ""), w.get("index", -1))
                         for w in ld.get("words", [])]
                lines.append(Line(ld["polygon"], words, ld.get("score"), ld.get("direction", 0.0),
                                  ld.get("order", 0), ld.get("text", ""), ld.get("baseline")))
            blocks.append(Block(bd["polygon"], lines, bd.get("score"), bd.get("direction", 0.0),
                                bd.get("order", 0), bd.get("kind", "text")))
        return cls(int(d["width"]), int(d["height"]), blocks, int(d.get("orientation", 0)),
                   float(d.get("skew", 0.0)), d.get("orientation_confidence"), d.get("image", ""))


def write_layout_json(path, layout, overwrite=True, decimals=2):
    """Write ``layout`` as the JSON hierarchy (UTF-8, atomic)."""
    from ..fileio import atomic_open

    text = json.dumps(layout.to_dict(decimals), ensure_ascii=False, allow_nan=False, indent=1)
    with atomic_open(path, "w" if overwrite else "x", encoding="utf-8") as f:
        f.write(text + "\n")


def read_layout_json(path):
    with open(path, encoding="utf-8") as f:
        return PageLayout.from_dict(json.load(f))
