"""textseg.recognize: reading order, tessdata discovery, errors, rectification (no engine
needed), and Tesseract on rendered lines (needs the ``ocr`` extra: tesserocr + eng data)."""

import os
import sys

import numpy as np
import pytest

from conftest import sans_font

from textseg.recognize import (Line, RecognizerError, Word, get_recognizer, line_records,
                               page_text, reading_order, word_records, word_texts)
from textseg.recognize import tesseract as T


def _box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def _line(x0, y0, x1, y1, text):
    return Line(polygon=_box(x0, y0, x1, y1), text=text, confidence=0.9,
                words=[Word(text=t, confidence=0.9, polygon=_box(x0, y0, x1, y1))
                       for t in text.split()])


# ------------------------------------------------------------------ no engine needed

def test_reading_order_columns_then_rows():
    lines = [
        _line(300, 120, 550, 140, "right one"),
        _line(10, 10, 550, 40, "title"),
        _line(10, 120, 260, 140, "left one"),
        _line(10, 150, 260, 170, "left two"),
        _line(300, 150, 550, 170, "right two"),
        _line(10, 300, 550, 320, "footer"),
    ]
    text = page_text(lines)
    assert text.split("\n")[:-1] == ["title", "left one", "left two", "right one", "right two",
                                     "footer"]
    rows = [lines[i].text for i in reading_order(lines, mode="rows")]
    assert rows == ["title", "left one", "right one", "left two", "right two", "footer"]
    assert page_text([]) == ""
    with pytest.raises(ValueError):
        reading_order(lines, mode="diagonal")


def test_reading_order_reads_tables_by_rows():
    # short cells with wide gutters between them: a table (or a form), read row by row
    lines = [_line(x, y, x + 60, y + 20, f"r{r}c{c}")
             for r, y in enumerate((10, 40, 70)) for c, x in enumerate((10, 200, 400))]
    shuffled = lines[::-1]
    order = [shuffled[i].text for i in reading_order(shuffled)]
    assert order == [f"r{r}c{c}" for r in range(3) for c in range(3)]


def test_reading_order_same_row_left_to_right():
    # two pieces of one row, the right one a little higher: still left, then right
    lines = [_line(300, 98, 500, 118, "right"), _line(10, 100, 320, 121, "left"),
             _line(10, 140, 500, 160, "next")]
    assert [lines[i].text for i in reading_order(lines)] == ["left", "right", "next"]


def test_reading_order_skewed_page_keeps_rows():
    # a page turned by 4 degrees: a long line's ends differ in y by more than a line height
    theta = np.radians(4)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    lines = []
    for k in range(5):
        b = _box(0, 30 * k, 800, 30 * k + 18) @ rot.T
        lines.append(Line(polygon=b.astype(np.float32), text=f"row{k}", confidence=1.0))
    assert [lines[i].text for i in reading_order(lines)] == [f"row{k}" for k in range(5)]


def test_records_and_word_texts():
    lines = [_line(0, 0, 100, 20, "a b"), _line(0, 40, 100, 60, "")]
    lines[0].words[0].detection = 1
    assert [r["text"] for r in line_records(lines)] == ["a b", ""]
    recs = word_records(lines)
    assert [(r["text"], r["line"]) for r in recs] == [("a", 0), ("b", 0)]
    dets = [(_box(200, 0, 250, 20), 0.9), (_box(0, 0, 40, 20), 0.8), (_box(0, 40, 100, 60), 0.7)]
    lines[0].words[1].polygon = _box(205, 2, 245, 18)
    assert word_texts(dets, lines) == ["b", "a", None]


def test_parse_languages():
    assert T.parse_languages("eng+deu") == ["eng", "deu"]
    assert T.parse_languages(["eng", "chi_sim"]) == ["eng", "chi_sim"]
    for bad in ("", "+", "eng;rm -rf"):
        with pytest.raises(RecognizerError):
            T.parse_languages(bad)


def test_find_tessdata_order_and_missing(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "eng.traineddata").write_bytes(b"x")
    (b / "eng.traineddata").write_bytes(b"x")
    (b / "deu.traineddata").write_bytes(b"x")
    monkeypatch.setenv("TESSDATA_PREFIX", str(b))
    assert T.find_tessdata("eng", tessdata=a) == str(a)  # the argument first
    assert T.find_tessdata("eng+deu", tessdata=a) == str(b)  # first folder with both
    assert T.available_languages(a)["deu"] == str(b)
    with pytest.raises(RecognizerError) as e:
        T.find_tessdata("eng+xyz", tessdata=a)
    msg = str(e.value)
    assert "xyz" in msg and "pip install tessdata-fast-xyz" in msg and "\n" not in msg
    from textseg.errors import TextsegError

    assert isinstance(e.value, ValueError) and isinstance(e.value, TextsegError)


def test_missing_tesserocr_is_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "tesserocr", None)
    with pytest.raises(RecognizerError) as e:
        get_recognizer("tesseract", lang="eng")
    assert "pip install 'textseg[ocr]'" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(RecognizerError):
        get_recognizer("nonesuch")


def test_rectify_transform_maps_the_line_onto_an_upright_strip():
    import cv2

    theta = np.radians(30)
    u = np.array([np.cos(theta), np.sin(theta)])
    n = np.array([-u[1], u[0]])
    o = np.array([100.0, 50.0])
    quad = np.array([o, o + 200 * u, o + 200 * u + 20 * n, o + 20 * n])
    m, (w, h), (top, bottom) = T.rectify_transform(quad, pad=0.25, min_height=40, max_height=96)
    # 20 px high -> scaled x2 to 40; 5 px padding each side -> 10 px in the strip
    assert (w, h) == (420, 60) and (top, bottom) == (10.0, 50.0)
    mapped = cv2.perspectiveTransform(quad.reshape(1, 4, 2), m).reshape(4, 2)
    assert np.allclose(mapped, [[10, 10], [410, 10], [410, 50], [10, 50]], atol=1e-3)
    _, (w2, h2), _ = T.rectify_transform(quad * 10, pad=0.0, min_height=0, max_height=96)
    assert h2 == 96 and abs(w2 - 960) <= 1  # tall text scaled down


def test_variants_of_tall_polygons():
    q = _box(0, 0, 20, 200).astype(np.float64)
    assert [a for a, _ in T._variants(q, 1.5)] == [0, 90, 270]
    assert [a for a, _ in T._variants(_box(0, 0, 200, 20).astype(np.float64), 1.5)] == [0]


def test_benchmark_metrics():
    from textseg.benchmarks.ocr import bag_f1, cer, edit_distance

    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance(["a", "b"], ["b"]) == 1
    f1, p, r, m = bag_f1(["a", "a", "b", "x"], ["a", "b", "b"])
    assert m == 2 and p == 0.5 and r == pytest.approx(2 / 3)
    assert bag_f1([], []) [0] == 1.0
    assert cer("a  b\nc", "a b c") == 0.0 and cer("abc", "abd") == pytest.approx(1 / 3)


# ------------------------------------------------------------------ Tesseract (the ocr extra)

def _render(text, size=26):
    """A white strip with ``text`` in black; the tight ink box's corners and word boxes."""
    from PIL import Image, ImageDraw

    font = sans_font(size)
    x0, y0, x1, y1 = font.getbbox(text)
    im = Image.new("L", (x1 - x0 + 24, y1 - y0 + 24), 255)
    ImageDraw.Draw(im).text((12 - x0, 12 - y0), text, fill=0, font=font)
    a = np.asarray(im)
    ys, xs = np.nonzero(a < 128)
    words, x = [], 12 - x0
    for t in text.split(" "):
        bx0, _, bx1, _ = font.getbbox(t)
        words.append((x + bx0, x + bx1))
        x += font.getlength(t + " ")
    return a, (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), words


def _place(page, strip, centre, angle):
    """Paste ``strip`` turned ``angle`` degrees counter-clockwise with its centre at
    ``centre``; returns the affine map strip -> page."""
    import cv2

    h, w = strip.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m[:, 2] += np.array(centre) - np.array([w / 2, h / 2])
    warped = cv2.warpAffine(strip, m, (page.shape[1], page.shape[0]), borderValue=255)
    np.minimum(page, warped, out=page)
    return m


def _map(m, pts):
    pts = np.asarray(pts, np.float64)
    return pts @ m[:, :2].T + m[:, 2]


REQUIRE = bool(os.environ.get("TEXTSEG_REQUIRE_OCR"))  # CI installs the ocr extra: no skips


@pytest.fixture(scope="module")
def rec():
    if not REQUIRE:  # a user without the extra
        pytest.importorskip("tesserocr")
    try:
        r = T.TesseractRecognizer(lang="eng")
    except RecognizerError as e:  # tesserocr without language data
        if REQUIRE:
            raise
        pytest.skip(str(e))
    yield r
    r.close()


def _page_with_lines(specs):
    from textseg.geometry import order_clockwise

    page = np.full((700, 900), 255, np.uint8)
    truth = []
    for text, centre, angle in specs:
        strip, (x0, y0, x1, y1), words = _render(text)
        m = _place(page, strip, centre, angle)
        quad = _map(m, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        wq = [_map(m, [[a, y0], [b, y0], [b, y1], [a, y1]]) for a, b in words]
        truth.append((text, order_clockwise(quad.astype(np.float32)), wq))
    return np.stack([page] * 3, axis=2), truth


def test_tesseract_reads_horizontal_rotated_and_vertical_lines(rec):
    from textseg.geometry import polygon_iou

    specs = [("Invoice number 4711", (250, 80), 0), ("Please pay within thirty days", (450, 250), 12),
             ("Total amount due", (120, 480), 90), ("Thank you kindly", (760, 480), -90)]
    image, truth = _page_with_lines(specs)
    lines = rec.recognize(image, [(q, 0.9) for _, q, _ in truth])
    assert [ln.text for ln in lines] == [t for t, _, _ in truth]
    assert [ln.angle for ln in lines] == [0, 0, 90, 270]
    assert lines[0].score == pytest.approx(0.9)
    for ln, (_, _, wq) in zip(lines, truth):
        assert len(ln.words) == len(wq)
        for w, q in zip(ln.words, wq):
            assert 0.0 <= w.confidence <= 1.0 and w.source == "recognizer"
            assert polygon_iou(w.polygon, q) > 0.5, (w.text, w.polygon, q)
    text = page_text(lines)
    assert "Invoice number 4711" in text and text.endswith("\n")


def test_tesseract_word_boxes_from_the_detector(rec):
    image, truth = _page_with_lines([("Invoice number 4711", (250, 80), 0)])
    text, quad, wq = truth[0]
    words = [(q.astype(np.float32), 0.8) for q in wq]
    snap = T.TesseractRecognizer(lang="eng", word_boxes="detector")
    try:
        (ln,) = snap.recognize(image, [quad], words)
    finally:
        snap.close()
    assert ln.text == text
    assert [w.source for w in ln.words] == ["detector"] * 3
    assert [w.detection for w in ln.words] == [0, 1, 2]
    assert np.allclose(ln.words[1].polygon, wq[1])
    assert word_texts(words, [ln]) == text.split()


def test_tesseract_empty_input_and_blank_line(rec):
    image = np.full((120, 300, 3), 255, np.uint8)
    assert rec.recognize(image, []) == []
    (ln,) = rec.recognize(image, [_box(10, 10, 200, 40)])
    assert ln.text == "" and ln.words == [] and ln.confidence == 0.0


def test_tesseract_page_mode_and_languages(rec):
    image, truth = _page_with_lines([("Invoice number 4711", (250, 80), 0)])
    text, words = rec.read_page(image)
    assert "Invoice" in text and any(w.text == "4711" for w in words)
    assert rec.version().startswith("tesseract ")
    with pytest.raises(RecognizerError) as e:
        T.TesseractRecognizer(lang="eng+zzz")
    assert "zzz" in str(e.value)
    with pytest.raises(RecognizerError):
        T.TesseractRecognizer(lang="eng", psm="sparse")


def test_recognize_page_and_benchmark_on_a_tiny_data_set(rec, tmp_path):
    """The detector, the lines and Tesseract together; the benchmark's command line."""
    from PIL import Image

    from textseg.benchmarks.ocr import main
    from textseg.recognize import recognize_page

    try:
        from textseg.detector import Detector

        det = Detector.default(threads=1)
    except Exception as e:  # noqa: BLE001 - a copy without the shipped model
        pytest.skip(f"no default detector: {e}")
    specs = [("Invoice number 4711", (250, 80), 0), ("Please pay within thirty days", (330, 200), 0)]
    image, truth = _page_with_lines(specs)
    image = np.ascontiguousarray(image[:300, :700])
    lines = recognize_page(image, det, rec)
    assert "Invoice number 4711" in page_text(lines)
    (tmp_path / "images").mkdir()
    (tmp_path / "words").mkdir()
    Image.fromarray(image).save(tmp_path / "images" / "img_1.png")
    rows = []
    for text, _, wq in truth:
        for t, q in zip(text.split(), wq):
            rows.append(",".join(str(int(round(v))) for v in q.reshape(-1)) + "," + t)
    (tmp_path / "words" / "gt_img_1.txt").write_text("\n".join(rows) + "\n")
    out = tmp_path / "r.json"
    assert main(["--data", str(tmp_path), "--json", str(out), "-q"]) == 0
    import json

    r = json.loads(out.read_text())
    assert r["pages"] == 1 and r["systems"]["textseg"]["f1"] >= 0.8
    assert r["systems"]["textseg"]["box_hmean_detector"] >= 0.8


def test_tesseract_threads_read_the_same(rec):
    """Two engines reading a page's lines at once give exactly the readings of one."""
    words = ["Invoice", "number", "amount", "total", "please", "remit", "within", "thirty",
             "days", "account", "balance", "tax"]
    specs = [(f"{words[i % 12]} {words[(5 * i + 3) % 12]} {100 + 37 * i}",
              (230 + 400 * (i % 2), 40 + 36 * (i // 2)), 0) for i in range(36)]
    image, truth = _page_with_lines(specs)
    lines = [(q, 0.9) for _, q, _ in truth]
    two = T.TesseractRecognizer(lang="eng", threads=2)
    try:
        got = two.recognize(image, lines)
        assert len(two._apis) == 2  # 36 strips: both engines read
        again = two.recognize(image, lines)  # the engines are kept, the readings stable
    finally:
        two.close()
    one = T.TesseractRecognizer(lang="eng", threads=1)
    try:
        ref = one.recognize(image, lines)
        assert len(one._apis) == 1
    finally:
        one.close()
    for a, b, c in zip(ref, got, again):
        assert a.text == b.text == c.text
        assert a.confidence == b.confidence == c.confidence
        assert [w.text for w in a.words] == [w.text for w in b.words]
        for wa, wb in zip(a.words, b.words):
            assert np.allclose(wa.polygon, wb.polygon)
    assert sum(ln.text == t for ln, (t, _, _) in zip(ref, truth)) >= 30  # a real reading
    for bad in (0, -1, 1.5, True):
        with pytest.raises(RecognizerError, match="threads"):
            T.TesseractRecognizer(lang="eng", threads=bad)
