"""The OCRmyPDF plugin: a scanned PDF in, a searchable PDF out whose text layer holds the
words textseg + Tesseract read, where the detector found them (needs the ``ocr`` extra)."""

import os

import numpy as np
import pytest

from conftest import sans_font

from textseg.benchmarks.ocr import text_layer_words
from textseg.geometry import aabb_iou

if os.environ.get("TEXTSEG_REQUIRE_OCR"):  # CI installs the ocr extra: never skip there
    import ocrmypdf  # noqa: F401
    import tesserocr  # noqa: F401
else:  # a user without the extra
    pytest.importorskip("ocrmypdf")
    pytest.importorskip("tesserocr")

DPI = 200
LINES = ["Invoice number 4711 dated March", "Total amount due 1250 EUR",
         "Please pay within thirty days", "Thank you for your order"]


def _scan(path):
    """A 5 x 3.5 inch page at 200 DPI with four lines of text, saved as an image-only PDF;
    returns the page as RGB."""
    from PIL import Image, ImageDraw

    im = Image.new("L", (5 * DPI, int(3.5 * DPI)), 255)
    d = ImageDraw.Draw(im)
    font = sans_font(30)
    for i, t in enumerate(LINES):
        d.text((60, 60 + 70 * i), t, fill=0, font=font)
    rgb = im.convert("RGB")
    rgb.save(path, resolution=float(DPI))
    return np.asarray(rgb)


@pytest.fixture(scope="module")
def searchable(tmp_path_factory):
    import ocrmypdf

    import textseg.ocrmypdf as plugin
    from textseg.recognize.base import RecognizerError
    from textseg.recognize.tesseract import find_tessdata

    try:
        find_tessdata("eng")
    except RecognizerError as e:
        if os.environ.get("TEXTSEG_REQUIRE_OCR"):
            raise
        pytest.skip(str(e))
    d = tmp_path_factory.mktemp("pdf")
    image = _scan(d / "scan.pdf")
    # keep what the plugin read on the page image OCRmyPDF gave it (threads: same process)
    seen, read = [], plugin.read_image

    def spy(img, options=None):
        lines = read(img, options)
        seen.append((img, lines))
        return lines

    plugin.read_image = spy
    try:
        ocrmypdf.ocr(d / "scan.pdf", d / "out.pdf", plugins=["textseg.ocrmypdf"],
                     output_type="pdf", optimize=0, progress_bar=False, jobs=1, use_threads=True,
                     sidecar=d / "out.txt")
    finally:
        plugin.read_image = read
    return d, image, seen


def test_text_layer_holds_the_recognised_words_at_their_positions(searchable):
    d, image, seen = searchable
    layer = text_layer_words(d / "out.pdf", DPI)
    assert layer, "no text layer"
    assert len(seen) == 1 and seen[0][0].shape == image.shape  # rasterised at 200 DPI
    lines = seen[0][1]
    ours = [(w.text, [*w.polygon.min(axis=0), *w.polygon.max(axis=0)])
            for ln in lines for w in ln.words]
    assert sum(w.source == "detector" for ln in lines for w in ln.words) >= 0.8 * len(ours)
    assert len(ours) >= 15
    found = 0
    for text, box in ours:
        if any(t == text and aabb_iou(box, b) > 0.5 for t, b in layer):
            found += 1
    assert found >= 0.95 * len(ours), (ours, layer)
    # and the words are the page's words
    true = " ".join(LINES).split()
    got = [t for t, _ in layer]
    assert sum(1 for t in true if t in got) >= 0.9 * len(true), got
    sidecar = (d / "out.txt").read_text()
    assert "Invoice number 4711" in sidecar


def test_hocr_and_text_only_pdf_outputs(searchable, tmp_path):
    from PIL import Image

    from textseg.ocrmypdf import TextsegOcrEngine

    d, image, _ = searchable
    png = tmp_path / "page.png"
    Image.fromarray(image).save(png, dpi=(DPI, DPI))
    engine = TextsegOcrEngine()
    assert "textseg" in str(engine) and "tesseract" in engine.version()
    assert "eng" in engine.languages(None)
    assert engine.get_orientation(png, None).angle in (0, 90, 180, 270)
    engine.generate_hocr(png, tmp_path / "p.hocr", tmp_path / "p.txt", None)
    hocr = (tmp_path / "p.hocr").read_text()
    assert "ocrx_word" in hocr and "Invoice" in hocr and "x_wconf" in hocr
    assert "for your order" in (tmp_path / "p.txt").read_text()
    # OCRmyPDF's own hOCR reader takes our hOCR
    from ocrmypdf.hocrtransform import HocrParser

    tree = HocrParser(tmp_path / "p.hocr").parse()
    assert any(w.text == "Invoice" for w in tree.words)
    engine.generate_pdf(png, tmp_path / "p.pdf", tmp_path / "p2.txt", None)
    assert any(t == "Invoice" for t, _ in text_layer_words(tmp_path / "p.pdf", DPI))
