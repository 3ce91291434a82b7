#!/usr/bin/env python
"""Write a synthetic scanned-page data set in ICDAR 2015 format.

    python tools/make_synth.py --n 1000 --out data/synth [--seed 0] [--level word|line|both]
        [--dpi-range 100 300] [--set KEY=VALUE ...] [--workers 2] [--overwrite]

Writes DIR/images/img_{i}.jpg with DIR/words/gt_img_{i}.txt and/or DIR/lines/gt_img_{i}.txt
(i from 1), and DIR/manifest.json (the generator config and the font families used).
--set changes one generator setting (docs/synth.md; a value is read as YAML), e.g.
--set p_narrow_space=0.6 --set templates.boxform=0.3 (one template's share). The
same --seed gives the same pages whatever --workers is (on a machine with the same fonts:
tools/install_fonts.sh installs them).
"""

import argparse
import os
import shutil
import signal
import sys
import time

import _common


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--n", type=int, required=True, help="number of pages")
    ap.add_argument("--out", required=True, metavar="DIR", help="output folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--level", choices=["word", "line", "both"], default="both")
    ap.add_argument("--dpi-range", type=float, nargs=2, default=[100, 300], metavar=("LOW", "HIGH"))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                    help="a generator setting (docs/synth.md), e.g. p_photocopy=0.4 or "
                         "templates.receipt=0.3; repeatable")
    ap.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace an existing non-empty data set in --out")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("--n must be at least 1")
    if args.workers < 1:
        ap.error("--workers must be at least 1")
    lo, hi = args.dpi_range
    if not 30 <= lo <= hi <= 1200:
        ap.error(f"--dpi-range: need 30 <= LOW <= HIGH <= 1200, got {lo:g} {hi:g}")
    return args


def synth_settings(items):
    """``--set KEY=VALUE`` strings -> a generator config (values read as YAML; the key
    ``templates.NAME`` sets one template's share, the others keep theirs). Keys and
    values are checked by :func:`textseg.data.synth.pages.merge_config`."""
    import yaml

    from textseg.data.synth.pages import SYNTH_DEFAULTS, merge_config

    cfg = {}
    for item in items:
        key, sep, text = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{item!r}: expected KEY=VALUE, e.g. p_photocopy=0.4")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ValueError(f"{item!r}: the value is not valid YAML") from None
        name, dot, sub = key.partition(".")
        if name == "dpi_range":
            raise ValueError("dpi_range: use --dpi-range LOW HIGH")
        default = SYNTH_DEFAULTS.get(name)
        if dot and isinstance(default, dict):
            default = default.get(sub)
        _check_type(key, value, default)
        if dot:
            if not isinstance(SYNTH_DEFAULTS.get(name), dict):
                raise ValueError(f"{key!r}: {name!r} is not a group of settings")
            group = cfg.setdefault(name, dict(SYNTH_DEFAULTS[name]))
            if sub not in group:
                raise ValueError(f"{key!r}: unknown {name[:-1] if name.endswith('s') else name} "
                                 f"{sub!r} (known: {', '.join(group)})")
            group[sub] = value
        else:
            cfg[key] = value
    merge_config(cfg)
    return cfg


def _check_type(key, value, default):
    """A value of the default's kind: a number for a number, a list of numbers for a pair."""
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if number(default) and not number(value):
        raise ValueError(f"{key}={value!r}: expected a number")
    if key.startswith("p_") and number(value) and not 0 <= value <= 1:
        raise ValueError(f"{key}={value!r}: a probability, from 0 to 1")
    if key.startswith("templates.") and number(value) and value < 0:
        raise ValueError(f"{key}={value!r}: a share, 0 or more")
    if isinstance(default, (tuple, list)) and not (
            isinstance(value, list) and len(value) == len(default) and all(map(number, value))):
        raise ValueError(f"{key}={value!r}: expected a list of {len(default)} numbers, "
                         f"e.g. {list(default)}")


def main(argv=None):
    args = parse_args(argv)
    try:
        from textseg.data.synth import write_dataset

        try:
            cfg = synth_settings(args.settings)
        except ValueError as e:
            raise ValueError(f"--set: {e}") from None
        if os.path.exists(args.out) and not os.path.isdir(args.out):
            _common.fail(f"{args.out}: exists and is not a folder")
        if os.path.isdir(args.out) and os.listdir(args.out):
            if not args.overwrite:
                _common.fail(f"{args.out}: folder is not empty; pass --overwrite to replace it")
            for sub in ("images", "words", "lines"):
                shutil.rmtree(os.path.join(args.out, sub), ignore_errors=True)
        _stop_quietly_on_signals()
        t0 = time.perf_counter()
        n_words = write_dataset(args.out, args.n, seed=args.seed, level=args.level,
                                dpi_range=tuple(args.dpi_range), workers=args.workers,
                                progress=not args.no_progress, cfg=cfg)
        dt = time.perf_counter() - t0
        print(f"wrote {args.n} pages ({n_words} words) to {args.out} in {dt:.1f} s: "
              f"{args.n / dt:.2f} pages/s with {args.workers} worker(s), "
              f"{dt * args.workers / args.n:.2f} s/page per worker")
    except KeyboardInterrupt:  # the pages written so far are complete files
        _common.fail("interrupted", 130)
    except Exception as e:  # noqa: BLE001 - user errors in one line
        if isinstance(e, OSError) and not _common.is_user_error(e):  # a full disk, ...
            name = e.filename
            if not name or os.path.basename(str(name)).startswith("."):  # a temporary file
                name = args.out
            _common.fail(f"{name}: {e.strerror or e}")
        if not (_common.is_user_error(e) or isinstance(e, ValueError)):
            raise
        _common.fail(_common.message(e))
    return 0


def _stop_quietly_on_signals():
    """Ctrl-C or SIGTERM: this process raises KeyboardInterrupt (one ``error:`` line); a
    forked worker, which inherits the handler, exits quietly with SystemExit, which still
    removes the temporary file of the page it was writing (no traceback per worker)."""
    main_pid = os.getpid()

    def on_signal(_signum, _frame):
        if os.getpid() != main_pid:
            raise SystemExit(1)
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)


if __name__ == "__main__":
    sys.exit(main())
