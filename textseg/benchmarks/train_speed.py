"""Suite ``train``: training throughput (images/s) per backbone x trunk x method.

A few synthetic pages (:func:`textseg.data.synth.write_dataset`) are written to a
temporary folder; for each combination a :class:`textseg.training.Trainer` is built on
them with the config defaults (trunk width: FCN/FPN 256, UNet 64), ``size`` x ``size``
crops and a small batch. The batches are drawn first (one process, no loader workers:
``data img/s`` is what one core of data preparation delivers: load, augment, targets),
then ``warmup`` untimed and ``steps`` timed optimiser steps run on them
(``step img/s``: forward, loss, backward, optimiser; CUDA is synchronised before the
clock is read). Throughput of the real loop is about the smaller of the two when data
workers run on other cores than the network.
"""

import tempfile
import time

import torch

from ..config import load_config
from .models import DEFAULT_CHANNELS
from .networks import available_methods
from .report import markdown_table

TITLE = "Training throughput"
NOTES = (
    "Synthetic pages, random initialisation, Adam, fp32. `step img/s`: optimiser steps "
    "(forward, loss, backward, update) on batches drawn beforehand, after warm-up steps; "
    "`data img/s`: the data pipeline (image load, augmentation, crop, targets) in one "
    "process. With `data.workers` processes on spare cores the loop runs at about the "
    "smaller of the two.",
)

FULL = {"trunks": ("fcn", "unet", "fpn"), "backbones": ("resnet50",), "methods": None,
        "size": 640, "batch": 2, "warmup": 1, "steps": 3, "pages": 4}
QUICK = {"trunks": ("fpn",), "backbones": ("resnet50",), "methods": ("east", "pse"),
         "size": 640, "batch": 1, "warmup": 1, "steps": 2, "pages": 2}


def make_data(folder, pages=4, seed=0):
    """Write ``pages`` small synthetic pages (words) into ``folder``."""
    from ..data.synth import write_dataset

    write_dataset(folder, n=int(pages), seed=seed, level="word", dpi_range=(100, 150),
                  workers=1, progress=False)
    return folder


def train_config(method, trunk, backbone, size, batch, steps, channels=None, overrides=()):
    ch = int(channels or DEFAULT_CHANNELS[trunk])
    return load_config({"model": {"head": {"method": method}}}, [
        f"model.backbone.name={backbone}", f"model.trunk.name={trunk}",
        f"model.trunk.channels={ch}", f"data.crop_size={int(size)}", "data.workers=0",
        f"train.batch_size={int(batch)}", f"train.steps={int(steps)}", *overrides])


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_one(method, trunk, backbone, data_dir, size=640, batch=2, warmup=1, steps=3,
              device="cpu", channels=None, overrides=()):
    """One row: data and step throughput of one combination."""
    from ..training import Trainer

    cfg = train_config(method, trunk, backbone, size, batch, warmup + steps, channels, overrides)
    with tempfile.TemporaryDirectory() as work:
        trainer = Trainer(cfg, work, data_dirs=[data_dir], device=device, progress=False,
                          workers=0)
        dev = trainer.device
        t0 = time.perf_counter()
        it = iter(trainer.loader())
        batches = [next(it) for _ in range(warmup + steps)]
        data_s = time.perf_counter() - t0
        trainer.model.train()
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        for b in batches[:warmup]:
            trainer.train_step(b)
        _sync(dev)
        t0 = time.perf_counter()
        for b in batches[warmup:]:
            trainer.train_step(b)
        _sync(dev)
        step_s = time.perf_counter() - t0
        peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None
    n = steps * int(batch)
    return {"backbone": backbone, "trunk": trunk, "channels": cfg["model"]["trunk"]["channels"],
            "method": method, "size": int(size), "batch": int(batch), "steps": int(steps),
            "step_img_s": n / step_s, "step_s": step_s / steps,
            "data_img_s": (warmup + steps) * int(batch) / data_s, "peak_mb": peak,
            "device": dev.type}


def run(trunks=None, backbones=None, methods=None, size=None, batch=None, warmup=None,
        steps=None, pages=None, threads=1, device="cpu", quick=False, data_dir=None,
        overrides=(), log=None):
    """Rows for every backbone x trunk x method (defaults :data:`FULL`, or :data:`QUICK`)."""
    base = QUICK if quick else FULL
    pick = lambda v, k: base[k] if v is None else v  # noqa: E731
    trunks, backbones = pick(trunks, "trunks"), pick(backbones, "backbones")
    methods = methods or base["methods"] or available_methods()
    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = data_dir or make_data(tmp, pick(pages, "pages"))
            for backbone in backbones:
                for trunk in trunks:
                    for method in methods:
                        t0 = time.perf_counter()
                        rows.append(bench_one(method, trunk, backbone, data, pick(size, "size"),
                                              pick(batch, "batch"), pick(warmup, "warmup"),
                                              pick(steps, "steps"), device, None, overrides))
                        if log:
                            log(f"train: {backbone} {trunk} {method} done in "
                                f"{time.perf_counter() - t0:.0f} s")
    finally:
        torch.set_num_threads(previous)
    return rows


def format_table(rows):
    headers = ["backbone", "trunk", "method", "crop", "batch", "step img/s", "s/step",
               "data img/s", "peak memory MB"]
    cells = [[r["backbone"], f"{r['trunk']} ({r['channels']})", r["method"],
              f"{r['size']}x{r['size']}", r["batch"], f"{r['step_img_s']:.2f}",
              f"{r['step_s']:.2f}", f"{r['data_img_s']:.1f}",
              "-" if r["peak_mb"] is None else f"{r['peak_mb']:.0f}"] for r in rows]
    return markdown_table(headers, cells, align=["l", "l", "l"] + ["r"] * 6)
