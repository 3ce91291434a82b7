#!/usr/bin/env python
"""Find text in images, scans and PDFs.

    python tools/detect.py INPUT... [--out DIR] [--model PATH] [--config CFG]
        [--level word|line] [--format json,txt,overlay] [--dpi 200] [--pages 1-3]
        [--max-side N] [--threshold T] [--decode KEY=VALUE] [--recursive] [--flat]
        [--skip-existing | --overwrite]

INPUT: image files (jpg, png, bmp, tiff incl. multi-page, webp), PDFs, folders, globs.
With no --out, prints one JSON object per page to stdout. Files found in folders keep
their sub-folder under --out (a/x.jpg -> OUT/a/x.json) unless --flat.
"""

import argparse
import json
import math
import os
import sys
import time
import warnings

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
    ap.add_argument("--device", default="cpu",
                    help="cpu, cuda or cuda:N (ONNX models: needs onnxruntime-gpu)")
    ap.add_argument("--dpi", type=int, default=200,
                    help=f"PDF rasterisation DPI, {DPI_RANGE[0]}-{DPI_RANGE[1]} (default 200)")
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
    ap.add_argument("--flat", action="store_true",
                    help="write every output directly into --out (default: files found in "
                         "folders keep their sub-folder under --out)")
    done = ap.add_mutually_exclusive_group()
    done.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    done.add_argument("--skip-existing", action="store_true",
                      help="skip pages whose outputs all exist (resume a batch); a page with "
                           "only some of them is redone")
    ap.add_argument("--threads", type=int, help="CPU threads for the network")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    args.formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in args.formats if f not in FORMATS]
    if bad:
        ap.error(f"--format: unknown {', '.join(bad)} (choose from {', '.join(FORMATS)})")
    check_ranges(ap, args)
    if args.skip_existing and not args.out:
        ap.error("--skip-existing needs --out (the folder whose outputs it looks for)")
    if args.pages is not None:
        from textseg.data.images import parse_pages

        try:  # a malformed spec stops the run here, not once per input file
            parse_pages(args.pages, 1)
        except ValueError as e:
            ap.error(f"--pages: {e}")
    return args


#: allowed option values, checked before anything runs
DPI_RANGE = (10, 2400)
MAX_SIDE_RANGE = (32, 65536)


def check_ranges(ap, args):
    """Every numeric option in its range (one usage error naming it), before the run."""
    def bad(option, value, allowed):
        ap.error(f"{option}: {value!r} is out of range; expected {allowed}")

    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:  # nan fails too
        bad("--threshold", args.threshold, "a score from 0 to 1")
    if args.max_side is not None and not MAX_SIDE_RANGE[0] <= args.max_side <= MAX_SIDE_RANGE[1]:
        bad("--max-side", args.max_side, "a long side from %d to %d px" % MAX_SIDE_RANGE)
    if args.threads is not None and args.threads < 1:
        bad("--threads", args.threads, "a whole number >= 1")
    if not DPI_RANGE[0] <= args.dpi <= DPI_RANGE[1]:
        bad("--dpi", args.dpi, "a resolution from %d to %d" % DPI_RANGE)
    if args.max_pixels is not None and not (math.isfinite(args.max_pixels)
                                            and args.max_pixels >= 1):
        bad("--max-pixels", args.max_pixels, "a pixel count >= 1")


def load_detector(args):
    """The detector with --config, --threshold, --decode and --max-side, checked once."""
    from textseg.detector import Detector

    return Detector.load(args.model or args.checkpoint, config=args.config, decode=args.decode,
                         max_side=args.max_side, device=args.device, threads=args.threads,
                         threshold=args.threshold)


def output_places(args, entries):
    """For each ``(path, relative)`` input: ``(folder under --out, output stem of the
    file)``. Files found in folders keep their sub-folder (not with ``--flat``); two files
    of one folder with the same name but another extension (x.jpg, x.webp) get the
    extension added to their stems (x_jpg, x_webp)."""
    from textseg.data.images import safe_output_stem

    places = []
    for path, rel in entries:
        sub = os.path.dirname(rel) if rel and not args.flat else ""
        if os.path.isabs(sub) or ".." in sub.split(os.sep):  # never outside --out
            sub = ""
        places.append((sub, safe_output_stem(path, 0, 1)))
    counts = {}
    for place in places:
        counts[place] = counts.get(place, 0) + 1
    named = []
    for (sub, stem), (path, _) in zip(places, entries):
        ext = os.path.splitext(path)[1].lstrip(".").lower()
        if counts[(sub, stem)] > 1 and ext:
            stem = f"{stem}_{ext}"
        named.append((os.path.join(args.out, sub) if args.out else None, stem))
    return named


def page_stem(stem, page):
    """The output stem of one page of a file whose outputs are named ``stem``."""
    return stem if page.n_pages == 1 else f"{stem}_p{page.index + 1}"


def plan_page(args, page, out_dir, stem, seen):
    """What to do with one page: ``"new"``, ``"skip"`` (``--skip-existing`` and all its
    outputs exist) or ``"redo"`` (``--skip-existing`` and only some exist: they are
    replaced). Refuses a page whose outputs exist (without ``--overwrite`` or
    ``--skip-existing``) or that another input of this run already writes."""
    from textseg import output

    key = os.path.join(out_dir, stem)
    first = seen.setdefault(key, (page.source, page.index))
    if first != (page.source, page.index):
        raise FileExistsError(f"{page.source}: writes the same outputs ({key}.*) as "
                              f"{first[0]}; rename one or use separate --out folders")
    paths = list(output.output_paths(out_dir, stem, args.formats).values())
    exist = [p for p in paths if os.path.lexists(p)]
    if args.skip_existing:
        return "skip" if len(exist) == len(paths) else "redo" if exist else "new"
    if exist and not args.overwrite:
        raise FileExistsError(f"{exist[0]}: exists (use --overwrite to replace it, or "
                              "--skip-existing to keep finished pages)")
    return "new"


def run_network(detector, page, level, say):
    """The page's detections; a :class:`TextTooSmallWarning` is printed as a warning line
    naming the page (other warnings pass through)."""
    from textseg.detector import TextTooSmallWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TextTooSmallWarning)
        dets = detector(page.image, level=level)
    for w in caught:
        if issubclass(w.category, TextTooSmallWarning):
            where = page.source if page.n_pages == 1 else f"{page.source} page {page.index + 1}"
            say(f"warning: {where}: {w.message}")
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return dets


def main(argv=None):
    args = parse_args(argv)
    from textseg.data import images as imgs
    from textseg import output
    from textseg.progress import write as progress_write

    failed = []

    def say(msg):
        progress_write(msg, file=sys.stderr)

    def input_error(e):  # an argument that gives no file stops only itself
        msg = _common.message(e)
        failed.append(msg)
        say(f"error: {msg}")

    try:
        detector = load_detector(args)
        entries = imgs.expand_inputs(args.inputs, recursive=args.recursive, on_error=input_error)
        if not entries:  # every argument failed (and said why): nothing to do
            sys.exit(2)
        if args.out:
            from textseg.fileio import ensure_writable_dir

            ensure_writable_dir(args.out)
    except Exception as e:  # noqa: BLE001 - user errors in one line
        if not _common.is_user_error(e):
            raise
        _common.fail(_common.message(e))

    load_kw = {"dpi": args.dpi, "pages": args.pages, "password": args.password}
    if args.max_pixels is not None:
        load_kw["max_pixels"] = int(args.max_pixels)
    n_inputs = len(entries) + len(failed)
    progress = None
    if len(entries) > 1 and not args.no_progress:
        from textseg.progress import progress_bar

        progress = progress_bar(total=len(entries), unit="file", desc="detect", file=sys.stderr)
    n_pages = n_dets = n_skipped = 0
    no_pages, seen, t_start = [], {}, time.perf_counter()
    for (path, _), (out_dir, stem) in zip(entries, output_places(args, entries)):
        try:
            for page in imgs.iter_pages(path, **load_kw):
                name = page_stem(stem, page)
                action = "new"
                if args.out:  # refuse (or skip) before spending time on the network
                    action = plan_page(args, page, out_dir, name, seen)
                if action == "skip":
                    n_skipped += 1
                    continue
                dets = run_network(detector, page, args.level, say)
                n_pages += 1
                n_dets += len(dets)
                record = output.to_json_dict(page, dets, level=args.level, model=detector.name)
                if args.out:
                    os.makedirs(out_dir, exist_ok=True)
                    output.write_page(out_dir, page, dets, record, args.formats, stem=name,
                                      overwrite=args.overwrite or action == "redo")
                else:
                    print(json.dumps(record, ensure_ascii=False))
        except imgs.PageSelectionError:  # --pages applies to the documents that have them
            no_pages.append(path)
        except Exception as e:  # noqa: BLE001 - a batch keeps going past one bad file
            msg = _common.message(e)
            if not _common.is_user_error(e):  # a bug, not the file: say what broke
                msg = f"{type(e).__name__}: {msg}"
            if path not in msg:
                msg = f"{path}: {msg}"
            failed.append(msg)
            say(f"error: {msg}")
        if progress is not None:
            progress.update(1)
    if progress is not None:
        progress.close()
    elapsed = time.perf_counter() - t_start
    per_page = elapsed / n_pages if n_pages else 0.0
    summary = (f"{n_inputs - len(failed)} of {n_inputs} inputs processed: {n_pages} pages, "
               f"{n_dets} detections, {per_page:.2f} s/page")
    if n_skipped:
        summary += f"; {n_skipped} pages skipped (their outputs exist)"
    if no_pages:
        summary += f"; {len(no_pages)} inputs have none of the pages {args.pages}"
    print(summary, file=sys.stderr)
    if failed:
        print(f"{len(failed)} failed:", file=sys.stderr)
        for msg in failed:
            print(f"  {msg}", file=sys.stderr)
        return 1
    if no_pages and not n_pages and not n_skipped:
        print(f"error: --pages {args.pages}: no input has these pages", file=sys.stderr)
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
