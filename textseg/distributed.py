"""Corpus-scale detection with Ray Data: images and PDFs from local or object-store paths,
one Detector per actor, the same output files as ``tools/detect.py``.

    python -m textseg.distributed INPUT... --out DIR [--address auto] [--actors N]
        [--threads-per-actor T] [--gpus-per-actor G --device cuda] [detect.py options]

    from textseg.distributed import run
    summary = run(["scans/"], "out/", actors=2, num_cpus=2)     # a local Ray instance

The pipeline: ``ray.data.read_binary_files`` reads the input files (local files, folders and
globs as ``tools/detect.py`` expands them; ``s3://``, ``gs://``, ... URIs through pyarrow's
file systems); a ``flat_map`` task decodes each file into its pages (PDFs rendered at
``dpi``, multi-page TIFFs, ``pages`` selections); ``map_batches`` with an actor pool runs the
detector, one :class:`~textseg.detector.Detector` loaded once per actor (CPU actors with
``threads_per_actor`` threads, or GPU actors with ``gpus_per_actor``), and each actor writes
its pages' outputs with :func:`textseg.output.write_page` (JSON, ICDAR ``res_*.txt``,
overlay), the bytes ``tools/detect.py`` writes for the same options. Decoding and detection
run at the same time (Ray Data streams). The output folder must be reachable from every
node (a local folder on one machine, a shared file system on a cluster).

A file that fails (unreadable, a page selection it lacks, outputs that exist without
``overwrite``) is reported in the summary and the others go on, as in ``tools/detect.py``.
Ray is an optional extra: ``pip install textseg[ray]`` (or ``-r requirements-ray.txt``).
"""

import os
import shutil
import tempfile
import time
from typing import Dict, Iterable, List, Sequence

import numpy as np

from .errors import TextsegError

__all__ = ["run", "init_ray", "runtime_env", "DetectActor", "decode_file", "resolve_inputs", "RayMissing",
           "INSTALL_HINT"]

INSTALL_HINT = "pip install 'textseg[ray]' (or pip install -r requirements-ray.txt)"
FORMATS = ("json", "txt", "overlay")


class RayMissing(TextsegError, ImportError):
    """Ray (with Ray Data) is not installed."""


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise RayMissing(f"the Ray pipeline needs Ray Data ({e}); {INSTALL_HINT}") from None
    return ray


def _is_uri(path) -> bool:
    return "://" in str(path)


def resolve_inputs(inputs: Iterable[str], recursive: bool = False) -> List[str]:
    """Input files as ``tools/detect.py`` finds them (files, folders, globs); object-store
    URIs are kept as given (Ray lists their folders)."""
    from .data import images as imgs

    local = [p for p in inputs if not _is_uri(p)]
    found = imgs.iter_inputs(local, recursive=recursive) if local else []
    return found + [p for p in inputs if _is_uri(p)]


def decode_file(row: Dict, dpi=200, pages=None, password=None, max_pixels=None) -> List[Dict]:
    """One input file (``{"bytes", "path"}`` from ``read_binary_files``, ``path`` replaced by
    the name as given) -> one row per page: source, index, n_pages, image (RGB uint8);
    a file that cannot be decoded -> one row with ``error`` and an empty image."""
    from .data import images as imgs

    source = str(row["path"])
    kw = {"dpi": dpi, "pages": pages, "password": password}
    if max_pixels:
        kw["max_pixels"] = int(max_pixels)
    tmp = tempfile.mkdtemp(prefix="textseg-ray-")
    out = []
    try:
        # iter_pages reads files: the bytes go to a file of the same name, so that
        # messages, PDF handling and page counts are those of tools/detect.py
        path = os.path.join(tmp, os.path.basename(source.rstrip("/")) or "input")
        with open(path, "wb") as f:
            f.write(bytes(row["bytes"]))
        try:
            for page in imgs.iter_pages(path, **kw):
                out.append({"source": source, "index": int(page.index),
                            "n_pages": -1 if page.n_pages is None else int(page.n_pages),
                            "image": page.image, "error": ""})
        except Exception as e:  # noqa: BLE001 - a batch keeps going past one bad file
            msg = (str(e).strip().splitlines() or [type(e).__name__])[0].replace(path, source)
            out = [{"source": source, "index": 0, "n_pages": 0,
                    "image": np.zeros((0, 0, 3), np.uint8), "error": msg}]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


class DetectActor:
    """Ray Data actor: loads one Detector, detects on batches of pages, writes the outputs.

    Returns per page: source, index, stem, detections (count), paths (``;``-joined), error.
    """

    def __init__(self, out, model=None, config=None, decode=(), max_side=None, device="cpu",
                 threads=None, threshold=None, level="word", formats=FORMATS, overwrite=False):
        from .detector import Detector

        self.detector = Detector.load(model, config=config, decode=list(decode or ()),
                                      max_side=max_side, device=device, threads=threads,
                                      threshold=threshold)
        self.out, self.level = out, level
        self.formats, self.overwrite = list(formats), bool(overwrite)

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        from . import output
        from .data.images import Page

        res = {k: [] for k in ("source", "index", "stem", "detections", "paths", "error")}
        for i in range(len(batch["source"])):
            source, index = str(batch["source"][i]), int(batch["index"][i])
            n = int(batch["n_pages"][i])
            err, stem, count, paths = str(batch["error"][i]), "", 0, ""
            if not err:
                page = Page(source, index, None if n < 0 else n,
                            np.ascontiguousarray(batch["image"][i], dtype=np.uint8))
                stem = page.stem
                try:
                    dets = self.detector(page.image, level=self.level)
                    record = output.to_json_dict(page, dets, level=self.level,
                                                 model=self.detector.name)
                    written = output.write_page(self.out, page, dets, record, self.formats,
                                                overwrite=self.overwrite)
                    count, paths = len(dets), ";".join(written.values())
                except Exception as e:  # noqa: BLE001 - reported per page
                    err = (str(e).strip().splitlines() or [type(e).__name__])[0]
            for k, v in (("source", source), ("index", index), ("stem", stem),
                         ("detections", count), ("paths", paths), ("error", err)):
                res[k].append(v)
        return {k: np.asarray(v) for k, v in res.items()}


def runtime_env(address=None) -> dict:
    """How Ray's workers import textseg: nothing when it is installed (pip install), else
    this checkout: its folder on PYTHONPATH for a local instance, the package shipped to
    the nodes (``py_modules``) for a cluster."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution("textseg")
        return {}
    except PackageNotFoundError:
        pass
    pkg = os.path.dirname(os.path.abspath(__file__))
    if address:
        return {"py_modules": [pkg]}
    path = os.pathsep.join(p for p in (os.path.dirname(pkg), os.environ.get("PYTHONPATH")) if p)
    return {"env_vars": {"PYTHONPATH": path}}


def init_ray(address=None, num_cpus=None, **kw):
    """``ray.init`` for this pipeline: ``address`` (``"auto"``, ``HOST:PORT``) joins a
    cluster, None starts a local instance with ``num_cpus`` CPUs; the workers can import
    textseg (:func:`runtime_env`)."""
    ray = _import_ray()
    kw.setdefault("log_to_driver", False)
    env = runtime_env(address)
    if env:
        kw.setdefault("runtime_env", env)
    if address:
        return ray.init(address=address, **kw)
    return ray.init(num_cpus=num_cpus, include_dashboard=False, **kw)


def _check_stems(files):
    """Two inputs that would write the same outputs (a/x.jpg and b/x.jpg) are refused before
    anything runs, as tools/detect.py does."""
    from .data.images import safe_output_stem

    seen = {}
    for f in files:
        stem = safe_output_stem(f, 0, 1)
        if stem in seen:
            raise FileExistsError(f"{f}: writes the same outputs ({stem}.*) as {seen[stem]}; "
                                  f"rename one or use separate --out folders")
        seen[stem] = f


def run(inputs: Sequence[str], out: str, model=None, config=None, decode=(), max_side=None,
        threshold=None, level="word", formats=FORMATS, dpi=200, pages=None, password=None,
        max_pixels=None, recursive=False, overwrite=False, actors=None, threads_per_actor=1,
        gpus_per_actor=0, device=None, batch_size=1, address=None, num_cpus=None,
        log=None) -> dict:
    """Run the pipeline; returns ``{"files", "pages", "detections", "failed": [msg, ...],
    "seconds", "pages_per_s", "rows": [...]}``.

    ``address``: an existing cluster (``"auto"``) or None for a local instance (with
    ``num_cpus`` CPUs) unless Ray is already initialised. ``actors``: actor pool size
    (default: the cluster's CPUs // ``threads_per_actor``, or its GPUs // ``gpus_per_actor``).
    The other options are those of ``tools/detect.py``.
    """
    ray = _import_ray()
    from .fileio import ensure_writable_dir

    formats = list(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(f"unknown output format {bad[0]!r} (choose from {', '.join(FORMATS)})")
    if pages is not None:
        from .data.images import parse_pages

        parse_pages(pages, 1)  # a malformed spec stops the run here
    files = resolve_inputs(inputs, recursive)
    _check_stems(files)
    ensure_writable_dir(out)
    out = os.path.abspath(out)
    device = device or ("cuda" if gpus_per_actor else "cpu")
    # the Detector is loaded here once too: a bad model or option fails before any actor
    from .detector import Detector

    probe = Detector.load(model, config=config, decode=list(decode or ()), max_side=max_side,
                          device="cpu", threshold=threshold)
    del probe
    if not ray.is_initialized():
        init_ray(address, num_cpus)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # the summary in input order
    if hasattr(ctx, "enable_progress_bars"):
        ctx.enable_progress_bars = False
    if actors is None:
        res = ray.cluster_resources()
        actors = (int(res.get("GPU", 0) // gpus_per_actor) if gpus_per_actor
                  else int(res.get("CPU", 1) // max(1, threads_per_actor)))
        actors = max(1, actors)
    t0 = time.perf_counter()
    given = {}
    for f in files:
        given[f if _is_uri(f) else os.path.abspath(f)] = f
    from .data.images import INPUT_EXTENSIONS

    ds = ray.data.read_binary_files(
        [f if _is_uri(f) else os.path.abspath(f) for f in files], include_paths=True,
        file_extensions=[e.lstrip(".") for e in INPUT_EXTENSIONS] if any(
            _is_uri(f) for f in files) else None, ray_remote_args={"num_cpus": 0})

    def _name(row):
        p = row["path"]
        row["path"] = given.get(p) or given.get(os.path.abspath(p)) or _uri_of(p, files)
        return row

    # reading and decoding reserve no CPU: the actors may hold them all, and these stages
    # must still run (Ray Data's backpressure bounds how far they run ahead)
    ds = ds.map(_name, num_cpus=0).flat_map(decode_file, num_cpus=0, fn_kwargs={
        "dpi": dpi, "pages": pages, "password": password, "max_pixels": max_pixels})
    ds = ds.map_batches(
        DetectActor, batch_size=int(batch_size), batch_format="numpy",
        concurrency=int(actors), num_cpus=threads_per_actor, num_gpus=gpus_per_actor or None,
        fn_constructor_kwargs=dict(out=out, model=model, config=config, decode=list(decode or ()),
                                   max_side=max_side, device=device, threads=threads_per_actor,
                                   threshold=threshold, level=level, formats=formats,
                                   overwrite=overwrite))
    rows = ds.take_all()
    seconds = time.perf_counter() - t0
    failed = [f"{r['source']}: {r['error']}" if not r["error"].startswith(r["source"])
              else r["error"] for r in rows if r["error"]]
    n_pages = sum(1 for r in rows if not r["error"])
    summary = {"files": len(files), "pages": n_pages,
               "detections": int(sum(int(r["detections"]) for r in rows)), "failed": failed,
               "seconds": seconds, "pages_per_s": n_pages / seconds if seconds else 0.0,
               "actors": int(actors), "rows": rows}
    if log:
        log(f"{len(files) - len({r['source'] for r in rows if r['error']})} of {len(files)} "
            f"inputs processed: {n_pages} pages, {summary['detections']} detections, "
            f"{summary['pages_per_s']:.2f} pages/s on {actors} actors")
    return summary


def _uri_of(path, files):
    """A path as Ray lists it (``bucket/key``) -> the URI it came from (``s3://bucket/key``)."""
    for f in files:
        if _is_uri(f):
            scheme, rest = f.split("://", 1)
            if path.startswith(rest.rstrip("/")):
                return f"{scheme}://{path}"
    return path


# ----------------------------------------------------------------------------- CLI

def build_parser():
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m textseg.distributed",
        description="Find text in images and PDFs on a Ray cluster (or a local Ray instance); "
                    "writes the outputs of tools/detect.py.")
    ap.add_argument("inputs", nargs="+", metavar="INPUT",
                    help="images, PDFs, folders, globs, or s3:// gs:// ... URIs")
    ap.add_argument("--out", required=True, metavar="DIR",
                    help="output folder (shared by every node on a cluster)")
    ap.add_argument("--model", metavar="PATH", help="checkpoint or ONNX file (default: shipped)")
    ap.add_argument("--config", metavar="CFG", help="YAML whose infer section replaces the model's")
    ap.add_argument("--level", choices=["word", "line"], default="word")
    ap.add_argument("--format", default="json,txt,overlay",
                    help="comma-separated outputs: json, txt, overlay")
    ap.add_argument("--dpi", type=int, default=200, help="PDF rasterisation DPI (default 200)")
    ap.add_argument("--pages", help="pages of multi-page inputs, e.g. 1-3,5 (1-based)")
    ap.add_argument("--password", help="password of encrypted PDFs")
    ap.add_argument("--max-side", type=int, help="cap the long side of the network input")
    ap.add_argument("--threshold", type=float, help="the decoder's main threshold")
    ap.add_argument("--decode", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--max-pixels", type=float, help="refuse images above this many pixels")
    ap.add_argument("--recursive", action="store_true", help="descend into sub-folders")
    ap.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    r = ap.add_argument_group("Ray")
    r.add_argument("--address", help="an existing cluster: 'auto' or HOST:PORT (default: start a "
                                     "local instance)")
    r.add_argument("--num-cpus", type=int, help="CPUs of the local instance (default: all)")
    r.add_argument("--actors", type=int, help="detector actors (default: from the cluster)")
    r.add_argument("--threads-per-actor", type=int, default=1, help="CPU threads per actor")
    r.add_argument("--gpus-per-actor", type=float, default=0,
                   help="GPUs per actor (e.g. 1, or 0.5 to share); implies --device cuda")
    r.add_argument("--device", choices=["cpu", "cuda"], help="network device of the actors")
    r.add_argument("--batch-size", type=int, default=1, help="pages per actor call")
    return ap


def main(argv=None):
    import sys

    args = build_parser().parse_args(argv)
    formats = [f.strip() for f in args.format.split(",") if f.strip()]

    def log(line):
        print(line, file=sys.stderr, flush=True)

    try:
        s = run(args.inputs, args.out, model=args.model, config=args.config,
                decode=args.decode, max_side=args.max_side, threshold=args.threshold,
                level=args.level, formats=formats, dpi=args.dpi, pages=args.pages,
                password=args.password, max_pixels=args.max_pixels,
                recursive=args.recursive, overwrite=args.overwrite, actors=args.actors,
                threads_per_actor=args.threads_per_actor, gpus_per_actor=args.gpus_per_actor,
                device=args.device, batch_size=args.batch_size, address=args.address,
                num_cpus=args.num_cpus, log=log)
    except (TextsegError, ValueError, FileNotFoundError, FileExistsError, PermissionError,
            NotADirectoryError, IsADirectoryError) as e:
        log(f"error: {(str(e).strip().splitlines() or [type(e).__name__])[0]}")
        return 2
    except KeyboardInterrupt:
        log("error: interrupted")
        return 130
    if s["failed"]:
        log(f"{len(s['failed'])} failed:")
        for msg in s["failed"]:
            log(f"  {msg}")
        return 1
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
