"""Page orientation measured on a data set of upright pages: every page turned by 0, 90,
180 and 270 degrees (image and ground-truth words together) and classified by
:func:`textseg.layout.orientation.detect_orientation`.

    python -m textseg.benchmarks.orientation --data ../shared/data/docbench-dev

``--detections FILE.pkl`` (``{image stem: [(polygon, score), ...]}`` on the upright pages)
uses a model's words instead of the ground-truth words.
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


def main(argv=None):
    import argparse
    import pickle

    ap = argparse.ArgumentParser(prog="python -m textseg.benchmarks.orientation",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--detections")
    args = ap.parse_args(argv)
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
