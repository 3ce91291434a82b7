"""Group word boxes into text lines, for OCR engines that read whole lines.

    from textseg.layout import group_lines, segment_lines
    lines = group_lines(words)     # words, lines: list of (polygon float32 (N, 2), score)
    segments = segment_lines(words)

:func:`group_lines` gives visual rows (the rules below); :func:`segment_lines` cuts them
further into *segments*, runs of words with the normal word spacing of their page and
block, ending at any wider gap (column gutter, table cell, tab stop, receipt column):
see :func:`_segment_cuts` and :data:`SEGMENT_DEFAULTS`. Segments are what a line
recogniser reads well, and what receipts' and forms' ground truth counts.

Visual rows:

Two words join the same line when, in the frame of their reading direction,

* their directions agree (within ``max_angle`` degrees);
* they sit on the same row: their extents across the line overlap by at least
  ``min_overlap`` of the smaller height;
* their heights are compatible (ratio at most ``max_height_ratio``: a heading does not
  join body text; the ratio is generous because "a" and "(Q)" differ by 2x in one line);
* they are neighbours: each is the other's nearest word on that side;
* the gap between them is a word space: up to ``free_gap`` x the larger height always,
  up to ``max_gap`` x that height unless the gap lies on a *gutter*. A gutter is an empty
  strip at least ``gutter_width`` x the median word height wide that runs through the gap
  from ``gutter_rows`` heights above the pair to as far below, with words on both sides
  of it in the rows above or below. Column gutters and the space between table cells
  are such strips; the stretched spaces of justified text, and the aligned spaces of
  monospaced text next to short lines, are not (from boxes alone a vertical rule between
  table cells cannot be seen: this is what stands in for it).

Lines are the connected groups of such pairs. A line's polygon is the rectangle along the
line's direction that holds every corner of its words (clockwise from the top-left); its
score is the mean of its words' scores. A lone word keeps its own polygon.

The search is vectorised (sorted windows, numpy union-find, one occupancy grid with
summed-area tables for the gutters): 1,500 words take a few ms.
``python -m textseg.benchmarks.lines --data DIR`` measures the grouping on a data set with word
and line ground truth (ICDAR 2015 protocol). numpy and OpenCV only (no torch).
"""

from __future__ import annotations

import numpy as np

__all__ = ["group_lines", "segment_lines", "line_labels", "label_boxes", "LINE_DEFAULTS",
           "SEGMENT_DEFAULTS"]

#: default grouping options (see the module docstring)
LINE_DEFAULTS = {
    "free_gap": 1.0,          # gaps up to this (x the larger height) always join
    "max_gap": 4.0,           # gaps above this never join; in between unless on a gutter
    "gutter_rows": 3.0,       # a gutter runs this many heights above and below the pair
    "gutter_width": 0.5,      # ... and is at least this wide (x the median word height)
    "min_overlap": 0.6,       # vertical overlap / smaller height
    "max_height_ratio": 2.5,  # larger height / smaller height
    "max_angle": 10.0,        # degrees between the two words' directions
}

#: segment options (:func:`segment_lines`): gaps in row heights (median word height)
SEGMENT_DEFAULTS = {
    "segment_gap": 2.2,       # a gap wider than this x the block's word space ...
    "min_segment_gap": 0.5,   # ... and than this (row heights) ends a segment on a gutter;
    "split_gap": 4.0,         # one wider than this x the word space ...
    "min_split_gap": 0.9,     # ... and than this ends it anyway, unless the row's own
    "row_gap": 1.8,           # spaces are as wide (within this factor: justified lines)
    "narrow_page": 30.0,      # a page whose text spans fewer row heights across than this
    "narrow_row_gap": 0.0,    # ... is a receipt's column, not justified text: its row_gap
    "narrow_split_gap": 2.0,  # ... and its split_gap (receipt columns: 2+ spaces apart)
    "column_gap": 1.3,        # x the row's spaces: a gap on an aligned gutter ends a segment
    "min_space": 0.05,        # smaller gaps are letter gaps (a word cut in pieces)
    "block_rows": 6.0,        # the block: rows this many row heights above and below
    "default_space": 0.3,     # word space where a page has too few gaps to measure it
    "mark_height": 0.45,      # lines of words all under this x the text height are marks
    "segment_gutter_width": 0.5,  # gutters that end segments: this wide (x median height)
    "table_words": 2,         # a gap between two words that each line up with this many
    "table_gap": 0.6,         # ... words of the rows around (0: the rule is off), wider
    "table_space": 1.5,       # ... than this (row heights) and this x the word space, ends it
    "table_tol": 0.15,        # ... lined up: edges within this x the row height
    "table_rows": 3.0,        # ... and centres within this many row heights up or down
    "table_repeat_rows": 10.0,  # or: both edges repeated in other rows this far (0: off)
    "table_repeat_need": 4,   # ... in at least this many rows
    "table_uniform": 1.3,     # ... unless the row's word gaps all agree within this factor
    "table_gutter_rows": 1.0,  # the word before the gap need not line up when the gap is
    "table_gutter_width": 0.3,  # ... a gutter this many rows up or down, this wide (0: off)
    "min_score": 0.0,         # segments whose words' mean score is under this are weak:
    #                           dropped like marks (a model's infer.line_score; 0: off)
}


def _word_geometry(polys):
    """Per word: quad (M, 4, 2), centre, unit reading direction, length and height along it.

    The page's dominant axis comes from the long edges of elongated words; each word then
    reads along whichever of its edges is closer to that axis (so a tall "l" or "1" still
    reads sideways), pointing the same way as the axis. Pages rotated by any angle group
    the same; one page holds one dominant direction (words off it by more than
    ``max_angle`` join nothing).
    """
    try:
        quads = np.asarray(polys, dtype=np.float64)  # (M, 4, 2) when every polygon is a quad
    except ValueError:  # ragged: some polygons have more points
        quads = None
    if quads is None or quads.shape[1:] != (4, 2):
        quads = np.stack([_as_quad(p) for p in polys])
    along = (quads[:, 1] - quads[:, 0]) + (quads[:, 2] - quads[:, 3])  # top + bottom edges
    side = (quads[:, 2] - quads[:, 1]) + (quads[:, 3] - quads[:, 0])   # right + left edges
    la, ls = np.linalg.norm(along, axis=1), np.linalg.norm(side, axis=1)
    # the page axis: long edges of elongated words, weighted by length (long words dominate;
    # a tall single letter such as "l" weighs little)
    long_dir = np.where((ls > la)[:, None], side, along)
    elongated = np.maximum(la, ls) >= 2.0 * np.minimum(la, ls)
    ref = _dominant_direction(long_dir[elongated] if elongated.any() else along)
    # each word reads along whichever of its edges is closer to that axis
    use_side = np.abs(_unit(side) @ ref) > np.abs(_unit(along) @ ref)
    d = _unit(np.where(use_side[:, None], side, along))
    d[~d.any(axis=1)] = ref
    d *= np.where(d @ ref < 0, -1.0, 1.0)[:, None]
    length = 0.5 * np.where(use_side, ls, la)  # mean length of the two edges along d
    n = np.stack([-d[:, 1], d[:, 0]], axis=1)
    pn = np.einsum("mkc,mc->mk", quads, n)
    height = np.maximum(pn.max(1) - pn.min(1), 1e-3)
    return quads, quads.mean(axis=1), d, length, height, ref


def _unit(v):
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 1e-12)


def _as_quad(poly):
    p = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    if len(p) == 4:
        return p
    from ..geometry import min_area_quad  # polygons with more points: their rotated box

    return min_area_quad(p).astype(np.float64)


def _components(n, a, b):
    """Connected components of the graph with edges (a[k], b[k]) -> label per node (0..)."""
    label = np.arange(n)
    if len(a):
        while True:
            la, lb = label[a], label[b]
            low = np.minimum(la, lb)
            new = label.copy()
            np.minimum.at(new, la, low)
            np.minimum.at(new, lb, low)
            new = new[new]  # pointer jumping
            while True:
                nxt = new[new]
                if np.array_equal(nxt, new):
                    break
                new = nxt
            if np.array_equal(new, label):
                break
            label = new
    return np.unique(label, return_inverse=True)[1]


def _candidate_pairs(cy, half_window):
    """All (i, j), i != j, with |cy_j - cy_i| <= half_window[i] (sorted windows, no loops).

    A pair close enough for both windows comes out twice, once from each side."""
    order = np.argsort(cy, kind="stable")
    s = cy[order]
    lo = np.searchsorted(s, s - half_window[order], side="left")
    hi = np.searchsorted(s, s + half_window[order], side="right")
    counts = hi - lo
    i_sorted = np.repeat(np.arange(len(s)), counts)
    start = np.repeat(lo - np.cumsum(counts) + counts, counts)
    j_sorted = np.arange(counts.sum()) + start
    keep = i_sorted != j_sorted
    return order[i_sorted[keep]], order[j_sorted[keep]]


def _pairs(polys, max_angle, min_overlap, max_height_ratio):
    """Word geometry and the candidate links: mutual nearest neighbours on one row.

    Returns ``(geom, i, j, gap, hmax)``: ``geom`` = (quads, centre, d, length, height, ref,
    rot); pair k links word i[k] (left) to word j[k] (right) with ``gap`` along their
    direction and ``hmax`` the larger of their heights. Each word has at most one link on
    each side, so the links of a row form chains."""
    quads, centre, d, length, height, ref = _word_geometry(polys)
    m = len(polys)
    # page frame: the dominant reading direction; candidate pairs are words whose centres
    # are close across it (sorted windows)
    rot = np.array([ref, [-ref[1], ref[0]]])  # rows: along, across
    across, along = centre @ rot[1], centre @ rot[0]
    i, j = _candidate_pairs(across, height)
    # orient each pair left -> right, and keep one copy of those found from both sides
    # (|cy_i - cy_j| <= the height of each: the copy generated from the left word)
    left = along[j] > along[i]
    once = left | (np.abs(across[i] - across[j]) > height[j])
    i, j = np.where(left, i, j)[once], np.where(left, j, i)[once]

    # direction agreement (directions are unit vectors pointing along the reading order)
    ok = np.einsum("kc,kc->k", d[i], d[j]) >= np.cos(np.radians(max_angle))
    i, j = i[ok], j[ok]
    # pair frame: the mean direction of the two words
    u = d[i] + d[j]
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    nu = np.stack([-u[:, 1], u[:, 0]], axis=1)
    dx = np.einsum("kc,kc->k", centre[j] - centre[i], u)
    # extents in the pair frame, from the words' own lengths and heights
    yi, yj = np.einsum("kc,kc->k", centre[i], nu), np.einsum("kc,kc->k", centre[j], nu)
    hi, hj = height[i], height[j]
    overlap = np.minimum(yi + hi / 2, yj + hj / 2) - np.maximum(yi - hi / 2, yj - hj / 2)
    hmin, hmax = np.minimum(hi, hj), np.maximum(hi, hj)
    gap = dx - 0.5 * (length[i] + length[j])
    ok = ((overlap >= min_overlap * hmin) & (hmax <= max_height_ratio * hmin)
          & (gap > -0.5 * hmax) & (dx > 0))
    i, j, gap, hmax = i[ok], j[ok], gap[ok], hmax[ok]

    # only nearest neighbours: j is i's nearest on the right AND i is j's nearest on the left
    k = np.arange(len(i))
    mutual = (_argmin_by_group(i, gap, m)[i] == k) & (_argmin_by_group(j, gap, m)[j] == k)
    geom = (quads, centre, d, length, height, ref, rot)
    return geom, i[mutual], j[mutual], gap[mutual], hmax[mutual]


def _row_links(geom, i, j, gap, hmax, free_gap, max_gap, gutter_rows, gutter_width):
    """The visual-row rule of :func:`group_lines`: which links join (bool per link)."""
    quads, height, rot = geom[0], geom[4], geom[6]
    link = gap <= free_gap * hmax
    wide = ~link & (gap <= max_gap * hmax)
    if wide.any():
        # a wide gap joins words unless it lies on a gutter: an empty vertical strip that
        # runs across the neighbouring rows (columns, table cells), as the stretched spaces
        # of justified text do not
        link[wide] = ~_on_gutter(quads, rot, height, i[wide], j[wide], hmax[wide],
                                 gutter_rows, gutter_width)
    return link


def _check_options(options, allowed):
    bad = sorted(set(options) - set(allowed))
    if bad:
        raise TypeError(f"unknown line option(s): {', '.join(bad)}")
    return {**allowed, **options}


def line_labels(detections, segment=True, rules=None, **options):
    """Line membership of each word: ``(label (M,) int, info)``, labels 0..L-1.

    ``segment``: cut visual rows into segments at gaps wider than the word spacing
    (:func:`segment_lines`); otherwise visual rows (:func:`group_lines`). ``info`` holds
    the geometry (``direction`` (M, 2) unit reading directions, ``height`` (M,), ``axis``
    the page's dominant direction) and the spacing found (``word_space``: the page's
    normal word space in line heights, ``segment_gap`` the threshold). ``rules``: a
    :class:`~textseg.layout.rules.RuleMap` of the page (same pixels as the detections):
    no row runs across a drawn rule (a ruled table's or form's cell boundary), and a
    segment's gaps are measured between ink: an unboxed mark in a gap (the "-" of "WA33 -
    12/144", the ":" of "Date : 05/09/2017") leaves its widest empty part
    (:meth:`~textseg.layout.rules.RuleMap.mark_gaps`)."""
    opts = _check_options(options, {**LINE_DEFAULTS, **SEGMENT_DEFAULTS})
    m = len(detections)
    polys = [d[0] for d in detections]
    geom, i, j, gap, hmax = _pairs(polys, opts["max_angle"], opts["min_overlap"],
                                   opts["max_height_ratio"])
    link = _row_links(geom, i, j, gap, hmax, opts["free_gap"], opts["max_gap"],
                      opts["gutter_rows"], opts["gutter_width"])
    if rules is not None and link.any():  # a drawn rule between two words ends the row
        link[link] = ~rules.crosses(geom[0], i[link], j[link], geom[5])
    label = _components(m, i[link], j[link])
    info = {"direction": geom[2], "height": geom[4], "length": geom[3], "axis": geom[5],
            "quads": geom[0], "word_space": None, "segment_gap": None}
    if segment and link.any():
        i, j, gap = i[link], j[link], gap[link]
        if rules is not None:  # unboxed marks in a gap ("WA33 - 12/144") split it
            gap = rules.mark_gaps(geom[0], i, j, geom[5], gap)
        cut, space, thresh = _segment_cuts(geom, label, i, j, gap, opts)
        info["word_space"], info["segment_gap"] = space, thresh
        keep = ~cut
        label = _components(m, i[keep], j[keep])
    info["mark"] = _marks(geom[4], geom[3], label, opts["mark_height"])
    if opts["min_score"] > 0:  # weak segments go the way of marks
        score = np.array([1.0 if d[1] is None else float(d[1]) for d in detections])
        n = int(label.max()) + 1
        mean = np.bincount(label, weights=score, minlength=n) / np.bincount(label, minlength=n)
        info["mark"] |= mean < opts["min_score"]
    return label, info


def _marks(height, length, label, ratio):
    """Per line label: is it a mark rather than text (every word under ``ratio`` x the
    page's text height: dashed and double rules, specks, lone dots)? The text height is
    the median word height weighted by word area (the many small dashes of a rule weigh
    little against the words of the text)."""
    area = np.maximum(length * height, 1e-9)
    order = np.argsort(height, kind="stable")
    cum = np.cumsum(area[order])
    text_h = float(height[order][np.searchsorted(cum, 0.5 * cum[-1])])
    tallest = np.zeros(int(label.max()) + 1)
    np.maximum.at(tallest, label, height)
    return tallest < ratio * text_h


def _group_median(group, value, n, q=0.5):
    """Per group id 0..n-1: the q-quantile (lower) of value; nan where a group is empty."""
    out = np.full(n, np.nan)
    if len(group) == 0:
        return out
    order = np.lexsort((value, group))
    g, v = group[order], value[order]
    count = np.bincount(g, minlength=n)
    start = np.cumsum(count) - count
    has = count > 0
    pick = start[has] + np.floor(q * (count[has] - 1)).astype(int)
    out[has] = v[pick]
    return out


_LOG_BINS = np.linspace(np.log(0.03), np.log(3.0), 101)  # 100 bins, 4.7% wide
_KERNEL = np.exp(-0.5 * (np.arange(-6, 7) / 2.5) ** 2)     # ~12% standard deviation


def _spacing_modes(group, g, n, floor):
    """The normal word space of each group 0..n-1 of normalised gaps ``g`` (those above
    ``floor``): the mode of their log-distribution (a smoothed histogram), so that the
    fewer, wider gaps of table cells and tab stops do not pull it as they would pull a
    mean or a median. Also the count of gaps per group. One 2D histogram, no loop."""
    ok = (g > floor) & (g < 3.0)
    group, g = group[ok], g[ok]
    b = np.clip(np.searchsorted(_LOG_BINS, np.log(g)) - 1, 0, 99)
    hist = np.bincount(group * 100 + b, minlength=n * 100).reshape(n, 100).astype(float)
    pad = np.pad(hist, ((0, 0), (6, 6)))
    smooth = sum(_KERNEL[k] * pad[:, k:k + 100] for k in range(13))
    k = np.argmax(smooth, axis=1)
    return np.exp(0.5 * (_LOG_BINS[k] + _LOG_BINS[k + 1])), np.bincount(group, minlength=n)


def _spacing_mode(g, floor):
    """:func:`_spacing_modes` of one set of gaps (nan with fewer than 3)."""
    mode, count = _spacing_modes(np.zeros(len(g), np.int64), g, 1, floor)
    return float(mode[0]) if count[0] >= 3 else np.nan


def _segment_cuts(geom, row, i, j, gap, opts):
    """Which row links (i[k] -> j[k], ``gap``) are wider than a word space (bool per link).

    Gaps are measured in row heights (the upper quartile of the word heights of the
    visual row: steadier than the pair's own heights, which vary with ascenders and
    descenders, and punctuation is short). The normal word space is the mode of those
    gaps over the block (the rows around a row, within ``block_rows`` row heights and
    overlapping it along the line; 12 gaps at least), else over the page. The row's own
    spacing is the lower quartile of its word gaps (those over ``min_space``; rows of 2+).
    A gap is a segment break when

    * it is wider than ``split_gap`` x the word space (and ``min_split_gap``), and than
      ``row_gap`` x the row's own spacing (justified lines stretch every space of a row
      alike, and keep them); on a narrow page (its text spans fewer than ``narrow_page``
      row heights across: a receipt's 30 to 48 character columns, where no line is
      justified) ``narrow_row_gap`` takes the place of ``row_gap`` (0: every such gap
      ends the segment, as a header row "Desc   Qty   RM   Amt" should), and the word
      space is the page's where the block's is wider (a block of item rows, whose gaps
      are mostly column gaps, has a column gap for its mode); or
    * it is wider than ``segment_gap`` x the word space (and ``min_segment_gap``), not
      as wide as the row's spaces, and lies on a gutter (:func:`_on_gutter`, the strip
      running through the rows above or those below); or
    * it is wider than ``column_gap`` x the row's own spacing (and ``min_segment_gap``),
      lies on a gutter, and a word beside it lines up with a word of the rows around
      (:func:`_aligned`): columns and table cells do, rivers of justified text do not;
    * it is wider than ``table_space`` x the word space (the smaller of the page's and the
      block's) and than ``table_gap``, and each of its two words lines up with
      ``table_words`` words of the rows around (its left or right edge, within
      ``table_tol`` x the row height: :func:`_column_member`; the word before it need not
      when the gap is a gutter through the row above or below, ``table_gutter_rows`` and
      ``table_gutter_width``: a ragged cell such as an item name), in a row whose word gaps
      are not all alike (within ``table_uniform``: a justified line stretches every space
      the same): a table row, whose every gap is a cell gap, looks justified to the rules
      above. Measured on the shipped model's words: sroie-dev 0.866 -> 0.894,
      docbench-dev 0.970 -> 0.971, funsd-train 0.782 -> 0.782 (README "Page layout").
      Columns whose rows lie further apart (a receipt's price rows with item-name rows
      between) count too when the pair repeats: in ``table_repeat_need`` other rows within
      ``table_repeat_rows`` row heights, a word shares an edge of the word before the gap
      and a word of the same row an edge of the word after it (:func:`_repeated_pairs`).
    """
    quads, height, rot = geom[0], geom[4], geom[6]
    n_rows = int(row.max()) + 1
    row_h = _group_median(row, height, n_rows, q=0.75)  # punctuation marks are short
    r = row[i]
    g = gap / row_h[r]
    page = _spacing_mode(g, opts["min_space"])
    if not np.isfinite(page):
        page = opts["default_space"]
    space = _block_spacing(quads, rot, row, row_h, r, g, page, opts["block_rows"],
                           opts["min_space"])
    # the row's own spacing: lower quartile of its word gaps (rows of 2+), else none;
    # gaps under ``min_space`` are letter gaps of a word cut in pieces, not word spaces
    word_gap = g >= opts["min_space"]
    n_links = np.bincount(r[word_gap], minlength=n_rows)
    row_q = _group_median(r[word_gap], g[word_gap], n_rows, q=0.25)
    own = np.where(n_links[r] >= 2, row_q[r], space)
    row_gap, split_gap = opts["row_gap"], opts["split_gap"]
    if opts["narrow_page"] > 0 and _text_span(quads, rot, row_h) < opts["narrow_page"]:
        row_gap = opts["narrow_row_gap"]  # a receipt: no justified lines, and blocks of
        space = np.minimum(space, page)  # table rows whose mode is the column gap
        split_gap = opts["narrow_split_gap"]
    stretched = g <= row_gap * np.maximum(own, space)  # as wide as the row's spaces
    wide = g > np.maximum(opts["segment_gap"] * space, opts["min_segment_gap"])
    very = g > np.maximum(split_gap * space, opts["min_split_gap"])
    cut = very & ~stretched
    # wider than the row's own spaces, and than a word space: a column or cell gap when
    # it lies on a gutter and the words next to it line up with words of the rows around
    # (table columns and text columns do; the rivers of justified text do not). Gaps wider
    # than the block's word spaces in a row of narrower ones need the gutter only.
    loose = wide & ~stretched
    check = ~cut & (loose | ((g > opts["min_segment_gap"]) & (g > opts["column_gap"] * own)))
    if check.any():
        hc = row_h[r[check]]
        gutter = _on_gutter(quads, rot, height, i[check], j[check], hc,
                            opts["gutter_rows"], opts["segment_gutter_width"], one_side=True)
        sel = gutter & ~loose[check]
        if sel.any():
            gutter[sel] = _aligned(quads, rot, i[check][sel], j[check][sel], hc[sel],
                                   opts["gutter_rows"])
        cut[check] = gutter
    if opts["table_words"] > 0:
        # table cells: a gap wider than a word space (of the page, or of the block when
        # that is narrower: a block of table rows has column gaps for its mode) between
        # two words that each stand in a column (edges shared with words of the rows
        # around). Rows whose every gap is a cell gap look like justified lines to the
        # rules above; justified text does not line up word by word.
        t = ~cut & (g > np.maximum(opts["table_gap"],
                                   opts["table_space"] * np.minimum(space, page)))
        if t.any():
            # rows whose word gaps are all alike (within ``table_uniform``) are justified
            # text, however wide their spaces: cell gaps vary with the cells' contents
            gmin = np.full(n_rows, np.inf)
            gmax = np.zeros(n_rows)
            np.minimum.at(gmin, r[word_gap], g[word_gap])
            np.maximum.at(gmax, r[word_gap], g[word_gap])
            uniform = (n_links >= 3) & (gmax <= opts["table_uniform"] * gmin)
            t &= ~uniform[r]
        if t.any():
            hc, tol, need = row_h[r[t]], opts["table_tol"], int(opts["table_words"])
            win = opts["table_rows"]
            mi = _column_member(quads, rot, i[t], hc, win, tol, need)
            mj = _column_member(quads, rot, j[t], hc, win, tol, need)
            # a cell of ragged length (an item name) before a column: the word after the
            # gap stands in the column, and the gap is empty in the row above or below
            ragged = mj & ~mi
            if ragged.any() and opts["table_gutter_rows"] > 0:
                mi[ragged] = _on_gutter(quads, rot, height, i[t][ragged], j[t][ragged],
                                        hc[ragged], opts["table_gutter_rows"],
                                        opts["table_gutter_width"], one_side=True)
            both = mi & mj
            if opts["table_repeat_rows"] > 0 and (~both).any():
                # columns further apart (a receipt's item rows between its price rows):
                # the same two edges repeated in another row
                k = np.flatnonzero(~both)
                rep = _repeated_pairs(quads, rot, row, i[t][k], j[t][k], hc[k],
                                      opts["table_repeat_rows"], tol)
                both[k] = rep >= opts["table_repeat_need"]
            cut[t] = both
    return cut, page, opts["segment_gap"] * page


def _text_span(quads, rot, row_h):
    """How many row heights the page's text spans along its lines: from the 2nd to the
    98th percentile of the words' start and end (stray specks and a wide header or
    footer weigh little), over the median row height."""
    x = (quads @ rot[0])  # (M, 4) positions along the lines
    h = float(np.median(row_h))
    if len(x) < 2 or not h > 0:
        return np.inf
    return float(np.percentile(x.max(1), 98) - np.percentile(x.min(1), 2)) / h


def _aligned(quads, rot, i, j, h, rows, tol=0.15, need=1):
    """For each pair (i[k] left, j[k] right): does another word, in the rows within
    ``rows`` x h above or below, start where j starts or end where i ends (within ``tol``
    x h), in at least ``need`` other rows? Sorted windows on the edges, no loops."""
    p = quads @ rot.T
    x0, x1 = p[..., 0].min(1), p[..., 0].max(1)
    yc = p[..., 1].mean(1)
    ymid = 0.5 * (yc[i] + yc[j])
    out = np.zeros(len(i), bool)
    for edge, ref in ((x0, x0[j]), (x1, x1[i])):  # left-aligned, right-aligned columns
        out |= _edge_matches(edge, ref, yc, ymid, h, rows, tol) >= need
    return out


def _column_member(quads, rot, idx, h, rows, tol, need):
    """For each word idx[k]: do at least ``need`` words of the rows within ``rows`` x h[k]
    above or below share its left edge, or its right edge, within ``tol`` x h[k]? Sorted
    windows on the edges, no loops."""
    p = quads @ rot.T
    x0, x1 = p[..., 0].min(1), p[..., 0].max(1)
    yc = p[..., 1].mean(1)
    best = np.zeros(len(idx), np.int64)
    for edge in (x0, x1):
        best = np.maximum(best, _edge_matches(edge, edge[idx], yc, yc[idx], h, rows, tol))
    return best >= need


def _edge_matches(edge, ref, yc, y_ref, h, rows, tol):
    """For each query k: how many words have ``edge`` within ``tol`` x h[k] of ref[k] and
    their centre across the line more than 0.6 and at most ``rows`` + 0.5 x h[k] from
    y_ref[k] (another row, near)? One sorted window per query."""
    owner, cand = _edge_match_pairs(edge, ref, yc, y_ref, h, rows, tol)
    return np.bincount(owner, minlength=len(ref))


def _repeated_pairs(quads, rot, row, i, j, h, rows, tol):
    """For each pair (i[k] left, j[k] right): in how many other visual rows, within
    ``rows`` x h[k] across the line, does a word share an edge of i (left or right, within
    ``tol`` x h[k]) while a word of the same row shares an edge of j? Two columns repeated
    row after row are a table; a chance alignment in prose is seldom repeated for both."""
    p = quads @ rot.T
    x0, x1 = p[..., 0].min(1), p[..., 0].max(1)
    yc = p[..., 1].mean(1)
    n_rows = int(row.max()) + 1

    def codes(idx):
        out = []
        for edge in (x0, x1):
            owner, cand = _edge_match_pairs(edge, edge[idx], yc, yc[idx], h, rows, tol)
            out.append(owner * n_rows + row[cand])
        return np.unique(np.concatenate(out))

    both = np.intersect1d(codes(i), codes(j), assume_unique=True)
    return np.bincount(both // n_rows, minlength=len(i))


def _edge_match_pairs(edge, ref, yc, y_ref, h, rows, tol):
    """(owner, word) index pairs of :func:`_edge_matches`' matches."""
    order = np.argsort(edge, kind="stable")
    e = edge[order]
    lo = np.searchsorted(e, ref - tol * h, side="left")
    hi = np.searchsorted(e, ref + tol * h, side="right")
    n = hi - lo
    owner = np.repeat(np.arange(len(ref)), n)
    cand = order[np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)]
    dy = np.abs(yc[cand] - y_ref[owner])
    ok = (dy > 0.6 * h[owner]) & (dy <= (rows + 0.5) * h[owner])
    return owner[ok], cand[ok]


def _block_spacing(quads, rot, row, row_h, r, g, page, block_rows, floor):
    """Per link: the word space of its neighbourhood (rows within ``block_rows`` row
    heights across the line that overlap its row along it), else the page's."""
    n_rows = len(row_h)
    p = quads @ rot.T
    x0 = np.full(n_rows, np.inf)
    x1 = np.full(n_rows, -np.inf)
    np.minimum.at(x0, row, p[..., 0].min(1))
    np.maximum.at(x1, row, p[..., 0].max(1))
    yc = np.zeros(n_rows)
    np.add.at(yc, row, p[..., 1].mean(1))
    yc /= np.bincount(row, minlength=n_rows)
    # rows that carry gaps, and their neighbour rows (sorted windows across the line)
    rows_with = np.unique(r)
    if len(rows_with) < 2:
        return np.full(len(g), page)
    a, b = _candidate_pairs(yc[rows_with], block_rows * row_h[rows_with])
    a, b = rows_with[a], rows_with[b]
    ok = (np.minimum(x1[a], x1[b]) > np.maximum(x0[a], x0[b])) & (
        row_h[b] <= 1.5 * row_h[a]) & (row_h[a] <= 1.5 * row_h[b])
    a, b = a[ok], b[ok]
    # the gaps of each row's neighbourhood: its own and those of its neighbours
    by_row = np.argsort(r, kind="stable")
    count = np.bincount(r, minlength=n_rows)
    start = np.cumsum(count) - count
    src = np.concatenate([rows_with, a])
    dst = np.concatenate([rows_with, b])
    # gather: for each (row src, neighbour dst), the gaps of dst
    n = count[dst]
    owner = np.repeat(src, n)
    idx = by_row[np.repeat(start[dst], n) + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)]
    modes, count = _spacing_modes(owner, g[idx], n_rows, floor)
    out = np.where(count >= 12, modes, page)
    return out[r]


def group_lines(detections, max_gap=LINE_DEFAULTS["max_gap"],
                free_gap=LINE_DEFAULTS["free_gap"],
                min_overlap=LINE_DEFAULTS["min_overlap"],
                max_height_ratio=LINE_DEFAULTS["max_height_ratio"],
                max_angle=LINE_DEFAULTS["max_angle"],
                gutter_rows=LINE_DEFAULTS["gutter_rows"],
                gutter_width=LINE_DEFAULTS["gutter_width"], rules=None):
    """Group word detections ``[(polygon, score), ...]`` into visual lines
    ``[(quad, score), ...]`` (rows up to gutters; :func:`segment_lines` also cuts rows at
    wide gaps).

    Polygons follow the library convention (clockwise from the top-left, so the top edge
    runs along the reading direction); polygons with more than 4 points are replaced by
    their rotated bounding box for the geometry. Lines come back ordered by the image y
    of their centre, then x. See the module docstring for the rules and options (their
    defaults are :data:`LINE_DEFAULTS`). ``rules``: a page's
    :class:`~textseg.layout.rules.RuleMap`: no row runs across a drawn rule.
    """
    if len(detections) == 0:
        return []
    label, info = line_labels(detections, segment=False, rules=rules, max_gap=max_gap, free_gap=free_gap,
                              min_overlap=min_overlap, max_height_ratio=max_height_ratio,
                              max_angle=max_angle, gutter_rows=gutter_rows,
                              gutter_width=gutter_width)
    return _boxes_from_labels(detections, label, info)


def segment_lines(detections, drop_marks=True, rules=None, **options):
    """Word detections ``[(polygon, score), ...]`` -> line *segments* ``[(quad, score), ...]``:
    runs of words on one row with the normal word spacing of their block, cut at any
    wider gap (column gutter, table cell, tab stop, receipt column). ``drop_marks``: leave
    out segments that are marks, not text (all their words under ``mark_height`` x the
    page's text height: dashed rules, specks). ``rules``: a page's
    :class:`~textseg.layout.rules.RuleMap` (:func:`~textseg.layout.rules.rule_map`): no
    segment runs across a drawn rule. Options: those of :data:`LINE_DEFAULTS` and
    :data:`SEGMENT_DEFAULTS`. Ordered like :func:`group_lines`."""
    if len(detections) == 0:
        return []
    label, info = line_labels(detections, segment=True, rules=rules, **options)
    lines = _boxes_from_labels(detections, label, info, with_label=True)
    return [(p, s) for p, s, lab in lines if not (drop_marks and info["mark"][lab])]


def _boxes_from_labels(detections, label, info, with_label=False):
    polys = [d[0] for d in detections]
    scores = np.array([float(d[1]) for d in detections], dtype=np.float64)
    return _line_boxes(info["quads"], polys, scores, info["direction"], info["length"],
                       info["height"], label, with_label)


def _on_gutter(quads, rot, height, i, j, h, rows, width, one_side=False):
    """For each pair (i[k] left, j[k] right): does their gap lie on a gutter?

    A gutter is an empty vertical strip, at least ``width`` x the median height wide, that
    runs through the gap from ``rows`` x h above the pair to ``rows`` x h below it, with
    words on both sides of it in the rows above or in the rows below (so a short line
    next to a long one, or the aligned spaces of monospaced text, are no gutter).

    Word boxes, widened by half the strip width, are drawn into an occupancy grid in the
    page frame; summed-area tables answer every pair with array operations.
    """
    import cv2

    p = quads @ rot.T  # (M, 4, 2): x along the page direction, y across
    x0, x1 = p[..., 0].min(1), p[..., 0].max(1)
    y0, y1 = p[..., 1].min(1), p[..., 1].max(1)
    hmed = float(np.median(height))
    margin = (rows + 1) * float(h.max()) + 4 * float(h.max())
    org = np.array([x0.min(), y0.min()]) - margin
    span = np.array([x1.max(), y1.max()]) + margin - org
    cell = max(hmed * width / 2.0, 0.5, float(np.sqrt(span[0] * span[1] / 2e6)))
    gw, gh = (np.ceil(span / cell)).astype(int) + 2
    pad = 0.5 * width * hmed

    def grid(v, o, n, fn):
        return np.clip(fn((v - o) / cell).astype(int), 0, n)

    cx0, cx1 = grid(x0 - pad, org[0], gw, np.floor), grid(x1 + pad, org[0], gw, np.ceil)
    cy0, cy1 = grid(y0, org[1], gh, np.floor), grid(y1, org[1], gh, np.ceil)
    # corner marks whose 2D prefix sum is 1 inside each box
    flat = np.concatenate([cy0 * (gw + 1) + cx0, cy0 * (gw + 1) + cx1,
                           cy1 * (gw + 1) + cx0, cy1 * (gw + 1) + cx1])
    sign = np.repeat([1.0, -1.0, -1.0, 1.0], len(cx0))
    diff = np.bincount(flat, sign, minlength=(gh + 1) * (gw + 1)).reshape(gh + 1, gw + 1)
    occupied = (cv2.integral(diff, sdepth=cv2.CV_64F)[1:gh + 1, 1:gw + 1] > 0.5).astype(np.uint8)
    sat = cv2.integral(occupied)  # int32 (gh + 1, gw + 1): occupied cells above-left of [r, c]

    def count(r0, r1, c0, c1):  # occupied cells in rows [r0, r1), columns [c0, c1)
        return sat[r1, c1] - sat[r0, c1] - sat[r1, c0] + sat[r0, c0]

    # the gap of each pair, in grid columns, and its vertical window
    a = grid(x1[i], org[0], gw - 1, np.ceil)
    b = np.maximum(a, grid(x0[j], org[0], gw - 1, np.floor))
    yc = 0.25 * (y0[i] + y1[i] + y0[j] + y1[j])
    top = grid(yc - (rows + 0.5) * h, org[1], gh, np.floor)
    bottom = grid(yc + (rows + 0.5) * h, org[1], gh, np.ceil)
    own0 = grid(np.minimum(y0[i], y0[j]), org[1], gh, np.floor)
    own1 = grid(np.maximum(y1[i], y1[j]), org[1], gh, np.ceil)
    n = b - a + 1
    owner = np.repeat(np.arange(len(i)), n)
    cols = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + a[owner]
    reach = np.maximum(np.round(4 * h / cell).astype(int), 1)

    def strip(r0, r1, s0, s1):
        # the emptiest column of each gap over rows [r0, r1), and words on both sides of
        # it in rows [s0, s1)
        c = count(r0[owner], r1[owner], cols, cols + 1)
        best = _argmin_by_group(owner, c, len(i))
        col, empty = cols[best], c[best] == 0
        lo, hi = np.maximum(col - reach, 0), np.minimum(col + 1 + reach, gw)
        return empty & (count(s0, s1, lo, col) > 0) & (count(s0, s1, col + 1, hi) > 0)

    if one_side:
        # the strip need only run through the rows above, or through the rows below (a
        # heading across the columns above the first rows does not hide their gutter)
        return strip(top, own1, top, own0) | strip(own0, bottom, own1, bottom)
    c = count(top[owner], bottom[owner], cols, cols + 1)
    best = _argmin_by_group(owner, c, len(i))
    col, empty = cols[best], c[best] == 0
    # words on both sides of that column, in the rows above or in the rows below
    lo, hi = np.maximum(col - reach, 0), np.minimum(col + 1 + reach, gw)
    above = (count(top, own0, lo, col) > 0) & (count(top, own0, col + 1, hi) > 0)
    below = (count(own1, bottom, lo, col) > 0) & (count(own1, bottom, col + 1, hi) > 0)
    return empty & (above | below)


def _dominant_direction(v):
    """Length-weighted mean axis of vectors v (M, 2) (doubled angles: sign-free), unit."""
    ang = np.arctan2(v[:, 1], v[:, 0])
    w = np.linalg.norm(v, axis=1)
    c, s = np.sum(w * np.cos(2 * ang)), np.sum(w * np.sin(2 * ang))
    a = 0.5 * np.arctan2(s, c) if (c or s) else 0.0
    return np.array([np.cos(a), np.sin(a)])


def _argmin_by_group(group, value, n):
    """For each group id, the index (into value) of its smallest value; -1 where none."""
    out = np.full(n, -1, dtype=np.int64)
    if len(group) == 0:
        return out
    v = np.asarray(value, np.float64)
    span = float(v.max() - v.min()) if len(v) else 0.0
    # one float key: group id, then the value scaled into [0, 0.5)
    order = np.argsort(group + (v - v.min()) / (2 * span + 1e-12) if span > 0 else group,
                       kind="stable")
    g = group[order]
    first = np.ones(len(g), bool)
    first[1:] = g[1:] != g[:-1]
    out[g[first]] = order[first]
    return out


def _line_boxes(quads, polys, scores, d, length, height, label, with_label=False):
    from ..geometry import order_clockwise

    n_lines = int(label.max()) + 1
    count = np.bincount(label, minlength=n_lines)
    mean_score = np.bincount(label, weights=scores, minlength=n_lines) / count
    box, _ = label_boxes(quads, d, length, height, label)
    box = order_clockwise(box.astype(np.float32))
    # order: top to bottom, then left to right
    cen = box.mean(axis=1)
    member = np.full(n_lines, -1)
    member[label[::-1]] = np.arange(len(label))[::-1]
    out = []
    for line in np.lexsort((cen[:, 0], cen[:, 1])):
        if count[line] == 1:
            poly = np.asarray(polys[member[line]], dtype=np.float32).reshape(-1, 2)
        else:
            poly = box[line]
        out.append((poly, float(mean_score[line])) + ((int(line),) if with_label else ()))
    return out


def label_boxes(quads, d, length, height, label):
    """Per line label 0..L-1: its rectangle (L, 4, 2) along the line's direction holding
    every corner of its words (corners in reading order: top-left, top-right,
    bottom-right, bottom-left for text reading along the direction), and the direction
    (L, 2) unit: the words' (length-weighted), or for lines of 3+ words spread along
    it the principal axis of their centres (steadier than short words' box angles)."""
    n_lines = int(label.max()) + 1
    count = np.bincount(label, minlength=n_lines)
    # line direction: length-weighted sum of word directions
    dx = np.bincount(label, weights=d[:, 0] * length, minlength=n_lines)
    dy = np.bincount(label, weights=d[:, 1] * length, minlength=n_lines)
    norm = np.maximum(np.hypot(dx, dy), 1e-9)
    ux, uy = dx / norm, dy / norm
    # lines of several words: the principal axis of the word centres (length-weighted) is a
    # better estimate of the baseline than the mean of short words' noisy box angles
    cen_w = quads.mean(axis=1)
    wsum = np.bincount(label, weights=length, minlength=n_lines)
    mx = np.bincount(label, weights=length * cen_w[:, 0], minlength=n_lines) / wsum
    my = np.bincount(label, weights=length * cen_w[:, 1], minlength=n_lines) / wsum
    ex, ey = cen_w[:, 0] - mx[label], cen_w[:, 1] - my[label]
    sxx = np.bincount(label, weights=length * ex * ex, minlength=n_lines) / wsum
    syy = np.bincount(label, weights=length * ey * ey, minlength=n_lines) / wsum
    sxy = np.bincount(label, weights=length * ex * ey, minlength=n_lines) / wsum
    theta = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    px, py = np.cos(theta), np.sin(theta)
    flip = np.where(px * ux + py * uy < 0, -1.0, 1.0)
    px, py = px * flip, py * flip
    spread = np.sqrt(np.maximum(sxx + syy, 0.0))
    mean_h = np.bincount(label, weights=height, minlength=n_lines) / count
    use_pca = (count >= 3) & (spread > 2.0 * mean_h) & (px * ux + py * uy > np.cos(np.radians(15)))
    ux, uy = np.where(use_pca, px, ux), np.where(use_pca, py, uy)
    # extents of every corner of every member word along / across the line direction
    order = np.argsort(label, kind="stable")
    lab4 = np.repeat(label[order], 4)
    pts = quads[order].reshape(-1, 2)
    a = pts[:, 0] * ux[lab4] + pts[:, 1] * uy[lab4]
    b = -pts[:, 0] * uy[lab4] + pts[:, 1] * ux[lab4]
    starts = 4 * (np.cumsum(count) - count)  # every label 0..n_lines-1 has members
    amin, amax = np.minimum.reduceat(a, starts), np.maximum.reduceat(a, starts)
    bmin, bmax = np.minimum.reduceat(b, starts), np.maximum.reduceat(b, starts)
    corners_a = np.stack([amin, amax, amax, amin], axis=1)
    corners_b = np.stack([bmin, bmin, bmax, bmax], axis=1)
    box = np.stack([corners_a * ux[:, None] - corners_b * uy[:, None],
                    corners_a * uy[:, None] + corners_b * ux[:, None]], axis=2)
    return box, np.stack([ux, uy], axis=1)
