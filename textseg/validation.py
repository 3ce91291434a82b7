"""Run a Detector over an ICDAR-format folder and score it with the ICDAR 2015 protocol."""

from __future__ import annotations

import os
import time

from .data import icdar
from .data.images import load_image
from .evaluation import evaluate


def image_key(path):
    """``img_12.jpg`` -> ``img_12``: the key that pairs an image, its GT and its result."""
    return os.path.splitext(os.path.basename(path))[0]


def evaluate_folder(detector, folder, level="word", max_images=None, progress=False,
                    pred_dir=None, lenient=True, strict=False):
    """Detect on every image of ``folder`` that has ground truth and evaluate.

    Returns the evaluation dict (``precision``, ``recall``, ``hmean``, ...) with an added
    ``timing`` entry (seconds per page: load, preprocess, network, decode, total).
    ``pred_dir`` additionally writes ``res_<key>.txt`` files there. ``lenient``: skip
    malformed ground-truth lines (else they raise); ``strict``: counter-clockwise detections
    raise, as the official script rejects them.
    """
    pairs = [(img, gt) for img, gt in icdar.find_pairs(folder, level=level) if gt is not None]
    if max_images:
        pairs = pairs[:int(max_images)]
    if not pairs:
        raise ValueError(f"{folder}: no images with {level}-level ground truth found")
    gts, preds, per_page = {}, {}, []
    it = pairs
    if progress:
        from tqdm import tqdm

        it = tqdm(pairs, desc="eval", unit="img")
    before = dict(detector.timings)
    load_s = 0.0
    for img_path, gt_path in it:
        key = image_key(img_path)
        t0 = time.perf_counter()
        image = load_image(img_path)
        t1 = time.perf_counter()
        dets = detector(image, level=level)
        t2 = time.perf_counter()
        load_s += t1 - t0
        per_page.append(t2 - t0)
        gts[key] = icdar.read_gt(gt_path, lenient=lenient)
        preds[key] = dets
        if pred_dir:
            os.makedirs(pred_dir, exist_ok=True)
            icdar.write_results(os.path.join(pred_dir, f"res_{key}.txt"), dets, with_score=True)
    result = evaluate(gts, preds, strict=strict)
    n = len(pairs)
    tm = {k: (detector.timings[k] - before.get(k, 0.0)) / n
          for k in ("preprocess", "network", "decode")}
    tm["load"] = load_s / n
    per_page.sort()
    tm["median_page"] = per_page[n // 2] if n % 2 else 0.5 * (per_page[n // 2 - 1] + per_page[n // 2])
    tm["mean_page"] = sum(per_page) / n
    result["timing"] = tm
    result["images"] = n
    return result
