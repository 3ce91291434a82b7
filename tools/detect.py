#!/usr/bin/env python
"""Find text in images, scans and PDFs.

    python tools/detect.py INPUT... [--out DIR] [--model PATH] [--config CFG]
        [--level word|line] [--format json,txt,overlay] [--dpi 200] [--pages 1-3]
        [--max-side N] [--threshold T] [--decode KEY=VALUE]

INPUT: image files (jpg, png, bmp, tiff incl. multi-page, webp), PDFs, folders, globs.
With no --out, prints one JSON object per page to stdout.
"""

import argparse
import json
import os
import sys
import time

import _common

FORMATS = ("json", "txt", "overlay")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", metavar="INPUT", help="images, PDFs, folders or globs")
    ap.add_argument("--out", metavar="DIR", help="output folder (default: JSON to stdout)")
    ap.add_argument("--model", metavar="PATH",
                    help="checkpoint (.pt) or ONNX file (default: the shipped document model)")
    ap.add_argument("--checkpoint", metavar="PATH", help="same as --model (checkpoint)")
    ap.add_argument("--config", metavar="CFG",
                    help="YAML whose infer section (resize policy, decoder settings) replaces "
                         "the model's; --threshold, --decode and --max-side still apply on top")
    ap.add_argument("--level", choices=["word", "line"], default="word")
    ap.add_argument("--format", default="json,txt,overlay",
                    help="comma-separated outputs: json, txt (ICDAR res_*.txt), overlay")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (checkpoints only)")
    ap.add_argument("--dpi", type=int, default=200, help="PDF rasterisation DPI (default 200)")
    ap.add_argument("--pages", help="pages of multi-page inputs, e.g. 1-3,5 (1-based)")
    ap.add_argument("--password", help="password of encrypted PDFs")
    ap.add_argument("--max-side", type=int, help="cap the long side of the network input")
    ap.add_argument("--threshold", type=float,
                    help="score threshold of the method's decoder (its main threshold)")
    ap.add_argument("--decode", action="append", default=[], metavar="KEY=VALUE",
                    help="any decoder option, e.g. --decode min_area=20 (repeatable)")
    ap.add_argument("--max-pixels", type=float, default=None,
                    help="refuse images above this many pixels (decompression bombs)")
    ap.add_argument("--recursive", action="store_true", help="descend into sub-folders")
    ap.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    ap.add_argument("--threads", type=int, help="CPU threads for the network")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    args.formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in args.formats if f not in FORMATS]
    if bad:
        ap.error(f"--format: unknown {', '.join(bad)} (choose from {', '.join(FORMATS)})")
    if args.pages is not None:
        from textseg.data.images import parse_pages

        try:  # a malformed spec stops the run here, not once per input file
            parse_pages(args.pages, 1)
        except ValueError as e:
            ap.error(f"--pages: {e}")
    return args


def load_detector(args):
    """The detector with --config, --threshold, --decode and --max-side, checked once."""
    from textseg.detector import Detector

    return Detector.load(args.model or args.checkpoint, config=args.config, decode=args.decode,
                         max_side=args.max_side, device=args.device, threads=args.threads,
                         threshold=args.threshold)


def check_outputs(args, page, seen_stems):
    """Refuse a page whose outputs exist (without --overwrite) or that another input of
    this run already writes (e.g. a/x.jpg and b/x.jpg)."""
    from textseg import output

    first = seen_stems.setdefault(page.stem, (page.source, page.index))
    if first != (page.source, page.index):
        raise FileExistsError(f"{page.source}: writes the same outputs ({page.stem}.*) as "
                              f"{first[0]}; rename one or use separate --out folders")
    if not args.overwrite:
        for p in output.output_paths(args.out, page.stem, args.formats).values():
            if os.path.exists(p):
                raise FileExistsError(f"{p}: exists (use --overwrite to replace it)")


def main(argv=None):
    args = parse_args(argv)
    from textseg.data import images as imgs
    from textseg import output

    try:
        detector = load_detector(args)
        paths = imgs.iter_inputs(args.inputs, recursive=args.recursive)
        if args.out:
            from textseg.fileio import ensure_writable_dir

            ensure_writable_dir(args.out)
    except Exception as e:  # noqa: BLE001 - user errors in one line
        if not _common.is_user_error(e):
            raise
        _common.fail(_common.message(e))

    load_kw = {"dpi": args.dpi, "pages": args.pages, "password": args.password}
    if args.max_pixels:
        load_kw["max_pixels"] = int(args.max_pixels)
    progress = None
    if len(paths) > 1 and not args.no_progress:
        from tqdm import tqdm

        progress = tqdm(total=len(paths), unit="file", desc="detect", file=sys.stderr)
    failed, n_pages, n_dets, t_start = [], 0, 0, time.perf_counter()
    seen_stems = {}
    for path in paths:
        try:
            for page in imgs.iter_pages(path, **load_kw):
                if args.out:  # refuse before spending time on the network
                    check_outputs(args, page, seen_stems)
                dets = detector(page.image, level=args.level)
                n_pages += 1
                n_dets += len(dets)
                record = output.to_json_dict(page, dets, level=args.level, model=detector.name)
                if args.out:
                    output.write_page(args.out, page, dets, record, args.formats,
                                      overwrite=args.overwrite)
                else:
                    print(json.dumps(record, ensure_ascii=False))
        except Exception as e:  # noqa: BLE001 - a batch keeps going past one bad file
            msg = _common.message(e)
            if not _common.is_user_error(e):  # a bug, not the file: say what broke
                msg = f"{type(e).__name__}: {msg}"
            if path not in msg:
                msg = f"{path}: {msg}"
            failed.append(msg)
            print(f"error: {msg}", file=sys.stderr)
        if progress is not None:
            progress.update(1)
    if progress is not None:
        progress.close()
    elapsed = time.perf_counter() - t_start
    per_page = elapsed / n_pages if n_pages else 0.0
    summary = (f"{len(paths) - len(failed)} of {len(paths)} inputs processed: {n_pages} pages, "
               f"{n_dets} detections, {per_page:.2f} s/page")
    print(summary, file=sys.stderr)
    if failed:
        print(f"{len(failed)} failed:", file=sys.stderr)
        for msg in failed:
            print(f"  {msg}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    import signal

    # SIGTERM (kill, timeout, a scheduler) stops like Ctrl-C: the file being written is
    # abandoned cleanly (no temporary file left), finished outputs stay
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        _common.fail("interrupted", 130)
