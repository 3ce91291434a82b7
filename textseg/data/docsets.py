"""Ground truth of the public document data sets, read as their authors ship them.

* **FUNSD** (Jaume et al. 2019): ``images/NAME.png`` + ``annotations/NAME.json`` with
  ``{"form": [{"box", "text", "label", "words": [{"box", "text"}, ...]}, ...]}``.
  Word level: every word box (a word with empty text is ``###``: marks, logos, strokes).
  Line level: each entity's words cut into visual lines (an entity is semantic, so a
  question and its answer on one row stay two boxes); ``###`` if any of its words is.
* **CORD** (Park et al. 2019): ``image/NAME.png`` + ``json/NAME.json`` with
  ``{"valid_line": [{"category", "words": [{"quad": {x1..y4}, "text", "row_id"}, ...]}]}``.
  Word level: every word quad. Line level: the words of one ``valid_line`` on one
  ``row_id`` (a field such as a menu item's name, or its price), as the quad around them.
* **SROIE** (Huang et al. 2019, task 1): ``NAME.jpg`` + ``NAME.txt`` (or ``img/`` +
  ``box/``) with ``x1,y1,...,x4,y4,text`` per text segment: ICDAR 2015 lines read by
  :func:`textseg.data.icdar.read_gt`; the segments are line-level ground truth.

:func:`textseg.data.icdar.scan_dataset` finds these layouts; a ``.json`` ground-truth path
it returns is a :class:`GTPath` that carries the level asked for, and
:func:`textseg.data.icdar.read_gt` reads it with :func:`read_json_gt`.
"""

import json
import os
from typing import List

import numpy as np

from ..errors import GTFormatError

__all__ = ["GTPath", "read_json_gt", "parse_funsd", "parse_cord"]


class GTPath(str):
    """A ground-truth path (a plain ``str``) that remembers the level it was found for."""

    level: str = "word"

    def __new__(cls, path, level="word"):
        obj = super().__new__(cls, path)
        obj.level = level
        return obj


def _annotation(poly, text, ignore):
    from .icdar import Annotation  # icdar imports this module lazily: no cycle at import

    return Annotation(np.asarray(poly, np.float32).reshape(-1, 2), text, bool(ignore))


def _rect(box, path, where):
    """[x1, y1, x2, y2] -> clockwise quad from the top-left."""
    try:
        x1, y1, x2, y2 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise GTFormatError(path, 1, f"{where}: 'box' must be [x1, y1, x2, y2], got {box!r}") from None
    if not all(np.isfinite([x1, y1, x2, y2])) or x2 < x1 or y2 < y1:
        raise GTFormatError(path, 1, f"{where}: 'box' {box!r} is not a box (x2 >= x1, y2 >= y1)")
    return [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]


def _visual_lines(boxes):
    """Indices of ``boxes`` ([x1, y1, x2, y2], in reading order) cut into visual lines: a
    word starts a new line when it shares under half the smaller height with the line's
    vertical extent, or when it starts left of where the line began (a wrap)."""
    lines, cur, top, bot, left = [], [], 0.0, 0.0, 0.0
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        if cur:
            overlap = min(bot, y2) - max(top, y1)
            if overlap < 0.5 * min(bot - top, y2 - y1) or x1 < left - 1:
                lines.append(cur)
                cur = []
        if not cur:
            top, bot, left = y1, y2, x1
        cur.append(i)
        top, bot = min(top, y1), max(bot, y2)
    if cur:
        lines.append(cur)
    return lines


def _hull_quad(quads):
    """The axis-aligned quad around a set of quads (clockwise from the top-left)."""
    pts = np.concatenate([np.asarray(q, np.float32).reshape(-1, 2) for q in quads])
    (x1, y1), (x2, y2) = pts.min(0), pts.max(0)
    return [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]


def parse_funsd(obj, path="<funsd>", level="word") -> List:
    """FUNSD annotations (the parsed JSON) -> Annotations at ``level`` (module docstring)."""
    form = obj.get("form") if isinstance(obj, dict) else None
    if not isinstance(form, list):
        raise GTFormatError(path, 1, "not a FUNSD annotation file (no 'form' list)")
    out = []
    for n, ent in enumerate(form):
        where = f"form[{n}]"
        if not isinstance(ent, dict):
            raise GTFormatError(path, 1, f"{where}: expected an object")
        words = ent.get("words") or []
        boxes, texts = [], []
        for m, w in enumerate(words):
            if not isinstance(w, dict) or "box" not in w:
                raise GTFormatError(path, 1, f"{where}.words[{m}]: expected an object with a 'box'")
            q = _rect(w["box"], path, f"{where}.words[{m}]")
            boxes.append((q[0][0], q[0][1], q[2][0], q[2][1]))
            texts.append(str(w.get("text", "")).strip())
        if level == "word":
            out += [_annotation(_rect(b, path, where), t or "###", not t)
                    for b, t in zip(boxes, texts)]
            continue
        if not words:  # an entity without words: its own box
            t = str(ent.get("text", "")).strip()
            if "box" in ent:
                out.append(_annotation(_rect(ent["box"], path, where), t or "###", not t))
            continue
        for line in _visual_lines(boxes):
            ts = [texts[i] for i in line]
            quad = _hull_quad([_rect(boxes[i], path, where) for i in line])
            ignore = any(not t for t in ts)
            out.append(_annotation(quad, "###" if ignore else " ".join(ts), ignore))
    return out


_QUAD_KEYS = ("x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4")


def _cord_quad(q, path, where):
    try:
        vals = [float(q[k]) for k in _QUAD_KEYS]
    except (TypeError, KeyError, ValueError):
        raise GTFormatError(path, 1, f"{where}: 'quad' needs numbers {', '.join(_QUAD_KEYS)}") from None
    if not all(np.isfinite(vals)):
        raise GTFormatError(path, 1, f"{where}: 'quad' has a non-finite coordinate")
    return np.asarray(vals, np.float32).reshape(4, 2)


def parse_cord(obj, path="<cord>", level="word") -> List:
    """CORD annotations (the parsed JSON) -> Annotations at ``level`` (module docstring)."""
    from ..geometry import order_clockwise

    lines = obj.get("valid_line") if isinstance(obj, dict) else None
    if not isinstance(lines, list):
        raise GTFormatError(path, 1, "not a CORD annotation file (no 'valid_line' list)")
    out = []
    for n, vl in enumerate(lines):
        words = vl.get("words") if isinstance(vl, dict) else None
        if not isinstance(words, list):
            raise GTFormatError(path, 1, f"valid_line[{n}]: expected an object with 'words'")
        rows = {}
        for m, w in enumerate(words):
            where = f"valid_line[{n}].words[{m}]"
            if not isinstance(w, dict) or "quad" not in w:
                raise GTFormatError(path, 1, f"{where}: expected an object with a 'quad'")
            quad = order_clockwise(_cord_quad(w["quad"], path, where))
            text = str(w.get("text", "")).strip()
            if level == "word":
                out.append(_annotation(quad, text or "###", not text))
            else:
                rows.setdefault(w.get("row_id", 0), []).append((quad, text))
        for row in rows.values():
            texts = [t for _, t in row]
            ignore = any(not t for t in texts)
            out.append(_annotation(_hull_quad([q for q, _ in row]), "###" if ignore else " ".join(texts), ignore))
    return out


def read_json_gt(path, level=None) -> List:
    """A FUNSD or CORD annotation file -> Annotations; ``level`` defaults to the level of a
    :class:`GTPath` (else word)."""
    level = level or getattr(path, "level", "word")
    if level not in ("word", "line"):
        raise ValueError(f"level must be 'word' or 'line', got {level!r}")
    try:
        with open(path, "rb") as f:
            obj = json.loads(f.read().decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise GTFormatError(os.fspath(path), 1, f"not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise GTFormatError(os.fspath(path), e.lineno, f"not valid JSON: {e.msg}") from None
    if isinstance(obj, dict) and "form" in obj:
        return parse_funsd(obj, os.fspath(path), level)
    if isinstance(obj, dict) and "valid_line" in obj:
        return parse_cord(obj, os.fspath(path), level)
    raise GTFormatError(os.fspath(path), 1, "neither FUNSD ('form') nor CORD ('valid_line') "
                                            "annotations")
