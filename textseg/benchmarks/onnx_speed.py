"""Benchmark: network latency on CPU, PyTorch eager against onnxruntime.

For each trunk the model (random weights: speed does not depend on them) is exported with
:func:`textseg.export.export_onnx` (no parity check) and run on one (1, 3, S, S) input by

* ``torch eager``: ``torch.inference_mode()``, ``torch.set_num_threads(threads)``;
* ``ort <level>``: onnxruntime CPU with ``intra_op_num_threads = threads`` and graph
  optimisation level ``all`` (onnxruntime's default), ``extended`` or ``basic``;
* ``ort all, no spin``: level ``all`` with ``session.intra_op.allow_spinning = 0`` (idle
  worker threads sleep instead of spinning: kinder to a shared machine).

Runs alternate in ``rounds``: in each round every runtime in turn runs ``warmup`` untimed
then ``repeat`` timed forwards (blocks, not single interleaved runs: onnxruntime's worker
threads keep spinning for a while after a run and would slow the next runtime's first
forward). Each row reports the median and the minimum of the ``rounds x repeat`` timed
forwards, so load changes on a shared machine hit all runtimes alike. Numbers from a
shared CPU are noisy: compare rows of one run only.

    python -m textseg.benchmarks.onnx_speed [--trunks fcn unet fpn] [--method east]
        [--backbone resnet50] [--channels 256] [--size 1024] [--threads 2] [--repeat 3]
        [--rounds 2]
"""

import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np
import torch

from ..config import load_config
from ..export import export_onnx
from ..model import build_model

ORT_LEVELS = ("all", "extended", "basic")


def _ort_session(path, threads, level="all", spin=True):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    }[level]
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def runners(model, onnx_path, threads, levels=ORT_LEVELS, no_spin=True):
    """name -> callable(x numpy) for PyTorch eager and the onnxruntime variants."""
    torch.set_num_threads(int(threads))

    def eager(x):
        with torch.inference_mode():
            return model(torch.from_numpy(x))

    out = {"torch eager": eager}
    for level in levels:
        sess = _ort_session(onnx_path, threads, level)
        out[f"ort {level}"] = (lambda s: lambda x: s.run(None, {"image": x}))(sess)
    if no_spin:
        sess = _ort_session(onnx_path, threads, "all", spin=False)
        out["ort all, no spin"] = lambda x: sess.run(None, {"image": x})
    return out


def bench(cfg, size=1024, threads=2, warmup=1, repeat=3, rounds=2, levels=ORT_LEVELS,
          no_spin=True):
    """Rows (dicts) of one model: runtime, median/min ms, speed-up over torch eager."""
    model = build_model(cfg, load_pretrained=False).eval()
    m = cfg["model"]
    name = (f"{m['head']['method']} {m['trunk']['name']} {m['backbone']['name']} "
            f"c{m['trunk']['channels']}")
    x = np.random.default_rng(0).normal(size=(1, 3, size, size)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        export_onnx(model, path, cfg, check=False)
        runs = runners(model, path, threads, levels, no_spin)
        times = {k: [] for k in runs}
        for _ in range(rounds):
            for k, fn in runs.items():
                for i in range(warmup + repeat):
                    t0 = time.perf_counter()
                    fn(x)
                    if i >= warmup:
                        times[k].append(time.perf_counter() - t0)
    base = statistics.median(times["torch eager"])
    return [{"model": name, "size": size, "threads": threads, "runtime": k,
             "median_ms": 1000 * statistics.median(t), "min_ms": 1000 * min(t),
             "speedup": base / statistics.median(t)} for k, t in times.items()]


def bench_trunks(trunks=("fcn", "unet", "fpn"), method="east", backbone="resnet50",
                 channels=256, **kw):
    rows = []
    for trunk in trunks:
        cfg = load_config({"model": {"head": {"method": method}}},
                          [f"model.backbone.name={backbone}", f"model.trunk.name={trunk}",
                           f"model.trunk.channels={channels}"])
        rows += bench(cfg, **kw)
    return rows


def format_table(rows):
    lines = ["| model | input | threads | runtime | median ms | min ms | vs eager |",
             "|---|---|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['size']}x{r['size']} | {r['threads']} | {r['runtime']} "
                     f"| {r['median_ms']:.0f} | {r['min_ms']:.0f} | {r['speedup']:.2f}x |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description="PyTorch eager vs onnxruntime CPU latency")
    ap.add_argument("--trunks", nargs="+", default=["fcn", "unet", "fpn"])
    ap.add_argument("--method", default="east")
    ap.add_argument("--backbone", default="resnet50")
    ap.add_argument("--channels", type=int, default=256)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--levels", nargs="*", default=list(ORT_LEVELS), choices=ORT_LEVELS)
    ap.add_argument("--json", action="store_true", help="also print one JSON line per row")
    args = ap.parse_args(argv)
    rows = bench_trunks(args.trunks, args.method, args.backbone, args.channels, size=args.size,
                        threads=args.threads, warmup=args.warmup, repeat=args.repeat,
                        rounds=args.rounds,
                        levels=tuple(args.levels))
    print(format_table(rows))
    if args.json:
        for r in rows:
            print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
