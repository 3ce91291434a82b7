"""int8 quantisation of an exported textseg ONNX model (onnxruntime static quantisation).

    from textseg.quantize import quantize_onnx, compare
    quantize_onnx("default.onnx", "default.int8.onnx", calib=16)
    rows = compare({"fp32": "default.onnx", "int8": "default.int8.onnx"},
                   ["../shared/data/docbench-dev"], levels=("word", "line"), limit=20)

The graph is first cleaned up for quantisation (onnxruntime's ``quant_pre_process``: shape
inference and constant folding; skipped with a note when it fails on a graph), then
quantised in QDQ format: int8 weights (per output channel by default), uint8 activations
whose ranges are calibrated on synthetic scanned pages (:func:`textseg.data.synth.generate_page`)
preprocessed exactly as the Detector does (the model's own resize policy), so the ranges
are those of real inference sizes. Calibration (MinMax: per-tensor
minimum and maximum of each page, merged) needs little memory at any page size.

The quantised file keeps the source's textseg metadata (config, method, decode, resize, ...)
with ``textseg.precision`` set to ``int8`` and a ``textseg.quantization`` entry saying how
it was made, so ``Detector.from_onnx`` and ``tools/detect.py --model`` load it unchanged.
The file is written atomically and checked to load before it is put in place.

onnxruntime already applies its fastest graph optimisations (``ORT_ENABLE_ALL``) when a
session starts; :func:`save_optimized` writes that optimised graph to a file (it is specific
to the machine's instruction set and onnxruntime version: only session start-up gets faster).
No torch needed.
"""

import json
import os
import tempfile
import time

import numpy as np

from .errors import ConfigError, ModelError

__all__ = ["quantize_onnx", "calibration_batches", "drop_unused_opsets", "save_optimized",
           "compare", "verdict", "CALIB_METHODS", "DEFAULT_CALIB", "SHIP_TOLERANCE"]

#: calibration pages by default
DEFAULT_CALIB = 16
#: int8 may become the default only if no evaluated set loses more hmean than this
SHIP_TOLERANCE = 0.005
CALIB_METHODS = ("minmax", "percentile", "entropy")
#: seed of the first calibration page (far from the training seeds' usual 0..N range)
CALIB_SEED = 900_000


def _pad(x, multiple=32):
    """(3, h, w) -> (1, 3, H, W) zero-padded to multiples of ``multiple`` (as Detector.batch)."""
    h, w = x.shape[1:]
    H, W = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    out = np.zeros((1, 3, H, W), np.float32)
    out[0, :, :h, :w] = x
    return out


def calibration_batches(detector, n=DEFAULT_CALIB, seed=CALIB_SEED, max_side=None):
    """Yield ``n`` network inputs (1, 3, H, W) float32: synthetic pages preprocessed by
    ``detector`` (its resize policy; ``max_side`` caps the long side further)."""
    from .data.synth import generate_page

    multiple = int(detector.resize.get("multiple", 32))
    for i in range(int(n)):
        image = generate_page(int(seed) + i).image
        if max_side and max(image.shape[:2]) > max_side:
            import cv2

            s = float(max_side) / max(image.shape[:2])
            image = cv2.resize(image, (max(1, round(image.shape[1] * s)),
                                       max(1, round(image.shape[0] * s))),
                               interpolation=cv2.INTER_AREA)
        x, _ = detector.preprocess(image)
        yield _pad(x, multiple)


def _reader(input_name, batches):
    from onnxruntime.quantization import CalibrationDataReader

    class SynthPages(CalibrationDataReader):
        def __init__(self):
            self.it = iter(batches)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {input_name: x}

    return SynthPages()


def _method(name):
    from onnxruntime.quantization import CalibrationMethod

    try:
        return {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                "entropy": CalibrationMethod.Entropy}[name]
    except KeyError:
        raise ConfigError(f"calibration method {name!r}: choose from "
                         f"{', '.join(CALIB_METHODS)}") from None


def _metadata(path):
    import onnx

    m = onnx.load(path, load_external_data=False)
    return {p.key: p.value for p in m.metadata_props}


def _set_metadata(model, meta):
    del model.metadata_props[:]
    for k, v in meta.items():
        p = model.metadata_props.add()
        p.key, p.value = k, v


def _cache_path(cache, rewrites):
    """The calibration cache file for this graph: the rewritten graph has tensors the
    exported one lacks (and onnxruntime does not check a cache's tensor names), so it keeps
    its ranges in a file of its own (``NAME.rewritten.json``)."""
    if not cache:
        return None
    cache = os.fspath(cache)
    if not any(rewrites.values()):
        return cache
    root, ext = os.path.splitext(cache)
    return f"{root}.rewritten{ext or '.json'}"


def quantize_onnx(src, dst, calib=DEFAULT_CALIB, seed=CALIB_SEED, per_channel=True,
                  method="minmax", op_types=None, calib_max_side=None, preprocess=True,
                  rewrite=True, overwrite=False, cache=None, log=None) -> dict:
    """Quantise the textseg ONNX model ``src`` to int8 (QDQ) and write it to ``dst``.

    ``calib``: synthetic calibration pages; ``seed``: the first page's seed; ``per_channel``:
    one weight scale per output channel; ``method``: ``minmax``, ``percentile`` (99.999th)
    or ``entropy``; ``op_types``: operator types to quantise (default: all onnxruntime
    supports); ``calib_max_side``: calibrate at a smaller long side (faster, less faithful);
    ``cache``: a JSON file of calibrated ranges, written on the first run and reused after
    (same model, pages and method), so variants quantise without calibrating again (the
    rewritten graph's ranges go to ``NAME.rewritten.json`` beside it).
    ``rewrite``: first apply the exact graph rewrites of :mod:`textseg.onnx_passes` (DBNet's
    transposed-convolution upsampling as 1x1 convolutions and a DepthToSpace, the first
    convolution on a space-to-depth image) and keep the nodes between the image and the
    first convolution in float: the default model's network runs about 25% faster
    (README "int8").
    Returns a report: path, bytes, fp32 bytes, seconds, quantized nodes, settings.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    from .detector import Detector
    from .fileio import atomic_write

    t0 = time.perf_counter()
    src, dst = os.fspath(src), os.fspath(dst)
    if os.path.lexists(dst) and not overwrite:
        raise FileExistsError(f"{dst}: file exists (pass --overwrite to replace it)")
    if int(calib) < 1:
        raise ConfigError("calib: at least 1 calibration page is needed")
    cmethod = _method(method)
    det = Detector.from_onnx(src, threads=None)  # checks it is a textseg model
    meta = _metadata(src)
    if meta.get("textseg.precision", "fp32") != "fp32":
        raise ModelError(f"{src}: a {meta['textseg.precision']} model; quantise the fp32 export")
    notes = []
    with tempfile.TemporaryDirectory(prefix="textseg-quant-") as tmp:
        model_in = src
        rewrites, float_nodes = {}, []
        if rewrite:
            from . import onnx_passes

            proto = onnx.load(src)
            rewrites = {"fuse_upsampling": onnx_passes.fuse_upsampling(proto),
                        "space_to_depth_stem": onnx_passes.space_to_depth_stem(proto)}
            if any(rewrites.values()):
                model_in = os.path.join(tmp, "rewritten.onnx")
                onnx.save(proto, model_in)
            del proto
        if preprocess:
            from onnxruntime.quantization.shape_inference import quant_pre_process

            pre = os.path.join(tmp, "pre.onnx")
            try:
                quant_pre_process(model_in, pre, skip_symbolic_shape=True)
                model_in = pre
            except Exception as e:  # noqa: BLE001 - the raw graph quantises too
                notes.append(f"pre-processing skipped ({type(e).__name__}: "
                             f"{str(e).splitlines()[0][:100] if str(e) else ''})")
                if log:
                    log(f"quantize: {notes[-1]}")
        if log:
            log(f"quantize: calibrating on {calib} synthetic pages ({method})")
        reader = _reader(det.backend.input_name,
                         calibration_batches(det, calib, seed, calib_max_side))
        # MinMax calibration keeps only per-tensor ReduceMin/ReduceMax values per page
        extra = {"ActivationSymmetric": False, "WeightSymmetric": True}
        if rewrite:
            from .onnx_passes import image_path

            float_nodes = image_path(onnx.load(model_in, load_external_data=False))
        raw = os.path.join(tmp, "int8.onnx")
        quantize_static(model_in, raw, reader, quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=list(op_types) if op_types else None,
                        nodes_to_exclude=float_nodes, per_channel=bool(per_channel),
                        activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method=cmethod,
                        extra_options=extra,
                        calibration_cache_path=_cache_path(cache, rewrites))
        model = onnx.load(raw)
        drop_unused_opsets(model)
        # shapes inferred for one size are wrong for others (dynamic H, W): onnxruntime
        # infers its own, so keep none
        del model.graph.value_info[:]
        settings = {"format": "QDQ", "weights": "int8", "activations": "uint8",
                    "per_channel": bool(per_channel), "calibration": method,
                    "calibration_pages": int(calib), "calibration_seed": int(seed),
                    "calibration_data": "textseg.data.synth.generate_page",
                    "op_types": list(op_types) if op_types else "all",
                    "rewrites": rewrites, "float_nodes": float_nodes}
        meta = dict(meta)
        meta["textseg.precision"] = "int8"
        meta["textseg.quantization"] = json.dumps(settings)
        _set_metadata(model, meta)
        n_q = sum(1 for n in model.graph.node if n.op_type == "QuantizeLinear")
        data = model.SerializeToString()
        check = os.path.join(tmp, "check.onnx")
        with open(check, "wb") as f:
            f.write(data)
        Detector.from_onnx(check)  # loads with its metadata, before it is put in place
        atomic_write(dst, data, overwrite=overwrite)
    return {"path": dst, "bytes": os.path.getsize(dst), "fp32_bytes": os.path.getsize(src),
            "seconds": time.perf_counter() - t0, "quantize_nodes": n_q, "notes": notes,
            **settings}


def drop_unused_opsets(model) -> list:
    """Leave out the opset imports of ``model`` (onnx.ModelProto, in place) that no node
    uses. onnxruntime's quantiser declares every domain it knows (``ai.onnx.ml`` 5,
    ``com.microsoft``, ...), and a runtime that does not know one of those versions refuses
    the whole file: onnxruntime 1.17, the oldest the package allows, rejects ``ai.onnx.ml``
    5 although no node of a textseg model is from it. Returns the domains dropped."""
    from onnx import AttributeProto

    def domains(graph):
        out = set()
        for n in graph.node:
            out.add(n.domain or "")
            for a in n.attribute:  # If / Loop bodies
                subs = [a.g] if a.type == AttributeProto.GRAPH else (
                    list(a.graphs) if a.type == AttributeProto.GRAPHS else [])
                for sub in subs:
                    out |= domains(sub)
        return out

    used = domains(model.graph)
    keep = [o for o in model.opset_import if (o.domain or "") in used or o.domain in ("", "ai.onnx")]
    dropped = [o.domain for o in model.opset_import if o not in keep]
    del model.opset_import[:]
    model.opset_import.extend(keep)
    return dropped


def save_optimized(src, dst, threads=None) -> dict:
    """Write the graph onnxruntime runs after its ``ORT_ENABLE_ALL`` optimisations (with the
    textseg metadata) to ``dst``; returns session start-up seconds before and after."""
    import onnx
    import onnxruntime as ort

    def start(path, out=None):
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = int(threads)
        if out:
            opts.optimized_model_filepath = out
        t = time.perf_counter()
        ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        return time.perf_counter() - t

    before = start(src, dst)
    model = onnx.load(dst)
    _set_metadata(model, _metadata(src))
    onnx.save(model, dst)
    return {"path": dst, "start_s": before, "optimized_start_s": start(dst)}


def compare(models, folders, levels=("word", "line"), limit=None, threads=None, log=None):
    """hmean and seconds per page of each model on each folder and level, in one run.

    ``models``: ``{label: path}`` (ONNX files); ``folders``: data folders; a level whose
    ground truth a folder lacks is skipped. One row per folder x level x model: folder,
    level, model, images, hmean, precision, recall, median_page, network (mean s).
    """
    from .data import icdar
    from .detector import Detector
    from .validation import evaluate_folder

    dets = {label: Detector.from_onnx(os.fspath(p), threads=threads)
            for label, p in models.items()}
    rows = []
    for folder in folders:
        for level in levels:
            pairs = [img for img, gt in icdar.find_pairs(folder, level=level) if gt]
            if not pairs:
                if log:
                    log(f"compare: {folder}: no {level}-level ground truth, skipped")
                continue
            for label, det in dets.items():
                det(pairs[0], level=level)  # warm-up, not counted
                res = evaluate_folder(det, folder, level=level, max_images=limit)
                tm = res["timing"]
                rows.append({"folder": os.path.basename(os.path.normpath(folder)),
                             "level": level, "model": label, "images": res["images"],
                             "precision": res["precision"], "recall": res["recall"],
                             "hmean": res["hmean"], "median_page": tm["median_page"],
                             "network": tm["network"]})
                if log:
                    log(f"compare: {rows[-1]['folder']} {level} {label}: hmean "
                        f"{res['hmean']:.4f}, {tm['median_page']:.3f} s/page "
                        f"(network {tm['network']:.3f})")
    return rows


def verdict(rows, reference="fp32", candidate="int8", tolerance=SHIP_TOLERANCE):
    """(ok, [(folder, level, hmean loss), ...]): ``candidate`` may replace ``reference`` only
    if it loses at most ``tolerance`` hmean on every folder and level."""
    by = {(r["folder"], r["level"], r["model"]): r for r in rows}
    losses = []
    for (folder, level, model), r in by.items():
        if model != reference or (folder, level, candidate) not in by:
            continue
        losses.append((folder, level, r["hmean"] - by[(folder, level, candidate)]["hmean"]))
    return bool(losses) and all(d <= tolerance for _, _, d in losses), losses
