"""Suite ``models``: size, forward latency (PyTorch and onnxruntime) and memory of networks.

For every backbone x trunk x method the network (random weights: speed does not depend on
them) is built from the config defaults (trunk width: FCN/FPN 256, UNet 64, as our
configs use), exported once with :func:`textseg.export.export_onnx` (no parity check),
and run on one (1, 3, S, S) input per size:

* parameters and convolution GMACs (:func:`textseg.benchmarks.models.count_macs`, exact);
* ``torch`` latency: median of ``repeats`` forwards after ``warmup`` untimed ones
  (``torch.inference_mode``, ``torch.set_num_threads(threads)``);
* ``onnxruntime`` latency, the same way (CPU provider, ``intra_op_num_threads = threads``;
  the CUDA provider with ``device="cuda"`` when onnxruntime has it);
* peak memory: on CPU the peak RSS growth of one forward in a fresh process
  (:func:`textseg.benchmarks.models.peak_memory`), on CUDA ``max_memory_allocated``.

The torch block runs before the onnxruntime block for each size, so both see the same
machine load as closely as a shared CPU allows: compare rows of one run only.
"""

import os
import statistics
import tempfile
import time

import numpy as np
import torch

from ..config import load_config
from ..export import export_onnx
from ..model import build_model, count_parameters
from .models import DEFAULT_CHANNELS, _isolated, count_macs, peak_memory
from .report import fmt, markdown_table

TITLE = "Networks: size, latency, memory"
NOTES = (
    "Random weights (latency does not depend on them), batch 1, square inputs. `torch`: "
    "PyTorch eager in `inference_mode`; `ort`: onnxruntime on the exported graph "
    "(graph optimisation level `all`). Latency is the median of the timed forwards after "
    "warm-up; peak memory is the growth of the resident set during one forward (CPU) or "
    "the peak CUDA allocation. GMACs count convolutions only.",
)

FULL = {"trunks": ("fcn", "unet", "fpn"), "backbones": ("resnet18", "resnet50"),
        "sizes": (640, 1024), "warmup": 1, "repeats": 5}
QUICK = {"trunks": ("fpn",), "backbones": ("resnet18", "resnet50"), "sizes": (640,),
         "warmup": 1, "repeats": 2}


def available_methods():
    """The methods whose head exists in this copy: east, pse and db when present."""
    from ..errors import ConfigError
    from ..methods import spec

    out = []
    for method in ("east", "pse", "db"):
        try:
            spec(method).head_class()
        except (ImportError, AttributeError, ConfigError):
            continue
        out.append(method)
    return tuple(out)


def make_config(method, trunk, backbone, channels=None):
    ch = int(channels or DEFAULT_CHANNELS[trunk])
    return load_config({"model": {"head": {"method": method}}},
                       [f"model.backbone.name={backbone}", f"model.trunk.name={trunk}",
                        f"model.trunk.channels={ch}"])


def ort_session(path, threads, device="cpu"):
    """An onnxruntime session on CPU (or CUDA when asked for and available); None without
    onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    if str(device).startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            return None
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(path, opts, providers=providers)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ms(fn, warmup, repeats, device=torch.device("cpu")):
    """Median and min (ms) of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(max(1, int(repeats))):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times), min(times)


def bench_one(method, trunk, backbone, sizes, threads=1, device="cpu", warmup=1, repeats=5,
              onnx=True, memory=True, channels=None):
    """Rows (one per size) for one backbone x trunk x method."""
    device = torch.device(device)
    cfg = make_config(method, trunk, backbone, channels)
    model = build_model(cfg, load_pretrained=False).eval()
    params = count_parameters(model)
    spec = dict(backbone=backbone, trunk=trunk, channels=cfg["model"]["trunk"]["channels"],
                variant=None, head=method)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        session = None
        if onnx:
            path = os.path.join(tmp, "model.onnx")
            export_onnx(model, path, cfg, check=False)
            session = ort_session(path, threads, device)
        model = model.to(device)
        for size in sizes:
            x = np.random.default_rng(0).normal(size=(1, 3, size, size)).astype(np.float32)
            xt = torch.from_numpy(x).to(device)
            gmacs = count_macs(model, xt) / 1e9  # also the first (warm-up) forward
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)

            def forward():
                with torch.inference_mode():
                    model(xt)

            torch_ms, torch_min = time_ms(forward, warmup, repeats, device)
            if device.type == "cuda":
                peak = torch.cuda.max_memory_allocated(device) / 2**20
            else:
                peak = _isolated(peak_memory, spec, (size, size), 1, threads) if memory else None
            ort_ms = ort_min = None
            if session is not None:
                name = session.get_inputs()[0].name
                ort_ms, ort_min = time_ms(lambda: session.run(None, {name: x}), warmup, repeats)
            rows.append({"backbone": backbone, "trunk": trunk,
                         "channels": cfg["model"]["trunk"]["channels"], "method": method,
                         "size": size, "params": params, "gmacs": gmacs, "torch_ms": torch_ms,
                         "torch_min_ms": torch_min, "ort_ms": ort_ms, "ort_min_ms": ort_min,
                         "peak_mb": peak, "device": device.type, "threads": int(threads)})
    return rows


def run(trunks=None, backbones=None, methods=None, sizes=None, threads=1, device="cpu",
        warmup=None, repeats=None, quick=False, onnx=True, memory=True, log=None):
    """Rows for every backbone x trunk x method x size (defaults: :data:`FULL`, or
    :data:`QUICK` with ``quick``). ``log``: a callable taking one progress line."""
    base = QUICK if quick else FULL
    trunks, backbones = trunks or base["trunks"], backbones or base["backbones"]
    sizes = tuple(int(s) for s in (sizes or base["sizes"]))
    warmup = base["warmup"] if warmup is None else int(warmup)
    repeats = base["repeats"] if repeats is None else int(repeats)
    methods = methods or available_methods()
    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    rows = []
    try:
        for backbone in backbones:
            for trunk in trunks:
                for method in methods:
                    t0 = time.perf_counter()
                    rows += bench_one(method, trunk, backbone, sizes, threads, device, warmup,
                                      repeats, onnx, memory)
                    if log:
                        log(f"models: {backbone} {trunk} {method} done in "
                            f"{time.perf_counter() - t0:.0f} s")
    finally:
        torch.set_num_threads(previous)
    return rows


def format_table(rows):
    headers = ["backbone", "trunk", "method", "params (M)", "input", "GMACs", "torch ms",
               "ort ms", "ort / torch", "peak memory MB"]
    cells = []
    for r in rows:
        ratio = None if r["ort_ms"] is None else f"{r['ort_ms'] / r['torch_ms']:.2f}"
        ort = None if r["ort_ms"] is None else f"{r['ort_ms']:.0f}"
        cells.append([r["backbone"], f"{r['trunk']} ({r['channels']})", r["method"],
                      f"{r['params'] / 1e6:.2f}", f"{r['size']}x{r['size']}",
                      f"{r['gmacs']:.1f}", f"{r['torch_ms']:.0f}", ort, ratio,
                      fmt(r["peak_mb"], 0)])
    return markdown_table(headers, cells, align=["l", "l", "l"] + ["r"] * 7)
