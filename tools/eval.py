#!/usr/bin/env python
"""Score detections with the ICDAR 2015 Challenge 4 localisation protocol.

    python tools/eval.py --gt DIR --pred DIR [--level word|line] [--json]
        [--per-image [K]] [--strict] [--lenient]

--gt: any data folder textseg understands (images/ + words/ or lines/, the official
ch4_* folders, ...) or a plain folder of gt_*.txt. --pred: a folder of res_<key>.txt
submission files (x1,y1,...,x4,y4[,score] per line). A missing result file counts as no
detections; a result file without ground truth is an error.
"""

import argparse
import json
import sys
import warnings

import _common  # noqa: F401  (sets sys.path)


def build_parser():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gt", required=True, metavar="DIR", help="ground-truth folder")
    ap.add_argument("--pred", required=True, metavar="DIR", help="folder of res_*.txt files")
    ap.add_argument("--level", choices=["word", "line"], default="word",
                    help="which ground truth of a data folder (words/ or lines/)")
    ap.add_argument("--json", action="store_true",
                    help="print one JSON object on stdout (the summary goes to stderr)")
    ap.add_argument("--per-image", nargs="?", type=int, const=10, default=0, metavar="K",
                    help="list the K images with the lowest hmean (default K=10)")
    ap.add_argument("--strict", action="store_true",
                    help="reject counter-clockwise detections, as the official script does")
    ap.add_argument("--lenient", action="store_true",
                    help="skip malformed ground-truth lines (with a warning) instead of failing")
    return ap


def format_summary(result, per_image=0):
    """The human-readable report: a list of lines."""
    r = result
    lines = [f"images {r['images']}  GT {r['gt_care']} (+{r['gt_dontcare']} don't care)  "
             f"detections {r['det_care']} (+{r['det_dontcare']} don't care)  "
             f"matched {r['matched']}",
             f"precision {r['precision']:.4f}  recall {r['recall']:.4f}  hmean {r['hmean']:.4f}"]
    if r.get("missing_results"):
        lines.append(f"{len(r['missing_results'])} image(s) without a result file "
                     "(counted as no detections)")
    if per_image > 0:
        worst = sorted(r["per_image"].items(), key=lambda kv: (kv[1]["hmean"], str(kv[0])))
        lines.append(f"worst {min(per_image, len(worst))} image(s) by hmean:")
        width = max((len(str(k)) for k, _ in worst[:per_image]), default=3)
        for key, s in worst[:per_image]:
            lines.append(f"  {str(key):<{width}}  hmean {s['hmean']:.4f}  P {s['precision']:.4f}"
                         f"  R {s['recall']:.4f}  GT {s['gt_care']}  det {s['det_care']}"
                         f"  matched {s['matched']}")
    return lines


def summary_json(result):
    keys = ("precision", "recall", "hmean", "gt_care", "det_care", "matched", "gt_dontcare",
            "det_dontcare", "images", "ccw_detections")
    out = {k: result[k] for k in keys}
    out["missing_results"] = len(result.get("missing_results", ()))
    return out


def run_folders(args):
    """Folder-vs-folder mode: returns the evaluation result dict."""
    from textseg.evaluation import evaluate_folders

    return evaluate_folders(args.gt, args.pred, level=args.level, strict=args.strict,
                            lenient=args.lenient)


def report(result, args):
    text_out = sys.stderr if args.json else sys.stdout
    for line in format_summary(result, args.per_image):
        print(line, file=text_out)
    if result.get("ccw_detections") and not args.strict:
        print(f"warning: {result['ccw_detections']} detection(s) are counter-clockwise; the "
              "official ICDAR 2015 script would reject this submission (--strict: fail)",
              file=sys.stderr)
    if args.json:
        print(json.dumps(summary_json(result)))


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.per_image < 0:
        _common.fail("--per-image K must be >= 0")
    errors = (OSError,)  # not _common.user_errors(): that imports torch, 1-2 s for nothing
    try:
        from textseg.data.icdar import GTFormatError
        from textseg.evaluation import EvaluationError

        errors = (OSError, GTFormatError, EvaluationError)
        with warnings.catch_warnings():  # one "warning: file:line: ..." line per warning
            warnings.simplefilter("default")
            warnings.formatwarning = lambda msg, *a, **k: f"warning: {msg}\n"
            result = run_folders(args)
    except errors as e:
        _common.fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    except KeyboardInterrupt:
        _common.fail("interrupted", 130)
    report(result, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
