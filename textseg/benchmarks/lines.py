"""Line grouping measured on ground truth: the ground-truth words of a data set grouped into
lines and scored against its ground-truth lines (ICDAR 2015 protocol).

    python -m textseg.benchmarks.lines --data ../shared/data/docbench-dev
    python -m textseg.benchmarks.lines --data ../shared/data/funsd-train --iou 0.5 0.3

``--mode segment`` (:func:`textseg.layout.segment_lines`: rows cut at wider-than-word
gaps), ``--mode rows`` (:func:`textseg.layout.group_lines`: visual rows up to gutters) or
``both``. ``--model default`` (or a model file) groups the words a model detects on the
images instead of the ground-truth words, for data sets with line ground truth only
(sroie-dev) or to measure lines from a model's words; ``--save-detections FILE.pkl`` keeps
them (``{image stem: [(polygon, score), ...]}``) and ``--detections FILE.pkl`` reuses them.

    python -m textseg.benchmarks.lines --data ../shared/data/sroie-dev --model default \
        --save-detections sroie.pkl
"""

import os

from ..layout.lines import LINE_DEFAULTS, SEGMENT_DEFAULTS, group_lines, segment_lines

__all__ = ["measure"]

MODES = {"segment": segment_lines, "rows": group_lines}


def measure(data_dir, words="care", mode="segment", iou=0.5, detections=None, rules=False,
            **options):
    """Group the ground-truth words of ``data_dir`` (or ``detections``: ``{key: [(polygon,
    score), ...]}``) into lines and score them against its ground-truth lines (ICDAR 2015
    protocol, IoU ``iou``). ``words``: ``"care"`` (drop ``###`` words) or ``"all"``.
    ``mode``: ``"segment"`` or ``"rows"``. ``rules``: also read each page's drawn rules
    and unboxed marks from its image (:mod:`textseg.layout.rules`, as ``analyze`` and
    ``level="line"`` do). Returns the :func:`textseg.evaluation.evaluate` dict plus
    ``ms_per_page`` (grouping time only, the rule map's included)."""
    import time

    from ..data.icdar import find_gt_files, read_gt
    from ..evaluation import evaluate

    line_files = find_gt_files(data_dir, level="line")
    if detections is None:
        word_files = find_gt_files(data_dir, level="word")
        keys = [k for k in word_files if k in line_files]
        if not keys:
            raise FileNotFoundError(f"{data_dir}: no page has both word and line ground truth")
        inputs = {}
        for k in keys:
            anns = read_gt(word_files[k])
            inputs[k] = [(a.polygon, 1.0) for a in anns if words == "all" or not a.ignore]
    else:
        keys = [k for k in line_files if k in detections]
        if not keys:
            raise FileNotFoundError(f"{data_dir}: no page of the detections has line ground truth")
        inputs = {k: detections[k] for k in keys}
    fn = MODES[mode]
    if mode == "rows":
        options = {k: v for k, v in options.items() if k in LINE_DEFAULTS}
    images = {}
    if rules:
        from ..data.images import load_image
        from ..layout.rules import rule_map

        folder = os.path.join(data_dir, "images")
        names = {os.path.splitext(n)[0]: n for n in os.listdir(folder)} if os.path.isdir(folder) else {}
        missing = [k for k in keys if k not in names]
        if missing:
            raise FileNotFoundError(f"{folder}: no image for {missing[0]} (--rules reads them)")
        images = {k: os.path.join(folder, names[k]) for k in keys}
    gt, pred, seconds = {}, {}, 0.0
    for k in keys:
        image = load_image(images[k]) if rules else None
        t = time.perf_counter()
        extra = {"rules": rule_map(image, inputs[k])} if rules else {}
        pred[k] = fn(inputs[k], **extra, **options)
        seconds += time.perf_counter() - t
        gt[k] = read_gt(line_files[k])
    result = evaluate(gt, pred, iou_constraint=iou)
    result["ms_per_page"] = 1000 * seconds / len(keys)
    return result


def detect_folder(data_dir, model="default", threads=None):
    """``{image stem: [(polygon, score), ...]}``: a model's words on ``data_dir/images``."""
    import os

    from ..data.images import load_image
    from ..detector import Detector

    det = (Detector.default(threads=threads) if model == "default"
           else Detector.from_file(model, threads=threads))
    folder = os.path.join(data_dir, "images")
    out = {}
    for name in sorted(os.listdir(folder)):
        out[os.path.splitext(name)[0]] = det(load_image(os.path.join(folder, name)))
    return out


def detections_from_args(args):
    """The words a benchmark CLI groups: ``--detections`` (a pickle) or ``--model``'s words
    on the data set (None: neither, use the ground-truth words)."""
    import pickle

    if getattr(args, "detections", None):
        with open(args.detections, "rb") as f:
            return pickle.load(f)
    if getattr(args, "model", None):
        return detect_folder(args.data, args.model, args.threads)
    return None


def main(argv=None):
    import argparse
    import pickle

    ap = argparse.ArgumentParser(
        prog="python -m textseg.benchmarks.lines",
        description="Group ground-truth word boxes (or saved detections) into lines and score "
                    "them against the ground-truth line boxes (ICDAR 2015 protocol).")
    ap.add_argument("--data", required=True, help="folder with words/ and lines/ ground truth")
    ap.add_argument("--words", choices=("care", "all", "both"), default="both",
                    help="use only care words (drop ###), all words, or report both")
    ap.add_argument("--mode", choices=("segment", "rows", "both"), default="both",
                    help="segments (segment_lines), visual rows (group_lines), or both")
    ap.add_argument("--iou", type=float, nargs="+", default=[0.5],
                    help="IoU constraint(s) to report (the protocol's is 0.5)")
    ap.add_argument("--detections", help="pickle {image stem: [(polygon, score), ...]} to "
                                         "group instead of the ground-truth words")
    ap.add_argument("--model", help="'default' or a model file: group its detected words")
    ap.add_argument("--save-detections", help="with --model: keep the detections (pickle)")
    ap.add_argument("--threads", type=int, help="with --model: CPU threads")
    ap.add_argument("--rules", action="store_true",
                    help="read drawn rules and unboxed marks from the images (as the "
                         "detector's line level does)")
    for key, value in {**LINE_DEFAULTS, **SEGMENT_DEFAULTS}.items():
        ap.add_argument("--" + key.replace("_", "-"), type=float, default=value)
    args = ap.parse_args(argv)
    options = {k: getattr(args, k) for k in {**LINE_DEFAULTS, **SEGMENT_DEFAULTS}}
    dets = detections_from_args(args)
    if args.model and not args.detections and args.save_detections:
        from ..fileio import atomic_open

        with atomic_open(args.save_detections, "wb") as f:
            pickle.dump(dets, f)
    word_modes = ("care", "all") if args.words == "both" else (args.words,)
    if dets is not None:
        word_modes = ("dets",)
    for mode in (("segment", "rows") if args.mode == "both" else (args.mode,)):
        for words in word_modes:
            for iou in args.iou:
                r = measure(args.data, words, mode, iou, dets, rules=args.rules, **options)
                print(f"{mode:>7} {words:>4} words IoU {iou:.2f}: precision {r['precision']:.4f} "
                      f"recall {r['recall']:.4f} hmean {r['hmean']:.4f} "
                      f"({r['matched']}/{r['gt_care']} lines, {r['images']} pages, "
                      f"{r['ms_per_page']:.1f} ms/page)")


if __name__ == "__main__":
    main()
