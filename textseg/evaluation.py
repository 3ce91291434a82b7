"""The ICDAR 2015 Challenge 4 (incidental scene text) localisation protocol.

This reproduces what the official Robust Reading Competition script computes
(``script.py`` + ``rrc_evaluation_funcs.py`` 1.1, with the ``Polygon`` library), with the
default parameters of the 2015 task (IoU constraint 0.5, area-precision constraint 0.5,
no confidences):

1. Every point is truncated to an integer (``int()``, toward zero) and each point list
   becomes one polygon contour, in the given order.
2. Areas are ``Polygon.area()``: the absolute value of the shoelace sum of the contour
   (for a self-intersecting "bow-tie" quad that is the *difference* of its two lobes).
   Intersections are GPC clipping results, whose fill covers both lobes of a bow-tie;
   we get the same region from shapely's ``make_valid`` (both lobes), so self-intersecting
   input gets the official numbers, odd as they are.
3. A GT whose transcription is ``###`` is "don't care". A detection is "don't care" when
   its intersection with some don't-care GT is more than 0.5 of its own area.
4. IoU = inter / (area_det + area_gt - inter). Matching is greedy: GT in order, then
   detections in order; a pair matches when both are free, neither is don't care and
   IoU > 0.5 (strictly; exactly 0.5 does not match).
5. Per image: with no care GT, recall is 1 and precision is 1 if there is no care
   detection, else 0; otherwise recall = matched / care GT and precision = matched /
   care det (0 with no care det). The method's figures pool the counts over all images:
   recall = sum(matched) / sum(care GT), precision = sum(matched) / sum(care det)
   (0 when the denominator is 0), hmean = their harmonic mean (0 when both are 0).

Orientation: the official script *rejects a whole submission* when any quad's truncated
points are counter-clockwise in image coordinates (``validate_clockwise_points``:
``sum((x2 - x1) * (y2 + y1)) > 0``; this accepts zero-area quads and a bow-tie whose
clockwise lobe is the larger). ``evaluate(..., strict=True)`` does the same (raises
:class:`EvaluationError`). By default (``strict=False``) such detections are scored
anyway, as the official formulas would score them (areas and intersections ignore
orientation), and counted in ``result["ccw_detections"]``.

Extensions beyond the official 2015 script: polygons with any number (>= 3) of points are
accepted (the official quad format has exactly 4), and a detection may carry a score,
which is ignored (file order is kept, as with the official ``CONFIDENCES=False``).
A division by zero that the official script would crash on (IoU denominator <= 0, only
possible with a degenerate bow-tie) gives IoU 0 here.

Speed: pairs are pre-filtered by bounding box, intersections computed with vectorised
shapely calls, so a page with a thousand GT and a thousand detections costs milliseconds.
"""

from typing import Dict, Sequence

import numpy as np

from .errors import EvaluationError
from .geometry import split_detection
from .types import Annotations, Detection, GroundTruth, Results

__all__ = ["evaluate", "EvaluationError", "IOU_CONSTRAINT", "AREA_PRECISION_CONSTRAINT"]

IOU_CONSTRAINT = 0.5
AREA_PRECISION_CONSTRAINT = 0.5
_ROW_CHUNK = 512  # GT rows per bounding-box broadcast (bounds memory on huge pages)


def _truncated_points(polys, key, what):
    """Points truncated toward zero: one (M, N, 2) float64 array when all polygons have N
    points (the usual case, checked in one go), else a list of (N_i, 2) arrays."""
    arrs = []
    for i, p in enumerate(polys):
        try:
            arrs.append(p if isinstance(p, np.ndarray) else np.asarray(p, dtype=np.float64))
        except (TypeError, ValueError):
            raise EvaluationError(f"{key}: {what} #{i}: not a list of (x, y) points", key) from None
    if arrs:
        s0 = arrs[0].shape
        if len(s0) == 2 and s0[0] >= 3 and s0[1] == 2 and all(x.shape == s0 for x in arrs):
            stacked = np.stack(arrs).astype(np.float64)
            if np.isfinite(stacked).all():
                return np.trunc(stacked)
    out = []
    for i, a in enumerate(arrs):
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError):
            raise EvaluationError(f"{key}: {what} #{i}: not a list of (x, y) points", key) from None
        if (a.ndim != 2 or a.shape[-1] != 2) and a.size % 2 == 0:
            a = a.reshape(-1, 2)
        if a.ndim != 2 or a.shape[1] != 2 or len(a) < 3 or not np.isfinite(a).all():
            raise EvaluationError(f"{key}: {what} #{i}: expected (N >= 3, 2) finite points, "
                                  f"got shape {np.shape(polys[i])}", key)
        out.append(np.trunc(a))
    return out


class _Polys:
    """Truncated polygons of one image with their official areas and shapely geometry."""

    def __init__(self, polys, key, what):
        import shapely

        pts = _truncated_points(polys, key, what)
        self.n = len(pts)
        if self.n == 0:
            self.area = np.zeros(0)
            self.box = np.zeros((0, 4))
            self.signed2 = np.zeros(0)
            self.geom = np.array([], dtype=object)
            return
        if isinstance(pts, np.ndarray) or len({len(p) for p in pts}) == 1:
            arr = np.asarray(pts) if isinstance(pts, np.ndarray) else np.stack(pts)
            x, y = arr[..., 0], arr[..., 1]
            self.signed2 = np.sum(x * np.roll(y, -1, 1) - np.roll(x, -1, 1) * y, axis=1)
            self.box = np.concatenate([arr.min(1), arr.max(1)], axis=1)
            geom = shapely.polygons(arr)
        else:
            self.signed2 = np.array([np.sum(p[:, 0] * np.roll(p[:, 1], -1)
                                            - np.roll(p[:, 0], -1) * p[:, 1]) for p in pts])
            self.box = np.array([[*p.min(0), *p.max(0)] for p in pts])
            geom = np.array([shapely.Polygon(p) for p in pts], dtype=object)
        self.area = 0.5 * np.abs(self.signed2)  # Polygon.area(): |net shoelace|
        bad = ~shapely.is_valid(geom)
        if bad.any():
            from .geometry import to_shapely

            for i in np.flatnonzero(bad):
                geom[i] = to_shapely(pts[i], repair=True)
        self.geom = geom


def _intersections(g, d):
    """Sparse intersection areas: (gi, di, inter) for pairs whose boxes overlap."""
    import shapely

    gis, dis = [], []
    if g.n and d.n:
        db = d.box
        for s in range(0, g.n, _ROW_CHUNK):
            gb = g.box[s:s + _ROW_CHUNK, None, :]
            ok = ((np.minimum(gb[..., 2], db[:, 2]) > np.maximum(gb[..., 0], db[:, 0]))
                  & (np.minimum(gb[..., 3], db[:, 3]) > np.maximum(gb[..., 1], db[:, 1])))
            gi, di = np.nonzero(ok)
            gis.append(gi + s)
            dis.append(di)
    if not gis or not sum(len(x) for x in gis):
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0)
    gi, di = np.concatenate(gis), np.concatenate(dis)
    try:
        inter = shapely.area(shapely.intersection(g.geom[gi], d.geom[di]))
    except shapely.errors.GEOSException:  # pragma: no cover - robustness fallback
        inter = np.array([_safe_inter(g.geom[a], d.geom[b]) for a, b in zip(gi, di)])
    keep = inter > 0
    return gi[keep], di[keep], inter[keep]


def _safe_inter(a, b):
    try:
        return a.intersection(b).area
    except Exception:  # noqa: BLE001 - GEOS topology failure: retry on cleaned shapes
        return a.buffer(0).intersection(b.buffer(0)).area


def _gt_fields(a):
    if hasattr(a, "polygon"):
        return a.polygon, bool(getattr(a, "ignore", False))
    return a, False


def evaluate_image(gt_anns: Annotations, dets: Sequence[Detection], key="",
                   iou_constraint: float = IOU_CONSTRAINT,
                   area_precision_constraint: float = AREA_PRECISION_CONSTRAINT,
                   strict: bool = False) -> dict:
    """Score one image; returns its per-image dict (see :func:`evaluate`)."""
    fields = [_gt_fields(a) for a in gt_anns]
    g = _Polys([f[0] for f in fields], key, "GT")
    d = _Polys([split_detection(x)[0] for x in dets], key, "detection")
    gt_dc = np.array([f[1] for f in fields], dtype=bool)
    ccw = d.signed2 < 0  # official: sum((x2-x1)*(y2+y1)) > 0  <=>  shoelace < 0
    if strict and ccw.any():
        i = int(np.flatnonzero(ccw)[0])
        raise EvaluationError(f"{key}: detection #{i + 1}: points are not clockwise (the "
                              "official ICDAR 2015 script rejects such a submission)", key)
    gi, di, inter = _intersections(g, d)
    # don't-care detections: > 0.5 of their own area inside one don't-care GT
    det_dc = np.zeros(d.n, dtype=bool)
    sel = gt_dc[gi]
    if sel.any():
        ad = d.area[di[sel]]
        frac = np.where(ad > 0, inter[sel] / np.where(ad > 0, ad, 1.0), 0.0)
        det_dc[di[sel][frac > area_precision_constraint]] = True
    denom = g.area[gi] + d.area[di] - inter
    iou = np.where(denom > 0, inter / np.where(denom > 0, denom, 1.0), 0.0)
    cand = (iou > iou_constraint) & ~gt_dc[gi] & ~det_dc[di]
    order = np.lexsort((di[cand], gi[cand]))
    pairs, g_used, d_used = [], set(), set()
    for a, b in zip(gi[cand][order].tolist(), di[cand][order].tolist()):
        if a not in g_used and b not in d_used:
            g_used.add(a)
            d_used.add(b)
            pairs.append((a, b))
    n_gt, n_det = g.n - int(gt_dc.sum()), d.n - int(det_dc.sum())
    matched = len(pairs)
    if n_gt == 0:
        recall, precision = 1.0, (0.0 if n_det > 0 else 1.0)
    else:
        recall = matched / n_gt
        precision = matched / n_det if n_det else 0.0
    hmean = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "hmean": hmean,
            "gt_care": n_gt, "det_care": n_det, "matched": matched,
            "gt_dontcare": int(gt_dc.sum()), "det_dontcare": int(det_dc.sum()),
            "ccw_detections": int(ccw.sum()), "pairs": pairs,
            "det_dontcare_index": np.flatnonzero(det_dc).tolist()}


def evaluate(gt: GroundTruth, pred: Results, iou_constraint: float = IOU_CONSTRAINT,
             area_precision_constraint: float = AREA_PRECISION_CONSTRAINT,
             strict: bool = False) -> dict:
    """Score detections against ground truth with the ICDAR 2015 protocol.

    ``gt``: ``{key: [Annotation, ...]}`` (``ignore=True`` is don't care; plain polygons
    count as care). ``pred``: ``{key: [polygon or (polygon, score), ...]}``; a key of
    ``gt`` missing from ``pred`` has no detections; a key of ``pred`` missing from ``gt``
    raises :class:`EvaluationError` (as the official script does). ``strict``: reject
    counter-clockwise detections like the official validation (see the module docs).

    Returns ``{"precision", "recall", "hmean", "gt_care", "det_care", "matched",
    "gt_dontcare", "det_dontcare", "ccw_detections", "images", "per_image"}`` where
    ``per_image[key]`` holds the same figures for one image plus ``pairs`` (GT index,
    detection index) and ``det_dontcare_index``.
    """
    extra = sorted(set(pred) - set(gt), key=str)
    if extra:
        names = ", ".join(map(str, extra[:5])) + (", ..." if len(extra) > 5 else "")
        raise EvaluationError(f"{len(extra)} result(s) with no ground truth: {names}")
    per_image = {}
    for key in gt:
        per_image[key] = evaluate_image(gt[key], pred.get(key, ()), key, iou_constraint,
                                        area_precision_constraint, strict)
    tot = {k: sum(r[k] for r in per_image.values())
           for k in ("gt_care", "det_care", "matched", "gt_dontcare", "det_dontcare",
                     "ccw_detections")}
    recall = tot["matched"] / tot["gt_care"] if tot["gt_care"] else 0.0
    precision = tot["matched"] / tot["det_care"] if tot["det_care"] else 0.0
    hmean = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "hmean": hmean, **tot,
            "images": len(per_image), "per_image": per_image}


# ---------------------------------------------------------------------------- folders

def load_gt_folder(gt_dir: str, level: str = "word", lenient: bool = False) -> dict:
    """``{key: [Annotation]}`` from any layout :func:`textseg.data.icdar.find_gt_files`
    understands (a data folder with images, or a folder of ``gt_*.txt``)."""
    from .data import icdar

    files = icdar.find_gt_files(gt_dir, level=level)
    if not files:
        raise EvaluationError(f"{gt_dir}: no ground-truth files (gt_*.txt) found")
    return {k: icdar.read_gt(p, lenient=lenient) for k, p in files.items()}


def find_result_files(pred_dir: str) -> Dict[str, str]:
    """``{key: path}`` for the ``res_<key>.txt`` (or ``<key>.txt``) files of a folder."""
    import os

    if not os.path.isdir(pred_dir):
        raise FileNotFoundError(f"{pred_dir}: result folder not found")
    out = {}
    for name in sorted(os.listdir(pred_dir)):
        path = os.path.join(pred_dir, name)
        if not name.lower().endswith(".txt") or not os.path.isfile(path):
            continue
        stem = name[:-4]
        key = stem[4:] if stem.startswith("res_") else stem
        if key in out:
            raise EvaluationError(f"{pred_dir}: both {os.path.basename(out[key])} and {name} "
                                  f"hold results for {key}")
        out[key] = path
    return out


def evaluate_folders(gt_dir: str, pred_dir: str, level: str = "word", strict: bool = False,
                     lenient: bool = False) -> dict:
    """Folder-vs-folder evaluation: GT files (see :func:`load_gt_folder`) against the
    ``res_<key>.txt`` submission files of ``pred_dir``. A missing result file counts as no
    detections; a result file with no GT raises :class:`EvaluationError` naming it."""
    import os

    from .data import icdar

    gt = load_gt_folder(gt_dir, level, lenient)
    files = find_result_files(pred_dir)
    orphans = sorted(os.path.basename(p) for k, p in files.items() if k not in gt)
    if orphans:
        more = ", ..." if len(orphans) > 5 else ""
        raise EvaluationError(f"{pred_dir}: {len(orphans)} result file(s) with no ground truth "
                              f"in {gt_dir}: {', '.join(orphans[:5])}{more}")
    pred = {k: icdar.read_results(p) for k, p in files.items()}
    try:
        result = evaluate(gt, pred, strict=strict)
    except EvaluationError as e:
        key = getattr(e, "key", None)
        if key in files:
            raise EvaluationError(str(e).replace(f"{key}:", f"{files[key]}:", 1)) from None
        raise
    result["missing_results"] = sorted(k for k in gt if k not in files)
    return result
