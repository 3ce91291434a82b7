"""Ruling lines of a page: the drawn rules of tables and forms, which end lines.

A visual row of words never runs across a ruled cell boundary: "1.20 | 8.63" in a ruled
table and "Dist/Asgmt # | C.F. #" on a form are two cells however close their words are.
The word boxes alone cannot tell such a gap from a word space; the ink can. A
:class:`RuleMap` finds the page's long thin strokes along each image axis (ink, opened
with a line as long as ``length`` text heights: letters are shorter, so only rules
remain) and answers, for many word pairs at once, whether a rule crosses the gap between
them (summed-area tables, no loops). The same ink measures gaps
(:meth:`RuleMap.mark_gaps`): a mark the detector left unboxed between two words (a dash,
a colon, an "@") stands in their gap, and a reader sees two small gaps, not one wide one.
numpy and OpenCV only.
"""

import cv2
import numpy as np

#: rule options (:class:`RuleMap`)
RULE_DEFAULTS = {
    "length": 2.0,       # a rule runs at least this many text heights (letters are shorter)
    "work_height": 16.0,  # the map is made where text is at most this tall (px): large
    #                       scans are reduced first, so time and memory stay bounded
    "block": 31,         # adaptive threshold: window (px, on the reduced page) ...
    "offset": 15,        # ... and how much darker than its mean a pixel is to be ink
    "cover": 0.7,        # a rule crosses a gap when its ink spans this share of the band
    "band": 0.6,         # the band: the middle share of the two words' common height
    "max_skew": 10.0,    # degrees: lines further off the image axes are not tested
    "mark_band": 0.6,    # marks in a gap: ink in this middle share of the words' height ...
    "min_mark": 0.08,    # ... over at least this many text heights of columns (no speck)
}


class RuleMap:
    """Vertical and horizontal rules of ``image`` (RGB/BGR or gray uint8), for pages whose
    text is ``text_height`` px tall (the words' median height). Each axis's map is made
    on first use."""

    def __init__(self, image, text_height, **options):
        unknown = set(options) - set(RULE_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown rule option(s): {', '.join(sorted(unknown))}")
        self.opts = {**RULE_DEFAULTS, **options}
        img = np.asarray(image)
        if img.ndim == 3:  # gray first: cheaper than reducing three channels
            img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY if img.shape[2] == 3 else cv2.COLOR_RGBA2GRAY)
        th = float(text_height) if text_height and np.isfinite(text_height) else 0.0
        self.scale = min(1.0, self.opts["work_height"] / th) if th > 0 else 1.0
        if self.scale < 1.0:  # large scans are reduced: a 600-DPI page is 35 Mpx
            img = cv2.resize(img, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        self.text_height = max(th * self.scale, 1.0)
        self._gray = np.ascontiguousarray(img, dtype=np.uint8)
        self._ink = None
        self._sums = {}
        self._csums = {}

    def _table(self, vertical):
        """Summed-area table (int32, (H+1, W+1)) of the rules along one axis."""
        if vertical not in self._sums:
            n = max(9, int(round(self.opts["length"] * self.text_height)))
            kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1, n) if vertical else (n, 1))
            rules = cv2.morphologyEx(self._ink_map(), cv2.MORPH_OPEN, kernel)
            self._sums[vertical] = cv2.integral(rules, sdepth=cv2.CV_32S)
        return self._sums[vertical]

    def _gap_bands(self, quads, i, j, along, across, band):
        """Per pair (i[k], j[k]), in the map's pixels: the gap between the two boxes along
        the row ``(g0, g1)`` and the middle ``band`` of their common height ``(b0, b1)``."""
        q = np.asarray(quads, np.float64) * self.scale
        lo, hi = q[..., along].min(1), q[..., along].max(1)
        c0, c1 = q[..., across].min(1), q[..., across].max(1)
        g0, g1 = np.minimum(hi[i], hi[j]), np.maximum(lo[i], lo[j])
        b0, b1 = np.maximum(c0[i], c0[j]), np.minimum(c1[i], c1[j])
        mid, half = 0.5 * (b0 + b1), 0.5 * band * (b1 - b0)
        return g0, g1, mid - half, mid + half

    def _ink_map(self):
        if self._ink is None:
            block = int(self.opts["block"]) | 1
            self._ink = cv2.adaptiveThreshold(self._gray, 1, cv2.ADAPTIVE_THRESH_MEAN_C,
                                              cv2.THRESH_BINARY_INV, block, self.opts["offset"])
        return self._ink

    def mark_gaps(self, quads, i, j, axis, gap):
        """The gaps between word pairs (i[k], j[k]) of one row reading along ``axis``
        (``gap`` (K,), in the image's pixels) with what ink stands in them taken out: the
        widest empty run of columns in each. A mark the detector left unboxed (the "-"
        of "WA33 - 12/144", the ":" of "Date : 05/09/2017", an "@" or "=") then halves
        the gap it sits in, as a reader sees it. Ink counts in the middle ``mark_band`` of
        the two words' common height, and only where it fills ``min_mark`` text heights
        of columns (a speck does not). Rows off the image axes keep their gaps."""
        gap = np.asarray(gap, np.float64)
        i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
        frame = _axis_frame(axis, self.opts["max_skew"])
        if frame is None or len(i) == 0:
            return gap
        along, across, vertical = frame
        ink = self._ink_map()
        if not vertical:
            ink = ink.T  # rows along y: columns are image rows
        g0, g1, b0, b1 = self._gap_bands(quads, i, j, along, across, self.opts["mark_band"])
        n_across, n_along = ink.shape
        k0 = np.clip(np.round(b0), 0, n_across).astype(np.int64)
        k1 = np.clip(np.round(b1), 0, n_across).astype(np.int64)
        a0 = np.clip(np.ceil(g0), 0, n_along).astype(np.int64)
        a1 = np.clip(np.floor(g1), 0, n_along).astype(np.int64)
        n = np.maximum(a1 - a0, 0)
        idx = np.flatnonzero((n > 2) & (k1 > k0))
        if len(idx) == 0:
            return gap
        # ink per column of each gap's band: one cumulative sum across the rows, per axis
        csum = self._csums.get(vertical)
        if csum is None:
            csum = np.zeros((n_across + 1, n_along), np.int32)
            np.cumsum(ink, axis=0, dtype=np.int32, out=csum[1:])
            self._csums[vertical] = csum
        nn = n[idx]
        owner = np.repeat(np.arange(len(idx)), nn)
        xs = np.repeat(a0[idx], nn) + np.arange(nn.sum()) - np.repeat(np.cumsum(nn) - nn, nn)
        has = (csum[k1[idx][owner], xs] - csum[k0[idx][owner], xs]) > 0
        marked = np.bincount(owner, weights=has, minlength=len(idx)) >= np.maximum(
            1.0, self.opts["min_mark"] * self.text_height)
        widest = _widest_empty_runs(has, owner, len(idx))
        out = gap.copy()
        k = idx[marked]
        # the widest run as a share of the box gap, in the caller's gap units
        share = widest[marked] / np.maximum(n[k], 1)
        out[k] = np.minimum(gap[k], gap[k] * share)
        return out

    def crosses(self, quads, i, j, axis):
        """For each pair (i[k], j[k]) of words (``quads`` (M, 4, 2) in the image's pixels)
        on one row that reads along unit ``axis``: does a rule cross the gap between them?
        The gap runs from the nearer ends of the two boxes; the band across it is the
        middle ``band`` of their common height. Rows further than ``max_skew`` from an
        image axis are not tested (False)."""
        i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
        out = np.zeros(len(i), bool)
        if len(i) == 0:
            return out
        frame = _axis_frame(axis, self.opts["max_skew"])
        if frame is None:
            return out
        # rows along x: vertical rules, gaps along x; rows along y (a page turned
        # sideways): horizontal rules
        along, across, vertical = frame
        g0, g1, b0, b1 = self._gap_bands(quads, i, j, along, across, self.opts["band"])
        table = self._table(vertical)
        n_across, n_along = (table.shape[0] - 1, table.shape[1] - 1) if vertical else \
            (table.shape[1] - 1, table.shape[0] - 1)
        a0 = np.clip(np.floor(g0), 0, n_along).astype(np.int64)
        a1 = np.clip(np.ceil(g1), 0, n_along).astype(np.int64)
        k0 = np.clip(np.round(b0), 0, n_across).astype(np.int64)
        k1 = np.clip(np.round(b1), 0, n_across).astype(np.int64)
        ok = (a1 > a0) & (k1 > k0)
        if vertical:  # rows of the table are y (across), columns x (along)
            s = table[k1, a1] - table[k0, a1] - table[k1, a0] + table[k0, a0]
        else:
            s = table[a1, k1] - table[a0, k1] - table[a1, k0] + table[a0, k0]
        out[ok] = s[ok] >= self.opts["cover"] * (k1 - k0)[ok]
        return out


def _axis_frame(axis, max_skew):
    """``(along, across, vertical)`` image axes for rows reading along ``axis``, or None
    when the rows are more than ``max_skew`` degrees off both image axes."""
    ax = np.abs(np.asarray(axis, np.float64))
    limit = np.cos(np.radians(max_skew))
    if ax[0] >= limit:
        return 0, 1, True
    if ax[1] >= limit:
        return 1, 0, False
    return None


def _widest_empty_runs(has, owner, n_owner):
    """Per owner 0..n-1 (``owner`` sorted, each owner's columns in order): the longest run
    of False in ``has`` (0 for owners without columns)."""
    count = np.bincount(owner, minlength=n_owner)
    start = np.cumsum(count) - count
    pos = np.flatnonzero(has)
    # each owner's run boundaries: one before its first column, its ink columns, its end
    b_pos = np.concatenate([start - 1, pos, start + count])
    b_own = np.concatenate([np.arange(n_owner), owner[pos], np.arange(n_owner)])
    order = np.lexsort((b_pos, b_own))
    b_pos, b_own = b_pos[order], b_own[order]
    runs = np.diff(b_pos) - 1
    same = b_own[1:] == b_own[:-1]
    out = np.full(n_owner, -1, np.int64)
    np.maximum.at(out, b_own[1:][same], runs[same])
    return out


def rule_map(image, detections, **options):
    """A :class:`RuleMap` of ``image`` for its word ``detections`` (their median height
    across their long side sets the text height), or None without image or words."""
    if image is None or len(detections) == 0:
        return None
    polys = [np.asarray(d[0], np.float64).reshape(-1, 2) for d in detections]
    if all(len(p) == 4 for p in polys):  # quads: the shorter of two adjacent sides
        q = np.stack(polys)
        heights = np.minimum(np.linalg.norm(q[:, 1] - q[:, 0], axis=1),
                             np.linalg.norm(q[:, 2] - q[:, 1], axis=1))
    else:
        heights = [min(cv2.minAreaRect(p.astype(np.float32))[1]) for p in polys]
    return RuleMap(image, float(np.median(heights)), **options)

