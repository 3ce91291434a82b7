"""textseg.pipeline and textseg.page: one page to a layout, detections of each level,
text, and outputs; with a stand-in detector (no network)."""

import json
import os

import numpy as np
import pytest

import textseg
from textseg import output, pipeline

H = 20


def _word(x, y, w):
    return (np.array([[x, y], [x + w, y], [x + w, y + H], [x, y + H]], np.float32), 0.9)


#: two paragraphs of three lines, four words each
WORDS = [_word(40 + 70 * k, 40 + 32 * r + (150 if r >= 3 else 0), 55)
         for r in range(6) for k in range(4)]


def fake_detector(image, level="word"):
    return list(WORDS)


class FakeRecognizer:
    """Reads every line as "L<n>" (n: its index) and each word as its detector index."""

    def recognize(self, image, lines, words=None):
        from textseg.recognize import Line, Word

        out = []
        for i, (poly, score) in enumerate(lines):
            poly = np.asarray(poly, np.float32)
            inside = [k for k, (w, _) in enumerate(words)
                      if poly[:, 0].min() - 1 <= w[:, 0].mean() <= poly[:, 0].max() + 1
                      and poly[:, 1].min() - 1 <= w[:, 1].mean() <= poly[:, 1].max() + 1]
            ws = [Word(f"w{k}", 0.8, words[k][0], "detector", k) for k in inside]
            out.append(Line(poly, f"L{i}", 0.8, ws, score))
        return out


IMAGE = np.full((500, 400, 3), 255, np.uint8)


def test_word_level_without_layout_keeps_the_detectors_words():
    layout, dets = pipeline.page_result(fake_detector, IMAGE, "word")
    assert layout is None and len(dets) == len(WORDS)


@pytest.mark.parametrize("level,n", [("word", 24), ("line", 6), ("block", 2)])
def test_levels_come_from_one_layout(level, n):
    layout, dets = pipeline.page_result(fake_detector, IMAGE, level, layout=True)
    assert len(dets) == n
    ref = layout.detections(level)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(dets, ref))


def test_recognizer_fills_lines_and_words_and_text_in_reading_order():
    layout, dets = pipeline.page_result(fake_detector, IMAGE, "line", recognizer=FakeRecognizer())
    assert [ln.text for ln in layout.lines] == [f"L{i}" for i in range(6)]
    assert all(w.text.startswith("w") for w in layout.words)
    assert pipeline.layout_text(layout) == "L0\nL1\nL2\n\nL3\nL4\nL5\n"
    assert pipeline.level_texts(layout, "block") == ["L0\nL1\nL2", "L3\nL4\nL5"]


def test_textseg_page_api(tmp_path):
    r = textseg.page(IMAGE, detector=fake_detector, level="block", recognize=FakeRecognizer())
    assert isinstance(r, textseg.PageResult) and len(r.detections) == 2
    assert r.texts[0].startswith("L0") and r.orientation[0] == 0
    assert "L5" in r.text
    for fmt in ("hocr", "alto", "page", "layout"):
        r.write(str(tmp_path / f"p.{fmt}"), fmt)
        assert os.path.getsize(tmp_path / f"p.{fmt}") > 0


def test_write_outputs_all_formats_and_refuses_existing(tmp_path):
    from textseg.data.images import Page

    layout, dets = pipeline.page_result(fake_detector, IMAGE, "line", recognizer=FakeRecognizer())
    page = Page(image=IMAGE, source="scan.png", index=0, n_pages=1)
    record = output.to_json_dict(page, dets, level="line")
    pipeline.record_extras(record, layout, "line", texts=True)
    fmts = list(output.ALL_FORMATS)
    paths = pipeline.write_outputs(str(tmp_path), page, dets, record, layout, fmts, "scan",
                                   texts=pipeline.level_texts(layout, "line"))
    assert sorted(os.path.basename(p) for p in paths.values()) == sorted(
        ["scan.json", "res_scan.txt", "scan_overlay.jpg", "scan.hocr", "scan.alto.xml",
         "scan.page.xml", "scan.layout.json", "scan.text.txt"])
    rec = json.loads((tmp_path / "scan.json").read_text())
    assert [d["text"] for d in rec["detections"]] == [f"L{i}" for i in range(6)]
    assert (tmp_path / "res_scan.txt").read_text().splitlines()[0].endswith(",L0")
    assert (tmp_path / "scan.text.txt").read_text().startswith("L0\n")
    with pytest.raises(output.OutputExistsError):
        pipeline.write_outputs(str(tmp_path), page, dets, record, layout, ["alto"], "scan")


def test_bad_level():
    with pytest.raises(ValueError, match="block"):
        pipeline.page_result(fake_detector, IMAGE, "paragraph")


class PaddingDetector:
    """A stand-in Detector with ``infer.pad``: padded words unless asked for the raw ones."""
    pad = 0.25

    def __init__(self):
        self.calls = []

    def __call__(self, image, level="word", pad=True):
        self.calls.append(pad)
        from textseg.geometry import pad_detections

        return pad_detections(WORDS, self.pad) if pad else list(WORDS)


def test_the_layout_groups_unpadded_words_and_pads_words_and_lines_after():
    det = PaddingDetector()
    layout, lines = pipeline.page_result(det, IMAGE, "line")
    assert det.calls == [False]  # grouped from the raw words
    assert len(lines) == 6
    for w in layout.words:
        ys = w.polygon[:, 1]
        assert ys.max() - ys.min() == pytest.approx(1.5 * H, abs=1e-3)
    for ln in layout.lines:
        ys = ln.polygon[:, 1]
        assert ys.max() - ys.min() == pytest.approx(1.5 * H, abs=1e-3)
    plain, _ = pipeline.page_result(fake_detector, IMAGE, "line")
    assert [len(a.words) for a in plain.lines] == [len(b.words) for b in layout.lines]
    # without a layout the detector's own (padded) words come back
    _, words = pipeline.page_result(det, IMAGE, "word")
    assert det.calls[-1] is True and np.ptp(words[0][0][:, 1]) == pytest.approx(1.5 * H)
