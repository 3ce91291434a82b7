"""One page from image to outputs: words, orientation, layout, recognised text.

    from textseg.pipeline import page_result
    layout, dets = page_result(detector, image, level="line", orientation=True,
                               recognizer=get_recognizer("tesseract", lang="eng"))

:func:`page_result` is what ``tools/detect.py`` runs per page and what
:func:`textseg.page` wraps for Python users (:class:`PageResult`). Levels: ``word`` (the
detector's words), ``line`` (the layout's lines: segments, :func:`textseg.layout.segment_lines`
rules) and ``block`` (the layout's blocks, paragraphs and tables). When nothing asks for
a layout (word level, no orientation, no recognition, only flat outputs) the detector's
words are returned as they come, in the detector's order; otherwise every level comes from
one :class:`~textseg.layout.PageLayout`, in reading order, so that the JSON, the ICDAR
txt and the hOCR / ALTO / PAGE files of a page hold the same boxes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["LEVELS", "LAYOUT_FORMATS", "page_result", "layout_detector", "layout_line_options", "level_texts", "layout_text",
           "PageResult", "page", "needs_layout", "record_extras", "write_outputs"]

LEVELS = ("word", "line", "block")
#: outputs built from the page layout (the others, json / txt / overlay, take detections)
LAYOUT_FORMATS = ("hocr", "alto", "page", "layout", "text")


def needs_layout(level="word", formats=(), orientation=False, recognizer=None):
    """True when a page's result must come from a layout (see the module docstring)."""
    return (level != "word" or bool(orientation) or recognizer is not None
            or any(f in LAYOUT_FORMATS for f in formats))


def _check_level(level):
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")


def page_result(detector, image, level="word", orientation=False, recognizer=None,
                layout=None):
    """``(layout, detections)`` of one page (RGB uint8 image).

    ``detector``: a :class:`~textseg.detector.Detector` (or any ``f(image) -> words``);
    ``orientation``: find the page's orientation (0/90/180/270) with
    :func:`textseg.layout.detect_upright` (sideways and upside-down pages are detected
    again once turned; polygons stay in the frame of ``image``); ``recognizer``: a
    :class:`textseg.recognize.Recognizer` that fills ``Line.text`` and ``Word.text``;
    ``layout``: ``None`` to build one only when needed (:func:`needs_layout`), ``True``
    to always build it. ``layout`` comes back ``None`` when none was built; ``detections``
    are ``[(polygon, score), ...]`` of ``level``.
    """
    _check_level(level)
    build = layout or needs_layout(level, (), orientation, recognizer)
    if not build:
        return None, detector(image)
    from .layout import analyze, detect_upright

    detect, pad = layout_detector(detector)
    opts = layout_line_options(detector)
    if orientation:
        words, (angle, skew, _) = detect_upright(detect, image)
        lay = analyze(words, image, orientation=(angle, skew), drop_marks=level != "word",
                      pad=pad, line_options=opts)
    else:
        words = detect(image)
        lay = analyze(words, image, drop_marks=level != "word", pad=pad, line_options=opts)
    if recognizer is not None:
        recognize_layout(lay, image, recognizer)
    return lay, lay.detections(level)


def layout_detector(detector):
    """``(detect, pad)``: what a layout groups and how much it pads. For a
    :class:`~textseg.detector.Detector`, its unpadded words and its ``infer.pad`` (the
    layout groups the decoder's boxes and pads its words and lines after grouping, as the
    detector's own ``level="line"`` does); for any other ``f(image) -> words``, ``f`` and 0."""
    pad = float(getattr(detector, "pad", 0.0) or 0.0)
    if not pad:
        return detector, 0.0
    return (lambda image: detector(image, pad=False)), pad


def layout_line_options(detector):
    """The segment options a detector asks of the layout (a
    :class:`~textseg.detector.Detector`'s ``infer.line_score``), or None."""
    get = getattr(detector, "line_options", None)
    return get() if callable(get) else None


def recognize_layout(layout, image, recognizer):
    """Read every line of ``layout`` with ``recognizer`` and fill ``Line.text`` and
    ``Word.text`` (the recognised words that fall in each detected word); returns it."""
    from .recognize import word_texts

    lines = layout.lines
    words = layout.words
    got = recognizer.recognize(image, [(ln.polygon, ln.score) for ln in lines],
                               [(w.polygon, w.score) for w in words])
    for ln, rec in zip(lines, got):
        ln.text = rec.text or ""
    for w, t in zip(words, word_texts([w.polygon for w in words], got)):
        w.text = t or ""
    return layout


def level_texts(layout, level):
    """The text of each element of ``level`` (reading order): words' and lines' own
    text, a block's lines joined by newlines."""
    _check_level(level)
    if level == "word":
        return [w.text for w in layout.words]
    if level == "line":
        return [ln.text for ln in layout.lines]
    return ["\n".join(ln.text for ln in b.lines if ln.text) for b in layout.blocks]


def layout_text(layout):
    """The page's plain text in reading order: one line of text per line, a blank line
    between blocks; lines with no text are left out."""
    paras = []
    for b in layout.blocks:
        lines = [ln.text.strip() for ln in b.lines if ln.text.strip()]
        if lines:
            paras.append("\n".join(lines))
    return "\n\n".join(paras) + ("\n" if paras else "")


def record_extras(record, layout, level, texts=False):
    """Add the layout's findings to a :func:`textseg.output.to_json_dict` record: the
    page's ``orientation``, ``skew`` and ``orientation_confidence``, and (``texts``) a
    ``text`` per detection. Returns ``record``."""
    if layout is None:
        return record
    conf = layout.orientation_confidence
    record["orientation"] = int(layout.orientation)
    record["skew"] = round(float(layout.skew), 3)
    record["orientation_confidence"] = None if conf is None else round(float(conf), 4)
    if texts:
        for d, t in zip(record["detections"], level_texts(layout, level)):
            d["text"] = t
    return record


def write_outputs(out_dir, page, detections, record, layout, formats, stem, overwrite=False,
                  texts=None):
    """Write one page's outputs (``formats``: see :func:`textseg.output.output_paths`)
    atomically; returns ``{format: path}``. Nothing is written when one of the files
    exists and ``overwrite`` is false. ``texts``: the ICDAR txt's transcriptions."""
    from . import output
    from .fileio import atomic_write
    from .formats import write_layout

    paths = output.output_paths(out_dir, stem, formats)
    for p in paths.values():
        output.check_new(p, overwrite)
    flat = [f for f in formats if f in output.FORMATS]
    if flat:
        output.write_page(out_dir, page, detections, record, flat, overwrite=overwrite,
                          stem=stem, texts=texts)
    name = os.path.basename(str(page.source))
    for fmt in ("hocr", "alto", "page"):
        if fmt in paths:
            write_layout(paths[fmt], layout, fmt, image_name=name, overwrite=overwrite)
    if "layout" in paths:
        from .layout import write_layout_json

        layout.image = name
        write_layout_json(paths["layout"], layout, overwrite=overwrite)
    if "text" in paths:
        atomic_write(paths["text"], layout_text(layout), overwrite=overwrite)
    return paths


@dataclass
class PageResult:
    """What :func:`page` returns: ``layout`` (:class:`~textseg.layout.PageLayout`),
    ``detections`` (``[(polygon, score), ...]`` of ``level``, reading order), ``level``.
    ``texts``: the text per detection; ``text``: the page in reading order;
    :meth:`write` saves the layout as hOCR, ALTO, PAGE or layout JSON."""

    layout: object
    detections: list
    level: str = "word"

    @property
    def texts(self):
        return level_texts(self.layout, self.level)

    @property
    def text(self):
        return layout_text(self.layout)

    @property
    def orientation(self):
        """``(angle, skew)`` of the page."""
        return int(self.layout.orientation), float(self.layout.skew)

    def write(self, path, fmt, image_name=None, overwrite=True):
        """Write the layout as ``fmt``: ``hocr``, ``alto``, ``page`` or ``layout``."""
        if fmt == "layout":
            from .layout import write_layout_json

            return write_layout_json(path, self.layout, overwrite=overwrite)
        from .formats import write_layout

        write_layout(path, self.layout, fmt, image_name=image_name, overwrite=overwrite)


def page(image, detector=None, level="word", orientation=False, recognize=None, lang="eng"):
    """Detect, lay out and (optionally) read one page: a :class:`PageResult`.

    ``image``: an RGB uint8 array or a path; ``detector``: a
    :class:`~textseg.detector.Detector` (default: the shipped model); ``recognize``:
    ``None``, an engine name (``"tesseract"``, read with ``lang``, e.g. ``"eng+deu"``) or a
    :class:`textseg.recognize.Recognizer`."""
    from .detector import Detector, _as_rgb

    image = _as_rgb(image)
    if detector is None:
        detector = Detector.default()
    own = isinstance(recognize, str)
    rec = recognize
    if own:
        from .recognize import get_recognizer

        rec = get_recognizer(recognize, lang=lang)
    try:
        lay, dets = page_result(detector, image, level, orientation, rec, layout=True)
    finally:
        if own:
            rec.close()
    return PageResult(lay, dets, level)
