"""Line grouping measured on ground truth: the ground-truth words of a data set grouped into
lines (:func:`textseg.layout.group_lines`) and scored against its ground-truth lines.

    python -m textseg.benchmarks.lines --data ../shared/data/docbench-dev
"""

from ..layout.lines import LINE_DEFAULTS, group_lines

__all__ = ["measure"]


def measure(data_dir, words="care", **options):
    """Group the ground-truth words of ``data_dir`` into lines and score them against its
    ground-truth lines (ICDAR 2015 protocol). ``words``: ``"care"`` (drop ``###`` words)
    or ``"all"``. Returns the :func:`textseg.evaluation.evaluate` dict plus ``ms_per_page``
    (grouping time only)."""
    import time

    from ..data.icdar import find_gt_files, read_gt
    from ..evaluation import evaluate

    word_files = find_gt_files(data_dir, level="word")
    line_files = find_gt_files(data_dir, level="line")
    keys = [k for k in word_files if k in line_files]
    if not keys:
        raise FileNotFoundError(f"{data_dir}: no page has both word and line ground truth")
    gt, pred, seconds = {}, {}, 0.0
    for k in keys:
        anns = read_gt(word_files[k])
        dets = [(a.polygon, 1.0) for a in anns if words == "all" or not a.ignore]
        t = time.perf_counter()
        pred[k] = group_lines(dets, **options)
        seconds += time.perf_counter() - t
        gt[k] = read_gt(line_files[k])
    result = evaluate(gt, pred)
    result["ms_per_page"] = 1000 * seconds / len(keys)
    return result


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m textseg.benchmarks.lines",
        description="Group ground-truth word boxes into lines and score them against the "
                    "ground-truth line boxes (ICDAR 2015 protocol).")
    ap.add_argument("--data", required=True, help="folder with words/ and lines/ ground truth")
    ap.add_argument("--words", choices=("care", "all", "both"), default="both",
                    help="use only care words (drop ###), all words, or report both")
    for key, value in LINE_DEFAULTS.items():
        ap.add_argument("--" + key.replace("_", "-"), type=float, default=value)
    args = ap.parse_args(argv)
    options = {k: getattr(args, k) for k in LINE_DEFAULTS}
    for words in (("care", "all") if args.words == "both" else (args.words,)):
        r = measure(args.data, words, **options)
        print(f"{words:>4} words: precision {r['precision']:.4f} recall {r['recall']:.4f} "
              f"hmean {r['hmean']:.4f} ({r['matched']}/{r['gt_care']} lines, "
              f"{r['images']} pages, {r['ms_per_page']:.1f} ms/page)")


if __name__ == "__main__":
    main()
