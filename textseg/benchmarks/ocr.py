"""OCR measured: Tesseract alone against textseg's lines + Tesseract, on ground-truth words.

    python -m textseg.benchmarks.ocr --data ../shared/data/funsd-train [--limit N] [--pdf-pages N]

For every page of ``DATA`` (``images/`` + ``words/gt_*.txt``, ICDAR 2015 files whose text
fields are the transcriptions; ``###`` is no text):

* (a) ``tesseract``: Tesseract's own page segmentation on the whole page
  (``tesseract --psm 3``: tesserocr, PSM.AUTO), its text in its own reading order;
* (b) ``textseg``: the shipped detector (``Detector.default()``), words grouped into lines
  (:func:`textseg.layout.group_lines`), each line read by Tesseract
  (:class:`textseg.recognize.TesseractRecognizer`), the text in
  :func:`textseg.recognize.reading_order`.

Both use the same Tesseract engine and language data, in one process, one after the other
on each page. Per page: bag-of-words F1 (recognised words, split at white space, against
the true words; case-sensitive, punctuation kept, each word counted as often as it occurs),
CER (edit distance between the page texts, words joined by single spaces, the true text in
the order of its file, over the true text's length), word boxes against the true words
(ICDAR 2015 protocol, IoU > 0.5: ``box_hmean``; a matched box whose text is also right:
``e2e_hmean``), and seconds per page, wall clock and CPU time of the process (for (b):
detection + lines + recognition). For (b),
word boxes are scored both as Tesseract split the line (``recognizer``) and snapped to the
detector's words (``detector``). Figures are means over pages; ``micro_f1`` pools the
words of all pages.
"""

from __future__ import annotations

import copy
import time
from collections import Counter

import numpy as np

from ..geometry import aabb_iou

__all__ = ["bag_f1", "cer", "edit_distance", "measure", "main"]


def edit_distance(a, b):
    """Levenshtein distance between two sequences (str or list), O(len(a) * len(b)) time,
    vectorised over ``b``."""
    if len(a) < len(b):
        a, b = b, a
    if len(b) == 0:
        return len(a)
    codes = {c: i for i, c in enumerate(set(a) | set(b))}
    bb = np.array([codes[c] for c in b])
    aa = [codes[c] for c in a]
    m = len(bb)
    ar = np.arange(m + 1, dtype=np.int64)
    prev = ar.copy()
    for i, ca in enumerate(aa, 1):
        sub = prev[:-1] + (bb != ca)
        dele = prev[1:] + 1
        t = np.empty(m + 1, dtype=np.int64)
        t[0] = i
        t[1:] = np.minimum(sub, dele)
        # insertions: cur[j] = min_k<=j (t[k] + j - k)
        prev = np.minimum.accumulate(t - ar) + ar
    return int(prev[-1])


def cer(pred_text, true_text):
    """Character error rate: edit distance of the white-space-normalised texts over the
    true text's length (1.0 for a non-empty prediction of an empty page)."""
    p = " ".join(pred_text.split())
    t = " ".join(true_text.split())
    if not t:
        return 0.0 if not p else 1.0
    return edit_distance(p, t) / len(t)


def bag_f1(pred_words, true_words):
    """``(f1, precision, recall, matched)`` of two bags of words (multisets)."""
    p, t = Counter(pred_words), Counter(true_words)
    matched = sum((p & t).values())
    n_p, n_t = sum(p.values()), sum(t.values())
    prec = matched / n_p if n_p else (1.0 if not n_t else 0.0)
    rec = matched / n_t if n_t else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return f1, prec, rec, matched


def _boxes_scores(anns, words):
    """(box_hmean, e2e_hmean) of recognised words (objects with .polygon, .text) against
    the ground truth."""
    from ..evaluation import evaluate_image

    dets = [(np.asarray(w.polygon, np.float32).reshape(-1, 2), 1.0) for w in words]
    if not dets:
        return 0.0, 0.0
    r = evaluate_image(anns, dets)
    right = sum(1 for g, d in r["pairs"] if anns[g].text == words[d].text)
    n_gt, n_det = r["gt_care"], r["det_care"]
    p = right / n_det if n_det else 0.0
    q = right / n_gt if n_gt else 0.0
    e2e = 2 * p * q / (p + q) if p + q else 0.0
    return r["hmean"], e2e


def _page_metrics(anns, text, words):
    true_words = [a.text for a in anns if not a.ignore]
    f1, prec, rec, matched = bag_f1(text.split(), true_words)
    box, e2e = _boxes_scores(anns, words)
    return {"f1": f1, "precision": prec, "recall": rec, "matched": matched,
            "n_pred": len(text.split()), "n_true": len(true_words),
            "cer": cer(text, " ".join(true_words)), "box_hmean": box, "e2e_hmean": e2e}


def _detections(detector, image, cache_dir, key):
    import os

    if cache_dir:
        path = os.path.join(cache_dir, f"{key}.npz")
        if os.path.exists(path):
            z = np.load(path, allow_pickle=False)
            n = int(z["n"])
            return [(z[f"p{i}"], float(z["s"][i])) for i in range(n)], 0.0
    t = time.perf_counter()
    detect = getattr(detector, "detect", None) or detector
    dets = detect(image)
    seconds = time.perf_counter() - t
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        np.savez(path, n=len(dets), s=np.array([d[1] for d in dets], np.float64),
                 **{f"p{i}": np.asarray(d[0], np.float32) for i, d in enumerate(dets)})
    return dets, seconds


def measure(data_dir, limit=None, lang="eng", detector=None, systems=("tesseract", "textseg"),
            order=None, det_cache=None, progress=None, threads=None, **options):
    """Run the measurement on ``data_dir`` (see the module docstring). ``options`` go to
    :class:`~textseg.recognize.TesseractRecognizer`; ``order``: reading-order options
    (:data:`textseg.recognize.ORDER_DEFAULTS`). ``det_cache``: a folder to keep the
    detections in (re-runs then time recognition only: for tuning, not for timing).
    ``threads``: Tesseract engines reading textseg's lines at once (Tesseract alone reads
    its page with one: its page segmentation is not threaded). Returns ``{"pages", "systems": {name: summary}, "per_page": [...]}``."""
    from ..data.icdar import find_pairs, read_gt
    from ..data.images import load_image
    from ..layout import group_lines
    from ..recognize import page_text
    from ..recognize.tesseract import (TESSERACT_DEFAULTS, TesseractRecognizer, _bbox,
                                       snap_to_detections)

    pairs = [(i, g) for i, g in find_pairs(data_dir, level="word") if g]
    if limit:
        pairs = pairs[:int(limit)]
    if not pairs:
        raise FileNotFoundError(f"{data_dir}: no image with word ground truth")
    # read with Tesseract's own word split; the snapped copy is made here, to score both
    chosen = options.get("word_boxes") or TESSERACT_DEFAULTS["word_boxes"]
    rec = TesseractRecognizer(lang=lang, **{"threads": threads, **options,
                                            "word_boxes": "recognizer"})
    if "textseg" in systems and detector is None:
        from ..detector import Detector

        detector = Detector.default()
    order = dict(order or {})
    per_page = []
    for n, (img_path, gt_path) in enumerate(pairs):
        import os

        key = os.path.splitext(os.path.basename(img_path))[0]
        image = load_image(img_path)
        anns = read_gt(gt_path, lenient=True)
        row = {"page": key}
        if "tesseract" in systems:
            t, c = time.perf_counter(), time.process_time()
            text, words = rec.read_page(image)
            row["tesseract"] = {**_page_metrics(anns, text, words),
                                "seconds": time.perf_counter() - t,
                                "cpu_seconds": time.process_time() - c}
        if "textseg" in systems:
            c = time.process_time()
            dets, t_det = _detections(detector, image, det_cache, key)
            t = time.perf_counter()
            lines = group_lines(dets)
            t_lines = time.perf_counter() - t
            t = time.perf_counter()
            result = rec.recognize(image, lines, dets)
            # the same words snapped to the detector's boxes
            det_polys = [np.asarray(d[0], np.float32).reshape(-1, 2) for d in dets]
            det_boxes = [_bbox(p) for p in det_polys]
            snapped = []
            for ln in result:
                ws = copy.deepcopy(ln.words)
                snap_to_detections(ws, ln.polygon, det_polys, det_boxes)
                snapped += ws
            t_rec = time.perf_counter() - t
            cpu = time.process_time() - c
            text = page_text(result, **order)
            own = [w for ln in result for w in ln.words]
            m = _page_metrics(anns, text, snapped if chosen == "detector" else own)
            m["box_hmean_detector"], m["e2e_hmean_detector"] = _boxes_scores(anns, snapped)
            m["box_hmean_recognizer"], m["e2e_hmean_recognizer"] = _boxes_scores(anns, own)
            m.update(seconds=t_det + t_lines + t_rec, cpu_seconds=cpu, detect_seconds=t_det,
                     recognize_seconds=t_rec, lines=len(lines))
            row["textseg"] = m
        per_page.append(row)
        if progress:
            progress(n + 1, len(pairs), row)
    rec.close()
    out = {"data": str(data_dir), "pages": len(per_page), "lang": lang,
           "options": {**rec.options, "word_boxes": chosen, "order": order},
           "systems": {}, "per_page": per_page}
    for s in systems:
        rows = [r[s] for r in per_page]
        summ = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]
                if isinstance(rows[0][k], (int, float))}
        mt = sum(r["matched"] for r in rows)
        npred, ntrue = sum(r["n_pred"] for r in rows), sum(r["n_true"] for r in rows)
        p, q = (mt / npred if npred else 0.0), (mt / ntrue if ntrue else 0.0)
        summ["micro_f1"] = 2 * p * q / (p + q) if p + q else 0.0
        out["systems"][s] = summ
    return out


def text_layer_words(pdf_path, dpi, page_index=0, loose=False):
    """``[(word, [x0, y0, x1, y1])]`` of a PDF page's text layer (pypdfium2), boxes in pixels
    at ``dpi`` (top-left origin), from the glyph boxes of the characters (``loose``: their
    font-height boxes, what a selection shows)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        page = pdf[page_index]
        _, height_pt = page.get_size()
        tp = page.get_textpage()
        s = dpi / 72.0
        words, cur, box = [], [], None
        for i in range(tp.count_chars()):
            ch = tp.get_text_range(i, 1)
            if not ch or ch.isspace():
                if cur:
                    words.append(("".join(cur), box))
                cur, box = [], None
                continue
            left, bottom, right, top = tp.get_charbox(i, loose=loose)
            b = [left * s, (height_pt - top) * s, right * s, (height_pt - bottom) * s]
            box = b if box is None else [min(box[0], b[0]), min(box[1], b[1]),
                                         max(box[2], b[2]), max(box[3], b[3])]
            cur.append(ch)
        if cur:
            words.append(("".join(cur), box))
        tp.close()
        page.close()
    finally:
        pdf.close()
    return words


def measure_pdf(data_dir, limit=3, dpi=200, lang="eng"):
    """Searchable PDFs through the OCRmyPDF plugin (:mod:`textseg.ocrmypdf`): each of the
    first ``limit`` pages saved as an image-only PDF at ``dpi``, run through
    ``ocrmypdf --plugin textseg.ocrmypdf``; the share of the words the plugin read (those
    with a letter or digit) that its text layer holds with the same text at their box (IoU >
    0.5), with the layer's glyph boxes and with its font-height ("loose") boxes. Needs the
    ocr extra."""
    import os
    import tempfile

    import ocrmypdf
    from PIL import Image

    import textseg.ocrmypdf as plugin

    from ..data.icdar import find_pairs

    pairs = [p for p in find_pairs(data_dir, level="word")][:int(limit)]
    total, found = 0, {}
    per_page = []
    seen, read = [], plugin.read_image

    def spy(img, options=None):
        lines = read(img, options)
        seen.append(lines)
        return lines

    plugin.read_image = spy
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for img_path, _ in pairs:
                key = os.path.splitext(os.path.basename(img_path))[0]
                src, out = os.path.join(tmp, f"{key}.pdf"), os.path.join(tmp, f"{key}_ocr.pdf")
                Image.open(img_path).convert("RGB").save(src, resolution=float(dpi))
                seen.clear()
                t = time.perf_counter()
                ocrmypdf.ocr(src, out, plugins=["textseg.ocrmypdf"], output_type="pdf",
                             optimize=0, progress_bar=False, jobs=1, use_threads=True,
                             language=lang.split("+"))
                seconds = time.perf_counter() - t
                ours = [(w.text, [*np.min(w.polygon, axis=0), *np.max(w.polygon, axis=0)])
                        for ln in (seen[0] if seen else []) for w in ln.words
                        if any(c.isalnum() for c in w.text)]
                row = {"page": key, "words": len(ours), "seconds": seconds}
                for kind, loose in (("glyph", False), ("loose", True)):
                    layer = text_layer_words(out, dpi, loose=loose)
                    row[kind] = sum(1 for text, box in ours if any(
                        t == text and aabb_iou(box, b) > 0.5 for t, b in layer))
                    found[kind] = found.get(kind, 0) + row[kind]
                total += len(ours)
                per_page.append(row)
    finally:
        plugin.read_image = read
    return {"pages": len(per_page), "words": total, "in_layer": found,
            "fraction": {k: v / total if total else 1.0 for k, v in found.items()},
            "per_page": per_page}


def format_summary(result):
    keys = ["f1", "micro_f1", "precision", "recall", "cer", "box_hmean", "e2e_hmean", "seconds",
            "cpu_seconds"]
    lines = [f"{result['data']}: {result['pages']} pages, lang {result['lang']}"]
    lines.append(f"{'system':10s} " + " ".join(f"{k:>9s}" for k in keys))
    for s, summ in result["systems"].items():
        lines.append(f"{s:10s} " + " ".join(f"{summ.get(k, float('nan')):9.3f}" for k in keys))
    ts = result["systems"].get("textseg")
    if ts:
        lines.append(f"textseg word boxes ({result['options']['word_boxes']} above): detector's "
                     f"box_hmean {ts['box_hmean_detector']:.3f} e2e_hmean {ts['e2e_hmean_detector']:.3f}, "
                     f"Tesseract's split box_hmean {ts['box_hmean_recognizer']:.3f} e2e_hmean "
                     f"{ts['e2e_hmean_recognizer']:.3f}; s/page: detect {ts['detect_seconds']:.2f}, "
                     f"recognise {ts['recognize_seconds']:.2f}")
    return "\n".join(lines)


def main(argv=None):
    import argparse
    import json

    from ..recognize import ORDER_DEFAULTS
    from ..recognize.tesseract import TESSERACT_DEFAULTS

    ap = argparse.ArgumentParser(prog="python -m textseg.benchmarks.ocr",
                                 description="Tesseract alone vs textseg lines + Tesseract: "
                                             "word F1, CER, word boxes, time per page")
    ap.add_argument("--data", required=True, help="folder with images/ and words/gt_*.txt")
    ap.add_argument("--limit", type=int, default=None, help="first N pages only")
    ap.add_argument("--lang", default="eng", help="Tesseract languages, e.g. eng+deu")
    ap.add_argument("--systems", default="tesseract,textseg")
    ap.add_argument("--model", default=None, help="detector model (default: the shipped one)")
    ap.add_argument("--threads", type=int, default=2,
                    help="CPU threads of the detector and of textseg's Tesseract engines "
                         "(default 2; Tesseract alone reads a page on one thread)")
    ap.add_argument("--det-cache", default=None, help="keep detections here (tuning only)")
    ap.add_argument("--json", default=None, help="write the full result (per page too) here")
    ap.add_argument("--order", choices=("columns", "rows"), default=ORDER_DEFAULTS["mode"])
    ap.add_argument("--column-gap", type=float, default=ORDER_DEFAULTS["column_gap"])
    ap.add_argument("--column-lines", type=float, default=ORDER_DEFAULTS["column_lines"])
    def flag(v):
        if v.lower() in ("1", "true", "yes", "on"):
            return True
        if v.lower() in ("0", "false", "no", "off"):
            return False
        raise argparse.ArgumentTypeError(f"expected true or false, not {v!r}")

    for k, v in TESSERACT_DEFAULTS.items():
        ap.add_argument("--" + k.replace("_", "-"), type=flag if isinstance(v, bool) else type(v),
                        default=v, help=f"recogniser option (default {v})")
    ap.add_argument("--pdf-pages", type=int, default=0,
                    help="also make searchable PDFs of the first N pages through the OCRmyPDF "
                         "plugin and check their text layer")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)
    systems = tuple(s.strip() for s in a.systems.split(",") if s.strip())
    detector = None
    if "textseg" in systems:
        from ..detector import Detector

        detector = (Detector.from_file(a.model, threads=a.threads) if a.model
                    else Detector.default(threads=a.threads))

    def progress(i, n, row):
        if a.quiet:
            return
        parts = [f"{s}: f1 {row[s]['f1']:.3f} cer {row[s]['cer']:.3f} {row[s]['seconds']:.2f}s"
                 for s in systems]
        print(f"[{i}/{n}] {row['page']}  " + "  ".join(parts), flush=True)

    opts = {k: getattr(a, k) for k in TESSERACT_DEFAULTS}
    result = measure(a.data, a.limit, a.lang, detector, systems,
                     order={"mode": a.order, "column_gap": a.column_gap,
                            "column_lines": a.column_lines},
                     det_cache=a.det_cache, progress=progress, threads=a.threads, **opts)
    print(format_summary(result))
    if a.pdf_pages:
        result["pdf"] = measure_pdf(a.data, a.pdf_pages, lang=a.lang)
        r = result["pdf"]
        print(f"searchable PDFs (OCRmyPDF + textseg plugin, {r['pages']} pages): of "
              f"{r['words']} recognised words, in the text layer at their box (IoU > 0.5): "
              f"{r['fraction']['glyph']:.3f} by glyph boxes, {r['fraction']['loose']:.3f} by "
              "font-height boxes")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
