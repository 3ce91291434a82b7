"""Text recognition on textseg's lines (OCR), and text in reading order.

    from textseg.detector import Detector
    from textseg.recognize import recognize_page, page_text

    lines = recognize_page(image_rgb, Detector.default(), lang="eng")
    for ln in lines:                 # one Line per detected text line
        print(ln.text, ln.confidence, [(w.text, w.polygon) for w in ln.words])
    print(page_text(lines))          # plain text in reading order

Engines: "tesseract" (:class:`TesseractRecognizer`: Tesseract's LSTM engine through
tesserocr; ``pip install 'textseg[ocr]'``). The engine's package is imported only when an
engine is built, so the rest of textseg works without it.
"""

from __future__ import annotations

from .base import Line, Recognizer, RecognizerError, Word
from .text import (ORDER_DEFAULTS, line_records, page_text, reading_order, word_records,
                   word_texts)

__all__ = ["Recognizer", "RecognizerError", "Line", "Word", "RECOGNIZERS", "get_recognizer",
           "recognize_page", "page_text", "reading_order", "line_records", "word_records",
           "word_texts", "ORDER_DEFAULTS", "TesseractRecognizer"]

#: engine names accepted by :func:`get_recognizer` (``--recognize NAME``)
RECOGNIZERS = ("tesseract",)


def get_recognizer(name="tesseract", lang="eng", **options):
    """A recogniser by name (see :data:`RECOGNIZERS`), e.g.
    ``get_recognizer("tesseract", lang="eng+deu")``. Raises :class:`RecognizerError`
    (one line, with the install hint) when the engine or a language is missing."""
    if name == "tesseract":
        from .tesseract import TesseractRecognizer

        return TesseractRecognizer(lang=lang, **options)
    raise RecognizerError(f"unknown recogniser {name!r} (choose from {', '.join(RECOGNIZERS)})")


def recognize_page(image, detector=None, recognizer=None, lang="eng", words=None, **options):
    """Detect the words of ``image`` (RGB uint8), group them into lines and read every line.

    ``detector``: a :class:`textseg.detector.Detector` (default: ``Detector.default()``);
    ``words``: detections to use instead of running a detector; ``recognizer``: a
    :class:`Recognizer` or an engine name (default "tesseract", built with ``lang`` and
    ``options``). Returns the list of :class:`Line` (input order of
    :func:`textseg.layout.group_lines`: by line centre, top to bottom)."""
    from ..layout import group_lines

    own = False
    if recognizer is None or isinstance(recognizer, str):
        recognizer = get_recognizer(recognizer or "tesseract", lang=lang, **options)
        own = True
    try:
        if words is None:
            if detector is None:
                from ..detector import Detector

                detector = Detector.default()
            detect = getattr(detector, "detect", None) or detector
            words = detect(image)
        return recognizer.recognize(image, group_lines(words), words)
    finally:
        if own:
            recognizer.close()


def __getattr__(name):  # TesseractRecognizer without importing tesserocr up front
    if name == "TesseractRecognizer":
        from .tesseract import TesseractRecognizer

        return TesseractRecognizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
