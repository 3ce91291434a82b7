#!/usr/bin/env python
"""Run textseg's benchmark suites; print each table and write it into docs/benchmarks.md.

    python tools/bench.py SUITE [--out docs/benchmarks.md] [--device cpu|cuda]
        [--threads N] [--quick] [suite options]

SUITE is one of
  models  parameters, GMACs, forward latency (PyTorch and onnxruntime) and peak memory of
          every backbone x trunk x method at 640 and 1024 px
  decode  every decoder on synthetic maps (1024/2048 px pages, 300/1,200 words), next to a
          reference where it is importable (lanms-neo, PSENet's Cython pse, RapidOCR's DB)
  pages   seconds per page (load/preprocess/network/decode) and hmean on a data folder for
          the default model and any --checkpoint/--model, at word and line level, and for
          every --peer NAME (tesseract, rapidocr, ppocr-v6-small, ppocr-v6-tiny,
          ppocr-v5-mobile; 'all') that is installed, on the same pages and threads
  train   training images/s per backbone x trunk x method on synthetic 640 px crops
  ocr     Tesseract alone (--psm 3) against textseg lines + Tesseract on --data (word
          ground truth with transcriptions): bag-of-words F1, CER in reading order, seconds
          per page (textseg.benchmarks.ocr; needs the OCR extra, bash tools/install_ocr.sh)
  all     the four in turn (not ocr)

Each suite replaces only its own section of --out (other sections are kept), with the
machine, the versions and this command line. --quick: a small configuration that finishes
in a few minutes on 2 CPU cores (for trying things out; publish full runs).
"""

import argparse
import os
import shlex
import sys
import time

import _common  # noqa: F401  (sets sys.path)

SUITE_NAMES = ("models", "decode", "pages", "train")
#: peers of the pages suite (textseg.benchmarks.peers; kept here so --help imports nothing)
PEER_NAMES = ("tesseract", "rapidocr", "ppocr-v6-small", "ppocr-v6-tiny", "ppocr-v5-mobile")
DEFAULT_OUT = os.path.join(_common.ROOT, "docs", "benchmarks.md")


def build_parser():
    ap = argparse.ArgumentParser(description=__doc__.strip(),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite", choices=SUITE_NAMES + ("ocr", "all"))
    ap.add_argument("--out", default=DEFAULT_OUT, metavar="MD",
                    help="markdown report to update (default: docs/benchmarks.md)")
    ap.add_argument("--no-write", action="store_true", help="print only, write no report")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--threads", type=int, default=None,
                    help="CPU threads for torch, onnxruntime and OpenCV (default: all cores)")
    ap.add_argument("--quick", action="store_true", help="small, fast configuration")
    g = ap.add_argument_group("models / train / decode")
    g.add_argument("--trunks", nargs="+", choices=["fcn", "unet", "fpn"])
    g.add_argument("--backbones", nargs="+", metavar="NAME", help="e.g. resnet18 resnet50")
    g.add_argument("--methods", nargs="+", choices=["east", "pse", "db", "maskrcnn"],
                   help="maskrcnn: decode suite only")
    g.add_argument("--sizes", nargs="+", type=int, metavar="S",
                   help="models: square input sides (default 640 1024); train: crop side")
    g.add_argument("--repeats", type=int, help="timed runs per measurement")
    g.add_argument("--no-onnx", action="store_true", help="models: skip onnxruntime")
    g.add_argument("--no-memory", action="store_true", help="models: skip peak memory")
    g.add_argument("--steps", type=int, help="train: timed steps per combination")
    g.add_argument("--batch", type=int, help="train: batch size")
    p = ap.add_argument_group("pages")
    p.add_argument("--data", metavar="DIR", help="ICDAR-format folder (default: "
                   "../shared/data/docbench-dev next to the repository)")
    p.add_argument("--checkpoint", "--model", dest="models", action="append", default=[],
                   metavar="PATH", help="a checkpoint (.pt) or ONNX file; repeatable")
    p.add_argument("--onnx", action="store_true",
                   help="also export each checkpoint to ONNX and time it with onnxruntime")
    p.add_argument("--no-default", action="store_true", help="skip the shipped default model")
    p.add_argument("--levels", nargs="+", choices=["word", "line"], default=["word", "line"])
    p.add_argument("--max-images", "--limit", type=int, metavar="N", help="only the first N pages")
    p.add_argument("--peer", dest="peers", action="append", default=[], metavar="NAME",
                   help="also time and score another detector on the same pages and threads "
                        "(repeatable; 'all' for every one): " + ", ".join(PEER_NAMES) +
                        "; a peer that is not installed is reported in one line")
    o = ap.add_argument_group("ocr (also --data, --checkpoint/--model, --max-images)")
    o.add_argument("--lang", default="eng", help="Tesseract languages, e.g. eng+deu")
    return ap


def set_thread_env(threads):
    """Cap the BLAS/OpenMP pools before numpy and torch start them."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def log(line):
    print(line, file=sys.stderr, flush=True)


def run_suite(name, args):
    """(rows, table, title, notes) of one suite."""
    from textseg.benchmarks import decode, networks, pages, train_speed

    common = dict(threads=args.threads, device=args.device, quick=args.quick, log=log)
    if name == "models":
        mod = networks
        rows = networks.run(args.trunks, args.backbones, _no_maskrcnn(args.methods), args.sizes,
                            warmup=None, repeats=args.repeats, onnx=not args.no_onnx,
                            memory=not args.no_memory, **common)
        notes = mod.NOTES
    elif name == "decode":
        mod = decode
        kw = {"repeat": args.repeats} if args.repeats else {}
        rows, extra = decode.run(quick=args.quick, methods=args.methods, **kw)
        notes = mod.NOTES + tuple(extra)
    elif name == "pages":
        mod = pages
        rows = pages.run(args.data or pages.DEFAULT_DATA, args.models, tuple(args.levels),
                         args.max_images, default=not args.no_default, onnx=args.onnx,
                         peers=args.peers, **common)
        notes = mod.NOTES
    elif name == "ocr":
        return run_ocr(args)
    else:
        mod = train_speed
        rows = train_speed.run(args.trunks, args.backbones, _no_maskrcnn(args.methods),
                               args.sizes[0] if args.sizes else None, args.batch,
                               steps=args.steps, **common)
        notes = mod.NOTES
    return rows, mod.format_table(rows), mod.TITLE, notes


OCR_TITLE = "OCR: Tesseract alone and on textseg's lines"
OCR_NOTES = ("tesseract: `tesseract --psm 3` on the page (its own layout analysis); textseg: "
             "the default model's lines read by Tesseract (textseg.recognize), same language "
             "data; f1: bag-of-words F1 against the transcriptions (case-sensitive, "
             "punctuation kept), cer: character error rate of the page text in reading order, "
             "seconds: per page.",)


def run_ocr(args):
    """The ocr suite: (rows, table, title, notes) from textseg.benchmarks.ocr."""
    from textseg.benchmarks import ocr, pages

    detector = None
    if args.models:
        from textseg.detector import Detector

        detector = Detector.load(args.models[0], device=args.device, threads=args.threads)
    data = args.data or pages.DEFAULT_DATA
    limit = args.max_images or (3 if args.quick else None)
    result = ocr.measure(data, limit, args.lang, detector,
                         progress=lambda i, n, row: log(f"[{i}/{n}] {row['page']}"))
    result.setdefault("data", data)
    result.setdefault("lang", args.lang)
    rows = [dict(system=k, **v) for k, v in result["systems"].items()]
    table = "```\n" + ocr.format_summary(result).rstrip("\n") + "\n```"
    return rows, table, OCR_TITLE, OCR_NOTES


def _no_maskrcnn(methods):
    if methods and "maskrcnn" in methods:
        log("note: maskrcnn is measured by the decode suite only; skipped here")
        methods = [m for m in methods if m != "maskrcnn"] or None
    return methods


def main(argv=None):
    ap = build_parser()
    args = ap.parse_args(argv)
    if "all" in args.peers:
        args.peers = [p for p in args.peers if p != "all"] + list(PEER_NAMES)
    bad = [p for p in args.peers if p not in PEER_NAMES]
    if bad:
        ap.error(f"--peer: unknown {', '.join(bad)} (choose from {', '.join(PEER_NAMES)}, all)")
    if args.threads is None:
        args.threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count() or 1
    if args.threads < 1:
        _common.fail("--threads must be at least 1")
    set_thread_env(args.threads)
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            _common.fail("--device cuda asked for, but no CUDA device is available")
    from textseg.benchmarks import report

    command = "python tools/bench.py " + " ".join(shlex.quote(a) for a in (
        argv if argv is not None else sys.argv[1:]))
    failed = []
    for name in SUITE_NAMES if args.suite == "all" else (args.suite,):
        # the decoders are numpy/OpenCV: they never run on the GPU
        machine = report.machine_info(args.threads, "cpu" if name == "decode" else args.device)
        t0 = time.perf_counter()
        try:
            rows, table, title, notes = run_suite(name, args)
        except Exception as e:  # noqa: BLE001 - user errors in one line
            if not _common.is_user_error(e):
                raise
            if args.suite != "all":
                _common.fail(_common.message(e))
            log(f"error: {name}: {_common.message(e)}")
            failed.append(name)
            continue
        print(f"\n## {title}\n\n{report.describe_machine(machine)}\n\n{table}\n")
        log(f"{name}: {len(rows)} rows in {time.perf_counter() - t0:.0f} s")
        if not args.no_write:
            section = report.render_section(name, title, table, machine, command, notes)
            report.update_section(args.out, name, section)
            log(f"wrote the {name} section of {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
