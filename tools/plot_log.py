#!/usr/bin/env python
"""Draw the loss and validation curves of a training run to a PNG.

    python tools/plot_log.py WORK_DIR [--out WORK_DIR/curves.png]
"""

import argparse
import json
import os
import sys

import _common


def read_log(path):
    entries = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                _common.fail(f"{path}:{n}: not a JSON line")
    return entries


def main(argv=None):
    ap = argparse.ArgumentParser(description="plot a textseg training log")
    ap.add_argument("work_dir")
    ap.add_argument("--out", help="PNG path (default WORK_DIR/curves.png)")
    args = ap.parse_args(argv)
    log = os.path.join(args.work_dir, "log.jsonl")
    if not os.path.isfile(log):
        _common.fail(f"{log}: no training log found")
    folder = os.path.dirname(os.path.abspath(args.out)) if args.out else None
    if folder and not os.path.isdir(folder):
        _common.fail(f"{args.out}: folder {folder} does not exist")
    entries = read_log(log)
    train = [e for e in entries if "loss" in e]
    val = [e for e in entries if "val" in e]
    if not train:
        _common.fail(f"{log}: no training steps logged yet")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from textseg.fileio import atomic_open

    parts = [k for k in train[0] if k not in ("step", "lr", "img_s")]
    fig, axes = plt.subplots(1, 2 if val else 1, figsize=(12 if val else 6, 4), squeeze=False)
    ax = axes[0][0]
    steps = [e["step"] for e in train]
    for k in parts:
        ax.plot(steps, [e.get(k) for e in train], label=k, lw=1.2 if k == "loss" else 0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    if val:
        ax = axes[0][1]
        vs = [e["step"] for e in val]
        for k in ("precision", "recall", "hmean"):
            ax.plot(vs, [e["val"][k] for e in val], marker="o", label=k)
        ax.set_xlabel("step")
        ax.set_ylim(0, 1)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(os.path.basename(os.path.abspath(args.work_dir)))
    fig.tight_layout()
    out = args.out or os.path.join(args.work_dir, "curves.png")
    try:
        with atomic_open(out, "wb") as f:
            fig.savefig(f, format="png", dpi=100)
    except KeyboardInterrupt:
        _common.fail("interrupted", 130)
    except OSError as e:  # name the PNG, never the temporary file next to it
        _common.fail(f"{out}: {e.strerror or e}")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
