"""Page orientation measured on a data set of upright pages: every page turned by 0, 90,
180 and 270 degrees (image and ground-truth words together) and classified by
:func:`textseg.layout.orientation.detect_orientation`.

    python -m textseg.benchmarks.orientation --data ../shared/data/docbench-dev

``--detections FILE.pkl`` (``{image stem: [(polygon, score), ...]}`` on the upright pages)
uses a model's words instead of the ground-truth words. ``--model PATH`` (or ``default``)
runs the whole path instead: the model detects words on the turned page,
:func:`textseg.layout.orientation.detect_upright` finds the orientation, detects again on
the upright page and maps the words back; their word hmean (and line hmean, through
:func:`textseg.layout.segment_lines`) is compared with the upright pages'.

    python -m textseg.benchmarks.orientation --data ../shared/data/docbench-dev --model default
"""

from __future__ import annotations

import numpy as np

__all__ = ["measure", "turn_page"]

_INVERSE = {90: "ROTATE_90_CLOCKWISE", 180: "ROTATE_180", 270: "ROTATE_90_COUNTERCLOCKWISE"}


def turn_page(image, polygons, angle):
    """An upright page as a scan of orientation ``angle``: ``(image, polygons)`` such that
    ``upright_image(image, angle)`` is the input image and the polygons follow it."""
    import cv2

    from ..layout.orientation import to_input_frame

    if angle % 360 == 0:
        return image, [np.asarray(p, np.float32) for p in polygons]
    turned = cv2.rotate(image, getattr(cv2, _INVERSE[angle % 360]))
    h, w = turned.shape[:2]
    return turned, [to_input_frame(np.asarray(p, np.float64).reshape(-1, 2), angle, w, h)
                    for p in polygons]


def measure(data_dir, angles=(0, 90, 180, 270), detections=None):
    """Returns ``{"pages", "right", "wrong": [(key, true, found, confidence)], "skew_error_deg"
    (median |found - true skew|, where the data set's manifest gives it), "ms_per_page"}``."""
    import json
    import os
    import time

    from ..data.icdar import find_gt_files, read_gt
    from ..data.images import load_image
    from ..layout.orientation import detect_orientation

    word_files = find_gt_files(data_dir, level="word")
    manifest = {}
    path = os.path.join(data_dir, "manifest.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    manifest[os.path.splitext(r["image"])[0]] = r
    images = {os.path.splitext(n)[0]: os.path.join(data_dir, "images", n)
              for n in os.listdir(os.path.join(data_dir, "images"))}
    right, wrong, skews, seconds, n = 0, [], [], 0.0, 0
    for key in sorted(word_files):
        if key not in images:
            continue
        image = load_image(images[key])
        if detections is not None:
            polys = [p for p, _ in detections.get(key, [])]
        else:
            polys = [a.polygon for a in read_gt(word_files[key]) if not a.ignore]
        for angle in angles:
            im, ps = turn_page(image, polys, angle)
            t = time.perf_counter()
            found, skew, conf = detect_orientation(im, [(p, 1.0) for p in ps])
            seconds += time.perf_counter() - t
            n += 1
            if found == angle:
                right += 1
            else:
                wrong.append((key, angle, found, round(conf, 3)))
            if "rotation_deg" in manifest.get(key, {}):
                # the manifest's rotation_deg is the angle of the lines in the upright image
                true = manifest[key]["rotation_deg"]
                skews.append(abs(skew - true))
    return {"pages": n, "right": right, "wrong": wrong,
            "skew_error_deg": float(np.median(skews)) if skews else None,
            "ms_per_page": 1000 * seconds / max(n, 1)}


def measure_model(data_dir, model="default", angles=(0, 90, 180, 270), threads=None):
    """End to end with a detector: ``{"pages", "right", "wrong", "word": {angle: hmean},
    "line": {angle: hmean}}``."""
    import os

    from ..data.icdar import find_gt_files, read_gt
    from ..data.images import load_image
    from ..detector import Detector
    from ..evaluation import evaluate
    from ..geometry import pad_detections
    from ..layout import segment_lines
    from ..layout.orientation import detect_upright
    from ..pipeline import layout_detector

    det = Detector.default(threads=threads) if model == "default" else Detector.from_file(model, threads=threads)
    detect, pad = layout_detector(det)  # group the decoder's boxes, then pad (infer.pad)
    word_files = find_gt_files(data_dir, level="word")
    line_files = find_gt_files(data_dir, level="line")
    images = {os.path.splitext(n)[0]: os.path.join(data_dir, "images", n)
              for n in os.listdir(os.path.join(data_dir, "images"))}
    keys = [k for k in sorted(word_files) if k in images]
    gt = {lv: {a: {} for a in angles} for lv in ("word", "line")}
    pred = {lv: {a: {} for a in angles} for lv in ("word", "line")}
    right, wrong = 0, []
    for k in keys:
        image = load_image(images[k])
        wg = read_gt(word_files[k])
        lg = read_gt(line_files[k]) if k in line_files else []
        for a in angles:
            im, wp = turn_page(image, [g.polygon for g in wg], a)
            _, lp = turn_page(image, [g.polygon for g in lg], a)
            gt["word"][a][k] = [g._replace(polygon=p) for g, p in zip(wg, wp)]
            gt["line"][a][k] = [g._replace(polygon=p) for g, p in zip(lg, lp)]
            words, (found, _, conf) = detect_upright(detect, im)
            if found == a:
                right += 1
            else:
                wrong.append((k, a, found, round(conf, 3)))
            pred["word"][a][k] = pad_detections(words, pad)
            pred["line"][a][k] = pad_detections(segment_lines(words), pad)
    return {"pages": len(keys) * len(angles), "right": right, "wrong": wrong,
            **{lv: {a: evaluate(gt[lv][a], pred[lv][a])["hmean"] for a in angles}
               for lv in ("word", "line")}}


def main(argv=None):
    import argparse
    import pickle

    ap = argparse.ArgumentParser(prog="python -m textseg.benchmarks.orientation",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--detections")
    ap.add_argument("--model", help="a model file, or 'default': detect on the turned pages")
    ap.add_argument("--threads", type=int)
    args = ap.parse_args(argv)
    if args.model:
        r = measure_model(args.data, args.model, threads=args.threads)
        print(f"orientation right on {r['right']}/{r['pages']} turned pages (model words)")
        for a in r["word"]:
            print(f"  turned {a:>3}: word hmean {r['word'][a]:.4f}  line hmean {r['line'][a]:.4f}")
        for w in r["wrong"]:
            print("  wrong:", *w)
        return
    dets = None
    if args.detections:
        with open(args.detections, "rb") as f:
            dets = pickle.load(f)
    r = measure(args.data, detections=dets)
    skew = "n/a" if r["skew_error_deg"] is None else f"{r['skew_error_deg']:.2f} deg"
    print(f"orientation right on {r['right']}/{r['pages']} turned pages; median skew error "
          f"{skew}; {r['ms_per_page']:.1f} ms/page")
    for w in r["wrong"]:
        print("  wrong:", *w)


if __name__ == "__main__":
    main()
