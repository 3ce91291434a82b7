"""Benchmark: Mask R-CNN post-processing (paste masks into boxes, polygons) in numpy/OpenCV.

Detections come from a synthetic document page: N word boxes laid out in text lines
(word heights in a range, widths 1-8 x the height), each with a 28 x 28 mask probability
map that is high over the middle of the box and low at its margins, plus noise; D = 1000
(or N if larger) outputs padded with score 0, exactly what the head returns in eval mode.
The decoder runs in its two modes: min-area quads (default) and simplified contours.

    python -m textseg.benchmarks.decode_maskrcnn      # table + one JSON line per case

Times are the best of ``repeat`` runs of the whole ``decode`` call (one image).
"""

import numpy as np

from textseg.methods.maskrcnn import DECODE_DEFAULTS
from textseg.methods.maskrcnn.decode import decode
from .report import print_table
from .timing import best_of

#: (name, page side, words, word height range in px)
CASES = (
    ("1024px-300words", 1024, 300, (10, 16)),
    ("1024px-1200words", 1024, 1200, (6, 9)),
    ("2048px-300words", 2048, 300, (20, 32)),
    ("2048px-1200words", 2048, 1200, (12, 20)),
)


def make_boxes(side, n_words, heights, rng):
    """(n_words, 4) word boxes x1, y1, x2, y2 in text lines on a side x side page."""
    margin = side * 0.04
    boxes, y = [], margin
    while len(boxes) < n_words:
        h = rng.uniform(*heights)
        x = margin
        if y + h > side - margin:  # page full: overlay another column of lines
            y = margin + rng.uniform(0, h)
        while len(boxes) < n_words:
            w = h * rng.uniform(1, 8)
            if x + w > side - margin:
                break
            boxes.append([x, y, x + w, y + h])
            x += w + h * rng.uniform(0.3, 0.6)
        y += h * rng.uniform(1.3, 1.7)
    return np.array(boxes, np.float32)


def make_detections(side, n_words, heights, seed=0, size=28, slots=1000):
    """The head's eval outputs for one page: boxes (D, 4), scores (D,), masks (D, M, M)."""
    rng = np.random.default_rng(seed)
    d = max(slots, n_words)
    boxes = np.zeros((d, 4), np.float32)
    scores = np.zeros(d, np.float32)
    masks = np.zeros((d, size, size), np.float32)
    boxes[:n_words] = make_boxes(side, n_words, heights, rng)
    scores[:n_words] = np.sort(rng.uniform(0.6, 1.0, n_words))[::-1]
    t = (np.arange(size) + 0.5) / size
    ramp = np.clip(np.minimum(t, 1 - t) * 10, 0, 1)            # 0 at the margins, 1 inside
    base = np.minimum(ramp[:, None], ramp[None, :])
    masks[:n_words] = np.clip(base + rng.normal(0, 0.1, (n_words, size, size)), 0, 1)
    return {"boxes": boxes, "scores": scores, "masks": masks}


def run(cases=CASES, repeat=3, seed=0):
    """One row per case: {case, instances, quads_ms, polygons_ms, quads, polygons}."""
    rows = []
    for name, side, n_words, heights in cases:
        maps = make_detections(side, n_words, heights, seed)
        quad_ms, quads = best_of(lambda: decode(maps, dict(DECODE_DEFAULTS)), repeat)
        poly_ms, polys = best_of(lambda: decode(maps, {**DECODE_DEFAULTS, "polygon": True}), repeat)
        rows.append({"case": name, "instances": n_words, "quads_ms": round(quad_ms, 1),
                     "polygons_ms": round(poly_ms, 1), "quads": len(quads),
                     "polygons": len(polys)})
    return rows


COLUMNS = (("case", "case", 18), ("instances", "instances", 9), ("quads ms", "quads_ms", 9),
           ("polygons ms", "polygons_ms", 12), ("quads", "quads", 6), ("polygons", "polygons", 8))


def main():
    print_table(COLUMNS, run())


if __name__ == "__main__":
    main()
