#!/usr/bin/env python
"""Find text in images, scans and PDFs.

    python tools/detect.py INPUT... [--out DIR] [--model PATH] [--config CFG]
        [--level word|line|block] [--format json,txt,overlay,hocr,alto,page,layout]
        [--orientation] [--recognize tesseract [--lang eng+deu]] [--dpi 200] [--pages 1-3]
        [--max-side N] [--threshold T] [--pad F] [--decode KEY=VALUE] [--recursive] [--flat]
        [--skip-existing | --overwrite] [--workers N] [--tile SIZE | --no-tile]

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

FORMATS = ("json", "txt", "overlay", "hocr", "alto", "page", "layout", "text")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", metavar="INPUT", help="images, PDFs, folders or globs")
    ap.add_argument("--out", metavar="DIR", help="output folder (default: JSON to stdout)")
    ap.add_argument("--model", metavar="PATH",
                    help="checkpoint (.pt) or ONNX file (default: the shipped document model, int8; "
                         "default-fp32: its fp32 original; fast: the int8 fast variant)")
    ap.add_argument("--checkpoint", metavar="PATH", help="same as --model (checkpoint)")
    ap.add_argument("--config", metavar="CFG",
                    help="YAML whose infer section (resize policy, decoder settings) replaces "
                         "the model's; --threshold, --decode and --max-side still apply on top")
    ap.add_argument("--level", choices=["word", "line", "block"], default="word",
                    help="word, line (segments: runs of words up to a wide gap) or block "
                         "(paragraphs, tables) of the page layout")
    ap.add_argument("--format", default="json,txt,overlay",
                    help="comma-separated outputs: json, txt (ICDAR res_*.txt), overlay, "
                         "hocr (NAME.hocr), alto (NAME.alto.xml, ALTO 4.4), page "
                         "(NAME.page.xml, PAGE 2019), layout (NAME.layout.json: page -> "
                         "blocks -> lines -> words); with --recognize also text "
                         "(NAME.text.txt, added by default)")
    ap.add_argument("--orientation", "--upright", dest="orientation", action="store_true",
                    help="find the page's orientation (0/90/180/270) and skew, detect "
                         "sideways and upside-down pages again turned upright; polygons "
                         "stay in the input image's frame, angle and skew go into the JSON")
    ap.add_argument("--recognize", choices=["tesseract"], metavar="ENGINE",
                    help="read the text of every line (tesseract: needs the OCR extra, "
                         "bash tools/install_ocr.sh) into every output, and write "
                         "NAME.text.txt in reading order")
    ap.add_argument("--lang", default="eng",
                    help="--recognize languages, Tesseract style: eng, eng+deu (default eng)")
    ap.add_argument("--device", default="cpu",
                    help="cpu, cuda or cuda:N (ONNX models: needs onnxruntime-gpu)")
    ap.add_argument("--dpi", type=int, default=200,
                    help=f"PDF rasterisation DPI, {DPI_RANGE[0]}-{DPI_RANGE[1]} (default 200)")
    ap.add_argument("--pages", help="pages of multi-page inputs, e.g. 1-3,5 (1-based)")
    ap.add_argument("--password", help="password of encrypted PDFs")
    ap.add_argument("--max-side", type=int, help="cap the long side of the network input")
    ap.add_argument("--threshold", type=float,
                    help="score threshold of the method's decoder (its main threshold)")
    ap.add_argument("--pad", type=float, metavar="F",
                    help="grow output words and lines across their text by F x their height "
                         "on each side, after grouping (infer.pad; the default model: 0.03; "
                         "0: the decoder's boxes)")
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
    ap.add_argument("--threads", type=int, help="CPU threads for the network (and, with "
                                                "--recognize, the Tesseract engines)")
    tile = ap.add_mutually_exclusive_group()
    tile.add_argument("--tile", type=int, metavar="SIZE",
                      help="cut pages larger than SIZE px (network input) into overlapping "
                           "tiles at native scale (default: only pages the --max-side cap "
                           "would shrink, in tiles of 1536)")
    tile.add_argument("--no-tile", action="store_true",
                      help="never tile: large pages are shrunk to the --max-side cap")
    ap.add_argument("--tile-overlap", type=int, metavar="PX",
                    help="overlap of neighbouring tiles (default 256)")
    ap.add_argument("--workers", type=int, default=1, metavar="N",
                    help="N processes, each with its own model and threads // N threads; "
                         "outputs as with one, in input order (default 1)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    args.formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in args.formats if f not in FORMATS]
    if bad:
        ap.error(f"--format: unknown {', '.join(bad)} (choose from {', '.join(FORMATS)})")
    if "text" in args.formats and not args.recognize:
        ap.error("--format text needs --recognize ENGINE (it is the recognised text)")
    if args.recognize and args.out and "text" not in args.formats:
        args.formats.append("text")
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
TILE_RANGE = (64, 65536)


def check_ranges(ap, args):
    """Every numeric option in its range (one usage error naming it), before the run."""
    def bad(option, value, allowed):
        ap.error(f"{option}: {value!r} is out of range; expected {allowed}")

    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:  # nan fails too
        bad("--threshold", args.threshold, "a score from 0 to 1")
    if args.pad is not None and not 0.0 <= args.pad <= 1.0:
        bad("--pad", args.pad, "a fraction of the box height from 0 to 1")
    if args.max_side is not None and not MAX_SIDE_RANGE[0] <= args.max_side <= MAX_SIDE_RANGE[1]:
        bad("--max-side", args.max_side, "a long side from %d to %d px" % MAX_SIDE_RANGE)
    if args.threads is not None and args.threads < 1:
        bad("--threads", args.threads, "a whole number >= 1")
    if args.workers < 1:
        bad("--workers", args.workers, "a whole number >= 1")
    if args.tile is not None and not TILE_RANGE[0] <= args.tile <= TILE_RANGE[1]:
        bad("--tile", args.tile, "a tile side from %d to %d px" % TILE_RANGE)
    if args.tile_overlap is not None and not 0 <= args.tile_overlap < (args.tile or 1536):
        bad("--tile-overlap", args.tile_overlap, f"0 to {(args.tile or 1536) - 1} px "
            "(less than a tile)")
    if not DPI_RANGE[0] <= args.dpi <= DPI_RANGE[1]:
        bad("--dpi", args.dpi, "a resolution from %d to %d" % DPI_RANGE)
    if args.max_pixels is not None and not (math.isfinite(args.max_pixels)
                                            and args.max_pixels >= 1):
        bad("--max-pixels", args.max_pixels, "a pixel count >= 1")


def load_detector(args):
    """The detector with --config, --threshold, --decode and --max-side, checked once."""
    from textseg.detector import Detector

    det = Detector.load(args.model or args.checkpoint, config=args.config, decode=args.decode,
                        max_side=args.max_side, device=args.device, threads=args.threads,
                        threshold=args.threshold)
    more = tile_overrides(args) + ([f"infer.pad={args.pad}"] if args.pad is not None else [])
    return det.set_infer(overrides=more) if more else det


def load_recognizer(args):
    """The --recognize engine (None without it); a missing OCR extra or language is a
    one-line :class:`~textseg.recognize.RecognizerError` naming the install command."""
    if not args.recognize:
        return None
    from textseg.recognize import get_recognizer

    return get_recognizer(args.recognize, lang=args.lang, threads=args.threads)


def tile_overrides(args):
    """``infer.tile.*`` settings of --tile, --no-tile and --tile-overlap."""
    out = []
    if args.no_tile:
        out.append("infer.tile.enabled=false")
    if args.tile is not None:
        out += ["infer.tile.enabled=true", f"infer.tile.size={args.tile}"]
        if args.tile_overlap is None:  # the default overlap, at most a quarter of the tile
            out.append(f"infer.tile.overlap={min(256, args.tile // 4)}")
    if args.tile_overlap is not None:
        out.append(f"infer.tile.overlap={args.tile_overlap}")
    return out


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


def run_network(detector, page, args, say, recognizer=None):
    """``(layout or None, detections)`` of the page (:func:`textseg.pipeline.page_result`);
    a :class:`TextTooSmallWarning` is printed as a warning line naming the page (other
    warnings pass through)."""
    from textseg.detector import TextTooSmallWarning
    from textseg.pipeline import needs_layout, page_result

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TextTooSmallWarning)
        want = needs_layout(args.level, args.formats if args.out else (), args.orientation,
                            recognizer)
        dets = page_result(detector, page.image, args.level, args.orientation, recognizer,
                           layout=want)
    for w in caught:
        if issubclass(w.category, TextTooSmallWarning):
            where = page.source if page.n_pages == 1 else f"{page.source} page {page.index + 1}"
            say(f"warning: {where}: {w.message}")
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return dets


def process_page(detector, args, job, say, recognizer=None):
    """Network, decoder, layout, recognition and outputs of one planned page:
    ``(detections, JSON record)``; the record is written under --out (or returned for
    stdout)."""
    from textseg import output
    from textseg.pipeline import level_texts, record_extras, write_outputs

    page, name, action, out_dir = job
    layout, dets = run_network(detector, page, args, say, recognizer)
    record = output.to_json_dict(page, dets, level=args.level, model=detector.name)
    record_extras(record, layout, args.level, texts=recognizer is not None)
    if args.out:
        os.makedirs(out_dir, exist_ok=True)
        texts = level_texts(layout, args.level) if recognizer is not None else None
        write_outputs(out_dir, page, dets, record, layout, args.formats, name,
                      overwrite=args.overwrite or action == "redo", texts=texts)
    return len(dets), record


# ----------------------------------------------------------------------------- --workers

_WORKER = {}


def _worker_init(args):
    """In each worker process: its own detector with its share of the threads."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process stops the pool
    _WORKER["args"] = args
    _WORKER["detector"] = load_detector(args)
    _WORKER["recognizer"] = load_recognizer(args)


def _worker_page(job):
    """One page in a worker: ``("ok", n_dets, record, messages)`` or ``("error", message,
    messages)`` (a failure stops only its page; the main process reports it in order)."""
    args, messages = _WORKER["args"], []
    try:
        n, record = process_page(_WORKER["detector"], args, job, messages.append,
                                 _WORKER["recognizer"])
        return "ok", n, (None if args.out else record), messages
    except Exception as e:  # noqa: BLE001 - reported by the main process, in input order
        msg = _common.message(e)
        if not _common.is_user_error(e):
            msg = f"{type(e).__name__}: {msg}"
        return "error", msg, messages


class WorkerPool:
    """``n`` worker processes (spawned: each loads its own model) fed pages by the main
    process, which reads (and rasterises) the inputs while the workers run the network,
    the decoder and the outputs. Results come back in input order; at most ``2 n`` pages
    wait at a time (memory stays bounded)."""

    def __init__(self, args, n):
        import collections
        import multiprocessing as mp

        wargs = argparse.Namespace(**vars(args))
        wargs.threads = max(1, (args.threads or os.cpu_count() or 1) // n)
        self.pool = mp.get_context("spawn").Pool(n, _worker_init, (wargs,))
        self.pending = collections.deque()
        self.limit = 2 * n

    def submit(self, path, job):
        """Queue a page; yields ``(path, result)`` of the pages finished meanwhile."""
        self.pending.append((path, self.pool.apply_async(_worker_page, (job,))))
        while len(self.pending) > self.limit:
            yield self._next()

    def note(self, path, result):
        """Queue an outcome the main process already has (an input that failed to load),
        so that it is reported in input order."""
        self.pending.append((path, result))

    def _next(self):
        path, res = self.pending.popleft()
        return path, (res.get() if hasattr(res, "get") else res)

    def drain(self):
        while self.pending:
            yield self._next()

    def close(self, ok=True):
        if ok:
            self.pool.close()
        else:
            self.pool.terminate()
        self.pool.join()


def main(argv=None):
    args = parse_args(argv)
    from textseg.data import images as imgs
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
        recognizer = load_recognizer(args) if args.workers == 1 else None
        if args.workers > 1 and args.recognize:  # each worker builds its own; fail here first
            load_recognizer(args).close()
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
    pool = WorkerPool(args, args.workers) if args.workers > 1 else None
    failed_paths = set()

    def file_failed(path, msg):
        if path in failed_paths:  # a file fails once (--workers: later pages ran anyway)
            return
        failed_paths.add(path)
        if path not in msg:
            msg = f"{path}: {msg}"
        failed.append(msg)
        say(f"error: {msg}")

    def finished(path, result):  # a page's outcome, in input order
        nonlocal n_pages, n_dets
        for msg in result[-1]:
            say(msg)
        if result[0] == "no pages":
            no_pages.append(path)
        elif result[0] == "error":
            file_failed(path, result[1])
        elif path not in failed_paths:
            n_pages += 1
            n_dets += result[1]
            if result[2] is not None:
                print(json.dumps(result[2], ensure_ascii=False))

    try:
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
                    job = (page, name, action, out_dir)
                    if pool is None:
                        n, record = process_page(detector, args, job, say, recognizer)
                        finished(path, ("ok", n, None if args.out else record, []))
                    else:
                        for done in pool.submit(path, job):
                            finished(*done)
            except imgs.PageSelectionError:  # --pages applies to the documents that have them
                if pool is None:
                    no_pages.append(path)
                else:
                    pool.note(path, ("no pages", []))
            except Exception as e:  # noqa: BLE001 - a batch keeps going past one bad file
                msg = _common.message(e)
                if not _common.is_user_error(e):  # a bug, not the file: say what broke
                    msg = f"{type(e).__name__}: {msg}"
                if pool is None:
                    file_failed(path, msg)
                else:
                    pool.note(path, ("error", msg, []))
            if progress is not None:
                progress.update(1)
        if pool is not None:
            for done in pool.drain():
                finished(*done)
    except BaseException:
        if pool is not None:
            pool.close(ok=False)
        raise
    if pool is not None:
        pool.close()
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
