"""Blocks (paragraphs, tables) and reading order of text lines, by recursive XY cuts.

Lines are boxes in the page frame (x along the reading direction, y down the page). A node
of the recursion is a set of lines; it is cut along the widest empty strip that crosses it
completely:

* **columns before rows:** a vertical strip at least ``col_gap`` line heights wide splits
  the node into columns, read left to right, each one to its end;
* unless the node is a **table**: when it can be cut both ways and its lines are short
  (median at most ``table_words`` words), it is cut into rows first, so cells are read
  row by row, left to right;
* a horizontal strip wider than ``section_gap`` heights (and than the widest vertical one)
  is cut first: headers and footers that sit above and below columns stay in place;
* otherwise rows are cut top to bottom (at every gap within ``tie`` of the widest).

Consecutive lines of a column that follow each other closely (gap at most ``para_gap``
heights, overlapping, of similar height) form a paragraph block; the lines of a table
node form one block of kind ``"table"``. The recursion handles nodes, never pixels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reading_order", "ORDER_DEFAULTS"]

ORDER_DEFAULTS = {
    "col_gap": 0.8,        # a column gutter: at least this x the line height wide
    "section_gap": 1.5,    # a horizontal gap this wide (x height) is cut before columns
    "table_words": 3,      # a node that cuts both ways with lines this short is a table
    "para_gap": 0.9,       # lines closer than this (x height) are one paragraph
    "para_height": 1.4,    # ... if their heights differ by at most this factor
    "tie": 0.75,           # cut at every gap at least this x the widest one
}


def _gaps(lo, hi, min_gap):
    """Empty strips across intervals [lo, hi]: list of (position, width) wider than min_gap."""
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], hi[order]
    reach = np.maximum.accumulate(hi)
    width = lo[1:] - reach[:-1]
    k = np.flatnonzero(width > min_gap)
    return [(float(reach[i] + 0.5 * width[i]), float(width[i])) for i in k]


def reading_order(boxes, heights, n_words=None, vertical=None, **options):
    """Order lines and group them into blocks.

    ``boxes``: (L, 4) ``x0, y0, x1, y1`` in the page frame; ``heights``: (L,) line heights;
    ``n_words``: (L,) words per line (tables have short lines); ``vertical``: (L,) bool,
    lines across the page's direction (never joined with the others into a paragraph).
    Returns ``[(kind, [line index, ...]), ...]``: the blocks in reading order, each with
    its lines in reading order.
    """
    opts = {**ORDER_DEFAULTS, **options}
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = len(b)
    if n == 0:
        return []
    h = np.asarray(heights, np.float64)
    words = np.ones(n) if n_words is None else np.asarray(n_words, np.float64)
    vert = np.zeros(n, bool) if vertical is None else np.asarray(vertical, bool)
    hmed = float(np.median(h[~vert])) if (~vert).any() else float(np.median(h))
    hmed = max(hmed, 1e-6)
    out = []
    stack = [(np.arange(n), False)]
    # depth-first, in order: a stack of nodes, each pushed with its children reversed
    while stack:
        idx, in_table = stack.pop()
        if len(idx) == 1:
            out.append(("table" if in_table else "text", idx))
            continue
        x0, y0, x1, y1 = b[idx].T
        xs = _gaps(x0, x1, opts["col_gap"] * hmed)
        ys = _gaps(y0, y1, 0.0)
        wx = max((w for _, w in xs), default=0.0)
        wy = max((w for _, w in ys), default=0.0)
        table = in_table or (bool(xs) and bool(ys)
                             and np.median(words[idx]) <= opts["table_words"])
        if ys and (not xs or table or (wy >= opts["section_gap"] * hmed and wy > wx)):
            cuts, key = [p for p, w in ys if w >= opts["tie"] * wy], 0.5 * (y0 + y1)
        elif xs:
            cuts, key = [p for p, w in xs if w >= opts["tie"] * wx], 0.5 * (x0 + x1)
        else:
            # nothing crosses: lines top to bottom by centre, then left to right
            o = idx[np.lexsort((0.5 * (x0 + x1), 0.5 * (y0 + y1)))]
            out.append(("table" if in_table else "text", o))
            continue
        part = np.searchsorted(np.asarray(sorted(cuts)), key)
        children = [(idx[part == k], table) for k in range(len(cuts) + 1) if (part == k).any()]
        stack.extend(children[::-1])
    return _paragraphs(out, b, h, vert, opts)


def _paragraphs(leaves, b, h, vert, opts):
    """Merge consecutive single-line leaves of text into paragraphs; tables into one block."""
    blocks = []
    for kind, idx in leaves:
        idx = [int(i) for i in idx]
        if blocks:
            pk, prev = blocks[-1]
            if kind == "table" and pk == "table" and _same_table(prev, idx, b, h):
                prev.extend(idx)
                continue
            if kind == "text" and pk == "text" and _continues(prev[-1], idx[0], b, h, vert, opts):
                prev.extend(idx)
                continue
        blocks.append((kind, list(idx)))
    return blocks


def _same_table(prev, idx, b, h):
    # rows of one table follow each other within a line height or two
    gap = b[idx, 1].min() - b[prev, 3].max()
    return gap <= 2.0 * float(np.median(h[prev + idx]))


def _continues(a, c, b, h, vert, opts):
    if vert[a] or vert[c]:
        return False
    ha, hc = h[a], h[c]
    if max(ha, hc) > opts["para_height"] * min(ha, hc):
        return False
    gap = b[c, 1] - b[a, 3]
    if not (-0.3 * min(ha, hc) <= gap <= opts["para_gap"] * max(ha, hc)):
        return False
    return min(b[a, 2], b[c, 2]) > max(b[a, 0], b[c, 0])  # overlap along the line
