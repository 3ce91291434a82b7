"""Benchmark: pages/s of ``tools/detect.py --workers N`` on one machine, N = 1 and 2 (or
the ones asked for), same pages, same total threads; checks the outputs are identical.

The pages are the docbench-dev measurement pages cycled up to ``--pages`` (copies under a
temporary folder). Each run is the whole command as a user runs it (start-up, model
loading, reading, network, decoder, JSON + txt outputs), timed by the wall clock; pages/s
is pages / wall time. On a shared machine the figures are noisy: compare rows of one run.

    python -m textseg.benchmarks.workers [--pages 100] [--workers 1 2] [--threads 2]
        [--model PATH] [--max-side N] [--docbench DIR]
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from .tiles import DOCBENCH, ROOT


def page_folder(folder, n, docbench=DOCBENCH):
    """``n`` pages: the docbench-dev images cycled (file copies)."""
    src = sorted(os.listdir(os.path.join(docbench, "images")))
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        name = src[i % len(src)]
        shutil.copyfile(os.path.join(docbench, "images", name),
                        os.path.join(folder, f"page_{i:04d}{os.path.splitext(name)[1]}"))
    return folder


def read_tree(folder):
    out = {}
    for root, _, names in os.walk(folder):
        for n in names:
            with open(os.path.join(root, n), "rb") as f:
                out[os.path.relpath(os.path.join(root, n), folder)] = f.read()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--threads", type=int, default=2, help="threads of the run, all workers")
    ap.add_argument("--model", default=None)
    ap.add_argument("--max-side", type=int, default=None,
                    help="network long side (smaller: a quicker run of the same pipeline)")
    ap.add_argument("--docbench", default=DOCBENCH)
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="textseg-workers-")
    try:
        pages = page_folder(os.path.join(tmp, "pages"), args.pages, args.docbench)
        print(f"{'workers':>7} {'threads':>7} {'pages':>5} {'wall s':>7} {'pages/s':>7} "
              f"{'speed-up':>8} {'CPU s':>6}  outputs")
        base, first = None, None
        for n in args.workers:
            out = os.path.join(tmp, f"out{n}")
            cmd = [sys.executable, os.path.join(ROOT, "tools", "detect.py"), pages, "--out", out,
                   "--format", "json,txt", "--workers", str(n), "--threads", str(args.threads),
                   "--no-progress"]
            if args.model:
                cmd += ["--model", args.model]
            if args.max_side:
                cmd += ["--max-side", str(args.max_side), "--no-tile"]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            if p.returncode != 0:
                print(f"{n:7d} failed: {p.stderr.strip().splitlines()[-1:]}")
                continue
            tree = read_tree(out)
            if first is None:
                first, same = tree, "reference"
            else:
                same = "identical" if tree == first else "DIFFERENT"
            rate = args.pages / wall
            base = base or rate
            print(f"{n:7d} {args.threads:7d} {args.pages:5d} {wall:7.1f} {rate:7.3f} "
                  f"{rate / base:7.2f}x {cpu:6.0f}  {same}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
