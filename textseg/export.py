"""ONNX export: a TextSegModel -> one self-describing ``.onnx`` file, checked against PyTorch.

    from textseg.export import export_onnx
    export_onnx("model.pt", "model.onnx")            # checkpoint in, checked file out

The graph has one input ``image`` (N, 3, H, W), RGB normalised with ImageNet mean/std, and
one output per map of the method's head, named by ``head.output_names`` (EAST: ``score``,
``geometry``; PSENet: its kernel maps), at ``ceil(H/stride) x ceil(W/stride)``. Batch,
height and width are dynamic by default and any H, W works: the graph zero-pads the input
to a multiple of 32 itself, exactly as ``TextSegModel.forward`` does. ``static_hw=(H, W)``
fixes height and width (the batch stays dynamic).

``fp16=True`` converts the whole graph (weights and arithmetic) to float16: the input and
the outputs are float16 too (``OnnxBackend`` casts). Meant for GPUs and for half-size files;
on CPU onnxruntime float16 is usually slower than float32.

The file carries the full config (JSON, metadata key ``textseg.config``) and readable keys
(``textseg.method``, ``textseg.output_stride``, ``textseg.decode``, ...), so
``Detector.from_onnx(path)`` needs nothing else. Before the file is put in place, the
graph runs in onnxruntime next to PyTorch on a page at two sizes and the export fails with
:class:`ExportError` when the maps or the decoded polygons differ (see :func:`check_parity`).
The file is written atomically: a failed export leaves no file behind.
"""

import copy
import io
import json
import os
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import __version__
from .errors import ExportError
from .detector import ONNX_CONFIG_KEY, Detector, OnnxBackend, TorchBackend
from .model import PAD_MULTIPLE

__all__ = ["ExportError", "export_onnx", "check_parity", "match_detections", "prune_graph",
           "MIN_OPSET", "MAX_OPSET", "TOLERANCES"]

MIN_OPSET, MAX_OPSET = 17, 20  # 20: the newest opset torch's TorchScript exporter writes
#: precision -> (max map error relative to max(1, max |map|), polygon distance in px,
#:               polygons allowed to be unmatched as a fraction of the count).
#: fp16 keeps 11 bits: a probability moves by up to a few 1e-2 where its logit is steep,
#: and a few polygons near a threshold may come and go; broken graphs differ by O(1).
TOLERANCES = {"fp32": (1e-4, 1.0, 0.0), "fp16": (5e-2, 2.0, 0.02)}
#: long sides of the page in the parity check (any H, W: not multiples of 32 in general)
CHECK_SIDES = (640, 448)
EXAMPLE_PAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "examples", "page.jpg")
INPUT_NAME = "image"


# ----------------------------------------------------------------------------- export

def export_onnx(model, out_path, cfg=None, opset=MIN_OPSET, fp16=False, static_hw=None,
                check=True, check_image=None, check_sides=CHECK_SIDES, overwrite=True,
                infer_config=None) -> dict:
    """Export ``model`` (a TextSegModel or a checkpoint path) to ``out_path``.

    ``cfg`` is the model's merged config (read from the checkpoint when ``model`` is a
    path). ``infer_config``: a YAML config for the same method whose ``infer`` section
    (resize policy, decoder settings) replaces the model's in the exported metadata
    (:func:`textseg.config.with_infer`). ``check_image``: the page of the parity check (path or RGB uint8 array;
    default ``examples/page.jpg`` or a synthetic page) resized to the long sides
    ``check_sides``. ``static_hw``: fixed (H, W), multiples of 32. Returns a report dict
    (path, bytes, opset, precision, static_hw, seconds, parity rows).
    """
    t0 = time.perf_counter()
    model, cfg, name = _resolve(model, cfg)
    if infer_config is not None:
        from .config import with_infer

        cfg = with_infer(cfg, infer_config, owner="the checkpoint")
    opset = int(opset)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ExportError(f"opset {opset} is not supported; choose {MIN_OPSET}..{MAX_OPSET}")
    if static_hw is not None:
        static_hw = tuple(int(v) for v in static_hw)
        if len(static_hw) != 2 or min(static_hw) < 32 or any(v % 32 for v in static_hw):
            raise ExportError(f"static size must be height and width, multiples of 32, "
                              f"got {static_hw}")
    out_path = os.fspath(out_path)
    if os.path.isdir(out_path):
        raise ExportError(f"{out_path}: is a directory; give the ONNX file to write, e.g. "
                          f"{os.path.join(out_path, 'model.onnx')}")
    if not overwrite and os.path.lexists(out_path):
        raise ExportError(f"{out_path}: file exists (pass overwrite to replace it)")
    if static_hw is not None:  # the Detector then never feeds more than the graph takes
        cfg = copy.deepcopy(cfg)
        cfg["infer"]["resize"].update(policy="fixed", long_side=min(static_hw))

    proto = trace_to_onnx(model, opset=opset, fp16=fp16, static_hw=static_hw)
    prune_graph(proto)
    _set_metadata(proto, model, cfg, fp16, static_hw)
    import onnx

    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as e:  # onnx raises ValidationError / InferenceError
        raise ExportError(f"{name}: exported graph fails onnx.checker ({_first_line(e)})") from None
    try:
        data = proto.SerializeToString()
    except ValueError as e:  # protobuf's 2 GB limit
        raise ExportError(f"{name}: graph too large for one ONNX file ({_first_line(e)})") from None
    parity = check_parity(model, cfg, data, fp16=fp16, static_hw=static_hw,
                          image=check_image, sides=check_sides) if check else []
    from .fileio import atomic_write

    try:
        atomic_write(out_path, data, overwrite=overwrite)
    except FileExistsError:
        raise ExportError(f"{out_path}: file exists (pass overwrite to replace it)") from None
    except OSError as e:
        raise ExportError(f"{out_path}: cannot write ({e.strerror or e})") from None
    return {"path": out_path, "bytes": len(data), "opset": opset,
            "precision": "fp16" if fp16 else "fp32", "static_hw": static_hw,
            "seconds": time.perf_counter() - t0, "parity": parity}


def _resolve(model, cfg):
    """(TextSegModel on CPU in eval mode, config, name for messages)."""
    if isinstance(model, (str, os.PathLike)):
        from .checkpoint import load_checkpoint, load_weights
        from .config import load_config
        from .model import build_model

        path = os.fspath(model)
        ckpt = load_checkpoint(path)
        cfg = load_config(ckpt["config"]) if cfg is None else cfg
        model = build_model(cfg, load_pretrained=False)
        load_weights(model, ckpt["model"], path)
        return model.float().eval(), cfg, path
    if not isinstance(model, torch.nn.Module):
        raise ExportError(f"expected a TextSegModel or a checkpoint path, "
                          f"got {type(model).__name__}")
    if cfg is None:
        raise ExportError("export_onnx(model, ...) needs the model's config (cfg=...)")
    # a copy: the caller's model keeps its device, dtype and train/eval mode
    return copy.deepcopy(model).cpu().float().eval(), cfg, type(model).__name__


class _Graph(nn.Module):
    """What is traced: pad to a multiple of 32 (always, so any size works), run, crop the
    maps to the input (instance outputs, boxes (N, D, 4), scores (N, D) and masks
    (N, D, M, M), are not maps and stay whole)."""

    def __init__(self, model):
        super().__init__()
        self.m = model
        self.names = tuple(model.head.output_names)
        self.stride = int(model.head.stride)
        self.maps = getattr(model, "output_kind", "maps") == "maps"

    def forward(self, x):
        h, w = x.shape[-2:]  # traced as tensors: the pad and the crop stay dynamic
        x = F.pad(x, (0, (-w) % PAD_MULTIPLE, 0, (-h) % PAD_MULTIPLE))
        maps = self.m.forward_padded(x)  # one pad in the graph, not the model's second one
        if not self.maps:
            return tuple(maps[k] for k in self.names)
        s = self.stride
        oh, ow = (h + s - 1) // s, (w + s - 1) // s
        return tuple(maps[k][..., :oh, :ow] for k in self.names)


def trace_to_onnx(model, opset=MIN_OPSET, fp16=False, static_hw=None):
    """The traced graph (onnx.ModelProto) of an eval-mode CPU TextSegModel."""
    import onnx

    names = list(model.head.output_names)
    graph = _Graph(copy.deepcopy(model).half() if fp16 else model).eval()
    h, w = static_hw or (64, 96)
    dtype = torch.float16 if fp16 else torch.float32
    example = torch.zeros(1, 3, h, w, dtype=dtype)
    axes = {INPUT_NAME: {0: "batch"}, **{n: {0: "batch"} for n in names}}
    if static_hw is None:
        axes[INPUT_NAME].update({2: "height", 3: "width"})
        if graph.maps:  # instance outputs have a fixed number of detections and mask size
            for n in names:
                axes[n].update({2: "map_height", 3: "map_width"})
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # TracerWarnings about traced shape checks
            torch.onnx.export(graph, (example,), buf, dynamo=False, opset_version=opset,
                              input_names=[INPUT_NAME], output_names=names, dynamic_axes=axes,
                              do_constant_folding=True)
    except Exception as e:
        raise ExportError(f"torch.onnx.export failed ({_first_line(e)})") from None
    return onnx.load_from_string(buf.getvalue())


def prune_graph(proto):
    """Drop nodes no output depends on and initializers nothing reads (in place).

    Returns (nodes removed, initializers removed). onnxsim, when installed, is not used:
    constant folding in the exporter already leaves a lean graph.
    """
    g = proto.graph
    needed = {o.name for o in g.output}
    keep = []
    for node in reversed(g.node):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
            needed.update(_subgraph_reads(node))
    removed_nodes = len(g.node) - len(keep)
    if removed_nodes:
        del g.node[:]
        g.node.extend(reversed(keep))
    unused = [t for t in g.initializer if t.name not in needed]
    for t in unused:
        g.initializer.remove(t)
    dead_info = [v for v in g.value_info if v.name not in needed]
    for v in dead_info:
        g.value_info.remove(v)
    return removed_nodes, len(unused)


def _subgraph_reads(node):
    """Names that If/Loop/Scan bodies of ``node`` read from the enclosing graph."""
    names = set()
    for attr in node.attribute:
        for sub in list(attr.g.node if attr.HasField("g") else []) + \
                [n for gr in attr.graphs for n in gr.node]:
            names.update(i for i in sub.input if i)
            names.update(_subgraph_reads(sub))
    return names


def _set_metadata(proto, model, cfg, fp16, static_hw):
    from .config import to_plain
    from .data.images import IMAGENET_MEAN, IMAGENET_STD

    plain = to_plain(cfg)
    m = plain["model"]
    meta = {
        ONNX_CONFIG_KEY: json.dumps(plain, sort_keys=True),
        "textseg.version": __version__,
        "textseg.method": m["head"]["method"],
        "textseg.backbone": m["backbone"]["name"],
        "textseg.trunk": m["trunk"]["name"],
        "textseg.output_stride": str(int(model.head.stride)),
        "textseg.output_names": json.dumps(list(model.head.output_names)),
        "textseg.decode": json.dumps(plain["infer"]["decode"], sort_keys=True),
        "textseg.resize": json.dumps(plain["infer"]["resize"], sort_keys=True),
        "textseg.input": (f"{INPUT_NAME}: ({'float16' if fp16 else 'float32'}) N x 3 x H x W, "
                          "RGB / 255, minus input_mean, divided by input_std"),
        "textseg.input_mean": json.dumps(list(IMAGENET_MEAN)),
        "textseg.input_std": json.dumps(list(IMAGENET_STD)),
        "textseg.precision": "fp16" if fp16 else "fp32",
    }
    if static_hw is not None:
        meta["textseg.static_hw"] = json.dumps(list(static_hw))
    del proto.metadata_props[:]
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    proto.producer_name, proto.producer_version = "textseg", __version__
    proto.doc_string = (f"textseg {m['head']['method']} on {m['trunk']['name']}/"
                        f"{m['backbone']['name']}; config in metadata '{ONNX_CONFIG_KEY}'")


# ----------------------------------------------------------------------------- parity

def check_parity(model, cfg, onnx_bytes, fp16=False, static_hw=None, image=None,
                 sides=CHECK_SIDES):
    """Run PyTorch and onnxruntime on the same page; raise ExportError if they disagree.

    Dynamic graphs: the page at long sides ``sides`` with the Detector's
    preprocessing (resize, normalise, pad to 32), plus the last size unpadded (the graph
    pads itself). Static graphs: the page resized to exactly ``static_hw``. Maps must agree
    to :data:`TOLERANCES` (relative to max(1, max |map|): absolute for probabilities,
    relative for geometry in pixels) and the decoded polygons must pair up one to one
    within the tolerance's pixel distance (symmetric Hausdorff). Returns one row per case.
    """
    import onnxruntime as ort

    precision = "fp16" if fp16 else "fp32"
    map_tol, px_tol, unmatched_frac = TOLERANCES[precision]
    try:
        sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise ExportError(f"onnxruntime cannot load the exported graph "
                          f"({_first_line(e)})") from None
    ref = Detector(cfg, TorchBackend(model))
    ort_backend = OnnxBackend(sess)
    page = _check_page(image)
    rows = []
    for case, x, (nh, nw) in _cases(ref, page, static_hw, sides):
        maps_t, maps_o = ref.backend(x), _run(ort_backend, x, case)
        row = {"case": case, "input": list(x.shape[2:])}
        for k in model.head.output_names:
            if k not in maps_o or maps_o[k].shape != maps_t[k].shape:
                got = maps_o[k].shape if k in maps_o else "missing"
                raise ExportError(f"parity ({case}): map {k!r} is {got} in onnxruntime, "
                                  f"{maps_t[k].shape} in PyTorch")
            scale = max(1.0, float(np.abs(maps_t[k]).max()))
            err = float(np.abs(maps_t[k] - maps_o[k]).max()) / scale
            row[f"err_{k}"] = err
            if not err <= map_tol:  # also catches NaN
                raise ExportError(f"parity ({case}): map {k!r} differs by {err:.3g} "
                                  f"(relative, {precision} tolerance {map_tol:g})")
        if ref.output_kind == "maps":  # the image's part of the maps
            s = ref.decode_cfg["stride"]
            hh, ww = -(-nh // s), -(-nw // s)
            crop = (slice(None), slice(None, hh), slice(None, ww))
        else:  # instances: boxes, scores and masks of the whole input
            crop = ()
        dets = [ref.decoder({k: v[0][crop] for k, v in maps.items()}, ref.decode_cfg)
                for maps in (maps_t, maps_o)]
        res = match_detections(dets[0], dets[1], px_tol)
        row.update(polygons=len(dets[0]), onnx_polygons=len(dets[1]), max_px=res["max_dist"])
        allowed = int(np.ceil(unmatched_frac * len(dets[0])))
        if res["unmatched_ref"] > allowed or res["unmatched_other"] > allowed:
            raise ExportError(
                f"parity ({case}): decoded polygons differ: PyTorch {len(dets[0])}, onnxruntime "
                f"{len(dets[1])}, {res['unmatched_ref']} + {res['unmatched_other']} without a "
                f"partner within {px_tol:g} px ({precision}, {allowed} allowed)")
        rows.append(row)
    return rows


def _run(backend, x, case):
    try:
        return backend(x)
    except Exception as e:
        raise ExportError(f"parity ({case}): onnxruntime failed on input {tuple(x.shape)} "
                          f"({_first_line(e)})") from None


def _cases(det, page, static_hw, sides):
    """(name, batch (1, 3, H, W) float32, network size before padding)."""
    import cv2

    from .data.images import normalize

    if static_hw is not None:
        h, w = static_hw
        img = cv2.resize(page, (w, h), interpolation=cv2.INTER_AREA)
        return [(f"static {h}x{w}", normalize(img)[None], (h, w))]
    out = []
    for side in tuple(sides) or CHECK_SIDES:
        det.resize.update(policy="fixed", long_side=side)
        x, hw = det.preprocess(page)
        out.append((f"{hw[0]}x{hw[1]} padded", det._pad_batch([x]), hw))
    out.append((f"{hw[0]}x{hw[1]} unpadded", x[None], hw))
    return out


def _check_page(image):
    """RGB uint8 page: ``image`` (array or path), examples/page.jpg, or a synthetic page."""
    if image is None and os.path.isfile(EXAMPLE_PAGE):
        image = EXAMPLE_PAGE
    if image is None:
        return synthetic_page()
    if isinstance(image, (str, os.PathLike)):
        from .data.images import load_image

        return load_image(os.fspath(image))
    return np.ascontiguousarray(image)


def synthetic_page(h=880, w=680, seed=0):
    """A white page with lines of black words (a stand-in when no example page exists)."""
    import cv2

    rng = np.random.default_rng(seed)
    page = np.full((h, w, 3), 250, np.uint8)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    y = 60
    while y < h - 40:
        scale = float(rng.uniform(0.5, 1.2))
        x = 40
        while x < w - 80:
            word = "".join(rng.choice(letters, int(rng.integers(2, 9))))
            (tw, th), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
            if x + tw > w - 40:
                break
            cv2.putText(page, word, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 2,
                        cv2.LINE_AA)
            x += tw + int(rng.integers(10, 25))
        y += int(40 * scale + rng.integers(10, 30))
    return page


def match_detections(ref, other, tol):
    """Pair polygons of two detection lists one to one within ``tol`` px.

    The distance is the symmetric Hausdorff distance of the outlines (so vertex order and
    count do not matter). Returns dict(matched, unmatched_ref, unmatched_other, max_dist).
    """
    import shapely

    boxes = [np.array([[*np.min(p, 0), *np.max(p, 0)] for p, _ in d], np.float64).reshape(-1, 4)
             for d in (ref, other)]
    rings = [np.array([shapely.LineString(np.vstack([p, p[:1]]).astype(np.float64)) for p, _ in d],
                      dtype=object) for d in (ref, other)]
    used = np.zeros(len(other), bool)
    matched, worst = 0, 0.0
    for i in range(len(ref)):
        # Hausdorff <= tol implies every bounding-box side moves by <= tol: cheap prefilter
        near = np.nonzero((np.abs(boxes[1] - boxes[0][i]).max(axis=1) <= tol) & ~used)[0]
        if not len(near):
            continue
        d = shapely.hausdorff_distance(rings[0][i], rings[1][near], densify=0.25)
        j = int(np.argmin(d))
        if d[j] <= tol:
            used[near[j]] = True
            matched += 1
            worst = max(worst, float(d[j]))
    return {"matched": matched, "unmatched_ref": len(ref) - matched,
            "unmatched_other": len(other) - matched, "max_dist": worst}


def _first_line(e):
    text = str(e).strip()
    return (text.splitlines()[0] if text else type(e).__name__)[:200]
