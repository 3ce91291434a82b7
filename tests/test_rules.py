"""Drawn rules end lines: textseg.layout.rules and its use by the line grouping."""

import cv2
import numpy as np
import pytest

from textseg.layout import RuleMap, analyze, rule_map, segment_lines

H = 20  # text height (px)


def word(x, y, w, h=H):
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


def ruled_table(rows=4, scale=1):
    """A white page with a ruled table: per row the cells "aaaa | bbb | cc", each cell's
    word 0.4 text heights from the rule beside it (closer than a word space wide), and
    the words' boxes. Returns (image, words, the index lists of one cell's word each)."""
    s = scale
    img = np.full((s * (60 + rows * 40), s * 400, 3), 255, np.uint8)
    words, cells = [], []
    xs = [40, 150, 250]  # the cells' words start here; rules at 140 and 240
    for r in range(rows):
        y = 40 + r * 40
        for c, (x, w) in enumerate(zip(xs, (92, 82, 60))):
            q = word(s * x, s * y, s * w, s * H)
            cv2.rectangle(img, tuple(int(v) for v in q[0]), tuple(int(v) for v in q[2]), (40, 40, 40), -1)
            cells.append([len(words)])
            words.append(q)
    for x in (140, 240):  # vertical rules through every row
        cv2.line(img, (s * x, s * 30), (s * x, s * (40 + rows * 40)), (0, 0, 0), max(1, s))
    return img, words, cells


def members(lines, quads):
    out = []
    for poly, _ in lines:
        c = np.asarray(poly, np.float32)
        out.append(sorted(i for i, q in enumerate(quads)
                          if cv2.pointPolygonTest(c, tuple(map(float, q.mean(0))), False) >= 0))
    return sorted(out)


def test_rules_end_segments_the_gaps_alone_would_join():
    img, words, cells = ruled_table()
    dets = [(q, 0.9) for q in words]
    # the boxes alone: gaps of 0.4 heights are word spaces, each row is one segment
    assert len(segment_lines(dets)) == 4
    got = members(segment_lines(dets, rules=rule_map(img, dets)), words)
    assert got == sorted(cells)
    # the same through analyze: "auto" reads the image it is given
    lay = analyze(dets, img)
    assert sorted(sorted(w.index for w in ln.words) for ln in lay.lines) == sorted(cells)
    assert len(analyze(dets, img, rules=None).lines) == 4
    assert len(analyze(dets, None, size=(400, 220), rules=img).lines) == 12


def test_letters_and_short_strokes_are_no_rules():
    """A stroke in the gap as tall as a letter (an "l", a "|" of text) is not a rule: a
    rule runs ``length`` (2) text heights at least."""
    img = np.full((200, 400, 3), 255, np.uint8)
    words = [word(40, 80, 92), word(140, 80, 82)]
    for q in words:
        cv2.rectangle(img, tuple(int(v) for v in q[0]), tuple(int(v) for v in q[2]), (40, 40, 40), -1)
    cv2.line(img, (136, 78), (136, 78 + int(1.5 * H)), (0, 0, 0), 2)
    dets = [(q, 0.9) for q in words]
    rm = rule_map(img, dets)
    assert not rm.crosses(np.stack(words), [0], [1], (1.0, 0.0)).any()
    cv2.line(img, (136, 60), (136, 60 + int(3 * H)), (0, 0, 0), 2)
    assert rule_map(img, dets).crosses(np.stack(words), [0], [1], (1.0, 0.0)).all()


def test_sideways_pages_use_the_rules_across_their_rows():
    img, words, cells = ruled_table()
    turned = np.ascontiguousarray(np.rot90(img, -1))  # 90 degrees clockwise
    h = img.shape[0]
    quads = [np.stack([h - 1 - q[:, 1], q[:, 0]], axis=1).astype(np.float32) for q in words]
    quads = [np.roll(q, -3, axis=0) for q in quads]
    dets = [(q, 0.9) for q in quads]
    rm = rule_map(turned, dets)
    i, j = np.array([0, 1]), np.array([1, 2])
    assert rm.crosses(np.stack(quads), i, j, (0.0, 1.0)).all()
    # rows along neither axis (skewed 30 degrees) are not tested
    assert not rm.crosses(np.stack(quads), i, j, (np.cos(0.5), np.sin(0.5))).any()


def test_large_scans_are_read_reduced():
    img, words, cells = ruled_table(scale=4)  # text 80 px tall
    dets = [(q, 0.9) for q in words]
    rm = rule_map(img, dets)
    assert rm.scale == pytest.approx(16 / 80)
    assert members(segment_lines(dets, rules=rm), words) == sorted(cells)


def test_rule_options_are_checked_and_no_image_means_no_map():
    img, words, cells = ruled_table()
    with pytest.raises(TypeError, match="no_such"):
        RuleMap(img, 20, no_such=1)
    assert rule_map(None, [(words[0], 1.0)]) is None
    assert rule_map(img, []) is None
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    dets = [(q, 0.9) for q in words]
    assert members(segment_lines(dets, rules=rule_map(gray, dets)), words) == sorted(cells)


def _marked_row(mark):
    """A receipt-narrow page: rows of text, then "WA33 - 12/144" whose dash the detector
    did not box (``mark``: "dash", "speck" or None), the two words 2 text heights apart.
    The ink is drawn 2 px inside each box, as a detector's boxes stand around the ink."""
    img = np.full((300, 420, 3), 255, np.uint8)
    words = []
    for r in range(6):  # plain text rows, 0.35 heights between words
        x = 20
        for w in (60, 45, 80, 50):
            words.append(word(x, 20 + r * 30, w))
            x += w + 7
    words += [word(20, 220, 70), word(20 + 70 + 40, 220, 90)]
    for q in words:
        cv2.rectangle(img, tuple(int(v) + 2 for v in q[0]), tuple(int(v) - 2 for v in q[2]),
                      (40, 40, 40), -1)
    if mark == "dash":  # 16 px, 12 px from each word
        cv2.rectangle(img, (102, 228), (117, 231), (0, 0, 0), -1)
    elif mark == "speck":
        cv2.rectangle(img, (110, 229), (110, 230), (0, 0, 0), -1)
    return img, words


@pytest.mark.parametrize("mark,joined", [("dash", True), ("speck", False), (None, False)])
def test_unboxed_marks_halve_the_gap_they_stand_in(mark, joined):
    img, words = _marked_row(mark)
    dets = [(q, 0.9) for q in words]
    n = len(words)
    assert [n - 2, n - 1] not in members(segment_lines(dets), words)  # boxes alone: cut
    got = members(segment_lines(dets, rules=rule_map(img, dets)), words)
    assert ([n - 2, n - 1] in got) is joined
    rm = rule_map(img, dets)
    g = rm.mark_gaps(np.stack(words), [n - 2], [n - 1], (1.0, 0.0), [40.0])
    assert g[0] == (pytest.approx(40.0) if not joined else pytest.approx(12.0, abs=2))


def test_widest_empty_runs():
    from textseg.layout.rules import _widest_empty_runs

    has = np.array([0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1], bool)
    owner = np.array([0] * 8 + [1] * 5 + [2])
    assert _widest_empty_runs(has, owner, 4).tolist() == [3, 5, 0, 0]


def test_lines_benchmark_reads_rules_and_marks_from_the_images(tmp_path):
    """``textseg.benchmarks.lines --rules``: the true words of docbench-dev grouped with
    their pages' ink. The care words leave holes where ``###`` words (bullets, rules,
    symbols) were; their ink closes the gaps (0.956 -> 0.976 when measured)."""
    import os
    import shutil

    from textseg.benchmarks.lines import measure

    data = os.path.join(os.path.dirname(__file__), "data", "docbench-dev")
    plain = measure(data, "care", "segment")
    inked = measure(data, "care", "segment", rules=True)
    assert inked["hmean"] > plain["hmean"] + 0.01 and inked["hmean"] >= 0.97
    # an image missing is a one-line error naming it
    bad = tmp_path / "set"
    shutil.copytree(os.path.join(data, "words"), bad / "words")
    shutil.copytree(os.path.join(data, "lines"), bad / "lines")
    (bad / "images").mkdir()
    with pytest.raises(FileNotFoundError, match="no image for"):
        measure(str(bad), "care", "segment", rules=True)
