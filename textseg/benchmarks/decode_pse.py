"""Benchmark: PSENet's progressive scale expansion against the authors' Cython ``pse``.

Maps come from synthetic document pages (N word boxes in text lines, the same pages as
the EAST benchmark): PSENet targets built at stride 4 (maps h/4 x w/4) or stride 1
(full-resolution kernels), binarised as the decoder does. Both implementations label
the same kernels with ``min_area`` 16 px of input (16 / stride^2 map pixels).

    python -m textseg.benchmarks.decode_pse         # table + one JSON line per case

``agreement`` is the share of pixels labelled by either that get the same label from
both (the two number regions alike: components of the smallest kernel in raster order).
The reference is measured only when ``from pse import pse`` finds the authors' Cython
module (github.com/whai362/PSENet, models/post_processing/pse; never a dependency of
textseg: build it apart, e.g. under /tmp, and run with ``PYTHONPATH`` pointing there).
"""

import numpy as np

from textseg.benchmarks.decode_east import CASES, Word, make_page
from textseg.methods.pse.decode import pse
from textseg.methods.pse.targets import build_targets
from .report import print_table
from .timing import best_of

STRIDES = (4, 1)
MIN_AREA = 16.0


def make_kernels(side, n_words, heights, stride, seed=0):
    """uint8 (7, h, w) kernels of a synthetic page at ``stride``."""
    quads = make_page(side, n_words, heights, seed)
    maps = build_targets([Word(q, "w", False) for q in quads], (side, side), {"stride": stride})
    return (maps["kernels"] > 0.5).astype(np.uint8)


def agreement(ref, ours):
    """Share of pixels labelled by either map that carry the same label in both."""
    either = (ref > 0) | (ours > 0)
    return float((ref[either] == ours[either]).mean()) if either.any() else 1.0


def _regions(labels):
    return int(len(np.unique(labels)) - 1)


def run(cases=CASES, strides=STRIDES, repeat=5, seed=0):
    """One row per case and stride: {case, stride, ref_ms, ours_ms, regions_ref,
    regions_ours, agreement}; the reference's fields are None when it is not importable."""
    try:
        from pse import pse as reference
    except ImportError:
        reference = None
    rows = []
    for name, side, n_words, heights in cases:
        for stride in strides:
            kernels = make_kernels(side, n_words, heights, stride, seed)
            min_area = MIN_AREA / stride ** 2
            ours_ms, ours = best_of(lambda: pse(kernels, min_area), repeat)
            row = {"case": name, "stride": stride, "ref_ms": None, "ours_ms": round(ours_ms, 1),
                   "regions_ref": None, "regions_ours": _regions(ours), "agreement": None}
            if reference is not None:
                slow = kernels.size > 8_000_000  # the reference takes seconds there
                ref_ms, ref = best_of(lambda: reference(kernels.copy(), min_area), 1 if slow else repeat)
                row.update(ref_ms=round(ref_ms, 1), regions_ref=_regions(ref),
                           agreement=round(agreement(ref, ours), 6))
            rows.append(row)
    return rows


COLUMNS = (("case", "case", 18), ("stride", "stride", 6), ("ref ms", "ref_ms", 8),
           ("ours ms", "ours_ms", 8), ("ref regions", "regions_ref", 11),
           ("ours", "regions_ours", 6), ("agreement", "agreement", 9))


def main():
    print_table(COLUMNS, run())


if __name__ == "__main__":
    main()
