"""Size and CPU speed of backbone x trunk (x head) combinations.

``bench_models(...)`` returns one row (dict) per backbone x trunk x input size with the
parameter counts, the convolution multiply-accumulates (exact, load-independent), the
median CPU forward latency (``torch.inference_mode``, after
warm-up, ``torch.set_num_threads(threads)``) and the peak RSS growth during the forward
pass; :func:`format_table` renders rows as markdown. The models run round-robin in one
process so that load changes on a shared machine hit them alike; the memory peak of
each is taken in a fresh process so that one model's peak does not hide the next one's.
Latencies on a shared machine are still noisy: compare rows from one run only.

    python -m textseg.benchmarks.models --trunks fcn unet fpn --backbones resnet50 --size 640 640
"""

import resource
import statistics
import sys
import time

import torch
from torch import nn

from ..backbones import build_backbone
from ..model import TextSegModel, build_trunk, count_parameters

#: trunk widths we use: FCN/FPN at 256, UNet at 64 (decoder 256/128/64, see trunks/unet.py)
DEFAULT_CHANNELS = {"fcn": 256, "unet": 64, "fpn": 256}


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(field)


def _reset_peak():
    """Reset the kernel's peak-RSS mark (Linux); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_bytes():
    try:
        return _status_kb("VmHWM")
    except (OSError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def _rss_bytes():
    try:
        return _status_kb("VmRSS")
    except (OSError, ValueError):
        return _peak_rss_bytes()


class ConvHead(nn.Module):
    """Stand-in head: one 1x1 conv to a score map at stride 4."""

    stride, output_names = 4, ("score",)

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 1)

    def forward(self, feat):
        return {"score": self.conv(feat)}


def count_macs(model, x):
    """Multiply-accumulates of one forward pass of ``model`` on ``x`` (convolutions only)."""
    total = [0]

    def hook(m, inputs, out):
        k = m.weight.shape[2] * m.weight.shape[3]
        if isinstance(m, nn.ConvTranspose2d):  # every input pixel scatters a k x k x cout patch
            total[0] += inputs[0].numel() * (m.out_channels // m.groups) * k
        else:
            total[0] += out.numel() * (m.in_channels // m.groups) * k

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return total[0]


def _head(method, channels):
    """(head module, description): a method's Head with its defaults, or a 1x1 conv."""
    if method:
        from ..errors import ConfigError
        from ..methods import spec

        try:
            found = spec(method)
            return found.head_class()(channels, **dict(found.head_defaults)), method
        except (ImportError, AttributeError, ConfigError) as e:
            print(f"warning: head {method!r} not available ({e}); using a 1x1 conv", file=sys.stderr)
    return ConvHead(channels), "1x1 conv"


def build(backbone, trunk, channels=None, variant=None, head=None):
    """(model, row of static facts) for one backbone x trunk (x head)."""
    torch.manual_seed(0)
    channels = int(channels or DEFAULT_CHANNELS[trunk])
    bb = build_backbone(backbone)
    tr = build_trunk(trunk, bb.out_channels, channels, variant)
    hd, head_name = _head(head, tr.out_channels)
    model = TextSegModel(bb, tr, hd).eval()
    return model, {
        "backbone": backbone, "trunk": trunk if trunk != "fcn" else f"fcn-{variant or '8s'}",
        "channels": channels, "head": head_name, "params": count_parameters(model),
        "params_backbone": count_parameters(bb), "params_trunk": count_parameters(tr),
        "params_head": count_parameters(hd)}


def peak_memory(spec, size, batch=1, threads=2):
    """Peak RSS growth (MiB) of one forward pass after a warm-up pass, in this process."""
    torch.set_num_threads(int(threads))
    model, _ = build(**spec)
    x = torch.randn(batch, 3, *size)
    with torch.inference_mode():
        model(x)  # first-pass allocations (thread pools, kernels) are not the model's
        _reset_peak()
        base = _rss_bytes()
        model(x)
    return max(0, _peak_rss_bytes() - base) / 2**20


def _isolated(fn, *args):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def bench_models(trunks=("fcn", "unet", "fpn"), backbones=("resnet50",), sizes=((640, 640),),
                 channels=None, head=None, threads=2, warmup=2, repeats=5, batch=1, memory=True):
    """Rows for every backbone x trunk x size; ``channels``: int or {trunk: int}.

    Latency: the models run round-robin in this process (``repeats`` rounds after
    ``warmup`` passes each), so a change of machine load hits all of them alike.
    Memory (``memory=True``): each model runs once more in a fresh process.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        return _bench(trunks, backbones, sizes, channels, head, threads, warmup, repeats, batch,
                      memory)
    finally:
        torch.set_num_threads(previous)


def _bench(trunks, backbones, sizes, channels, head, threads, warmup, repeats, batch, memory):
    specs = []
    for backbone in backbones:
        for trunk in trunks:
            name, _, variant = trunk.partition("-")  # "fcn-16s" -> fcn, variant 16s
            width = channels.get(name) if isinstance(channels, dict) else channels
            specs.append(dict(backbone=backbone, trunk=name, channels=width,
                              variant=variant or None, head=head))
    built = [build(**spec) for spec in specs]
    rows = []
    for h, w in sizes:
        x = torch.randn(batch, 3, int(h), int(w))
        times = [[] for _ in built]
        with torch.inference_mode():
            for model, _ in built:
                for _ in range(warmup):
                    model(x)
            for _ in range(repeats):
                for i, (model, _) in enumerate(built):
                    t0 = time.perf_counter()
                    model(x)
                    times[i].append((time.perf_counter() - t0) * 1000.0)
        for spec, (model, facts), t in zip(specs, built, times):
            rss = _isolated(peak_memory, spec, (int(h), int(w)), batch, threads) if memory else None
            rows.append({**facts, "size": f"{h}x{w}", "batch": batch, "threads": int(threads),
                         "gmacs": count_macs(model, x) / 1e9, "ms_median": statistics.median(t),
                         "ms_min": min(t), "ms_max": max(t), "peak_rss_delta_mb": rss})
    return rows


def _mb(v):
    return "-" if v is None else f"{v:.0f}"


def format_table(rows):
    """Markdown table of :func:`bench_models` rows."""
    head = ("| backbone | trunk | channels | head | size | params (M) | trunk params (M) "
            "| GMACs | ms (median) | ms (min) | peak RSS +MB |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(f"| {r['backbone']} | {r['trunk']} | {r['channels']} | {r['head']} | {r['size']} "
                     f"| {r['params'] / 1e6:.2f} | {r['params_trunk'] / 1e6:.2f} | {r['gmacs']:.1f} "
                     f"| {r['ms_median']:.0f} "
                     f"| {r['ms_min']:.0f} | {_mb(r['peak_rss_delta_mb'])} |")
    return "\n".join(lines)


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description="Parameters, MACs, CPU latency and memory of "
                                             "backbone x trunk combinations.")
    ap.add_argument("--trunks", nargs="+", default=["fcn", "unet", "fpn"],
                    help="fcn, fcn-16s, fcn-32s, unet, fpn")
    ap.add_argument("--backbones", nargs="+", default=["resnet50"])
    ap.add_argument("--size", nargs=2, type=int, default=[640, 640], metavar=("H", "W"))
    ap.add_argument("--channels", type=int, help="trunk width (default: fcn/fpn 256, unet 64)")
    ap.add_argument("--head", help="a method whose head to use (default: a 1x1 conv)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-RSS runs")
    args = ap.parse_args(argv)
    rows = bench_models(args.trunks, args.backbones, [tuple(args.size)], args.channels, args.head,
                        args.threads, args.warmup, args.repeats, memory=not args.no_memory)
    print(format_table(rows))


if __name__ == "__main__":
    main()
