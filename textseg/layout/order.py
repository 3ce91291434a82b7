"""Blocks (paragraphs, tables) and reading order of text lines, by recursive XY cuts.

Lines are boxes in the page frame (x along the reading direction, y down the page). A node
of the recursion is a set of lines; it is cut along the widest empty strip that crosses it
completely:

* **columns before rows:** a vertical strip at least ``col_gap`` line heights wide splits
  the node into columns, read left to right, each one to its end;
* a horizontal strip wider than ``section_gap`` heights (and than the widest vertical one)
  is cut first: headers and footers that sit above and below columns stay in place;
* a **table** is cut into rows first, so that cells are read row by row, left to right:
  a node that can be cut both ways, whose lines mostly (``table_rows``) have a line
  beside them on the same row in another column, and none of whose columns is a text
  column (at least ``column_width`` heights wide, ``column_lines`` of its lines filling
  ``column_fill`` of the width with ``column_words`` words or more: paragraphs run the
  column's width, cells vary); runs of rows of several cells inside a column are
  tables too;
* otherwise rows are cut top to bottom (at every gap within ``tie`` of the widest).

Consecutive lines of a column that follow each other closely (gap at most ``para_gap``
heights, overlapping, of similar height, their pitch within ``para_pitch`` of the page's
typical pitch: a paragraph break adds space) form a paragraph block; the lines of a table
node form one block of kind ``"table"``. The recursion handles nodes, never pixels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reading_order", "ORDER_DEFAULTS"]

ORDER_DEFAULTS = {
    "col_gap": 0.8,        # a column gutter: at least this x the line height wide
    "section_gap": 1.5,    # a horizontal gap this wide (x height) is cut before columns
    "column_width": 8.0,   # a text column is at least this wide (x height) ...
    "column_fill": 0.7,    # ... and this share of its width is filled ...
    "column_lines": 0.4,   # ... by at least this share of its lines
    "column_words": 3,     # ... of at least this many words (median)
    "para_gap": 0.9,       # lines closer than this (x height) are one paragraph ...
    "para_height": 1.4,    # ... if their heights differ by at most this factor ...
    "para_pitch": 0.15,    # ... and their pitch is within this of the page's typical one
    "tie": 0.75,           # cut at every gap at least this x the widest one
    "row_slack": 0.15,     # rows overlapping by up to this x their height still part
    "table_rows": 0.75,    # ... and this share of its lines has a line beside it in a row
}


def _is_row(b, col_gap):
    """One row (no horizontal gap) of 2+ cells (vertical gaps)?"""
    return (len(b) >= 2 and not _gaps(b[:, 1], b[:, 3], 0.0)
            and bool(_gaps(b[:, 0], b[:, 2], col_gap)))


def _text_column(b, words, cuts, hmed, opts):
    """Is one of the columns of the cuts a column of text: wide, mostly filled by its lines
    (a paragraph's lines run the column's width; table cells vary), lines of several
    words? A table has no such column; a page of columns has, even with a table in one."""
    part = np.searchsorted(np.asarray(sorted(cuts)), 0.5 * (b[:, 0] + b[:, 2]))
    width = b[:, 2] - b[:, 0]
    for k in np.unique(part):
        sel = part == k
        if sel.sum() < 2:
            continue
        span = b[sel, 2].max() - b[sel, 0].min()
        full = width[sel] >= opts["column_fill"] * span
        if (span >= opts["column_width"] * hmed and full.mean() >= opts["column_lines"]
                and np.median(words[sel][full]) >= opts["column_words"]):
            return True
    return False


def _row_aligned(b, cuts, share):
    """Do at least ``share`` of the lines (boxes ``b``) have a line on the same row (their
    heights overlap by half) in another column of the cuts?"""
    part = np.searchsorted(np.asarray(sorted(cuts)), 0.5 * (b[:, 0] + b[:, 2]))
    y0, y1 = b[:, 1], b[:, 3]
    h = np.maximum(y1 - y0, 1e-6)
    overlap = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
    same_row = overlap >= 0.5 * np.minimum(h[:, None], h[None, :])
    beside = (same_row & (part[:, None] != part[None, :])).any(axis=1)
    return beside.mean() >= share


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
    ``n_words``: (L,) words per line; ``vertical``: (L,) bool,
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
    words = np.full(n, 10.0) if n_words is None else np.asarray(n_words, np.float64)
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
        # rows may touch (loose boxes, tight leading): each line counts across the page
        # without a ``row_slack`` share of its height at top and bottom
        slack = np.where(vert[idx], 0.0, opts["row_slack"] * h[idx])
        ys = _gaps(y0 + slack, y1 - slack, 0.0)
        wx = max((w for _, w in xs), default=0.0)
        wy = max((w for _, w in ys), default=0.0)
        section = bool(ys) and wy >= opts["section_gap"] * hmed and wy > wx
        table = in_table or (bool(xs) and bool(ys) and not section
                             and _row_aligned(b[idx], [p for p, _ in xs], opts["table_rows"])
                             and not _text_column(b[idx], words[idx], [p for p, _ in xs],
                                                  hmed, opts))
        if ys and (section or table or not xs):
            cuts, key = [p for p, w in ys if w >= opts["tie"] * wy], 0.5 * (y0 + y1)
        elif xs:
            cuts, key = [p for p, w in xs if w >= opts["tie"] * wx], 0.5 * (x0 + x1)
        else:
            # nothing crosses (lines tilted against the page's skew overlap): lines top to
            # bottom by centre, then left to right, each a leaf of its own
            o = idx[np.lexsort((0.5 * (x0 + x1), 0.5 * (y0 + y1)))]
            out.extend(("table" if in_table else "text", [int(k)]) for k in o)
            continue
        part = np.searchsorted(np.asarray(sorted(cuts)), key)
        children = [idx[part == k] for k in range(len(cuts) + 1) if (part == k).any()]
        flags = [table] * len(children)
        if not table and ys and (section or not xs):
            # rows of cells one under another (a table inside a column): runs of 2+
            # children that are one row of several cells each
            row = [_is_row(b[c], opts["col_gap"] * hmed) for c in children]
            for k in range(len(children)):
                if row[k] and ((k > 0 and row[k - 1]) or (k + 1 < len(row) and row[k + 1])):
                    flags[k] = True
        stack.extend(list(zip(children, flags))[::-1])
    return _paragraphs(out, b, h, vert, opts)


def _pitch(a, c, b, h):
    """Centre distance of line c below line a, in units of the larger height (line boxes
    in the page frame grow with any tilt the page's skew leaves; centres do not)."""
    return (0.5 * (b[c, 1] + b[c, 3] - b[a, 1] - b[a, 3])) / max(h[a], h[c], 1e-6)


def _stacked(a, c, b, h, vert, opts):
    """Lines a and c one above the other in a column: text, similar heights, overlapping
    along the line, c below a by less than ``para_gap`` + 1 heights."""
    if vert[a] or vert[c] or max(h[a], h[c]) > opts["para_height"] * min(h[a], h[c]):
        return False
    if not 0.7 <= _pitch(a, c, b, h) <= 1.0 + opts["para_gap"]:
        return False
    return min(b[a, 2], b[c, 2]) > max(b[a, 0], b[c, 0])


def _paragraphs(leaves, b, h, vert, opts):
    """Merge consecutive single-line leaves of text into paragraphs; tables into one block.

    Lines stacked in a column continue a paragraph unless their pitch (centre distance
    over height) exceeds the page's typical pitch by ``para_pitch`` (the extra space of a
    paragraph break, measured against the page's own leading)."""
    pairs = [(p[1][-1], c[1][0]) for p, c in zip(leaves, leaves[1:])
             if p[0] == c[0] == "text" and len(p[1]) and len(c[1])]
    pitches = [_pitch(a, c, b, h) for a, c in pairs if _stacked(a, c, b, h, vert, opts)]
    typical = float(np.median(pitches)) if len(pitches) >= 3 else None
    blocks = []
    for kind, idx in leaves:
        idx = [int(i) for i in idx]
        if blocks:
            pk, prev = blocks[-1]
            if kind == "table" and pk == "table" and _same_table(prev, idx, b, h):
                prev.extend(idx)
                continue
            if kind == "text" and pk == "text" and _continues(prev[-1], idx[0], b, h, vert, opts,
                                                              typical):
                prev.extend(idx)
                continue
        blocks.append((kind, list(idx)))
    return blocks


def _same_table(prev, idx, b, h):
    # rows of one table follow each other within a line height or two
    gap = b[idx, 1].min() - b[prev, 3].max()
    return gap <= 2.0 * float(np.median(h[prev + idx]))


def _continues(a, c, b, h, vert, opts, typical=None):
    if not _stacked(a, c, b, h, vert, opts):
        return False
    return typical is None or _pitch(a, c, b, h) <= typical * (1.0 + opts["para_pitch"])
