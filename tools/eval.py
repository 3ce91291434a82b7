#!/usr/bin/env python
"""Score detections with the ICDAR 2015 Challenge 4 localisation protocol.

    python tools/eval.py --gt DIR --pred DIR [--level word|line|block] [--json]
        [--per-image [K]] [--strict] [--lenient]
    python tools/eval.py --checkpoint C.pt|--model M.onnx [--config CFG] --data DIR
        [--level word|line|block] [--save-pred DIR [--overwrite]] [--max-side N] [--json]

--level line scores the detector's line segments (what tools/detect.py --level line
writes); --level block scores the page layout's blocks (paragraphs, tables) against
DIR/blocks/gt_*.txt (one polygon per block, the ICDAR format; --gt: DIR/blocks or a folder
of gt_*.txt).

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
    ap.add_argument("--gt", metavar="DIR", help="ground-truth folder")
    ap.add_argument("--pred", metavar="DIR", help="folder of res_*.txt files")
    model = ap.add_argument_group("model mode: run a detector on --data and score it")
    model.add_argument("--checkpoint", "--model", dest="model", metavar="PATH",
                       help="checkpoint (.pt) or ONNX file; 'default' for the shipped model (int8), "
                            "'default-fp32' for its fp32 original, 'fast' for the int8 fast variant")
    model.add_argument("--config", metavar="CFG",
                       help="YAML whose infer section (resize, decode) replaces the model's")
    model.add_argument("--data", metavar="DIR", help="ICDAR-format folder with images and GT")
    model.add_argument("--save-pred", metavar="DIR", help="also write res_*.txt files there")
    model.add_argument("--overwrite", action="store_true",
                       help="replace res_*.txt files that already are in --save-pred")
    model.add_argument("--max-side", type=int, help="cap the long side of the network input")
    model.add_argument("--device", default="cpu")
    model.add_argument("--limit", type=int, help="only the first N images")
    ap.add_argument("--level", choices=["word", "line", "block"], default="word",
                    help="which ground truth of a data folder (words/, lines/ or blocks/)")
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
    if "timing" in result:
        out["seconds_per_page"] = {k: round(v, 4) for k, v in result["timing"].items()}
    return out


def run_folders(args):
    """Folder-vs-folder mode: returns the evaluation result dict."""
    import os

    from textseg.evaluation import evaluate_folders

    if args.level == "block":  # DIR/blocks, or a plain folder of gt_*.txt
        gt = os.path.join(args.gt, "blocks")
        return evaluate_folders(gt if os.path.isdir(gt) else args.gt, args.pred, level="word",
                                strict=args.strict, lenient=args.lenient)
    return evaluate_folders(args.gt, args.pred, level=args.level, strict=args.strict,
                            lenient=args.lenient)


def block_pairs(data, limit=None):
    """``[(image, blocks/gt_<key>.txt)]`` of a data folder (images with block ground truth)."""
    import os

    from textseg.data.icdar import find_pairs
    from textseg.errors import TextsegError
    from textseg.validation import image_key

    gt_dir = os.path.join(data, "blocks")
    if not os.path.isdir(gt_dir):
        raise TextsegError(f"{data}: no blocks/ folder for block-level ground truth")
    images = []
    for level in ("word", "line"):
        try:
            images = [img for img, _ in find_pairs(data, level=level)]
            break
        except (FileNotFoundError, ValueError):
            continue
    pairs = [(img, os.path.join(gt_dir, f"gt_{image_key(img)}.txt")) for img in images]
    pairs = [p for p in pairs if os.path.isfile(p[1])]
    if not pairs:
        raise TextsegError(f"{gt_dir}: no gt_*.txt for the images of {data}")
    return pairs[:limit] if limit else pairs


def run_blocks(args, det):
    """Model mode, --level block: the layout's blocks of every page against blocks/."""
    import os
    import time

    from textseg.data import icdar
    from textseg.data.images import load_image
    from textseg.evaluation import evaluate
    from textseg.pipeline import page_result
    from textseg.validation import image_key

    gts, preds, per_page = {}, {}, []
    for img, gt in block_pairs(args.data, args.limit):
        key = image_key(img)
        t0 = time.perf_counter()
        _, preds[key] = page_result(det, load_image(img), "block")
        per_page.append(time.perf_counter() - t0)
        gts[key] = icdar.read_gt(gt, lenient=args.lenient)
        if args.save_pred:
            os.makedirs(args.save_pred, exist_ok=True)
            icdar.write_results(os.path.join(args.save_pred, f"res_{key}.txt"), preds[key],
                                with_score=True)
    res = evaluate(gts, preds, strict=args.strict)
    per_page.sort()
    res["images"] = len(per_page)
    res["timing"] = {"median_page": per_page[len(per_page) // 2], "load": 0.0,
                     "preprocess": 0.0, "network": 0.0, "decode": 0.0}
    return res


def check_save_pred(args):
    """Refuse, before anything runs, a --save-pred folder holding res_*.txt files this run
    would replace (detect's, another model's): the rule of tools/detect.py."""
    import os

    from textseg.data.icdar import find_pairs
    from textseg.validation import image_key

    if not os.path.isdir(args.save_pred) or not os.path.isdir(args.data):
        return
    images = ([img for img, _ in block_pairs(args.data)] if args.level == "block" else
              [img for img, gt in find_pairs(args.data, level=args.level) if gt])
    if args.limit:
        images = images[:args.limit]
    found = [p for p in (os.path.join(args.save_pred, f"res_{image_key(img)}.txt")
                         for img in images) if os.path.exists(p)]
    if found:
        more = f"; {len(found)} result files would be replaced" if len(found) > 1 else ""
        _common.fail(f"{found[0]}: exists (use --overwrite to replace it{more})")


def run_model(args):
    """Model mode: detect on every image of --data and evaluate; returns the result dict."""
    from textseg.detector import Detector
    from textseg.validation import evaluate_folder

    if args.save_pred and not args.overwrite:
        check_save_pred(args)
    det = Detector.load(args.model, config=args.config, max_side=args.max_side,
                        device=args.device)
    if args.level == "block":
        res = run_blocks(args, det)
        print(f"seconds per page: median {res['timing']['median_page']:.3f} (detection and "
              "layout)", file=sys.stderr if args.json else sys.stdout)
        return res
    res = evaluate_folder(det, args.data, level=args.level, max_images=args.limit,
                          progress=sys.stderr.isatty(), pred_dir=args.save_pred,
                          lenient=args.lenient, strict=args.strict)
    t = res["timing"]
    print(f"seconds per page: median {t['median_page']:.3f}  (load {t['load']:.3f}, preprocess "
          f"{t['preprocess']:.3f}, network {t['network']:.3f}, decode {t['decode']:.3f})",
          file=sys.stderr if args.json else sys.stdout)
    return res


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
    try:
        if args.model:
            if not args.data:
                _common.fail("--checkpoint/--model needs --data DIR")
        elif not (args.gt and args.pred):
            _common.fail("give --gt DIR --pred DIR, or --checkpoint C --data DIR")
        with warnings.catch_warnings():  # one "warning: file:line: ..." line per warning
            warnings.simplefilter("default")
            warnings.formatwarning = lambda msg, *a, **k: f"warning: {msg}\n"
            result = run_model(args) if args.model else run_folders(args)
    except Exception as e:  # noqa: BLE001 - user errors in one line
        if not (_common.is_user_error(e) or isinstance(e, OSError)
                or (args.model and isinstance(e, ValueError))):
            raise
        if isinstance(e, OSError) and not e.filename and e.strerror:  # a full disk, ...
            where = args.save_pred if args.save_pred else (args.pred or args.data)
            _common.fail(f"{where}: {e.strerror}"
                         f"{' (writing res_*.txt)' if args.save_pred else ''}")
        _common.fail(_common.message(e))
    except KeyboardInterrupt:
        _common.fail("interrupted", 130)
    report(result, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
