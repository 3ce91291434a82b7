"""Score on an ICDAR-format folder with the ICDAR 2015 protocol: a Detector
(:func:`evaluate_folder`), or a method's targets and decoder, GT -> training targets ->
the maps a perfect head would output -> polygons (:func:`check_targets`)."""

import os
import time
from typing import Callable, List, NamedTuple, Optional, Tuple

import numpy as np

from .data import icdar
from .data.images import load_image
from .scale import input_size
from .evaluation import evaluate
from .methods import decode_config, spec, target_config
from .types import Annotations, Config, Detection, Targets

__all__ = ["RoundTrip", "check_targets", "evaluate_folder", "image_key", "round_trip"]


def image_key(path: str) -> str:
    """``img_12.jpg`` -> ``img_12``: the key that pairs an image, its GT and its result."""
    return os.path.splitext(os.path.basename(path))[0]


def evaluate_folder(detector, folder: str, level: str = "word", max_images: Optional[int] = None,
                    progress: bool = False, pred_dir: Optional[str] = None, lenient: bool = True,
                    strict: bool = False) -> dict:
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


# ----------------------------------------------------------------------------- targets

class RoundTrip(NamedTuple):
    """One image through :func:`round_trip` (``key``, ``image``, ``result`` and ``missed``
    are filled in by :func:`check_targets`)."""

    detections: List[Detection]  # in image pixels
    targets: Targets
    input_hw: Tuple[int, int]
    targets_s: float             # seconds to build the targets and the perfect maps
    decode_s: float              # seconds to decode them
    key: str = ""
    image: Optional[np.ndarray] = None
    annotations: Annotations = ()
    result: Optional[dict] = None  # evaluate() of this image alone
    missed: list = []              # polygons of the care GT that no detection matched


def round_trip(cfg: Config, image_hw: Tuple[int, int], annotations: Annotations,
               resize: Optional[dict] = None) -> RoundTrip:
    """GT -> training targets -> perfect eval-mode maps -> decoder, for one image.

    The GT is scaled to the network input size the Detector would use (``resize``: an
    ``infer.resize`` section, default the config's), the method's targets are built there,
    turned into the maps a perfect head would output (``targets_to_maps``), decoded with
    the config's decoder settings and the polygons scaled back to image pixels."""
    method = spec(cfg["model"]["head"]["method"])
    h, w = int(image_hw[0]), int(image_hw[1])
    nh, nw = input_size(h, w, resize or cfg["infer"]["resize"])
    to_input = np.array([nw / w, nh / h], np.float32)
    scaled = [a._replace(polygon=np.asarray(a.polygon, np.float32) * to_input) for a in annotations]
    tcfg = target_config(cfg)
    t0 = time.perf_counter()
    targets = method.build_targets(scaled, (nh, nw), tcfg)
    maps = method.targets_to_maps(targets, tcfg)
    t1 = time.perf_counter()
    dets = method.decode(maps, decode_config(cfg))
    t2 = time.perf_counter()
    dets = [(np.asarray(p, np.float32) / to_input, s) for p, s in dets]
    return RoundTrip(dets, targets, (nh, nw), t1 - t0, t2 - t1)


def check_targets(cfg: Config, folder: str, level: str = "word", max_side: Optional[int] = None,
                  limit: int = 0, on_image: Optional[Callable[[RoundTrip], None]] = None) -> dict:
    """:func:`round_trip` on every image of ``folder`` with ground truth (the first
    ``limit`` when > 0), scored against the original GT with the ICDAR 2015 protocol.

    ``max_side`` replaces the config's input cap; ``on_image`` gets each image's
    :class:`RoundTrip` as soon as it is done. Returns the summary: method, level, images,
    precision, recall, hmean, gt_care, det_care, matched, and the mean ms per image to
    build the targets (``targets_ms``) and to decode them (``decode_ms``)."""
    resize = dict(cfg["infer"]["resize"])
    if max_side:
        resize["max_side"] = int(max_side)
    pairs = [(img, gt) for img, gt in icdar.find_pairs(folder, level=level) if gt]
    if not pairs:
        raise FileNotFoundError(f"{folder}: no images with {level}-level ground truth found")
    if limit:
        pairs = pairs[:int(limit)]
    gt, pred = {}, {}
    t_targets = t_decode = 0.0
    for img_path, gt_path in pairs:
        key = image_key(img_path)
        anns = icdar.read_gt(gt_path)
        image = load_image(img_path)
        trip = round_trip(cfg, image.shape[:2], anns, resize)
        t_targets, t_decode = t_targets + trip.targets_s, t_decode + trip.decode_s
        gt[key], pred[key] = anns, trip.detections
        if on_image is not None:
            res = evaluate({key: anns}, {key: trip.detections})
            hit = {g for g, _ in res["per_image"][key]["pairs"]}
            missed = [a.polygon for i, a in enumerate(anns) if not a.ignore and i not in hit]
            on_image(trip._replace(key=key, image=image, annotations=anns, result=res,
                                   missed=missed))
    res = evaluate(gt, pred)
    n = len(pairs)
    return {"method": cfg["model"]["head"]["method"], "level": level, "images": n,
            "precision": round(res["precision"], 4), "recall": round(res["recall"], 4),
            "hmean": round(res["hmean"], 4), "gt_care": res["gt_care"],
            "det_care": res["det_care"], "matched": res["matched"],
            "targets_ms": round(1000 * t_targets / n, 1),
            "decode_ms": round(1000 * t_decode / n, 1)}
