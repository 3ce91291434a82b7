"""Suite ``decode``: every decoder on the standard synthetic maps, ours next to the reference.

Calls the per-method benchmarks (``decode_east``, ``decode_pse``, ``decode_maskrcnn`` and
``decode_db`` when it is importable), which build maps of synthetic document pages (1024
and 2048 px pages with 300 and 1,200 words; PSE at stride 4 and 1, DB at stride 1) and time
our decoder against a reference implementation where that is importable (lanms-neo,
PSENet's Cython ``pse``, RapidOCR's ``DBPostProcess``). It adds the whole ``decode()``
call of EAST (candidate restore + LANMS + box scores) and of PSENet (expansion + quads),
which is what a page costs.

Times are the best of ``repeat`` runs (ms, one image, one thread of numpy/OpenCV work).
Torch-free.
"""

import importlib

import numpy as np

from . import decode_east, decode_maskrcnn, decode_pse
from .report import fmt, markdown_table
from .timing import best_of

TITLE = "Decoders (maps -> polygons)"
NOTES = (
    "Maps are synthetic document pages (perfect targets plus noise), one image per call; "
    "times are the best of several runs in ms. `reference` is measured only where the "
    "reference is importable (lanms-neo for LANMS, PSENet's Cython `pse`, RapidOCR's "
    "`DBPostProcess` for DB): never a dependency of textseg, install it apart to compare "
    "(see each `textseg/benchmarks/decode_*.py`). `agreement`: LANMS, reference boxes "
    "matched by ours at IoU > 0.9; DB, the same at IoU >= 0.8, one to one; PSE, share of "
    "labelled pixels with the same label in both.",
)


def _row(decoder, case, stride, inputs, ours_ms, ours_out, ref_ms=None, ref_out=None,
         reference=None, agreement=None):
    return {"decoder": decoder, "case": case, "stride": stride, "inputs": inputs,
            "ours_ms": ours_ms, "ref_ms": ref_ms, "reference": reference,
            "ours_out": ours_out, "ref_out": ref_out, "agreement": agreement}


def east_rows(cases, repeat):
    from ..methods.east import DECODE_DEFAULTS
    from ..methods.east.decode import decode

    rows = []
    for r in decode_east.run(cases, repeat=repeat):
        agree = None if r["matched"] is None else f"{r['matched']}/{r['count_ref']}"
        rows.append(_row("EAST LANMS", r["case"], 4, r["candidates"], r["ours_ms"],
                         r["count_ours"], r["ref_ms"], r["count_ref"],
                         "lanms-neo" if r["ref_ms"] is not None else None, agree))
    for name, side, n_words, heights in cases:
        maps, cfg = decode_east.make_maps(side, n_words, heights)
        cfg = {**DECODE_DEFAULTS, **cfg}
        ms, out = best_of(lambda: decode(maps, cfg), repeat)
        rows.append(_row("EAST decode (restore + LANMS + scores)", name, 4,
                         int((maps["score"] > cfg["score_thresh"]).sum()), ms, len(out)))
    return rows


def pse_rows(cases, strides, repeat):
    from ..methods.pse import DECODE_DEFAULTS
    from ..methods.pse.decode import decode

    rows = []
    for r in decode_pse.run(cases, strides, repeat=repeat):
        rows.append(_row("PSE expansion", r["case"], r["stride"], None, r["ours_ms"],
                         r["regions_ours"], r["ref_ms"], r["regions_ref"],
                         "PSENet Cython pse" if r["ref_ms"] is not None else None,
                         r["agreement"]))
    for name, side, n_words, heights in cases:
        for stride in strides:
            maps = {"kernels": decode_pse.make_kernels(side, n_words, heights, stride)
                    .astype(np.float32)}
            cfg = {**DECODE_DEFAULTS, "stride": stride, "head": {"stride": stride}}
            ms, out = best_of(lambda: decode(maps, cfg), repeat)
            rows.append(_row("PSE decode (expansion + quads)", name, stride, None, ms, len(out)))
    return rows


def maskrcnn_rows(cases, repeat):
    rows = []
    for r in decode_maskrcnn.run(cases, repeat=repeat):
        rows.append(_row("Mask R-CNN post-processing, quads", r["case"], None, r["instances"],
                         r["quads_ms"], r["quads"]))
        rows.append(_row("Mask R-CNN post-processing, polygons", r["case"], None,
                         r["instances"], r["polygons_ms"], r["polygons"]))
    return rows


def db_rows(cases, repeat, quick=False):
    """Rows of ``decode_db.run`` (RapidOCR's DBPostProcess as the reference), or None when
    that module is not in this copy."""
    try:
        mod = importlib.import_module(f"{__package__}.decode_db")
    except ImportError:
        return None
    if cases is None:
        cases = tuple(c for c in mod.CASES if c[1] <= 1024) if quick else mod.CASES
    rows = []
    for r in mod.run(cases, repeat=repeat):
        for suffix, label in (("", "fast"), ("_slow", "slow")):
            ref = r.get(f"ref{suffix}_ms")
            if suffix and ref is None:
                continue
            agree = None if ref is None else f"{r[f'matched{suffix}']}/{r[f'count_ref{suffix}']}"
            rows.append(_row("DB decode" if not suffix else "DB decode (ref. slow scores)",
                             r["case"], 1, None, r["ours_ms"], r["count_ours"], ref,
                             r.get(f"count_ref{suffix}"),
                             None if ref is None else f"RapidOCR DBPostProcess ({label})",
                             agree))
    return rows


def run(cases=None, strides=decode_pse.STRIDES, repeat=3, quick=False, methods=None):
    """Rows for every decoder. ``cases``: (name, side, words, (h_min, h_max)) tuples, by
    default each module's own; ``quick``: the 1024 px cases only, best of two runs.
    ``methods``: a subset of east, pse, maskrcnn, db. Returns (rows, notes)."""
    if quick:
        repeat = 2
    methods = set(methods or ("east", "pse", "maskrcnn", "db"))

    def pick(default):
        chosen = default if cases is None else cases
        return tuple(c for c in chosen if c[1] <= 1024) if quick and cases is None else chosen

    rows, notes = [], []
    if "east" in methods:
        rows += east_rows(pick(decode_east.CASES), repeat)
    if "pse" in methods:
        rows += pse_rows(pick(decode_pse.CASES), strides, repeat)
    if "maskrcnn" in methods:
        rows += maskrcnn_rows(pick(decode_maskrcnn.CASES), repeat)
    if "db" in methods:
        db = db_rows(cases, repeat, quick)
        if db is None:
            notes.append("DB: textseg.benchmarks.decode_db is not available in this copy.")
        else:
            rows += db
    return rows, notes


def format_table(rows):
    headers = ["decoder", "case", "stride", "inputs", "textseg ms", "reference ms",
               "reference", "outputs (ours / ref)", "agreement"]
    cells = []
    for r in rows:
        out = fmt(r["ours_out"]) if r["ref_out"] is None else f"{r['ours_out']} / {r['ref_out']}"
        cells.append([r["decoder"], r["case"], fmt(r["stride"]), fmt(r["inputs"]),
                      fmt(r["ours_ms"]), fmt(r["ref_ms"]), fmt(r["reference"]), out,
                      fmt(r["agreement"], 4)])
    return markdown_table(headers, cells, align=["l", "l"] + ["r"] * 4 + ["l", "r", "r"])
