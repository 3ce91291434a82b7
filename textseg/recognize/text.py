"""Recognised lines -> plain text in reading order, and text records for the writers.

numpy only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reading_order", "page_text", "line_records", "word_records", "word_texts",
           "ORDER_DEFAULTS"]

#: reading-order options: ``mode`` "columns" (XY-cut: column gutters split first, so a
#: column of text is read to its end before the next) or "rows" (top to bottom across the
#: page); ``column_gap``: the narrowest gutter, x the median line height;
#: ``column_lines``: a gutter splits columns only when the lines on both sides are this long
#: (median, x the median line height: lines of running text); tables and forms, whose cells
#: are short, are read row by row
ORDER_DEFAULTS = {"mode": "columns", "column_gap": 1.5, "column_lines": 10.0}


def _poly(x):
    p = x.polygon if hasattr(x, "polygon") else (x[0] if isinstance(x, tuple) else x)
    return np.asarray(p, dtype=np.float64).reshape(-1, 2)


def _deskewed_boxes(polys):
    """Axis-aligned boxes of the polygons after turning the page by its dominant line angle
    (the length-weighted median of the lines' top-edge directions), and line heights."""
    angles, weights = [], []
    for p in polys:
        if len(p) >= 2:
            d = p[1] - p[0]
            angles.append(np.arctan2(d[1], d[0]))
            weights.append(np.hypot(*d))
    theta = 0.0
    if angles:
        a = np.array(angles)
        w = np.array(weights)
        keep = np.abs(a) < np.radians(30)  # horizontal-ish lines set the page skew
        if keep.any():
            a, w = a[keep], w[keep]
            o = np.argsort(a)
            c = np.cumsum(w[o])
            theta = float(a[o][np.searchsorted(c, 0.5 * c[-1])])
    c, s = np.cos(-theta), np.sin(-theta)
    rot = np.array([[c, -s], [s, c]])
    boxes = np.zeros((len(polys), 4))
    for i, p in enumerate(polys):
        q = p @ rot.T
        boxes[i] = (q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max())
    return boxes


def _gaps(lo, hi, min_gap, with_widths=False):
    """Cut positions between intervals [lo, hi): the middle of every gap of the union at
    least ``min_gap`` wide, widest first (and the gaps' widths)."""
    o = np.argsort(lo, kind="stable")
    lo, hi = lo[o], hi[o]
    reach = np.maximum.accumulate(hi)
    gap = lo[1:] - reach[:-1]
    k = np.flatnonzero(gap >= min_gap)
    k = k[np.argsort(-gap[k], kind="stable")]
    cuts = [0.5 * (reach[j] + lo[j + 1]) for j in k]
    return (cuts, [float(gap[j]) for j in k]) if with_widths else cuts


def reading_order(lines, mode=ORDER_DEFAULTS["mode"], column_gap=ORDER_DEFAULTS["column_gap"],
                  column_lines=ORDER_DEFAULTS["column_lines"]):
    """Indices of ``lines`` (polygons, ``(polygon, score)`` pairs or recognised
    :class:`~textseg.recognize.Line` objects) in reading order; see :data:`ORDER_DEFAULTS`."""
    polys = [_poly(x) for x in lines]
    n = len(polys)
    if n == 0:
        return []
    boxes = _deskewed_boxes(polys)
    heights = boxes[:, 3] - boxes[:, 1]
    length = boxes[:, 2] - boxes[:, 0]
    med_h = float(np.median(heights)) if n else 1.0
    # rows overlap a little on a skewed or warped page: shrink each box across by 20%
    y0 = boxes[:, 1] + 0.2 * heights
    y1 = boxes[:, 3] - 0.2 * heights

    def rows(idx):
        # rows: lines by centre, a line joins the row above while it overlaps the row's
        # running extent; each row left to right
        idx = np.asarray(idx)
        idx = idx[np.argsort(0.5 * (y0[idx] + y1[idx]), kind="stable")]
        out, row, bottom = [], [], -np.inf
        for i in idx.tolist():
            if row and y0[i] >= bottom:
                out += sorted(row, key=lambda k: boxes[k, 0])
                row, bottom = [], -np.inf
            row.append(i)
            bottom = max(bottom, y1[i]) if len(row) > 1 else y1[i]
        return out + sorted(row, key=lambda k: boxes[k, 0])

    if mode == "rows":
        return rows(np.arange(n))
    if mode != "columns":
        raise ValueError(f"reading order mode must be 'columns' or 'rows', not {mode!r}")

    def cut(idx, depth):
        idx = np.asarray(idx)
        if len(idx) <= 1 or depth > 200:
            return rows(idx)
        # column gutters first: a strip through the whole region that no line crosses
        for x in _gaps(boxes[idx, 0], boxes[idx, 2], column_gap * med_h):
            left = idx[boxes[idx, 2] <= x]
            right = idx[boxes[idx, 0] >= x]
            if min(np.median(length[left]), np.median(length[right])) >= column_lines * med_h:
                return cut(left, depth + 1) + cut(right, depth + 1)
        ys, widths = _gaps(y0[idx], y1[idx], 1e-6, with_widths=True)
        if ys:
            # the widest horizontal gaps (at least half the widest): they set apart what
            # spans the columns (titles, footers); the narrow gaps between the rows of two
            # columns are left for the columns to keep
            cuts = sorted(y for y, g in zip(ys, widths) if g >= 0.5 * widths[0])
            cy = 0.5 * (y0[idx] + y1[idx])
            band = np.searchsorted(np.array(cuts), cy)
            out = []
            for b in range(len(cuts) + 1):
                sub = idx[band == b]
                if len(sub):
                    out += cut(sub, depth + 1) if len(sub) < len(idx) else rows(sub)
            return out
        return rows(idx)

    return cut(np.arange(n), 0)


def page_text(lines, mode=ORDER_DEFAULTS["mode"], column_gap=ORDER_DEFAULTS["column_gap"],
              column_lines=ORDER_DEFAULTS["column_lines"]):
    """The recognised :class:`~textseg.recognize.Line` objects as plain text: one line of
    text per line, in :func:`reading_order`; lines with no text are left out."""
    out = []
    for i in reading_order(lines, mode, column_gap, column_lines):
        t = lines[i].text.strip()
        if t:
            out.append(t)
    return "\n".join(out) + ("\n" if out else "")


def line_records(lines):
    """``[{"polygon", "score", "text", "confidence"}]`` per recognised line, input order
    (``score``: the detection score, or the confidence when the line had none)."""
    return [{"polygon": np.asarray(ln.polygon, np.float32), "text": ln.text,
             "confidence": float(ln.confidence),
             "score": float(ln.score) if ln.score is not None else float(ln.confidence)}
            for ln in lines]


def word_records(lines):
    """``[{"polygon", "score", "text", "confidence", "line"}]`` per recognised word, line by
    line (``line``: the index of its line; ``score``: the word's confidence)."""
    out = []
    for k, ln in enumerate(lines):
        for w in ln.words:
            out.append({"polygon": np.asarray(w.polygon, np.float32), "text": w.text,
                        "confidence": float(w.confidence), "score": float(w.confidence),
                        "line": k})
    return out


def word_texts(words, lines):
    """The text of each of the detector's ``words`` (polygons or ``(polygon, score)``) from
    the recognised ``lines``: the recognised words snapped to it, else those whose centre
    lies in it (joined by spaces); ``None`` where nothing was read. For writers that keep
    the detector's word boxes."""
    import cv2

    polys = [_poly(w).astype(np.float32).reshape(-1, 1, 2) for w in words]
    boxes = [(p[:, 0, 0].min(), p[:, 0, 1].min(), p[:, 0, 0].max(), p[:, 0, 1].max()) for p in polys]
    texts = [[] for _ in words]
    for ln in lines:
        for w in ln.words:
            k = w.detection
            if k is None:
                c = np.asarray(w.polygon, np.float64).reshape(-1, 2).mean(axis=0)
                for j, (b, p) in enumerate(zip(boxes, polys)):
                    if b[0] <= c[0] <= b[2] and b[1] <= c[1] <= b[3] and \
                            cv2.pointPolygonTest(p, (float(c[0]), float(c[1])), False) >= 0:
                        k = j
                        break
            if k is not None and 0 <= k < len(texts):
                texts[k].append(w.text)
    return [" ".join(t) if t else None for t in texts]
