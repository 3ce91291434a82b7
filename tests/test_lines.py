import time

import numpy as np
import pytest

from textseg.layout.lines import LINE_DEFAULTS, group_lines
from textseg.geometry import order_clockwise, polygon_area

H = 20.0  # word height in the hand-made pages


def word(x, y, w, h=H):
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


def row(x, y, widths, gap=0.4 * H, h=H):
    out = []
    for w in widths:
        out.append(word(x, y, w, h))
        x += w + gap
    return out


def rotate(quads, deg, centre=(500.0, 500.0)):
    a = np.radians(deg)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    c = np.asarray(centre, np.float32)
    return [order_clockwise((q - c) @ r.T + c) for q in quads]


def lines_of(quads, scores=None, **kw):
    dets = [(q, 1.0 if scores is None else s) for q, s in zip(quads, scores or [None] * len(quads))]
    return group_lines(dets, **kw)


def members(lines, quads):
    """For each line, the indices of the words whose centre it contains."""
    import cv2

    out = []
    for poly, _ in lines:
        c = poly.astype(np.float32)
        out.append(sorted(i for i, q in enumerate(quads)
                          if cv2.pointPolygonTest(c, tuple(map(float, q.mean(0))), False) >= 0))
    return sorted(out)


def test_one_row_becomes_one_line():
    quads = row(100, 100, [60, 30, 80, 45, 20])
    lines = lines_of(quads, scores=[0.9, 0.8, 0.7, 0.6, 0.5])
    assert len(lines) == 1
    poly, score = lines[0]
    assert poly.shape == (4, 2) and poly.dtype == np.float32
    assert score == pytest.approx(0.7)
    assert np.allclose(poly, [[100, 100], [100 + 235 + 4 * 8, 100], [367, 120], [100, 120]], atol=0.5)
    assert polygon_area(poly) > 0  # clockwise in image coordinates


def test_empty_and_lone_word_keeps_its_polygon():
    assert group_lines([]) == []
    hexagon = np.array([[0, 0], [30, 0], [40, 10], [30, 20], [0, 20], [-5, 10]], np.float32)
    (poly, score), = group_lines([(hexagon, 0.3)])
    assert np.array_equal(poly, hexagon) and score == pytest.approx(0.3)


def paragraph(x, y, n_rows, width, rng, justified=False):
    """Rows of words filling ``width``; justified rows stretch their spaces."""
    quads, rows = [], []
    for r in range(n_rows):
        widths = list(rng.integers(15, 90, 12))
        while sum(widths) + 0.4 * H * (len(widths) - 1) > width:
            widths.pop()
        gap = (width - sum(widths)) / (len(widths) - 1) if justified else 0.4 * H
        rows.append(list(range(len(quads), len(quads) + len(widths))))
        quads += row(x, y + r * 1.5 * H, widths, gap=gap)
    return quads, rows


def test_two_columns_are_not_merged():
    rng = np.random.default_rng(1)
    left, rows_l = paragraph(100, 100, 8, 300, rng)
    right, rows_r = paragraph(100 + 300 + 1.5 * H, 100, 8, 300, rng)  # gutter 1.5 x height
    quads = left + right
    got = members(lines_of(quads), quads)
    expected = sorted(rows_l + [[i + len(left) for i in r] for r in rows_r])
    assert got == expected


def test_justified_wide_spaces_stay_in_the_line():
    rng = np.random.default_rng(2)
    quads, rows = paragraph(100, 100, 8, 300, rng, justified=True)
    gaps = [(quads[r[1]][0, 0] - quads[r[0]][1, 0]) / H for r in rows]
    assert max(gaps) > LINE_DEFAULTS["free_gap"]  # wider than a plain word space
    assert members(lines_of(quads), quads) == sorted(rows)


def test_big_gap_splits_a_row():
    quads = row(100, 100, [50, 40]) + row(100 + 90 + 8 + 6 * H, 100, [40, 60])
    got = members(lines_of(quads), quads)
    assert got == [[0, 1], [2, 3]]


def test_table_cells_are_not_merged():
    # 3 columns of left-aligned cells, 1.8 x height apart, over 6 rows
    quads, cells = [], []
    for r in range(6):
        y = 100 + r * 1.5 * H
        for x, ws in ((100, [40, 30]), (100 + 70 + 8 + 1.8 * H, [60]), (300, [25, 35])):
            cells.append(list(range(len(quads), len(quads) + len(ws))))
            quads += row(x, y, ws)
    assert members(lines_of(quads), quads) == sorted(cells)


def test_different_heights_are_not_merged():
    quads = [word(100, 100, 80, 60), word(190, 130, 50, 20), word(250, 130, 40, 20)]
    assert members(lines_of(quads), quads) == [[0], [1, 2]]


def test_rows_one_line_apart_are_not_merged():
    quads = row(100, 100, [50, 40, 60]) + row(100, 100 + 1.2 * H, [50, 40, 60])
    assert members(lines_of(quads), quads) == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize("deg", [5, 30, 90, 180, -60])
def test_rotated_page_rows_group(deg):
    rng = np.random.default_rng(3)
    left, rows_l = paragraph(100, 100, 6, 300, rng)
    right, rows_r = paragraph(100 + 300 + 1.5 * H, 100, 6, 300, rng)
    quads = rotate(left + right, deg)
    lines = lines_of(quads)
    expected = sorted(rows_l + [[i + len(left) for i in r] for r in rows_r])
    assert members(lines, quads) == expected
    a = np.radians(deg)
    for poly, _ in lines:
        assert polygon_area(poly) > 0
        top = poly[1] - poly[0] if len(poly) == 4 else None
        if top is not None and np.linalg.norm(top) > 3 * H:  # a multi-word line runs along the text
            cos = abs(np.dot(top / np.linalg.norm(top), [np.cos(a), np.sin(a)]))
            sin = abs(np.dot(top / np.linalg.norm(top), [-np.sin(a), np.cos(a)]))
            assert max(cos, sin) > 0.99
            # the rectangle holds every corner of its words
            import cv2

            for q in quads:
                if cv2.pointPolygonTest(poly.astype(np.float32), tuple(map(float, q.mean(0))), False) >= 0:
                    for pt in q:
                        assert cv2.pointPolygonTest(poly.astype(np.float32), tuple(map(float, pt)), True) > -0.6


def test_short_and_tall_single_letters_join_their_line():
    quads = [word(100, 100, 60, 14), word(166, 104, 8, 10),  # "a": x-height only
             word(180, 98, 4, 18), word(190, 100, 70, 14)]   # "l": tall and thin
    assert members(lines_of(quads), quads) == [[0, 1, 2, 3]]


def test_many_words_are_fast():
    rng = np.random.default_rng(4)
    quads = []
    for col in range(3):
        q, _ = paragraph(50 + col * 420, 50, 80, 380, rng, justified=True)
        quads += q
    assert len(quads) > 1400
    dets = [(q, 0.9) for q in quads]
    group_lines(dets)
    t = time.process_time()  # CPU time: other processes on the machine do not count
    lines = group_lines(dets)
    elapsed = time.process_time() - t
    assert len(lines) == 240
    assert elapsed < 0.25, elapsed  # a few ms on an idle core; generous for shared CI


# ----------------------------------------------------------------------------- segments

from textseg.layout.lines import SEGMENT_DEFAULTS, line_labels, segment_lines  # noqa: E402


def segments_of(quads, **kw):
    return segment_lines([(q, 1.0) for q in quads], **kw)


def test_segments_cut_rows_at_wide_gaps():
    # a receipt row "1 CTN    31.50    31.50 SR" among rows of plain text: word spaces
    # 0.3 x height, the two gaps 2 x height
    rng = np.random.default_rng(5)
    text, rows = paragraph(100, 100, 6, 400, rng)
    y = 100 + 6 * 1.5 * H
    a = row(100, y, [15, 45])
    b = row(100 + 60 + 8 + 2 * H, y, [60])
    c = row(100 + 60 + 8 + 4 * H + 60, y, [60, 30])
    quads = text + a + b + c
    n = len(text)
    got = members(segments_of(quads), quads)
    assert got == sorted(rows + [[n, n + 1], [n + 2], [n + 3, n + 4]])
    # visual rows keep the receipt row whole (no gutter: nothing above or below the gaps)
    assert [n, n + 1, n + 2, n + 3, n + 4] in members(lines_of(quads), quads)


def test_segments_keep_justified_and_two_column_text():
    rng = np.random.default_rng(6)
    left, rows_l = paragraph(100, 100, 8, 300, rng, justified=True)
    right, rows_r = paragraph(100 + 300 + 1.5 * H, 100, 8, 300, rng, justified=True)
    quads = left + right
    expected = sorted(rows_l + [[i + len(left) for i in r] for r in rows_r])
    assert members(segments_of(quads), quads) == expected


def test_segments_follow_the_page_spacing():
    # monospaced text: every space is 0.6 x height; a double space (1.2) is no cell gap
    quads, rows = [], []
    for r in range(8):
        widths = [36, 60, 24, 48, 36]
        rows.append(list(range(len(quads), len(quads) + 5)))
        quads += row(100, 100 + r * 1.5 * H, widths, gap=0.6 * H)
    # one sentence space
    quads[rows[3][3]] = quads[rows[3][3]] + np.float32([0.6 * H, 0])
    quads[rows[3][4]] = quads[rows[3][4]] + np.float32([0.6 * H, 0])
    label, info = line_labels([(q, 1.0) for q in quads])
    assert info["word_space"] == pytest.approx(0.6 * H / H, rel=0.15)
    assert members(segments_of(quads), quads) == sorted(rows)


def test_table_row_of_one_word_cells_is_cut():
    # "7  Timo Aaltonen" rows under a paragraph: a number column 1.0 x height (2.5 word
    # spaces) from the names, too narrow for the visual-row rule
    rng = np.random.default_rng(7)
    quads, cells = paragraph(100, 100, 5, 400, rng)
    for r in range(4):
        y = 100 + (r + 8) * 1.5 * H  # a blank space under the paragraph
        cells.append([len(quads)])
        quads += [word(100, y, 10)]
        cells.append([len(quads), len(quads) + 1])
        quads += row(100 + 10 + 1.0 * H, y, [40, 70])
    assert [0, 1] in [c[:2] for c in members(lines_of(quads), quads)]
    assert members(segments_of(quads), quads) == sorted(cells)


def test_segment_options_are_checked():
    with pytest.raises(TypeError):
        segment_lines([(word(0, 0, 10), 1.0)], no_such_option=1)
    assert segment_lines([]) == []
    assert set(SEGMENT_DEFAULTS) & set(LINE_DEFAULTS) == set()


def test_marks_are_not_segments():
    # a receipt: text rows, a dashed rule (dashes 0.2 x the text height) and a speck
    rng = np.random.default_rng(9)
    text, rows = paragraph(100, 100, 4, 300, rng)
    rule = [word(100 + k * 12, 100 + 4 * 1.5 * H + 8, 8, 0.2 * H) for k in range(25)]
    speck = [word(500, 300, 3, 3)]
    quads = text + rule + speck
    got = members(segments_of(quads), quads)
    assert got == sorted(rows)
    kept = members(segments_of(quads, drop_marks=False), quads)
    assert len(kept) == len(rows) + 2
    label, info = line_labels([(q, 1.0) for q in quads])
    assert info["mark"].sum() == 2


def test_many_words_segment_fast():
    rng = np.random.default_rng(4)
    quads = []
    for col in range(3):
        q, _ = paragraph(50 + col * 420, 50, 80, 380, rng, justified=True)
        quads += q
    dets = [(q, 0.9) for q in quads]
    segment_lines(dets)
    t = time.process_time()  # CPU time: other processes on the machine do not count
    lines = segment_lines(dets)
    elapsed = time.process_time() - t
    assert len(lines) == 240
    assert elapsed < 0.5, elapsed  # ~10 ms on an idle core; generous for shared CI


def _receipt_table():
    """Two item rows of a receipt between a header and a total whose words run across the
    gap after the item names (so no gutter runs through the rows around): a ragged item
    name of two words, a unit price and an amount (right-aligned, as the header's and the
    total's last words are), a quantity (left-aligned), cell gaps of 0.9-2 heights (the
    monospaced name's own space 0.6), under
    a line of text whose words are 0.3 heights apart. Returns (words, the word index lists
    of the item rows' cells)."""
    words = row(40, 20, [50, 40, 70, 30, 60], gap=0.3 * H)  # a line of text
    words += [word(40, 70, 110), word(156, 70, 54), word(228, 70, 24), word(262, 70, 58)]
    cells = []
    for y, (w1, w2, price, amount) in ((100, (60, 36, 40, 50)), (130, (50, 40, 45, 40))):
        name = row(40, y, [w1, w2], gap=0.6 * H)  # ends at 148 and 142 px
        cols = [name, [word(210 - price, y, price)], [word(228, y, 12)],
                [word(320 - amount, y, amount)]]
        for c in cols:
            cells.append(list(range(len(words), len(words) + len(c))))
            words += c
    words += [word(40, 160, 50), word(96, 160, 114), word(270, 160, 50)]  # "Total supplies: 30.28"
    return words, cells


def test_table_cells_end_segments_justified_rows_do_not():
    from textseg.layout.lines import segment_lines

    rng = np.random.default_rng(3)
    words, cells = _receipt_table()
    dets = [(q, 0.9) for q in words]
    got = members(segment_lines(dets), words)
    assert all(c in got for c in cells), [c for c in cells if c not in got]
    # without the rule the item names keep their prices (the rows' spaces are all cell
    # gaps, and no gutter runs through the rows around)...
    # (on a page as wide as a letter: this receipt's narrow page cuts them anyway)
    off = members(segment_lines(dets, table_words=0, narrow_page=0), words)
    assert not any(c in off for c in cells[::4])
    # ... and without the ragged-cell gutter too: the names do not line up at their end
    no_gutter = members(segment_lines(dets, table_gutter_rows=0, narrow_page=0), words)
    assert not any(c in no_gutter for c in cells[::4])
    # justified rows with wide, even spaces (each its own, 1.1-1.4 heights), some word
    # edges lining up by chance from row to row (x = 40, 95, 302, ...), stay whole
    par = []
    for k, widths in enumerate([[30, 50, 45, 61], [30, 45, 60, 48], [50, 50, 45, 40],
                                [30, 50, 58, 50], [42, 38, 60, 52]]):
        gap = (262 - sum(widths)) / (len(widths) - 1)
        assert 1.1 * H <= gap <= 1.4 * H
        par += row(40, 300 + 1.5 * H * k, widths, gap=gap)
    body = []  # text above with the page's normal spaces (0.3 heights), a letter wide
    for k in range(8):
        body += row(40, 40 + 1.5 * H * k, [int(v) for v in rng.integers(20, 60, 16)], gap=0.3 * H)
    dets = [(q, 0.9) for q in body + par]
    assert len(segment_lines(dets)) == 8 + 5
    # as narrow as a receipt (the text 20 heights across), rows are not justified there
    narrow = [(q, 0.9) for q in [b for k, b in enumerate(body) if k % 16 < 5] + par]
    assert len(segment_lines(narrow)) > 8 + 5
    assert len(segment_lines(narrow, narrow_page=0)) == 8 + 5
    assert len(segment_lines(dets, table_uniform=0.0)) > 8 + 5  # the guard is what keeps them


def _spread_receipt(n=8):
    """A receipt whose price rows ("515  1  16.85  16.85 SR") come every third row, with an
    item-name row and a unit-price row between them (from the left margin, normal spaces,
    ending before the amount column): the amount and the tax code, 1.1 heights apart, line
    up only with rows 4.5 heights away. Returns (words, for each price row the index of
    its amount and of its tax code)."""
    words, pairs = [], []
    y = 20.0
    for k in range(n):
        words += row(40, y, [60, 45, 70][: 2 + k % 2], gap=0.3 * H)  # item name
        y += 1.5 * H
        words += row(40, y, [30, 50], gap=0.3 * H)  # "(S) @13.90"
        y += 1.5 * H
        words += [word(40, y, 36), word(140, y, 12), word(200, y, 60)]  # code, qty, price
        width = 60 if k % 2 else 50
        pairs.append((len(words), len(words) + 1))
        words += [word(330 - width, y, width), word(352, y, 26)]  # amount, tax code
        y += 1.5 * H
    return words, pairs


def test_repeated_column_pairs_end_segments_far_apart():
    from textseg.layout.lines import segment_lines

    words, pairs = _spread_receipt()
    dets = [(q, 0.9) for q in words]

    def apart(lines):  # price rows whose amount and tax code are in different lines
        got = members(lines, words)
        return [k for k, (a, c) in enumerate(pairs)
                if not any(a in m and c in m for m in got)]

    # as narrow as it is, the page is a receipt: every gap over 2 word spaces and 0.9
    # row heights ends a segment ("narrow_split_gap"), so all amounts leave their codes
    assert apart(segment_lines(dets)) == list(range(8))
    # on a page as wide as a letter: the middle rows have 4 price rows within 10 row
    # heights (2 above, 2 below)
    wide = {"narrow_page": 0}
    assert apart(segment_lines(dets, **wide)) == [2, 3, 4, 5]
    # the rows that line up are 4.5 heights away: the near-column rule alone joins them
    assert apart(segment_lines(dets, table_repeat_rows=0, **wide)) == []
    assert apart(segment_lines(dets, table_repeat_need=2, **wide)) == list(range(8))
    # the item names and unit prices keep their words together
    for opts in ({}, wide):
        got = members(segment_lines(dets, **opts), words)
        assert [0, 1] in got and [2, 3] in got


def test_weak_segments_are_dropped_like_marks():
    """``min_score``: a segment whose words' mean score is under it goes the way of marks
    (a scribble the decoder kept box by box); its neighbours and the words stay."""
    from textseg.layout import analyze, segment_lines

    strong = row(100, 100, [60, 40, 80])
    weak = row(100, 200, [50, 70])
    quads = strong + weak
    dets = [(q, 0.9) for q in strong] + [(q, 0.6) for q in weak]
    assert len(segment_lines(dets)) == 2
    kept = segment_lines(dets, min_score=0.65)
    assert members(kept, quads) == [[0, 1, 2]]
    assert len(segment_lines(dets, min_score=0.65, drop_marks=False)) == 2
    # a mean: one weak word in a strong segment does not drop it
    mixed = [(q, s) for q, s in zip(strong, (0.9, 0.5, 0.9))]
    assert len(segment_lines(mixed, min_score=0.65)) == 1
    lay = analyze(dets, size=(400, 300), line_options={"min_score": 0.65})
    assert len(lay.lines) == 1 and sorted(w.index for w in lay.words) == [0, 1, 2]
    lay = analyze(dets, size=(400, 300), line_options={"min_score": 0.65}, drop_marks=False)
    assert len(lay.lines) == 2


def _header_row_page(width_rows, seed=11):
    """Rows of plain text ``width_rows`` row heights wide, and under them a header row
    "Description   Qty   RM   Amount" whose gaps are all alike (2 row heights, 5 word
    spaces)."""
    rng = np.random.default_rng(seed)
    text, rows = paragraph(100, 100, 6, width_rows * H, rng)
    y = 100 + 8 * 1.5 * H
    header = row(100, y, [110, 45, 35, 90], gap=2.0 * H)
    return text + header, rows, list(range(len(text), len(text) + 4))


def test_narrow_pages_cut_evenly_spaced_header_rows():
    """A receipt's text is 30-48 characters wide (under ``narrow_page`` row heights): no
    line there is justified, so a header row whose gaps are all alike is cut at each of
    them. On a page as wide as a letter the same row looks justified and stays whole."""
    quads, rows, head = _header_row_page(22)
    got = members(segments_of(quads), quads)
    assert sorted(rows + [[k] for k in head]) == got
    # the gate off: the justified-line rule keeps the row together
    assert head in members(segments_of(quads, narrow_page=0), quads)
    # the same rows on a wide page
    quads, rows, head = _header_row_page(50)
    assert head in members(segments_of(quads), quads)
    assert sorted(rows + [head]) == members(segments_of(quads), quads)
    # narrow_row_gap: how wide, in the row's own spaces, a gap may be and not end a segment
    quads, rows, head = _header_row_page(22)
    assert head in members(segments_of(quads, narrow_row_gap=1.8), quads)


def test_narrow_pages_measure_item_blocks_by_the_page_word_space():
    """On a receipt the block of item rows ("1   3.50   5.69", ragged, so no column rule
    applies) has its column gaps for its word space; the page's text has the real one.
    Narrow pages take the smaller: every 2-row-height gap ends a segment."""
    rng = np.random.default_rng(3)
    quads, rows = paragraph(100, 100, 10, 22 * H, rng)
    first = len(quads)
    y = 100 + 11 * 1.5 * H
    for r in range(14):
        a = word(100 + rng.uniform(0, 6) * H, y + r * 1.5 * H, rng.uniform(2, 5) * H)
        b = word(float(a[1, 0]) + 2.0 * H, y + r * 1.5 * H, rng.uniform(1.5, 3) * H)
        c = word(float(b[1, 0]) + 2.0 * H, y + r * 1.5 * H, rng.uniform(1.5, 3) * H)
        quads += [a, b, c]
    got = members(segments_of(quads), quads)
    assert [[k] for k in range(first, len(quads))] == [g for g in got if g[0] >= first]
    assert sorted(rows) == [g for g in got if g[0] < first]
    # the block's own mode (wide pages): most item rows stay whole
    joined = [g for g in members(segments_of(quads, narrow_page=0), quads) if len(g) > 1
              and g[0] >= first]
    assert len(joined) >= 7


def test_narrow_pages_end_segments_at_two_word_spaces():
    """Receipts print their columns two or more spaces apart: on a narrow page a gap over
    ``narrow_split_gap`` (2) word spaces and ``min_split_gap`` (0.9) row heights ends a
    segment ("1 X   9.90   9.90"); a wide page keeps 4 word spaces for it."""
    def page(width_rows):
        rng = np.random.default_rng(13)
        text, rows = paragraph(100, 100, 8, width_rows * H, rng)
        y = 100 + 9 * 1.5 * H
        item = row(100, y, [12, 10], gap=0.4 * H) + [word(100 + 22 + 0.4 * H + 1.2 * H, y, 40)]
        return text + item, len(text)

    quads, n = page(22)
    got = members(segments_of(quads), quads)
    assert [n, n + 1] in got and [n + 2] in got
    assert [n, n + 1, n + 2] in members(segments_of(quads, narrow_split_gap=4.0), quads)
    quads, n = page(50)
    assert [n, n + 1, n + 2] in members(segments_of(quads), quads)
