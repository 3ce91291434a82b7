"""Words -> an OCR-ready page: orientation, lines (segments), blocks, reading order.

    from textseg.layout import analyze
    layout = analyze(words, image)   # words: [(polygon, score), ...] in input-image pixels

1. Orientation and skew (:func:`.orientation.detect_orientation`; from the boxes alone
   without an image, or given as ``orientation=(angle, skew)``).
2. Words running across the page's direction (elongated, their long side within 30 degrees
   of the perpendicular: vertical labels, margin IDs) are set apart; each of the two sets is
   cut into line segments (:func:`.lines.line_labels`). The sense of vertical lines comes
   from the ink of their words when the image is given (else ``vertical_default``: 270,
   bottom to top, relative to an upright page).
3. Lines are ordered and grouped into blocks in the page frame (:func:`.order.reading_order`).

Every polygon is in the frame of the input image, starting at the element's top-left in its
own reading direction (an upside-down page gives words starting at their bottom-right
corner on screen, still clockwise). numpy and OpenCV only.
"""

from __future__ import annotations

import numpy as np

from ..geometry import order_clockwise, pad_polygons
from .lines import _as_quad, label_boxes, line_labels
from .order import reading_order
from .orientation import detect_orientation, ink_sense
from .page import Block, Line, PageLayout, Word
from .rules import RuleMap, rule_map

__all__ = ["analyze", "reading_start"]


def _unit_deg(deg):
    t = np.radians(deg)
    return np.array([np.cos(t), np.sin(t)])


def _deg(v):
    return float(np.degrees(np.arctan2(v[1], v[0])) % 360.0)


def reading_start(poly, direction):
    """``poly`` (N, 2) re-started at its top-left point for text reading along ``direction``
    (unit vector), keeping the point order (so a clockwise polygon stays clockwise)."""
    p = np.asarray(poly, np.float32).reshape(-1, 2)
    u = np.asarray(direction, np.float64)
    n = np.array([-u[1], u[0]])
    if len(p) == 4:
        edge = np.roll(p, -1, axis=0) - p  # edge k: p[k] -> p[k + 1]
        k = int(np.argmax(edge @ u))
    else:
        k = int(np.argmin(p @ u + p @ n))
    return np.roll(p, -k, axis=0)


def _reading_starts(polys, dirs):
    """:func:`reading_start` of every polygon (list of (N, 2)) with its direction (M, 2):
    quads at once (array operations), other polygons one by one."""
    out = [None] * len(polys)
    quad = [k for k, p in enumerate(polys) if np.asarray(p).reshape(-1, 2).shape[0] == 4]
    if quad:
        q = np.stack([np.asarray(polys[k], np.float32).reshape(4, 2) for k in quad])
        u = np.asarray(dirs, np.float64)[quad]
        edge = np.roll(q, -1, axis=1) - q
        k0 = np.argmax(np.einsum("mkc,mc->mk", edge, u), axis=1)
        idx = (k0[:, None] + np.arange(4)) % 4
        q = q[np.arange(len(q))[:, None], idx]
        for j, k in enumerate(quad):
            out[k] = q[j]
    for k, p in enumerate(polys):
        if out[k] is None:
            out[k] = reading_start(p, dirs[k])
    return out


def _rect(points, u):
    """The rectangle along unit ``u`` holding ``points`` (K, 2): (4, 2) clockwise (image
    coordinates) from its top-left in the reading frame, and its extents."""
    n = np.array([-u[1], u[0]])
    a, c = points @ u, points @ n
    a0, a1, c0, c1 = a.min(), a.max(), c.min(), c.max()
    corners = [(a0, c0), (a1, c0), (a1, c1), (a0, c1)]
    return np.array([x * u + y * n for x, y in corners], np.float32), (a0, c0, a1, c1)


def _cross_words(quads, axis_vec):
    """Words whose long side runs across the page axis (bool (M,)): elongated (2:1),
    within 30 degrees of the perpendicular, and longer than 1.8 x the page's text height
    (a tall single letter, "l" or "1", is no vertical word)."""
    along = (quads[:, 1] - quads[:, 0]) + (quads[:, 2] - quads[:, 3])
    side = (quads[:, 2] - quads[:, 1]) + (quads[:, 3] - quads[:, 0])
    la, ls = np.linalg.norm(along, axis=1), np.linalg.norm(side, axis=1)
    long_dir = np.where((ls > la)[:, None], side, along)
    long_len = 0.5 * np.maximum(la, ls)
    elongated = long_len >= 2.0 * 0.5 * np.minimum(la, ls)
    cos = np.abs(long_dir @ axis_vec) / np.maximum(np.linalg.norm(long_dir, axis=1), 1e-9)
    cross = elongated & (cos < np.cos(np.radians(60)))
    if not cross.any() or cross.all():
        return cross
    # the text height of the other words: their extent across the axis, area-weighted median
    n = np.array([-axis_vec[1], axis_vec[0]])
    pa, pn = quads @ axis_vec, quads @ n
    h, w = np.ptp(pn, axis=1)[~cross], np.ptp(pa, axis=1)[~cross]
    order = np.argsort(h, kind="stable")
    cum = np.cumsum((h * w)[order])
    text_h = h[order][np.searchsorted(cum, 0.5 * cum[-1])]
    return cross & (long_len >= 1.8 * text_h)


def analyze(words, image=None, *, orientation=None, segment=True, size=None, image_name="",
            vertical_default=270, drop_marks=True, line_options=None, order_options=None,
            pad=0.0, rules="auto"):
    """Build the :class:`~textseg.layout.page.PageLayout` of one page.

    ``words``: ``[(polygon, score), ...]`` (input-image pixels); ``image``: the page (RGB or
    gray uint8), used for the orientation's ink vote and its size; ``orientation``:
    ``(angle, skew)`` to skip detection; ``segment``: lines are segments
    (:func:`~textseg.layout.segment_lines`) rather than visual rows; ``size``: ``(width,
    height)`` when no image is given; ``drop_marks``: leave out lines that are marks, not
    text (dashed rules, specks: see :func:`~textseg.layout.segment_lines`; their words are
    in no line, ``Word.index`` tells which detections remain); ``line_options`` /
    ``order_options``: see
    :data:`~textseg.layout.LINE_DEFAULTS`, :data:`~textseg.layout.SEGMENT_DEFAULTS`,
    :data:`~textseg.layout.order.ORDER_DEFAULTS`; ``pad``: after grouping, grow every
    word and line across its line's direction by ``pad`` x its height on each side
    (:func:`textseg.geometry.pad_across`; a detector's ``infer.pad``); blocks hold the
    padded lines. ``rules``: the page's drawn rules, which no line crosses (table and
    form cells, :mod:`textseg.layout.rules`): ``"auto"`` finds them in ``image`` when one
    is given; a :class:`~textseg.layout.rules.RuleMap` (or an image to find them in, in
    the words' pixels); None: none.
    """
    words = list(words)
    if image is not None:
        height, width = np.asarray(image).shape[:2]
    elif size is not None:
        width, height = size
    else:
        pts = np.concatenate([np.asarray(w[0], np.float64).reshape(-1, 2) for w in words]) \
            if words else np.zeros((1, 2))
        width, height = int(np.ceil(pts[:, 0].max())), int(np.ceil(pts[:, 1].max()))
    if orientation is None:
        angle, skew, conf = detect_orientation(image, words)
    else:
        angle, skew = orientation
        conf = None
    layout = PageLayout(int(width), int(height), [], int(angle) % 360, float(skew), conf,
                        image_name)
    if not words:
        return layout
    u_page = _unit_deg(angle + skew)
    if isinstance(rules, str) and rules == "auto":
        rule_map_ = rule_map(image, words)
    elif rules is None or isinstance(rules, RuleMap):
        rule_map_ = rules
    else:
        rule_map_ = rule_map(rules, words)
    quads = np.stack([_as_quad(w[0]) for w in words])
    scores = [None if w[1] is None else float(w[1]) for w in words]
    cross = _cross_words(quads, u_page) if len(words) >= 2 else np.zeros(len(words), bool)

    lines = []  # (word indices, unit direction, vertical, rectangle)
    for group in (np.flatnonzero(~cross), np.flatnonzero(cross)):
        if len(group) == 0:
            continue
        vertical = bool(cross[group[0]])
        dets = [words[k] for k in group]
        label, info = line_labels(dets, segment=segment, rules=rule_map_,
                                  **(line_options or {}))
        d = info["direction"]
        if vertical:
            ref = np.array([-u_page[1], u_page[0]])  # the page's "down"
            theta = angle + skew + 90.0
            vote = 0.0
            if image is not None:
                vote, _, _ = ink_sense(image, quads[group], theta)
            want = ref if (vote > 0 or (vote == 0 and (vertical_default - 90) % 360 == 0)) else -ref
        else:
            want = u_page
        d = d * np.where(d @ want < 0, -1.0, 1.0)[:, None]
        boxes, dirs = label_boxes(info["quads"], d, info["length"], info["height"], label)
        for lab in range(int(label.max()) + 1):
            if drop_marks and info["mark"][lab]:
                continue
            u = dirs[lab] * (1.0 if dirs[lab] @ want >= 0 else -1.0)
            lines.append((group[label == lab], u, vertical, boxes[lab]))

    # line rectangles, and their boxes in the page frame
    n_page = np.array([-u_page[1], u_page[0]])
    if lines:
        dirs = np.array([u for _, u, _, _ in lines])
        rect_all = order_clockwise(np.array([box for *_, box in lines], np.float32))
        rect_all = np.stack(_reading_starts(list(rect_all), dirs))
    boxes, heights, n_words, vert, rects = [], [], [], [], []
    word_dir = np.zeros((len(words), 2))
    for li, (members, u, vertical, _) in enumerate(lines):
        # the words along the line, in reading order
        c = quads[members].mean(axis=1) @ u
        members = members[np.argsort(c, kind="stable")]
        rect = rect_all[li]
        c0, c1 = (rect @ np.array([-u[1], u[0]]))[[0, 3]]
        rects.append((members, u, vertical, rect, c1 - c0))
        word_dir[members] = u
        x, y = rect @ u_page, rect @ n_page
        if vertical:
            boxes.append((x.min(), y.min(), x.max(), y.max()))
        else:
            # across the page: the line's own height about its centre (a line tilted
            # against the page's skew, as perspective leaves them, would otherwise
            # overlap its neighbours and hide the gaps between rows)
            yc, hh = y.mean(), 0.5 * (c1 - c0)
            boxes.append((x.min(), yc - hh, x.max(), yc + hh))
        heights.append(c1 - c0)
        n_words.append(len(members))
        vert.append(vertical)
    blocks = reading_order(np.array(boxes), np.array(heights), np.array(n_words),
                           np.array(vert), **(order_options or {}))
    word_poly = _reading_starts([w[0] for w in words], word_dir)
    line_poly = [r[3] for r in rects]
    if pad:  # after grouping: words across their line's direction, lines across their own
        word_poly = pad_polygons(word_poly, pad, word_dir)
        line_poly = pad_polygons(line_poly, pad, [r[1] for r in rects])

    for kind, line_idx in blocks:
        block_lines = []
        for li in line_idx:
            members, u, vertical, rect, _ = rects[li]
            deg = _deg(u)
            ws = [Word(word_poly[k], scores[k], deg, index=int(k)) for k in members]
            sc = [s for s in (scores[k] for k in members) if s is not None]
            baseline = np.array([rect[3], rect[2]], np.float32)
            block_lines.append(Line(line_poly[li], ws, float(np.mean(sc)) if sc else None,
                                    _deg(u), baseline=baseline))
        pts = np.concatenate([line.polygon for line in block_lines])
        u = u_page if not rects[line_idx[0]][2] else rects[line_idx[0]][1]
        brect, _ = _rect(pts, u)
        sc = [line.score for line in block_lines if line.score is not None]
        layout.blocks.append(Block(brect, block_lines, float(np.mean(sc)) if sc else None,
                                   _deg(u), kind=kind))
    return layout.renumber()
