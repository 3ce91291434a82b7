#!/usr/bin/env python
"""Quantise a textseg ONNX model to int8 and compare it with the fp32 model, in one command.

    python tools/quantize_onnx.py [--model FP32.onnx] --out INT8.onnx [--calib 16]
        [--method minmax|percentile|entropy] [--no-per-channel] [--ops Conv,Add,...]
        [--cache RANGES.json] [--overwrite] [--optimized OPT.onnx]
        [--data DIR ...] [--levels word line] [--limit N] [--threads 2] [--json]

--model defaults to the shipped fp32 model (textseg/weights/default.onnx). Calibration uses
synthetic pages (textseg.data.synth), preprocessed as the Detector does. The int8 file keeps
the textseg metadata: tools/detect.py --model INT8.onnx and Detector.from_onnx load it.
With --data (repeatable), both models are scored on each folder (word and/or line level,
the first --limit pages) in the same run, and the verdict says whether int8 may become the
default (every set loses at most 0.005 hmean). With --eval-only, --out must exist and is
compared without quantising again.
"""

import argparse
import json
import os
import sys

import _common


def parse_args(argv):
    from textseg.quantize import CALIB_METHODS, DEFAULT_CALIB, SHIP_TOLERANCE

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", metavar="FP32.onnx",
                    help="fp32 textseg ONNX model (default: the shipped model)")
    ap.add_argument("--out", required=True, metavar="INT8.onnx", help="int8 file to write")
    ap.add_argument("--calib", type=int, default=DEFAULT_CALIB, metavar="N",
                    help=f"synthetic calibration pages (default {DEFAULT_CALIB})")
    ap.add_argument("--seed", type=int, default=None, help="seed of the first calibration page")
    ap.add_argument("--method", choices=CALIB_METHODS, default="minmax",
                    help="calibration method (default minmax)")
    ap.add_argument("--no-per-channel", action="store_true",
                    help="one weight scale per tensor instead of per output channel")
    ap.add_argument("--ops", help="comma-separated operator types to quantise (default: all)")
    ap.add_argument("--calib-max-side", type=int, metavar="PX",
                    help="calibrate at this long side at most (faster, less faithful)")
    ap.add_argument("--no-rewrite", action="store_true",
                    help="quantise the graph as exported (by default exact rewrites come "
                         "first: textseg.onnx_passes; the network runs about 25%% faster)")
    ap.add_argument("--cache", metavar="JSON",
                    help="calibrated ranges: written on the first run, reused after")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    ap.add_argument("--optimized", metavar="OPT.onnx",
                    help="also save the ORT_ENABLE_ALL-optimised int8 graph (this machine only)")
    ap.add_argument("--eval-only", action="store_true",
                    help="compare an existing --out with --model; quantise nothing")
    ev = ap.add_argument_group("comparison")
    ev.add_argument("--data", action="append", default=[], metavar="DIR",
                    help="ICDAR-format folder to score both models on (repeatable)")
    ev.add_argument("--levels", nargs="+", choices=["word", "line"], default=["word", "line"])
    ev.add_argument("--limit", type=int, metavar="N", help="only the first N pages of each folder")
    ev.add_argument("--threads", type=int, default=None, help="onnxruntime CPU threads")
    ev.add_argument("--tolerance", type=float, default=SHIP_TOLERANCE,
                    help=f"largest hmean loss allowed for the default (default {SHIP_TOLERANCE})")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = ap.parse_args(argv)
    if args.eval_only and not args.data:
        ap.error("--eval-only needs --data DIR")
    return args


def log(line):
    print(line, file=sys.stderr, flush=True)


def format_rows(rows):
    from textseg.benchmarks.report import markdown_table

    by = {(r["folder"], r["level"], r["model"]): r for r in rows}
    cells = []
    for r in rows:
        if r["model"] != "fp32":
            continue
        q = by.get((r["folder"], r["level"], "int8"))
        cells.append([r["folder"], r["level"], r["images"], f"{r['hmean']:.4f}",
                      f"{q['hmean']:.4f}" if q else "-",
                      f"{q['hmean'] - r['hmean']:+.4f}" if q else "-",
                      f"{r['median_page']:.3f}", f"{q['median_page']:.3f}" if q else "-",
                      f"{r['network']:.3f}", f"{q['network']:.3f}" if q else "-"])
    return markdown_table(["set", "level", "pages", "hmean fp32", "hmean int8", "change",
                           "s/page fp32", "s/page int8", "network fp32", "network int8"],
                          cells, align=["l", "l"] + ["r"] * 8)


def main(argv=None):
    args = parse_args(argv)
    with _common.user_errors():
        from textseg import quantize as q
        from textseg.detector import default_model_path

        src = args.model or default_model_path("fp32")
        if not src or not src.lower().endswith(".onnx"):
            raise FileNotFoundError("no fp32 ONNX model: pass --model FP32.onnx")
        if not os.path.isfile(src):
            raise FileNotFoundError(f"{src}: model file not found")
        report = {"fp32": src}
        if args.eval_only:
            if not os.path.isfile(args.out):
                raise FileNotFoundError(f"{args.out}: int8 model not found (drop --eval-only)")
        else:
            if os.path.isdir(args.out):
                raise IsADirectoryError(f"{args.out}: is a directory; give a file name")
            kw = {"seed": args.seed} if args.seed is not None else {}
            rep = q.quantize_onnx(src, args.out, calib=args.calib,
                                  per_channel=not args.no_per_channel, method=args.method,
                                  op_types=args.ops.split(",") if args.ops else None,
                                  calib_max_side=args.calib_max_side, cache=args.cache,
                                  rewrite=not args.no_rewrite,
                                  overwrite=args.overwrite, log=log, **kw)
            report["quantized"] = rep
            log(f"wrote {rep['path']}: {rep['bytes'] / 1e6:.1f} MB (fp32 "
                f"{rep['fp32_bytes'] / 1e6:.1f} MB), {rep['quantize_nodes']} quantised tensors, "
                f"{rep['calibration_pages']} calibration pages, {rep['seconds']:.0f} s"
                + "".join(f", {k} x{v}" for k, v in rep["rewrites"].items() if v))
        if args.optimized:
            opt = q.save_optimized(args.out, args.optimized, threads=args.threads)
            report["optimized"] = opt
            log(f"wrote {opt['path']}: session start {opt['start_s']:.2f} s -> "
                f"{opt['optimized_start_s']:.2f} s")
        if args.data:
            for d in args.data:
                if not os.path.isdir(d):
                    raise FileNotFoundError(f"{d}: data folder not found")
            rows = q.compare({"fp32": src, "int8": args.out}, args.data, tuple(args.levels),
                             args.limit, args.threads, log=log)
            ok, losses = q.verdict(rows, tolerance=args.tolerance)
            report.update(rows=rows, ship_int8=ok,
                          losses=[{"folder": f, "level": lv, "loss": d} for f, lv, d in losses])
            worst = max(losses, key=lambda t: t[2]) if losses else None
            text = format_rows(rows)
            verdict = (f"int8 {'may' if ok else 'may NOT'} become the default: largest hmean "
                       f"loss {worst[2]:+.4f} ({worst[0]} {worst[1]}), allowed "
                       f"{args.tolerance}" if worst else "no set scored")
            if args.json:
                print(json.dumps(report, indent=1, default=str))
                log(text + "\n" + verdict)
            else:
                print(text)
                print(verdict)
        elif args.json:
            print(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
