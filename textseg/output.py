"""Writers for detection results: JSON, ICDAR 2015 submission text, overlay images.

A page result is a list of ``(polygon float32 (N, 2), score)`` for one page of an input
(:class:`textseg.data.images.Page`). For a page whose output stem is ``name``
(``name_p3`` for page 3 of a multi-page file, see :func:`textseg.data.images.safe_output_stem`):

* ``name.json``: :func:`to_json_dict` -- image, page, size, level, model, detections;
* ``res_name.txt``: ICDAR 2015 submission lines ``x1,y1,...,x4,y4`` (integers; polygons
  with more points keep them all; ``,score`` appended with ``with_score``);
* ``name_overlay.jpg``: the page with the polygons drawn on it (PNG with ``.png``).

Every writer is atomic (:mod:`textseg.fileio`) and refuses to replace an existing file
unless ``overwrite=True`` (:class:`OutputExistsError`, a ``FileExistsError`` and a
:class:`~textseg.errors.TextsegError`).
numpy/OpenCV only (no torch).
"""

from __future__ import annotations

import json
import os

import numpy as np

from .errors import TextsegError
from .fileio import atomic_write
from .geometry import split_detection

__all__ = [
    "OutputExistsError", "to_json_dict", "write_json", "write_icdar_txt", "draw_overlay",
    "write_overlay", "write_page", "output_paths", "FORMATS", "ALL_FORMATS", "OVERLAY_COLOR",
    "check_new",
]

FORMATS = ("json", "txt", "overlay")
#: every output :func:`output_paths` names: the flat ones above, then those written from a
#: page layout (:mod:`textseg.pipeline`): hOCR, ALTO, PAGE XML, the layout JSON hierarchy
#: and the recognised plain text
ALL_FORMATS = FORMATS + ("hocr", "alto", "page", "layout", "text")
#: default overlay colour (RGB)
OVERLAY_COLOR = (255, 0, 0)


class OutputExistsError(TextsegError, FileExistsError):
    """An output file that exists already (one line naming it); a user's error
    (:class:`~textseg.errors.TextsegError`) and still a ``FileExistsError``."""

    def __init__(self, path):
        self.filename = os.fspath(path)
        super().__init__(f"{self.filename}: file exists (use --overwrite / overwrite=True "
                         "to replace it)")

    def __str__(self):
        return self.args[0]


def check_new(path, overwrite):
    """Raise :class:`OutputExistsError` when ``path`` exists and not ``overwrite``."""
    if not overwrite and os.path.lexists(path):
        raise OutputExistsError(path)


_check_new = check_new


def _write(path, data, overwrite):
    _check_new(path, overwrite)
    try:
        atomic_write(path, data, overwrite=overwrite)
    except FileExistsError:  # appeared meanwhile
        raise OutputExistsError(path) from None


def _split(det):
    poly, score = split_detection(det)
    return np.asarray(poly, dtype=np.float64).reshape(-1, 2), score


# ----------------------------------------------------------------------------- JSON

def to_json_dict(page, detections, width=None, height=None, level="word", model=None,
                 page_index=0, n_pages=1, decimals=2):
    """A JSON-ready dict for one page's result.

    ``page`` is a :class:`~textseg.data.images.Page` (source, index, page count and size
    come from it) or the image path (then give ``width``, ``height`` and, for a page of a
    multi-page file, ``page_index`` (0-based) and ``n_pages``). Keys: ``image``, ``page``
    (1-based), ``pages``, ``width``, ``height``, ``level``, ``model``, ``detections``: a list of
    ``{"polygon": [[x, y], ...], "score": s}`` with coordinates rounded to ``decimals``
    and scores to 4 decimals (``null`` when a detection has no score).
    """
    if hasattr(page, "image") and hasattr(page, "source"):
        source, page_index, n_pages = page.source, page.index, page.n_pages
        height, width = page.image.shape[:2]
    else:
        source = os.fspath(page)
    if isinstance(source, bytes):
        source = os.fsdecode(source)
    # a file name that is not valid UTF-8 (undecodable bytes kept as surrogates by the
    # OS layer) cannot go into a UTF-8 JSON file: show those bytes as U+FFFD instead
    source = _printable_name(source)
    if width is None or height is None:
        raise ValueError("to_json_dict: width and height are needed when page is a path")
    dets = []
    for det in detections:
        poly, score = _split(det)
        dets.append({"polygon": np.round(poly, decimals).tolist(),
                     "score": None if score is None else round(score, 4)})
    return {"image": source, "page": int(page_index) + 1, "pages": n_pages,
            "width": int(width), "height": int(height), "level": level, "model": model,
            "detections": dets}


def _printable_name(name):
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # other lone surrogates
        return name.encode("utf-8", "replace").decode("utf-8")


def write_json(path, record, overwrite=False):
    """Write a :func:`to_json_dict` record as UTF-8 JSON (one detection per line)."""
    head = {k: v for k, v in record.items() if k != "detections"}
    body = ",\n".join("  " + json.dumps(d, ensure_ascii=False, allow_nan=False)
                      for d in record.get("detections", []))
    text = json.dumps(head, ensure_ascii=False, allow_nan=False, indent=1)[:-2]
    text += (',\n "detections": [\n' + body + "\n ]\n}\n") if body else ',\n "detections": []\n}\n'
    _write(path, text, overwrite)


# ----------------------------------------------------------------------------- ICDAR

def write_icdar_txt(path, detections, with_score=False, overwrite=False, texts=None):
    """Write an ICDAR 2015 submission file (name it ``res_<stem>.txt``, see
    :func:`output_paths`): one ``x1,y1,...,xn,yn[,score]`` line per detection, integer
    coordinates (truncated, as the ICDAR 2015 script reads float ones), clockwise as
    given (:func:`textseg.data.icdar.write_results`, atomic).
    ``texts`` (one per detection): the transcription after the coordinates (and the
    score), as the ICDAR 2015 end-to-end task has it; line breaks become spaces, and a
    text that reads as a number is quoted (:func:`textseg.data.icdar.quote_text`)."""
    from .data.icdar import write_results

    _check_new(path, overwrite)
    if texts is None:
        write_results(path, detections, with_score=with_score)
        return
    from .data.icdar import _result_points_str, quote_text

    lines = []
    for det, text in zip(detections, texts):
        poly, score = split_detection(det)
        s = _result_points_str(poly)
        if with_score:
            s += f",{(1.0 if score is None else score):.6g}"
        lines.append(s + "," + quote_text(text) + "\n")
    _write(path, "".join(lines), overwrite)


# ----------------------------------------------------------------------------- overlay

def draw_overlay(image, detections, color=OVERLAY_COLOR, thickness=None, show_scores=False):
    """A copy of ``image`` (RGB uint8 (H, W, 3), or grayscale) with the polygons drawn.

    ``color`` is RGB; ``thickness`` defaults to about 1/500 of the shorter side (>= 1).
    With ``show_scores`` each polygon gets its score written at its first point.
    """
    import cv2

    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4) or img.dtype != np.uint8:
        raise ValueError(f"draw_overlay: expected an RGB uint8 (H, W, 3) image, got "
                         f"{img.dtype} {img.shape}")
    out = np.ascontiguousarray(img[:, :, :3]).copy()
    if thickness is None:
        thickness = max(1, int(round(min(out.shape[:2]) / 500)))
    color = tuple(int(c) for c in color)
    shift = 2  # quarter-pixel precision
    polys = []
    for det in detections:
        poly, score = _split(det)
        if len(poly) >= 2 and np.isfinite(poly).all():
            polys.append((np.rint(poly * (1 << shift)).astype(np.int32), score))
    cv2.polylines(out, [p for p, _ in polys], True, color, int(thickness), cv2.LINE_AA, shift)
    if show_scores:
        scale = max(0.3, thickness * 0.4)
        for p, score in polys:
            if score is not None:
                x, y = (p[0] >> shift).tolist()
                cv2.putText(out, f"{score:.2f}", (x, max(y - 2, 8)), cv2.FONT_HERSHEY_SIMPLEX,
                            scale, color, max(1, thickness // 2), cv2.LINE_AA)
    return out


def write_overlay(path, image, detections, color=OVERLAY_COLOR, thickness=None,
                  show_scores=False, quality=90, overwrite=False):
    """Draw the detections (:func:`draw_overlay`) and save as JPEG (``.jpg``/``.jpeg``)
    or PNG (``.png``), chosen by the extension."""
    import cv2

    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif ext == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    else:
        raise ValueError(f"{path}: overlay must be .jpg, .jpeg or .png, not {ext or 'no extension'!r}")
    _check_new(path, overwrite)
    rgb = draw_overlay(image, detections, color, thickness, show_scores)
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(rgb[:, :, ::-1]), params)
    if not ok:  # pragma: no cover - encoders for jpg/png are always built in
        raise OSError(f"{path}: cannot encode the overlay image")
    _write(path, buf.tobytes(), overwrite)


# ----------------------------------------------------------------------------- one page

def output_paths(out_dir, stem, formats=FORMATS, overlay_ext=".jpg"):
    """``{format: path}`` for one page's outputs: ``stem.json``, ``res_stem.txt``,
    ``stem_overlay.jpg``, ``stem.hocr``, ``stem.alto.xml``, ``stem.page.xml``,
    ``stem.layout.json`` and ``stem.text.txt`` (the recognised text)."""
    names = {"json": f"{stem}.json", "txt": f"res_{stem}.txt",
             "overlay": f"{stem}_overlay{overlay_ext}", "hocr": f"{stem}.hocr",
             "alto": f"{stem}.alto.xml", "page": f"{stem}.page.xml",
             "layout": f"{stem}.layout.json", "text": f"{stem}.text.txt"}
    unknown = [f for f in formats if f not in names]
    if unknown:
        raise ValueError(f"unknown output format {unknown[0]!r} "
                         f"(choose from {', '.join(ALL_FORMATS)})")
    return {f: os.path.join(out_dir, names[f]) for f in formats}


def write_page(out_dir, page, detections, record=None, formats=FORMATS, overwrite=False,
               with_score=False, overlay_ext=".jpg", level="word", model=None, stem=None,
               texts=None, **overlay_options):
    """Write the chosen outputs of one :class:`~textseg.data.images.Page` into ``out_dir``
    (named from ``page.stem``, or from ``stem`` when given); returns ``{format: path}``.

    ``record`` is the :func:`to_json_dict` dict (built here from ``level``/``model`` when
    None). Without ``overwrite``, nothing is written when any of the files exists.
    ``texts``: transcriptions for the ICDAR txt (:func:`write_icdar_txt`).
    """
    paths = output_paths(out_dir, page.stem if stem is None else stem, formats, overlay_ext)
    for p in paths.values():
        _check_new(p, overwrite)
    if "json" in paths:
        if record is None:
            record = to_json_dict(page, detections, level=level, model=model)
        write_json(paths["json"], record, overwrite)
    if "txt" in paths:
        write_icdar_txt(paths["txt"], detections, with_score=with_score, overwrite=overwrite,
                        texts=texts)
    if "overlay" in paths:
        write_overlay(paths["overlay"], page.image, detections, overwrite=overwrite,
                      **overlay_options)
    return paths
