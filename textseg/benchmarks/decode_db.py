"""Benchmark: DBNet decoding against the DB post-processing that RapidOCR ships.

Maps come from synthetic document pages (N word boxes in text lines, the same pages as
the EAST and PSENet benchmarks): DBNet targets at stride 1, the shrunk probability map
blurred (Gaussian, sigma 1 px) to look like a network's output, plus a little noise.
Both decoders get the same map with the same settings: thresh 0.3, box_thresh 0.6,
unclip ratio 1.5, minimum-area quads. The reference's ``max_candidates`` cap (1000 by
default, which would drop words of the 1,200-word page) is raised to 100,000; ours has
no cap.

    python -m textseg.benchmarks.decode_db          # table + one JSON line per case

Row fields: ``ref_ms`` / ``ours_ms`` (best of ``repeat``, measured alternately in one
process: the CPU is shared and noisy), ``count_ref`` / ``count_ours``, ``matched`` (reference
boxes with one of ours at IoU >= 0.8, one to one), ``mean_iou`` of those pairs,
``hmean_ref`` / ``hmean_ours`` against the page's ground truth (ICDAR 2015 protocol);
the same with suffix ``_slow`` for the reference's ``score_mode="slow"`` (the mean inside
the outline, as ours, instead of inside the rectangle, its default "fast"); and
the cost of the region scores: ``score_labels_ms`` (ours: one connected-components
labelling + one bincount) against ``score_crops_ms`` (one fillPoly + mean per region over
its crop, as the reference's "slow" polygon score).

The reference is RapidOCR's ``ch_ppocr_det/utils.py`` ``DBPostProcess`` (a port of
PaddleOCR's), measured only when importable: never a dependency of textseg. Fetch it
apart, e.g. ``pip download --no-deps rapidocr_onnxruntime -d /tmp/ref``, unzip the wheel
into /tmp/ref/x and run with ``PYTHONPATH=/tmp/ref/x``.
"""

import cv2
import numpy as np

from textseg.benchmarks.decode_east import CASES, Word, make_page
from textseg.evaluation import evaluate
from textseg.geometry import bounding_boxes, polygon_iou
from textseg.methods.db import DECODE_DEFAULTS
from textseg.methods.db.decode import decode, region_scores
from textseg.methods.db.targets import build_targets
from .report import print_table
from .timing import best_of

SETTINGS = {"thresh": 0.3, "box_thresh": 0.6, "unclip_ratio": 1.5}


def make_map(side, n_words, heights, seed=0):
    """(probability map (side, side) float32, word quads (N, 4, 2)) of a synthetic page."""
    quads = make_page(side, n_words, heights, seed)
    gt = build_targets([Word(q, "w", False) for q in quads], (side, side), {"stride": 1})["prob"][0]
    prob = cv2.GaussianBlur(gt, (0, 0), 1.0)
    prob += np.random.default_rng(seed + 1).normal(0, 0.02, prob.shape).astype(np.float32)
    return np.clip(prob, 0, 1).astype(np.float32), quads


def reference_decoder(score_mode="fast"):
    """RapidOCR's DBPostProcess (or None when it is not importable)."""
    for mod in ("rapidocr_onnxruntime.ch_ppocr_det.utils", "rapidocr.ch_ppocr_det.utils"):
        try:
            module = __import__(mod, fromlist=["DBPostProcess"])
        except ImportError:
            continue
        return module.DBPostProcess(thresh=SETTINGS["thresh"], box_thresh=SETTINGS["box_thresh"],
                                    max_candidates=100_000, unclip_ratio=SETTINGS["unclip_ratio"],
                                    score_mode=score_mode)
    return None


def scores_by_crops(prob, contours):
    """Mean probability inside each outline: one fillPoly + cv2.mean per region."""
    out = np.zeros(len(contours), np.float32)
    for i, c in enumerate(contours):
        x, y, w, h = cv2.boundingRect(c)
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [c - [x, y]], 1)
        out[i] = cv2.mean(prob[y:y + h, x:x + w], mask)[0]
    return out


def match(ref, ours, thresh=0.8):
    """(pairs at IoU >= thresh, one to one, greedy by IoU; their mean IoU)."""
    if not len(ref) or not len(ours):
        return 0, 0.0
    a, b = bounding_boxes(list(ref)), bounding_boxes(list(ours))
    near = ((a[:, None, 0] <= b[None, :, 2]) & (b[None, :, 0] <= a[:, None, 2])
            & (a[:, None, 1] <= b[None, :, 3]) & (b[None, :, 1] <= a[:, None, 3]))
    cand = sorted(((polygon_iou(ref[i], ours[j]), i, j) for i, j in zip(*np.nonzero(near))),
                  reverse=True)
    used_i, used_j, ious = set(), set(), []
    for iou, i, j in cand:
        if iou >= thresh and i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            ious.append(iou)
    return len(ious), float(np.mean(ious)) if ious else 0.0


def _hmean(quads, dets):
    gt = {0: [Word(np.asarray(q, np.float32), "w", False) for q in quads]}
    return round(evaluate(gt, {0: dets})["hmean"], 4)


def run(cases=CASES, repeat=5, seed=0):
    """One row per case (see the module docstring); the reference's fields are None when
    it is not importable."""
    refs = {"": reference_decoder("fast"), "_slow": reference_decoder("slow")}
    refs = {k: v for k, v in refs.items() if v is not None}
    cfg = {**DECODE_DEFAULTS, **SETTINGS, "unclip": "ratio", "stride": 1}
    rows = []
    for name, side, n_words, heights in cases:
        prob, quads = make_map(side, n_words, heights, seed)
        row = {"case": name}
        for k in ("", "_slow"):
            row.update({f"ref{k}_ms": None, f"count_ref{k}": None, f"matched{k}": None,
                        f"mean_iou{k}": None, f"hmean_ref{k}": None})
        best = {k: float("inf") for k in ["ours", *refs]}
        out = {}
        for _ in range(repeat):  # alternate, so that all see the same load
            t, out["ours"] = best_of(lambda: decode({"prob": prob[None]}, cfg), 1)
            best["ours"] = min(best["ours"], t)
            for k, ref in refs.items():
                t, out[k] = best_of(lambda: ref(prob[None, None], (side, side)), 1)
                best[k] = min(best[k], t)
        ours = out["ours"]
        row.update(ours_ms=round(best["ours"], 1), count_ours=len(ours),
                   hmean_ours=_hmean(quads, ours))
        for k in refs:
            ref = [np.asarray(b, np.float32) for b in out[k][0]]
            n, iou = match(ref, [p for p, _ in ours])
            row.update({f"ref{k}_ms": round(best[k], 1), f"count_ref{k}": len(ref),
                        f"matched{k}": n, f"mean_iou{k}": round(iou, 4),
                        f"hmean_ref{k}": _hmean(quads, [(b, 1.0) for b in ref])})
        bitmap = (prob > SETTINGS["thresh"]).view(np.uint8)
        contours, _ = cv2.findContours(bitmap, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        row["score_labels_ms"] = round(best_of(lambda: region_scores(bitmap, prob, contours)[0],
                                             repeat)[0], 1)
        row["score_crops_ms"] = round(best_of(lambda: scores_by_crops(prob, contours), repeat)[0], 1)
        rows.append(row)
    return rows


COLUMNS = (("case", "case", 18), ("decoder", "decoder", 12, "<"), ("ms", "ms", 6),
           ("boxes", "boxes", 6), ("matched", "matched", 8), ("mean IoU", "mean_iou", 8),
           ("hmean", "hmean", 6))


def table_rows(rows):
    """Three table rows per case: the reference's fast and slow paths, then ours."""
    out = []
    for r in rows:
        for label, k in (("ref fast", ""), ("ref slow", "_slow")):
            out.append({"case": r["case"], "decoder": label, "ms": r[f"ref{k}_ms"],
                        "boxes": r[f"count_ref{k}"], "matched": r[f"matched{k}"],
                        "mean_iou": r[f"mean_iou{k}"], "hmean": r[f"hmean_ref{k}"]})
        out.append({"case": r["case"], "decoder": "ours", "ms": r["ours_ms"],
                    "boxes": r["count_ours"], "matched": "", "mean_iou": "",
                    "hmean": r["hmean_ours"]})
    return out


def main():
    rows = run()
    notes = [f"{r['case']}: region scores: labels + bincount {r['score_labels_ms']} ms, "
             f"fillPoly per region {r['score_crops_ms']} ms" for r in rows]
    print_table(COLUMNS, table_rows(rows), records=rows, notes=notes)


if __name__ == "__main__":
    main()
