"""hOCR, ALTO 4.4 and PAGE XML 2019 writers: schema validity (lxml, the official schemas in
tests/data/schemas), round trip of the boxes, empty text, atomic writes, the JSON hierarchy."""

import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from textseg.formats import (FORMATS, read_alto, read_hocr, read_layout, read_page_xml,
                             write_alto, write_hocr, write_layout, write_page_xml)
from textseg.formats._common import bbox, int_points
from textseg.layout import analyze, read_layout_json, write_layout_json
from textseg.layout.page import PageLayout

lxml_etree = pytest.importorskip("lxml.etree")

SCHEMAS = os.path.join(os.path.dirname(__file__), "data", "schemas")
H = 20.0


def word(x, y, w, h=H):
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


@pytest.fixture(scope="module")
def schemas():
    return {name: lxml_etree.XMLSchema(lxml_etree.parse(os.path.join(SCHEMAS, f)))
            for name, f in (("alto", "alto-4-4.xsd"), ("page", "pagecontent-2019-07-15.xsd"))}


def sample_layout(angle=0):
    """Two columns, a table, a vertical label; words slightly rotated; optionally turned."""
    rng = np.random.default_rng(0)
    words = []
    for col in range(2):
        for r in range(5):
            x = 60.5 + col * 330
            for _ in range(5):
                w = float(rng.integers(20, 50))
                words.append(word(x, 40.25 + r * 30, w))
                x += w + 7
    for r in range(3):  # table rows
        for k in range(3):
            words.append(word(60 + k * 200, 230 + r * 30, 40))
    words.append(np.array([[20, 300], [20, 200], [38, 200], [38, 300]], np.float32))  # vertical
    a = np.radians(1.5)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    words = [((q - 300) @ rot.T + 300).astype(np.float32) for q in words]
    from textseg.geometry import order_clockwise

    if angle == 180:
        words = [order_clockwise(np.float32([800, 400]) - q) for q in words]
    words = [order_clockwise(q) for q in words]
    scores = rng.uniform(0.5, 1.0, len(words))
    return analyze(list(zip(words, scores)), size=(800, 400), orientation=(angle, 1.5),
                   image_name="scan 1 & <2>.png")


WRITERS = {"hocr": (write_hocr, read_hocr), "alto": (write_alto, read_alto),
           "page": (write_page_xml, read_page_xml)}


@pytest.mark.parametrize("angle", [0, 180])
@pytest.mark.parametrize("fmt", ["alto", "page"])
def test_xml_formats_validate(tmp_path, schemas, fmt, angle):
    layout = sample_layout(angle)
    path = tmp_path / f"p.{fmt}.xml"
    WRITERS[fmt][0](path, layout)
    doc = lxml_etree.parse(str(path))
    assert schemas[fmt].validate(doc), schemas[fmt].error_log


def test_hocr_is_xhtml_with_tesseract_classes(tmp_path):
    layout = sample_layout()
    path = tmp_path / "p.hocr"
    write_hocr(path, layout)
    text = path.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html')
    doc = lxml_etree.parse(str(path))  # well-formed XML
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    for cls, n in (("ocr_page", 1), ("ocr_carea", len(layout.blocks)),
                   ("ocr_par", len(layout.blocks)), ("ocr_line", len(layout.lines)),
                   ("ocrx_word", len(layout.words))):
        assert len(doc.xpath(f"//*[@class='{cls}']", namespaces=ns)) == n
    titles = [e.get("title") for e in doc.xpath("//*[@class='ocr_line']", namespaces=ns)]
    assert all(t.startswith("bbox ") for t in titles)
    assert sum("; baseline " in t for t in titles) == len(titles) - 1  # all but the label
    w = doc.xpath("//*[@class='ocrx_word']", namespaces=ns)[0].get("title")
    assert "x_wconf " in w
    assert "textangle 90" in text  # the vertical label (reading bottom to top)
    assert "<span" in text and "/>" not in text.split("<body>")[1]  # empty spans, not self-closed
    assert 'image &quot;scan 1 &amp; &lt;2&gt;.png&quot;' in text


@pytest.mark.parametrize("fmt", ["hocr", "alto", "page"])
@pytest.mark.parametrize("angle", [0, 180])
def test_round_trip_boxes(tmp_path, fmt, angle):
    layout = sample_layout(angle)
    path = tmp_path / f"p.{fmt}"
    WRITERS[fmt][0](path, layout)
    back = WRITERS[fmt][1](path)
    assert read_layout(path).to_dict() == back.to_dict()  # told apart by content
    assert (back.width, back.height) == (800, 400)
    assert back.image == "scan 1 & <2>.png"
    assert [len(b.lines) for b in back.blocks] == [len(b.lines) for b in layout.blocks]
    for level in ("word", "line", "block"):
        a, b = layout.detections(level), back.detections(level)
        assert len(a) == len(b)
        for (pa, sa), (pb, sb) in zip(a, b):
            # integer points (clockwise, same start), and the same integer boxes
            assert np.array_equal(int_points(pa), np.asarray(pb, np.int64)), (level, pa, pb)
            assert bbox(pa) == bbox(pb) == bbox(np.asarray(pb, np.int64))
            if level == "word" and sa is not None:
                assert sb == pytest.approx(sa, abs=0.01 if fmt == "hocr" else 1e-4)
    # reading order and directions survive
    assert [w.order for w in back.words] == list(range(len(layout.words)))
    dirs = [round(w.direction / 90) % 4 for w in layout.words]
    assert [round(w.direction / 90) % 4 for w in back.words] == dirs


@pytest.mark.parametrize("fmt", ["hocr", "alto", "page"])
def test_empty_text_in_each_formats_own_way(tmp_path, fmt):
    layout = sample_layout()
    path = tmp_path / f"p.{fmt}"
    WRITERS[fmt][0](path, layout)
    root = ET.parse(path).getroot()
    if fmt == "hocr":
        words = [e for e in root.iter() if e.get("class") == "ocrx_word"]
        assert words and all((e.text or "") == "" and len(e) == 0 for e in words)
    elif fmt == "alto":
        strings = [e for e in root.iter() if e.tag.endswith("}String")]
        assert strings and all(e.get("CONTENT") == "" for e in strings)
    else:
        assert not [e for e in root.iter() if e.tag.endswith("}TextEquiv")]
    assert all(w.text == "" for w in WRITERS[fmt][1](path).words)


@pytest.mark.parametrize("fmt", ["hocr", "alto", "page"])
def test_text_is_escaped_and_read_back(tmp_path, fmt, schemas):
    layout = sample_layout()
    layout.words[0].text = 'a<b & "c"'
    path = tmp_path / f"p.{fmt}"
    WRITERS[fmt][0](path, layout)
    assert WRITERS[fmt][1](path).words[0].text == 'a<b & "c"'
    if fmt in schemas:
        assert schemas[fmt].validate(lxml_etree.parse(str(path)))


@pytest.mark.parametrize("fmt", ["hocr", "alto", "page"])
def test_writes_are_atomic(tmp_path, fmt, monkeypatch):
    layout = sample_layout()
    path = tmp_path / f"p.{fmt}"
    path.write_text("old")
    with pytest.raises(FileExistsError):
        write_layout(path, layout, fmt, overwrite=False)
    assert path.read_text() == "old"
    # a failure while serialising leaves the old file and no temporary file
    import textseg.formats._common as common

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(common.ET, "tostring", boom)
    with pytest.raises(RuntimeError):
        write_layout(path, layout, fmt)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == [path.name]


def test_unknown_format_and_registry():
    assert set(FORMATS) == {"hocr", "alto", "page"}
    with pytest.raises(ValueError):
        write_layout("x", sample_layout(), "docx")


def test_empty_page(tmp_path, schemas):
    layout = PageLayout(100, 50, image="blank.png")
    for fmt, (w, r) in WRITERS.items():
        path = tmp_path / f"blank.{fmt}"
        w(path, layout)
        if fmt in schemas:
            assert schemas[fmt].validate(lxml_etree.parse(str(path))), schemas[fmt].error_log
        back = r(path)
        assert back.blocks == [] and (back.width, back.height) == (100, 50)


def test_json_hierarchy_round_trip(tmp_path):
    layout = sample_layout(180)
    path = tmp_path / "p.layout.json"
    write_layout_json(path, layout)
    back = read_layout_json(path)
    assert back.to_dict() == layout.to_dict()
    d = layout.to_dict()
    assert d["orientation"] == 180 and d["blocks"][0]["lines"][0]["words"][0]["text"] == ""
    w = d["blocks"][0]["lines"][0]["words"][0]
    assert set(w) == {"order", "index", "polygon", "score", "direction", "text"}
