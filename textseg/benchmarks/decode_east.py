"""Benchmark: EAST's locality-aware NMS against the C++ reference (lanms-neo).

Candidates come from synthetic document pages: N word boxes in text lines (random word
sizes, slightly rotated page), EAST targets built at stride 4 as perfect maps, small
noise added to score and geometry, and every pixel above the score threshold restored to
a quad, exactly as the decoder does. Both implementations get the same candidates.

    python -m textseg.benchmarks.decode_east          # table + one JSON line per case

The reference is measured only when ``import lanms`` finds lanms-neo (never a dependency
of textseg: install it apart, e.g. ``pip install --target /tmp/lanmsref lanms-neo`` and
run with ``PYTHONPATH=/tmp/lanmsref``).
"""

import time
from collections import namedtuple

import numpy as np

from textseg.methods.east import DECODE_DEFAULTS
from textseg.methods.east.decode import candidates, lanms
from textseg.methods.east.lanms import overlap_pairs, quad_iou
from textseg.methods.east.targets import build_targets, targets_to_maps

from .report import print_table

Word = namedtuple("Word", "polygon text ignore")

#: (name, page side, words, word height range in px)
CASES = (
    ("1024px-300words", 1024, 300, (8, 12)),
    ("2048px-1200words", 2048, 1200, (8, 17)),
)


def make_page(side, n_words, heights, seed=0, max_rotation_deg=3.0):
    """Word quads (n_words, 4, 2) laid out in text lines on a side x side page."""
    rng = np.random.default_rng(seed)
    margin = side * 0.05
    words, y = [], margin
    while len(words) < n_words:
        h = rng.uniform(*heights)
        x = margin + rng.uniform(0, 3 * h)
        if y + h > side - margin:  # page full: start again with a fresh column of lines
            y = margin + rng.uniform(0, h)
        while len(words) < n_words:
            w = h * 0.5 * rng.integers(2, 12)
            if x + w > side - margin:
                break
            words.append([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
            x += w + h * rng.uniform(0.35, 0.6)
        y += h * rng.uniform(1.3, 1.8)
    quads = np.array(words, dtype=np.float64)
    angle = np.deg2rad(rng.uniform(-max_rotation_deg, max_rotation_deg))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([side / 2, side / 2])
    return (quads - centre) @ rot.T + centre


def make_maps(side, n_words, heights, seed=0, geometry="rbox"):
    """A synthetic page's perfect EAST maps at stride 4 plus noise, and their decode cfg."""
    rng = np.random.default_rng(seed + 1)
    cfg = {"stride": 4, "head": {"geometry": geometry}, "min_text_size": 0}
    quads = make_page(side, n_words, heights, seed)
    targets = build_targets([Word(q, "w", False) for q in quads], (side, side), cfg)
    maps = targets_to_maps(targets, cfg)
    pos = maps["score"] > 0
    maps["score"] = np.where(pos, 1.0 - np.abs(rng.normal(0, 0.05, pos.shape)), 0.0).astype(np.float32)
    geo = maps["geometry"]
    noise = rng.normal(0, 0.5, geo.shape).astype(np.float32)
    if geometry == "rbox":
        noise[4] *= 0.01  # radians
    maps["geometry"] = geo + noise * pos
    return maps, cfg


def make_candidates(side, n_words, heights, seed=0, geometry="rbox"):
    """(N, 9) float32 candidate boxes from a synthetic page's perfect maps plus noise."""
    maps, cfg = make_maps(side, n_words, heights, seed, geometry)
    return candidates(maps, {**cfg, "score_thresh": DECODE_DEFAULTS["score_thresh"]})


def match(ref, ours, thresh=0.9):
    """How many reference boxes have one of ours with IoU > thresh."""
    if len(ref) == 0 or len(ours) == 0:
        return 0
    both = np.concatenate([ref[:, :8], ours[:, :8]]).reshape(-1, 4, 2).astype(np.float64)
    i, j = overlap_pairs(both)
    cross = (i < len(ref)) & (j >= len(ref))
    i, j = i[cross], j[cross]
    hit = quad_iou(both[i], both[j]) > thresh
    return int(len(np.unique(i[hit])))


def _time(fn, repeat):
    """Best wall-clock and best CPU time (ms) over ``repeat`` runs, and the result."""
    wall = cpu = float("inf")
    out = None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - t), min(cpu, time.process_time() - c)
    return wall * 1000.0, cpu * 1000.0, out


def run(cases=CASES, repeat=3, nms_thresh=None, seed=0):
    """One row per case: {case, candidates, ref_ms, ours_ms, count_ref, count_ours, matched}
    plus ref_cpu_ms and ours_cpu_ms (CPU time: steadier than wall time on a busy machine).
    The ref_* and matched entries are None when lanms-neo is not importable."""
    thresh = float(DECODE_DEFAULTS["nms_thresh"] if nms_thresh is None else nms_thresh)
    try:
        import lanms as reference
    except ImportError:
        reference = None
    rows = []
    for name, side, n_words, heights in cases:
        boxes = make_candidates(side, n_words, heights, seed)
        ours_ms, ours_cpu, ours = _time(lambda: lanms(boxes, thresh), repeat)
        row = {"case": name, "candidates": len(boxes), "ref_ms": None,
               "ours_ms": round(ours_ms, 1), "count_ref": None, "count_ours": len(ours),
               "matched": None, "ref_cpu_ms": None, "ours_cpu_ms": round(ours_cpu, 1)}
        if reference is not None:
            ref_ms, ref_cpu, ref = _time(
                lambda: reference.merge_quadrangle_n9(boxes.copy(), thresh), repeat)
            ref = np.asarray(ref, dtype=np.float32).reshape(-1, 9)
            row.update(ref_ms=round(ref_ms, 1), count_ref=len(ref), matched=match(ref, ours),
                       ref_cpu_ms=round(ref_cpu, 1))
        rows.append(row)
    return rows


COLUMNS = (("case", "case", 18), ("candidates", "candidates", 10), ("ref ms", "ref_ms", 8),
           ("ours ms", "ours_ms", 8), ("ref cpu", "ref_cpu_ms", 8), ("ours cpu", "ours_cpu_ms", 8),
           ("ref boxes", "count_ref", 9), ("ours", "count_ours", 6), ("matched", "matched", 8))


def main():
    print_table(COLUMNS, run())


if __name__ == "__main__":
    main()
