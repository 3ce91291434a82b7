"""OCRmyPDF plugin: searchable PDFs from textseg's layout and Tesseract's recognition.

    ocrmypdf --plugin textseg.ocrmypdf scan.pdf searchable.pdf
    ocrmypdf --plugin textseg.ocrmypdf -l eng+deu --textseg-model my.onnx scan.pdf out.pdf

    import ocrmypdf
    ocrmypdf.ocr("scan.pdf", "searchable.pdf", plugins=["textseg.ocrmypdf"])

Every page image that OCRmyPDF rasterises goes through :meth:`textseg.detector.Detector`
(the shipped model unless ``--textseg-model``), :func:`textseg.layout.group_lines` and
:class:`textseg.recognize.TesseractRecognizer` (Tesseract's LSTM engine through tesserocr,
in process: no ``tesseract`` executable is needed, and the built-in Tesseract plugin is
switched off). The result goes back to OCRmyPDF as its OCR tree (``generate_ocr``), so
OCRmyPDF's own renderer lays the invisible text over the page; ``generate_hocr`` writes
the same result as hOCR, and ``generate_pdf`` renders a text-only PDF for the sandwich
renderer. OCRmyPDF's ``--tesseract-*`` options are accepted and ignored.

Needs ``pip install 'textseg[ocr]'`` (ocrmypdf, tesserocr, English language data).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np
from ocrmypdf import hookimpl
from ocrmypdf.pluginspec import OcrEngine, OrientationConfidence

log = logging.getLogger(__name__)

__all__ = ["TextsegOcrEngine", "page_tree", "write_hocr"]

_BUILTIN_TESSERACT = "ocrmypdf.builtin_plugins.tesseract_ocr"
_DETECTORS: dict = {}
_LOCK = threading.Lock()


# ----------------------------------------------------------------------------- hooks

@hookimpl
def initialize(plugin_manager):
    # our engine reads with tesserocr: the built-in plugin would demand the executable
    plugin_manager.set_blocked(_BUILTIN_TESSERACT)


@hookimpl
def add_options(parser):
    from ocrmypdf.builtin_plugins.tesseract_ocr import TesseractOptions

    # keep OCRmyPDF's --tesseract-* options (its validation reads them) without the plugin
    TesseractOptions.add_arguments_to_parser(parser)
    group = parser.add_argument_group("textseg", "textseg layout + Tesseract recognition")
    group.add_argument("--textseg-model", metavar="PATH", default=None,
                       help="detector checkpoint or ONNX file (default: the shipped model)")
    group.add_argument("--textseg-threads", metavar="N", type=int, default=1,
                       help="CPU threads of the detector and Tesseract engines per OCRmyPDF "
                            "worker (default 1)")
    group.add_argument("--textseg-word-boxes", choices=("detector", "recognizer"),
                       default="detector",
                       help="word boxes of the text layer: the detector's words (default) "
                            "or Tesseract's split of each line")


@hookimpl
def register_options():
    from ocrmypdf.builtin_plugins.tesseract_ocr import TesseractOptions

    return {"tesseract": TesseractOptions}


@hookimpl
def check_options(options):
    from .recognize.base import RecognizerError
    from .recognize.tesseract import _import_tesserocr, find_tessdata

    try:
        _import_tesserocr()
        find_tessdata(_lang(options))
    except RecognizerError as e:
        from ocrmypdf.exceptions import MissingDependencyError

        raise MissingDependencyError(str(e)) from None


@hookimpl
def get_ocr_engine(options):
    return TextsegOcrEngine()


# ----------------------------------------------------------------------------- work

def _opt(options, name, default=None):
    if options is None:
        return default
    try:
        v = getattr(options, name)
    except AttributeError:
        v = None
    if v is None:
        v = (getattr(options, "extra_attrs", None) or {}).get(name)
    return default if v is None else v


def _lang(options):
    langs = _opt(options, "languages", None) or ["eng"]
    if isinstance(langs, str):
        langs = [langs]
    return "+".join(langs)


def _detector(options):
    model = _opt(options, "textseg_model", None)
    threads = int(_opt(options, "textseg_threads", 1) or 1)
    key = (model, threads)
    with _LOCK:
        if key not in _DETECTORS:
            from .detector import Detector

            _DETECTORS[key] = (Detector.from_file(model, threads=threads) if model
                               else Detector.default(threads=threads))
        return _DETECTORS[key]


def _load(input_file):
    from PIL import Image

    with Image.open(input_file) as im:
        dpi = im.info.get("dpi", (300, 300))
        dpi = float(dpi[0] if isinstance(dpi, (tuple, list)) else dpi) or 300.0
        rgb = np.asarray(im.convert("RGB"))
    return rgb, dpi


def read_image(image, options=None):
    """textseg's lines for one RGB page image (a list of :class:`textseg.recognize.Line`)."""
    from .geometry import pad_detections
    from .layout import group_lines
    from .pipeline import layout_detector
    from .recognize.tesseract import thread_recognizer

    det = _detector(options)
    detect, pad = layout_detector(getattr(det, "detect", None) or det)
    words = detect(image)  # rows grouped from the decoder's boxes, then padded (infer.pad)
    lines = pad_detections(group_lines(words), pad)
    rec = thread_recognizer(_lang(options),
                            word_boxes=_opt(options, "textseg_word_boxes", "detector"),
                            threads=int(_opt(options, "textseg_threads", 1) or 1))
    return rec.recognize(image, lines, pad_detections(words, pad))


def _bbox(poly):
    from ocrmypdf.hocrtransform import BoundingBox

    p = np.asarray(poly, np.float64).reshape(-1, 2)
    return BoundingBox(left=float(p[:, 0].min()), top=float(p[:, 1].min()),
                       right=float(p[:, 0].max()), bottom=float(p[:, 1].max()))


def _line_geometry(line):
    """(textangle in degrees counter-clockwise, baseline slope or None) of a line."""
    if line.angle in (90, 270):
        return float(line.angle), None
    p = np.asarray(line.polygon, np.float64).reshape(-1, 2)
    if len(p) < 2:
        return 0.0, None
    d = p[1] - p[0]
    if abs(d[0]) < 1e-6:
        return 0.0, None
    slope = float(d[1] / d[0])
    if abs(slope) > 0.3:  # a steeply rotated line: let the angle carry it
        return float(np.degrees(np.arctan2(-d[1], d[0]))), None
    return 0.0, slope


def _skewed_line_box(el, quad, slope, words, box):
    """Line box and hOCR baseline for a level or slightly skewed line.

    OCRmyPDF's renderer sizes the font from the line box: the height above the baseline at
    the box's left edge. The box of a skewed line is taller than its text, so the line gets
    a box as high as its text at its left end (its words keep their own boxes). The
    baseline (``y = slope * (x - left) + intercept`` from the bottom-left) runs where most
    words end: the upper quartile of the words' bottoms below the line's top edge (words
    with descenders end lower)."""
    from ocrmypdf.hocrtransform import BoundingBox
    from ocrmypdf.models.ocr_element import Baseline

    tl, _, _, bl = quad
    h = float(np.hypot(*(bl - tl)))
    if h < 1:
        return
    top = tl[1] + slope * (box.left - tl[0])
    offsets = []
    for w in words:
        p = np.asarray(w.polygon, np.float64).reshape(-1, 2)
        cx = p[:, 0].mean()
        offsets.append(p[:, 1].max() - (tl[1] + slope * (cx - tl[0])))
    base = float(np.clip(np.percentile(offsets, 25), 0.5 * h, h)) if offsets else 0.8 * h
    el.bbox = BoundingBox(left=box.left, top=float(top), right=box.right, bottom=float(top + h))
    el.baseline = Baseline(slope=float(slope), intercept=float(base - h))


def page_tree(lines, width, height, dpi, page_number=0, language=None):
    """The recognised lines as OCRmyPDF's OCR tree: ocr_page > ocr_line > ocrx_word."""
    from ocrmypdf.hocrtransform import BoundingBox, OcrClass, OcrElement

    from .recognize import reading_order

    page = OcrElement(ocr_class=OcrClass.PAGE,
                      bbox=BoundingBox(left=0, top=0, right=width, bottom=height),
                      dpi=float(dpi), page_number=page_number)
    for i in reading_order(lines):
        ln = lines[i]
        words = [w for w in ln.words if w.text.strip()]
        if not words:
            continue
        box = _bbox(ln.polygon)
        angle, slope = _line_geometry(ln)
        el = OcrElement(ocr_class=OcrClass.LINE, bbox=box, textangle=angle or None,
                        language=language, confidence=float(ln.confidence))
        p = np.asarray(ln.polygon, np.float64).reshape(-1, 2)
        if slope is not None and len(p) == 4:
            _skewed_line_box(el, p, slope, words, box)
        for w in words:
            el.children.append(OcrElement(ocr_class=OcrClass.WORD, bbox=_bbox(w.polygon),
                                          text=w.text, confidence=float(w.confidence),
                                          language=language))
        page.children.append(el)
    return page


def _escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def write_hocr(page, path, title="textseg"):
    """Write an OCR tree of :func:`page_tree` as an hOCR file."""
    def bb(b):
        return f"bbox {int(round(b.left))} {int(round(b.top))} {int(round(b.right))} {int(round(b.bottom))}"

    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
           '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
           '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">',
           f'<head><title>{_escape(title)}</title>',
           '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>',
           "<meta name='ocr-system' content='textseg + tesseract'/>",
           "<meta name='ocr-capabilities' content='ocr_page ocr_line ocrx_word ocrp_wconf'/>",
           "</head><body>",
           f"<div class='ocr_page' id='page_1' title='{bb(page.bbox)}; "
           f"ppageno {page.page_number or 0}; scan_res {int(page.dpi or 300)} {int(page.dpi or 300)}'>"]
    for i, ln in enumerate(page.children, 1):
        t = bb(ln.bbox)
        if ln.baseline is not None:
            t += f"; baseline {ln.baseline.slope:.4f} {ln.baseline.intercept:.1f}"
        if ln.textangle:
            t += f"; textangle {ln.textangle:g}"
        out.append(f"<span class='ocr_line' id='line_1_{i}' title='{t}'>")
        for j, w in enumerate(ln.children, 1):
            conf = int(round(100 * (w.confidence or 0.0)))
            out.append(f"<span class='ocrx_word' id='word_1_{i}_{j}' "
                       f"title='{bb(w.bbox)}; x_wconf {conf}'>{_escape(w.text)}</span>")
        out.append("</span>")
    out += ["</div>", "</body></html>", ""]
    Path(path).write_text("\n".join(out), encoding="utf-8")


class TextsegOcrEngine(OcrEngine):
    """OCRmyPDF engine: textseg lines + Tesseract (see the module docstring)."""

    @staticmethod
    def version():
        from . import __version__ as ts_version
        from .recognize.tesseract import _import_tesserocr

        tess = _import_tesserocr().tesseract_version().split()[1]
        return f"textseg {ts_version} + tesseract {tess}"

    @staticmethod
    def creator_tag(options):
        return f"with {TextsegOcrEngine.version()}"

    def __str__(self):
        return TextsegOcrEngine.version()

    @staticmethod
    def languages(options):
        from .recognize.tesseract import available_languages

        return set(available_languages()) - {"osd", "equ"}

    @staticmethod
    def get_orientation(input_file, options):
        """Tesseract's orientation and script detection (needs osd.traineddata; 0 with no
        confidence without it)."""
        from .recognize.tesseract import _import_tesserocr, available_languages

        osd = available_languages().get("osd")
        if osd is None:
            return OrientationConfidence(angle=0, confidence=0.0)
        tess = _import_tesserocr()
        try:
            with tess.PyTessBaseAPI(path=osd.rstrip(os.sep) + os.sep, lang="osd",
                                    psm=tess.PSM.OSD_ONLY) as api:
                api.SetVariable("debug_file", os.devnull)
                api.SetImageFile(str(input_file))
                r = api.DetectOrientationScript()
        except RuntimeError:
            r = None
        if not r:
            return OrientationConfidence(angle=0, confidence=0.0)
        return OrientationConfidence(angle=int(r["orient_deg"]) % 360,
                                     confidence=float(r["orient_conf"]))

    @staticmethod
    def get_deskew(input_file, options):
        return 0.0  # lines are read along their own direction

    @staticmethod
    def supports_generate_ocr():
        return True

    @staticmethod
    def _tree(input_file, options, page_number=0):
        from .recognize import page_text

        image, dpi = _load(input_file)
        lines = read_image(image, options)
        lang = _lang(options).split("+")[0]
        tree = page_tree(lines, image.shape[1], image.shape[0], dpi, page_number, lang)
        return tree, page_text(lines)

    @staticmethod
    def generate_ocr(input_file, options, page_number=0):
        return TextsegOcrEngine._tree(input_file, options, page_number)

    @staticmethod
    def generate_hocr(input_file, output_hocr, output_text, options):
        tree, text = TextsegOcrEngine._tree(input_file, options)
        write_hocr(tree, output_hocr)
        Path(output_text).write_text(text, encoding="utf-8")

    @staticmethod
    def generate_pdf(input_file, output_pdf, output_text, options):
        from ocrmypdf.font import MultiFontManager
        from ocrmypdf.fpdf_renderer import Fpdf2PdfRenderer

        import ocrmypdf as _om

        tree, text = TextsegOcrEngine._tree(input_file, options)
        fonts = MultiFontManager(Path(_om.__file__).parent / "data")
        Fpdf2PdfRenderer(page=tree, dpi=tree.dpi, multi_font_manager=fonts,
                         invisible_text=True).render(Path(output_pdf))
        Path(output_text).write_text(text, encoding="utf-8")
