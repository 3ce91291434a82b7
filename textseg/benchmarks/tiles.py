"""Benchmark: large pages whole at the long-side cap against overlapping tiles at native
scale (``infer.tile``): word hmean, s/page and peak memory (RSS).

The pages are built from the docbench-dev measurement pages (their word GT moved and
scaled with them):

* ``a4-300``: a dense 300-DPI A4 page, 2480x3508: four pages in a 2x2 mosaic, each fitted
  into a 1240x1754 quarter;
* ``a4-600``: a 600-DPI A4 page, 4960x7016: four pages in a 2x2 mosaic, each fitted into a
  2480x3508 quarter;
* ``strip``: a 20000x300 strip: 300 px high bands of the pages side by side (words cut by
  a band's top or bottom are don't care).

Modes: ``cap`` (whole page, long side capped at ``max_side`` 2048, no tiles), ``tiles``
(``infer.tile.enabled=auto``: tiles at native scale), ``native`` (whole page at native
scale, no tiles; the memory tiles avoid). Every (page, mode) runs in its own process so
its peak RSS is its own (model, page and network together).

    python -m textseg.benchmarks.tiles [--pages a4-300 a4-600 strip] [--modes cap tiles]
        [--model PATH] [--threads 2] [--docbench DIR] [--tile 1536] [--overlap 256]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

PAGES = ("a4-300", "a4-600", "strip")
MODES = ("cap", "tiles", "native")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCBENCH = os.path.join(ROOT, "tests", "data", "docbench-dev")


def _docbench(folder, n):
    """(image, [Annotation]) of the first n docbench pages (sorted by number)."""
    import cv2

    from ..data.icdar import read_gt

    names = sorted(os.listdir(os.path.join(folder, "images")),
                   key=lambda s: int("".join(c for c in s if c.isdigit()) or 0))[:n]
    out = []
    for name in names:
        img = cv2.imread(os.path.join(folder, "images", name))[..., ::-1]
        stem = os.path.splitext(name)[0]
        out.append((np.ascontiguousarray(img),
                    read_gt(os.path.join(folder, "words", f"gt_{stem}.txt"))))
    return out


def _moved(anns, s, dx, dy):
    from ..data.icdar import Annotation

    return [Annotation(a.polygon * s + np.array([dx, dy], np.float32), a.text, a.ignore)
            for a in anns]


def mosaic(pages, cell_w, cell_h):
    """Four pages in a 2x2 mosaic of cells ``cell_w`` x ``cell_h`` (each fitted, centred,
    on white) and their GT moved along."""
    import cv2

    canvas = np.full((2 * cell_h, 2 * cell_w, 3), 255, np.uint8)
    gt = []
    for k, (img, anns) in enumerate(pages[:4]):
        h, w = img.shape[:2]
        s = min(cell_w / w, cell_h / h)
        nw, nh = int(round(w * s)), int(round(h * s))
        x0 = (k % 2) * cell_w + (cell_w - nw) // 2
        y0 = (k // 2) * cell_h + (cell_h - nh) // 2
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
        canvas[y0:y0 + nh, x0:x0 + nw] = cv2.resize(img, (nw, nh), interpolation=interp)
        gt += _moved(anns, s, x0, y0)
    return canvas, gt


def strip(pages, width=20000, height=300):
    """Bands of ``height`` px from the pages side by side up to ``width``; a word not
    wholly inside its band is don't care."""
    from ..data.icdar import Annotation

    canvas = np.full((height, width, 3), 255, np.uint8)
    gt, x, k = [], 0, 0
    while x < width:
        img, anns = pages[k % len(pages)]
        band = (k // len(pages)) % 3
        y0 = int((0.2 + 0.25 * band) * img.shape[0])
        w = min(img.shape[1], width - x)
        canvas[:, x:x + w] = img[y0:y0 + height, :w]
        for a in anns:
            p = a.polygon - np.array([0, y0], np.float32)
            if p[:, 1].max() < 0 or p[:, 1].min() >= height or p[:, 0].min() >= w:
                continue
            whole = p[:, 1].min() >= 0 and p[:, 1].max() < height and p[:, 0].max() < w
            p = np.clip(p, 0, [w - 1, height - 1]) + np.array([x, 0], np.float32)
            gt.append(Annotation(p.astype(np.float32), a.text, a.ignore or not whole))
        x += w
        k += 1
    return canvas, gt


def make_page(name, folder=DOCBENCH):
    pages = _docbench(folder, 8)
    if name == "a4-300":
        return mosaic(pages[:4], 1240, 1754)
    if name == "a4-600":
        return mosaic(pages[4:8], 2480, 3508)
    if name == "strip":
        return strip(pages)
    raise ValueError(f"unknown page {name!r}; choose from {', '.join(PAGES)}")


def run_one(page, mode, model=None, threads=2, folder=DOCBENCH, tile=1536, overlap=256):
    """Scores, time and peak RSS of one page in one mode (in this process)."""
    from ..detector import Detector
    from ..evaluation import evaluate_image

    image, gt = make_page(page, folder)
    over = [f"tile.size={tile}", f"tile.overlap={overlap}"]
    if mode == "cap":
        over += ["tile.enabled=false"]
    elif mode == "tiles":
        over += ["tile.enabled=auto"]
    elif mode == "native":
        over += ["tile.enabled=false", f"resize.max_side={max(image.shape[:2])}"]
    det = Detector.load(model, threads=threads)
    det.set_infer(overrides=[f"infer.{o}" for o in over])
    t0 = time.perf_counter()
    dets = det(image)
    elapsed = time.perf_counter() - t0
    r = evaluate_image(gt, dets, key=page)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    return {"page": page, "mode": mode, "size": f"{image.shape[1]}x{image.shape[0]}",
            "hmean": round(r["hmean"], 4), "precision": round(r["precision"], 4),
            "recall": round(r["recall"], 4), "s_page": round(elapsed, 2),
            "peak_rss_mb": round(peak), "tiles": det.timings["tiles"],
            "detections": len(dets), "gt_care": r["gt_care"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", nargs="+", default=list(PAGES), choices=PAGES)
    ap.add_argument("--modes", nargs="+", default=["cap", "tiles"], choices=MODES)
    ap.add_argument("--model", default=None, help="checkpoint or ONNX (default: shipped)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--docbench", default=DOCBENCH, help="docbench-dev folder")
    ap.add_argument("--tile", type=int, default=1536)
    ap.add_argument("--overlap", type=int, default=256)
    ap.add_argument("--one", nargs=2, metavar=("PAGE", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(*args.one, model=args.model, threads=args.threads,
                                 folder=args.docbench, tile=args.tile, overlap=args.overlap)))
        return 0
    print(f"{'page':8} {'size':>10} {'mode':6} {'hmean':>6} {'P':>6} {'R':>6} {'s/page':>7} "
          f"{'peak RSS MB':>11} {'tiles':>5}")
    rows = []
    for page in args.pages:
        for mode in args.modes:
            cmd = [sys.executable, "-m", "textseg.benchmarks.tiles", "--one", page, mode,
                   "--threads", str(args.threads), "--docbench", args.docbench,
                   "--tile", str(args.tile), "--overlap", str(args.overlap)]
            if args.model:
                cmd += ["--model", args.model]
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if p.returncode != 0:
                print(f"{page:8} {mode:6} failed: {p.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(p.stdout.strip().splitlines()[-1])
            rows.append(r)
            print(f"{page:8} {r['size']:>10} {mode:6} {r['hmean']:6.3f} {r['precision']:6.3f} "
                  f"{r['recall']:6.3f} {r['s_page']:7.2f} {r['peak_rss_mb']:11d} "
                  f"{r['tiles']:5d}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
