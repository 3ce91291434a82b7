"""Detector: preprocess -> forward (PyTorch or onnxruntime) -> numpy decode -> polygons.

:meth:`Detector.load` is the one entry point for inference: a model file (or the shipped
default) and its inference settings (a config's ``infer`` section, decoder options, input
cap), validated by the config loader once, before the first image.

Importing this module does not import torch: :meth:`Detector.from_onnx` runs where only
numpy, OpenCV, pyclipper, shapely and onnxruntime are installed.
"""

import json
import math
import os
import re
import time
import warnings
from typing import Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np

from .data.images import normalize
from .errors import ConfigError, ModelError
from .geometry import pad_detections
from .scale import (GLYPH_PROBE_SIDE, MIN_GLYPH_PX, READ_GLYPH_PX, TILE_GLYPH_PX,  # noqa: F401
                    content_box, glyph_height, input_size, page_size)
from .methods import MethodSpec, decode_config, spec
from .types import Detection, ImageInput, Maps

#: where the shipped default model lives inside the package
DEFAULT_MODEL_DIR = os.path.join(os.path.dirname(__file__), "weights")
#: the shipped model, first found wins: int8 (the default), fp32 ONNX, fp16 training weights
DEFAULT_MODEL_NAMES = ("default.int8.onnx", "default.onnx", "default.pt")
#: ``model`` names for the shipped models: the int8 default, its fp32 original, and the
#: int8 fast variant (fast stem, 1x1 FPN fusion; docs/default-model.md "The fast variant")
DEFAULT_ALIASES = {"default": None, "default-int8": "default.int8.onnx",
                   "default-fp32": "default.onnx", "fast": "fast.int8.onnx"}

#: key of the ONNX metadata entry that carries the model's config (JSON)
ONNX_CONFIG_KEY = "textseg.config"


# ----------------------------------------------------------------------------- backends

class TorchBackend:
    """Runs a TextSegModel; maps come back as numpy float32."""

    name = "torch"

    def __init__(self, model, device="cpu"):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    def __call__(self, x: np.ndarray) -> Maps:
        torch = self.torch
        with torch.inference_mode():
            out = self.model(torch.from_numpy(x).to(self.device))
        return {k: v.float().cpu().numpy() for k, v in out.items()}


class OnnxBackend:
    """Runs an exported graph with onnxruntime."""

    name = "onnxruntime"

    def __init__(self, session):
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.output_names = [o.name for o in session.get_outputs()]
        self.half = "float16" in session.get_inputs()[0].type
        hw = session.get_inputs()[0].shape[2:]
        self.static_hw = tuple(hw) if all(isinstance(v, int) for v in hw) else None

    def __call__(self, x: np.ndarray) -> Maps:
        if self.static_hw and tuple(x.shape[2:]) != self.static_hw:
            H, W = self.static_hw
            if x.shape[2] > H or x.shape[3] > W:
                raise ModelError(f"network input {x.shape[2]}x{x.shape[3]} exceeds the model's "
                                 f"static size {H}x{W}")
            x = np.pad(x, ((0, 0), (0, 0), (0, H - x.shape[2]), (0, W - x.shape[3])))
        if self.half:
            x = x.astype(np.float16)
        outs = self.session.run(self.output_names, {self.input_name: x})
        return {k: np.asarray(v, dtype=np.float32) for k, v in zip(self.output_names, outs)}


# ----------------------------------------------------------------------------- detector

class Detector:
    """Finds text in images. ``detector(image)`` -> list of (polygon float32 (N, 2), score).

    ``image`` is an RGB uint8 array (H, W, 3) (grayscale (H, W) is accepted) or a path.
    Polygons are in input-image pixels, clockwise from the top-left point. Make one with
    :meth:`load` (or :meth:`from_model` for a model in memory).
    """

    def __init__(self, cfg: dict, backend, name: str = "model",
                 decode_overrides: Optional[dict] = None,
                 resize_overrides: Optional[dict] = None):
        self.cfg = cfg
        self.backend = backend
        self.name = name
        self.method = cfg["model"]["head"]["method"]
        self.spec: MethodSpec = spec(self.method)
        self.decoder = self.spec.decode
        # "maps": (C, h, w) per image, cropped to the image; "instances": fixed-size lists
        self.output_kind = self.spec.output_kind
        self.decode_cfg = decode_config(cfg)
        self.decode_cfg.update(decode_overrides or {})
        self.resize = dict(cfg["infer"]["resize"])
        self.resize.update(resize_overrides or {})
        self.tile = tile_config(cfg)
        self.pad = float(cfg["infer"].get("pad", 0.0))
        self.line_score = float(cfg["infer"].get("line_score", 0.0))
        self.timings = {"preprocess": 0.0, "network": 0.0, "decode": 0.0, "images": 0,
                        "tiles": 0}

    # -- constructors
    @classmethod
    def load(cls, model: Union[str, os.PathLike, None] = None,
             config: Union[str, os.PathLike, dict, None] = None,
             decode: Union[Mapping[str, object], Iterable[str], None] = None,
             max_side: Optional[int] = None, device: Optional[str] = None,
             threads: Optional[int] = None, threshold: Optional[float] = None) -> "Detector":
        """A detector with its inference settings, all checked here, before the first image.

        ``model``: a checkpoint (``.pt``) or ONNX file; None or ``"default"``: the shipped
        model. ``config``: a YAML config for the same method whose ``infer`` section
        (resize policy, decoder settings) replaces the model's. Then, on top:
        ``decode``: decoder options, a mapping or ``"KEY=VALUE"`` strings (``infer.decode.KEY``);
        ``threshold``: the method's main threshold (``spec.threshold_key``); ``max_side``:
        the cap of the network input's long side (``infer.resize.max_side``).
        ``device``: ``"cpu"`` (default) or ``"cuda"``; ``threads``: CPU threads of the
        network. A bad key or value raises :class:`~textseg.errors.ConfigError` naming it.
        """
        device = check_device(device)
        if threads is not None and (isinstance(threads, bool) or threads < 1
                                    or not isinstance(threads, (int, np.integer))):
            raise ConfigError(f"threads: {threads!r} is out of range; expected a whole number "
                              ">= 1", key="threads")
        if model is None or model == "default":
            det = cls.default(device=device, threads=threads)
        elif model in DEFAULT_ALIASES:
            path = default_model_path(model)
            if path is None:
                raise ModelError(f"{model}: {DEFAULT_ALIASES[model]} is not installed in "
                                 f"{DEFAULT_MODEL_DIR}")
            det = cls.from_onnx(path, threads=threads, device=device, name=f"textseg-{model}")
        else:
            det = cls.from_file(os.fspath(model), device=device, threads=threads)
        overrides = infer_overrides(det.spec, decode, threshold, max_side)
        if config is not None or overrides:
            det.set_infer(config, overrides)
        return det

    @classmethod
    def from_model(cls, model, cfg: dict, device="cpu", **kw) -> "Detector":
        return cls(cfg, TorchBackend(model, device), **kw)

    @classmethod
    def from_checkpoint(cls, path: str, device="cpu", threads: Optional[int] = None,
                        **kw) -> "Detector":
        """``threads``: CPU threads of torch (process-wide: torch has no per-model setting)."""
        from .checkpoint import CheckpointError, load_checkpoint, load_weights
        from .config import ConfigError, load_config
        from .model import build_model

        check_torch_device(device)
        ckpt = load_checkpoint(path)
        try:
            cfg = load_config(ckpt["config"])
        except ConfigError as e:  # e.g. written by a newer textseg with options we lack
            raise CheckpointError(f"{path}: the config stored in the checkpoint is not "
                                  f"valid here: {e}") from None
        model = build_model(cfg, load_pretrained=False)  # weights come from the checkpoint
        load_weights(model, ckpt["model"], path)
        if threads:
            import torch

            torch.set_num_threads(int(threads))
        kw.setdefault("name", os.path.basename(path))
        return cls(cfg, TorchBackend(model, device), **kw)

    @classmethod
    def from_onnx(cls, path: str, providers: Optional[Sequence[str]] = None,
                  threads: Optional[int] = None, device: Optional[str] = None,
                  **kw) -> "Detector":
        """``device``: ``"cpu"`` (default) or ``"cuda[:N]"`` (onnxruntime's CUDA provider,
        refused with a message when this onnxruntime has none); ``providers`` overrides it."""
        try:
            import onnxruntime as ort
        except ImportError:  # pragma: no cover - onnxruntime is a dependency
            raise ModelError(f"{path}: onnxruntime is not installed (pip install onnxruntime)")
        if not os.path.isfile(path):
            raise ModelError(f"{path}: model file not found")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        want_cuda = not providers and check_device(device).startswith("cuda")
        if not providers:
            providers = _onnx_providers(ort, check_device(device))
        try:
            sess = ort.InferenceSession(path, opts, providers=providers)
        except Exception as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(f"{path}: not a loadable ONNX model ({first[:160]})") from None
        if want_cuda and "CUDAExecutionProvider" not in sess.get_providers():
            raise ModelError(f"device {device!r}: onnxruntime's CUDA provider did not start "
                             "(CUDA or cuDNN libraries missing?); use device cpu")
        meta = sess.get_modelmeta().custom_metadata_map
        if ONNX_CONFIG_KEY not in meta:
            raise ModelError(f"{path}: ONNX model has no textseg metadata; export it with "
                             f"tools/export_onnx.py")
        try:
            cfg = json.loads(meta[ONNX_CONFIG_KEY])
            spec(cfg["model"]["head"]["method"])
            dict(cfg["infer"]["resize"])
        except (ValueError, TypeError, KeyError) as e:  # hand-edited or foreign metadata
            raise ModelError(f"{path}: damaged textseg metadata ({type(e).__name__}: "
                             f"{str(e).splitlines()[0][:120] if str(e) else ''})") from None
        inputs = sess.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ModelError(f"{path}: expected one (N, 3, H, W) image input, got "
                             f"{[(i.name, i.shape) for i in inputs]}")
        kw.setdefault("name", os.path.basename(path))
        return cls(cfg, OnnxBackend(sess), **kw)

    @classmethod
    def from_file(cls, path: str, device="cpu", threads: Optional[int] = None,
                  **kw) -> "Detector":
        """A ``.onnx`` file or a checkpoint, by extension. ``threads``: CPU threads."""
        if str(path).lower().endswith(".onnx"):
            return cls.from_onnx(path, threads=threads, device=device, **kw)
        return cls.from_checkpoint(path, device=device, threads=threads, **kw)

    @classmethod
    def default(cls, device="cpu", threads: Optional[int] = None, **kw) -> "Detector":
        """The shipped document model (words, ICDAR convention). ``threads``: CPU threads
        of onnxruntime (for a ``.pt`` default model: of torch, process-wide)."""
        path = default_model_path()
        if path is None:
            raise ModelError("the default model is not installed in this copy of textseg "
                             f"(looked for {', '.join(DEFAULT_MODEL_NAMES)} in {DEFAULT_MODEL_DIR}); "
                             "pass --model PATH to use your own checkpoint or ONNX file")
        kw.setdefault("name", "textseg-default")
        if path.endswith(".onnx"):
            return cls.from_onnx(path, threads=threads, device=device, **kw)
        return cls.from_checkpoint(path, device=device, threads=threads, **kw)

    def set_infer(self, config=None, overrides: Sequence[str] = ()) -> "Detector":
        """Replace the inference settings: the ``infer`` section of ``config`` (a YAML path
        or dict for the model's method) in place of the model's, then the ``infer.*``
        ``overrides`` (``"infer.decode.box_thresh=0.9"``); validated by the config loader
        (:func:`textseg.config.with_infer`, the one place that does this)."""
        from .config import with_infer

        self.cfg = with_infer(self.cfg, config, overrides)
        self.resize = dict(self.cfg["infer"]["resize"])
        self.tile = tile_config(self.cfg)
        self.decode_cfg = decode_config(self.cfg)
        self.pad = float(self.cfg["infer"].get("pad", 0.0))
        self.line_score = float(self.cfg["infer"].get("line_score", 0.0))
        return self

    def use_infer_config(self, path) -> "Detector":
        """Take the ``infer`` section of the config file ``path`` in place of the model's."""
        return self.set_infer(config=path)

    # -- preprocessing
    def input_size(self, h: int, w: int) -> tuple:
        """Network input size (before padding) for an image of h x w."""
        return input_size(h, w, self.resize)

    def image_size(self, image) -> tuple:
        """Network input size (before padding) for this image (:func:`page_size`)."""
        return page_size(image, self.resize)

    def _crop_box(self, image):
        """``infer.resize.crop_margins``: the page's content box (:func:`content_box`), or
        None (off, or not worth it)."""
        if not self.resize.get("crop_margins"):
            return None
        return content_box(image)

    def preprocess(self, image, crop=None, size=None):
        """RGB uint8 -> normalised float32 (3, H', W') at the network size, and (h', w').
        ``crop`` ``(x0, y0, x1, y1)``: only that part, at the scale the whole page gets.
        ``size``: the whole page's network size, when already known (:meth:`image_size`)."""
        image, nhw = self._resized(image, crop, size)
        return normalize(image), nhw

    def _resized(self, image, crop=None, size=None):
        """:meth:`preprocess` before normalising: the RGB uint8 image at the network size."""
        import cv2

        h, w = image.shape[:2]
        nh, nw = self.image_size(image) if size is None else size
        if crop is not None:
            x0, y0, x1, y1 = crop
            sy, sx = nh / h, nw / w
            image = image[y0:y1, x0:x1]
            h, w = image.shape[:2]
            nh, nw = max(1, round(h * sy)), max(1, round(w * sx))
        if (nh, nw) != (h, w):
            interp = cv2.INTER_AREA if nh < h else cv2.INTER_LINEAR
            image = cv2.resize(image, (nw, nh), interpolation=interp)
        return image, (nh, nw)

    def _warn_if_text_shrunk(self, image, nhw):
        """A :class:`TextTooSmallWarning` when the long-side cap (``max_side``) shrinks the
        page's text below what the model reads (its glyphs under :data:`MIN_GLYPH_PX`)."""
        h, w = image.shape[:2]
        s = nhw[0] / h
        if self.resize.get("policy") != "document" or max(h, w) <= self.resize["max_side"]:
            return
        glyph = glyph_height(image, scale=min(1.0, 4 * s))
        if glyph is None or glyph * s >= MIN_GLYPH_PX:
            return
        need = min(max(h, w), math.ceil(max(h, w) * READ_GLYPH_PX / glyph / 32) * 32)
        warnings.warn(TextTooSmallWarning(
            f"the long-side cap (max_side {self.resize['max_side']}) shrinks this {w}x{h} "
            f"image to {nhw[1]}x{nhw[0]}: its text (glyphs about {glyph:.0f} px high) becomes "
            f"about {glyph * s:.0f} px, below the {MIN_GLYPH_PX} px the model reads, and is "
            f"lost; max_side {need} (--max-side) keeps it, at more memory and time"),
            stacklevel=3)

    def _pad_batch(self, arrays):
        """Normalised (3, h, w) arrays -> one zero-padded float32 batch (N, 3, H, W), H and W
        multiples of ``infer.resize.multiple``."""
        batch = self._zeros([a.shape[1:] for a in arrays])
        for i, a in enumerate(arrays):
            batch[i, :, :a.shape[1], :a.shape[2]] = a
        return batch

    def _zeros(self, sizes):
        m = int(self.resize.get("multiple", 32))
        H = -(-max(h for h, _ in sizes) // m) * m
        W = -(-max(w for _, w in sizes) // m) * m
        return np.zeros((len(sizes), 3, H, W), np.float32)

    def _normalized_batch(self, images):
        """RGB uint8 images at their network sizes -> the padded batch, each normalised
        straight into its place (no second copy)."""
        batch = self._zeros([im.shape[:2] for im in images])
        for i, im in enumerate(images):
            normalize(im, out=batch[i])
        return batch

    # -- running
    def __call__(self, image: ImageInput, level: str = "word", pad: bool = True) -> List[Detection]:
        return self.batch([image], level=level, pad=pad)[0]

    def batch(self, images: Sequence[ImageInput], level: str = "word",
              pad: bool = True) -> List[List[Detection]]:
        """Detect text in several images at once (padded to a common size).

        ``pad``: grow the boxes by ``infer.pad`` (:func:`textseg.geometry.pad_across`;
        lines are grouped from the decoder's boxes first); ``False``: the decoder's boxes,
        which are what the page layout groups (:func:`textseg.pipeline.page_result` pads
        its words and lines itself)."""
        if level not in ("word", "line"):
            raise ValueError(f"level must be 'word' or 'line', not {level!r}")
        images = [_as_rgb(im) for im in images]
        plans = [self.tile_plan(*im.shape[:2], image=im) for im in images]
        tiled = [p is not None for p in plans]
        if any(tiled):  # large pages one by one as tiles; the others batched together
            rest = [im for im, t in zip(images, tiled) if not t]
            done = iter(self.batch(rest, level=level, pad=pad) if rest else [])
            return [self.detect_tiled(im, level=level, plan=p, pad=pad) if p is not None
                    else next(done) for im, p in zip(images, plans)]
        t0 = time.perf_counter()
        sizes = [self.image_size(im) for im in images]  # the whole page's scale
        for im, nhw in zip(images, sizes):
            self._warn_if_text_shrunk(im, nhw)
        crops = [self._crop_box(im) for im in images]
        pre = [self._resized(im, crop=c, size=nhw) for im, c, nhw in zip(images, crops, sizes)]
        pages = images  # whole pages (their sizes frame the layout of line segments)
        images = [im if c is None else im[c[1]:c[3], c[0]:c[2]] for im, c in zip(images, crops)]
        x = self._normalized_batch([p[0] for p in pre])
        t1 = time.perf_counter()
        maps = self.backend(x)
        t2 = time.perf_counter()
        stride = self.decode_cfg["stride"]
        results = []
        for i, (im, (_, (nh, nw))) in enumerate(zip(images, pre)):
            hh, ww = -(-nh // stride), -(-nw // stride)
            if self.output_kind == "maps":
                one = {k: v[i, :, :hh, :ww] for k, v in maps.items()}
            else:
                one = {k: v[i] for k, v in maps.items()}
            dets = self.decoder(one, self.decode_cfg)
            dets = rescale(dets, im.shape[0] / nh, im.shape[1] / nw, im.shape[:2])
            if crops[i] is not None:  # back into the frame of the whole page
                shift = np.array(crops[i][:2], np.float32)
                dets = [(p + shift, sc) for p, sc in dets]
            results.append(self._finish(dets, pages[i], level, pad))
        t3 = time.perf_counter()
        tm = self.timings
        tm["preprocess"] += t1 - t0
        tm["network"] += t2 - t1
        tm["decode"] += t3 - t2
        tm["images"] += len(images)
        return results

    def line_options(self):
        """The options this model gives :func:`textseg.layout.segment_lines` (its
        ``infer.line_score`` as ``min_score``), or None."""
        return {"min_score": self.line_score} if self.line_score else None

    def _finish(self, dets, image, level, pad):
        """The decoder's words of one page (input-image pixels) as ``level`` asks: words,
        padded by ``infer.pad`` when ``pad``; or line segments, which are the page layout's
        lines (:func:`textseg.layout.analyze`: segments, measured in README "Page layout",
        grown along their own direction after grouping). The layout is built from the
        boxes alone: the page's axis and skew come from the words, and it is read upright.
        ``tools/detect.py`` also reads the ink for the page's orientation (70-90 ms a page),
        which matters on pages turned sideways or upside down (the order and start point
        of their lines; ``--orientation`` detects such pages again, upright). Drawn rules
        (table and form cells) are read from the image: no line crosses one."""
        if level == "line":
            from .layout import analyze

            h, w = image.shape[:2]
            lay = analyze(dets, None, size=(w, h), drop_marks=True,
                          pad=self.pad if pad else 0.0, line_options=self.line_options(),
                          rules=image)
            return lay.detections("line")
        if pad and self.pad:
            dets = pad_detections(dets, self.pad)
        return dets

    # -- large pages as tiles
    def tile_plan(self, h: int, w: int, image=None) -> Optional[tuple]:
        """``(nh, nw)``, the network-input size at which an h x w image is cut into tiles
        (the resize policy's scale without the long-side cap), or None when it runs whole.
        ``infer.tile.enabled``: ``auto`` tiles when the cap (``max_side``) would shrink
        the image and, given ``image``, only when that shrinks its text below
        :data:`READ_GLYPH_PX` (a 600-DPI receipt's large type reads fine capped, at a
        fraction of the cost); then at the scale that brings the glyphs to
        :data:`TILE_GLYPH_PX`, never above the policy's own. ``true`` tiles whenever the
        page is larger than one tile; ``false`` never."""
        enabled = self.tile["enabled"]
        if enabled is False:
            return None
        nh, nw = input_size(h, w, {**self.resize, "max_side": math.inf})
        size = self.tile_size()
        if enabled != "auto":
            return (nh, nw) if max(nh, nw) > size else None
        cap = float(self.resize["max_side"])
        if max(nh, nw) <= cap:
            return None
        if image is None:
            return nh, nw
        s_cap = cap / max(h, w)
        glyph = glyph_height(image, scale=min(1.0, 2 * s_cap))
        if glyph is None or glyph * s_cap >= READ_GLYPH_PX:
            return None  # the capped page keeps its text readable: no tiles
        s = max(s_cap, min(nh / h, TILE_GLYPH_PX / glyph))
        th, tw = max(1, int(round(h * s))), max(1, int(round(w * s)))
        return (th, tw) if max(th, tw) > cap else None

    def tile_size(self) -> int:
        """The tile side, no larger than a static-shape ONNX model's input."""
        size = int(self.tile["size"])
        static = getattr(self.backend, "static_hw", None)
        if static:
            size = min(size, *static)
        return size

    def detect_tiled(self, image, level: str = "word", plan: Optional[tuple] = None,
                     pad: bool = True) -> List[Detection]:
        """Detections of one large image cut into overlapping tiles (``infer.tile``) at the
        resize policy's scale without the long-side cap: each tile runs through the network
        and the decoder alone (memory is that of one tile), and the tiles' detections are
        merged (:func:`textseg.tiles.merge`: each word once, whole)."""
        import cv2

        from . import tiles

        t0 = time.perf_counter()
        image = _as_rgb(image)
        h, w = image.shape[:2]
        nh, nw = plan or self.tile_plan(h, w) or input_size(h, w, {**self.resize, "max_side": math.inf})
        size = self.tile_size()
        overlap = min(int(self.tile["overlap"]), size // 2)  # a static model's smaller tile
        scaled = image
        if (nh, nw) != (h, w):
            interp = cv2.INTER_AREA if nh < h else cv2.INTER_LINEAR
            scaled = cv2.resize(image, (nw, nh), interpolation=interp)
        stride = self.decode_cfg["stride"]
        rects = tiles.grid(nh, nw, size, overlap)
        per_tile = []
        tm = self.timings
        t_net = t_dec = 0.0
        for x0, y0, x1, y1 in rects:
            x = self._normalized_batch([scaled[y0:y1, x0:x1]])
            b = time.perf_counter()
            maps = self.backend(x)
            c = time.perf_counter()
            hh, ww = -(-(y1 - y0) // stride), -(-(x1 - x0) // stride)
            if self.output_kind == "maps":
                one = {k: v[0, :, :hh, :ww] for k, v in maps.items()}
            else:
                one = {k: v[0] for k, v in maps.items()}
            del maps, x
            offset = np.array([x0, y0], np.float32)
            per_tile.append([(np.asarray(p, np.float32).reshape(-1, 2) + offset, s)
                             for p, s in self.decoder(one, self.decode_cfg)])
            t_net += c - b
            t_dec += time.perf_counter() - c
        a = time.perf_counter()
        dets = tiles.merge(per_tile, rects, (nh, nw), margin=8 + 2 * stride)
        dets = rescale(dets, h / nh, w / nw, (h, w))
        dets = self._finish(dets, image, level, pad)
        t_dec += time.perf_counter() - a
        tm["network"] += t_net
        tm["decode"] += t_dec
        tm["preprocess"] += time.perf_counter() - t0 - t_net - t_dec
        tm["images"] += 1
        tm["tiles"] += len(rects)
        return dets


class TextTooSmallWarning(UserWarning):
    """The long-side cap shrank a page's text below what the model reads."""


def infer_overrides(method: MethodSpec, decode=None, threshold=None, max_side=None) -> list:
    """``infer.*`` override strings for the config loader from :meth:`Detector.load`'s
    ``decode`` (a mapping or ``"KEY=VALUE"`` strings), ``threshold`` and ``max_side``."""
    out = []
    if threshold is not None:
        if method.threshold_key is None:
            raise ConfigError(f"threshold: method {method.name!r} names no main threshold; "
                              f"set one of its decoder options instead")
        try:
            t = float(threshold)
        except (TypeError, ValueError):
            t = math.nan
        if not 0.0 <= t <= 1.0:  # also nan
            raise ConfigError(f"threshold: {threshold!r} is out of range; expected a score "
                              "from 0 to 1", key="threshold")
        out.append(f"infer.decode.{method.threshold_key}={threshold}")
    if isinstance(decode, Mapping):
        out += [f"infer.decode.{k}={json.dumps(v)}" for k, v in decode.items()]
    else:
        for item in decode or ():
            key, sep, value = str(item).partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"decoder option {item!r}: expected KEY=VALUE, e.g. "
                                  f"{method.threshold_key or 'KEY'}=0.5")
            out.append(f"infer.decode.{key.strip()}={value.strip()}")
    if max_side is not None:
        out.append(f"infer.resize.max_side={max_side}")
    return out


def check_device(device) -> str:
    """``device`` (None: ``"cpu"``) if it names one a detector can run on: ``cpu``, ``cuda``
    or ``cuda:N``; else a :class:`ConfigError` that lists those."""
    device = "cpu" if device is None else str(device).strip().lower()
    if not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise ConfigError(f"device {device!r} is not supported; choose cpu, cuda or cuda:N",
                          key="device")
    return device


def check_torch_device(device) -> None:
    """Refuse a CUDA ``device`` that this PyTorch cannot use, saying what is available."""
    device = check_device(device)
    if not device.startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        why = ("this PyTorch is built without CUDA" if torch.version.cuda is None
               else "no CUDA GPU is visible to PyTorch")
        raise ModelError(f"device {device!r}: {why} ({torch.__version__}); available: cpu")
    n = torch.cuda.device_count()
    index = int(device.partition(":")[2] or 0)
    if index >= n:
        raise ModelError(f"device {device!r}: there are {n} CUDA device(s); available: cpu, "
                         + ", ".join(f"cuda:{i}" for i in range(n)))


def _onnx_providers(ort, device):
    """onnxruntime providers for ``device``; CUDA only when this onnxruntime has it."""
    if not device.startswith("cuda"):
        return ["CPUExecutionProvider"]
    available = ort.get_available_providers()
    if "CUDAExecutionProvider" not in available:
        raise ModelError(f"device {device!r}: this onnxruntime has no CUDA provider (it has "
                         f"{', '.join(available)}); install onnxruntime-gpu, or use device cpu")
    index = device.partition(":")[2]
    cuda = ("CUDAExecutionProvider", {"device_id": int(index)}) if index else "CUDAExecutionProvider"
    return [cuda, "CPUExecutionProvider"]


def rescale(dets: List[Detection], sy: float, sx: float, hw) -> List[Detection]:
    """Polygons from network-input pixels to image pixels, clipped to the image."""
    if not dets:
        return []
    h, w = hw
    polys = [np.asarray(poly, np.float32).reshape(-1, 2) for poly, _ in dets]
    pts = np.concatenate(polys) * np.array([sx, sy], np.float32)
    np.clip(pts, 0, np.array([w - 1, h - 1], np.float32), out=pts)
    pieces = np.split(pts, np.cumsum([len(p) for p in polys])[:-1])
    return [(p, float(score)) for p, (_, score) in zip(pieces, dets)]


def _as_rgb(image):
    if isinstance(image, (str, os.PathLike)):
        from .data.images import load_image

        return load_image(str(image))
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {a.shape}")
    if a.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {a.dtype}")
    if a.shape[2] == 4:  # composited on white, as RGBA files are (images.to_rgb)
        alpha = a[:, :, 3:4].astype(np.uint16)
        a = ((a[:, :, :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    return a


def tile_config(cfg: Mapping) -> dict:
    """The ``infer.tile`` section of a config (the loader's defaults where a model's stored
    config predates it), its overlap checked against its size."""
    from .tiles import TILE_DEFAULTS, check

    tile = {**TILE_DEFAULTS, **dict(cfg.get("infer", {}).get("tile") or {})}
    check(int(tile["size"]), int(tile["overlap"]))
    return tile


def default_model_path(which: str = "default") -> Optional[str]:
    """The shipped model's file: ``default`` (int8 where installed, else fp32, else the
    training weights), ``default-int8``, ``default-fp32`` (``fp32``) or ``fast`` (the int8
    fast variant); None if missing."""
    if which == "fp32":
        which = "default-fp32"
    if DEFAULT_ALIASES.get(which):
        p = os.path.join(DEFAULT_MODEL_DIR, DEFAULT_ALIASES[which])
        return p if os.path.isfile(p) else None
    for name in DEFAULT_MODEL_NAMES:
        p = os.path.join(DEFAULT_MODEL_DIR, name)
        if os.path.isfile(p):
            return p
    return None


def default_weights_path() -> str | None:
    """The shipped model's training weights (``weights/default.pt``, fp16), the start of
    ``tools/train.py --init default``; None when this copy has none."""
    p = os.path.join(DEFAULT_MODEL_DIR, "default.pt")
    return p if os.path.isfile(p) else None
