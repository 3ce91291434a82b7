"""Inference from an exported ONNX file where PyTorch cannot be imported.

Each check runs in a fresh interpreter whose ``sys.meta_path`` starts with a finder that
raises ImportError for ``torch`` and ``torch.*`` (and for the other packages an OCR system
need not install), installed by a ``sitecustomize`` module before anything else runs.
"""

import json
import os
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

from conftest import ROOT
from test_export import PAGE, confident_model
from textseg.checkpoint import save_checkpoint
from textseg.detector import Detector
from textseg.export import export_onnx, match_detections

#: not needed for ONNX inference through the library: numpy, opencv-python-headless,
#: pyclipper, shapely, onnxruntime and pillow are
LIBRARY_BLOCKED = ("torch", "onnx", "yaml", "tqdm", "pypdfium2", "matplotlib")
#: tools/detect.py may also use pyyaml (--decode values), tqdm (progress) and pypdfium2 (PDFs)
CLI_BLOCKED = ("torch", "onnx", "matplotlib")

BLOCKER = """
import sys

class _Blocked:
    names = {names!r}

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.names:
            raise ImportError(f"{{name}} is blocked: this check runs without it")
        return None

sys.meta_path.insert(0, _Blocked())
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A checkpoint, its ONNX export and a page image on disk."""
    d = tmp_path_factory.mktemp("torchfree")
    model, cfg = confident_model("pse", "fpn")
    ckpt, onnx_path, image = d / "model.pt", d / "model.onnx", d / "page.png"
    save_checkpoint(str(ckpt), model, cfg)
    export_onnx(str(ckpt), str(onnx_path), check_image=PAGE, check_sides=(128, 88))
    cv2.imwrite(str(image), cv2.cvtColor(PAGE, cv2.COLOR_RGB2BGR))
    return str(ckpt), str(onnx_path), str(image)


def run_blocked(tmp_path, blocked, argv):
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER.format(names=tuple(blocked)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), ROOT]))
    return subprocess.run([sys.executable, *argv], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=120)


def reference(ckpt, image_path):
    image = cv2.cvtColor(cv2.imread(image_path), cv2.COLOR_BGR2RGB)
    return Detector.from_checkpoint(ckpt)(image)


def assert_same(ref, polygons, scores):
    got = [(np.asarray(p, np.float32), s) for p, s in zip(polygons, scores)]
    assert len(ref) > 0 and len(got) == len(ref)
    res = match_detections(ref, got, 1.0)
    assert res["unmatched_ref"] == res["unmatched_other"] == 0
    np.testing.assert_allclose(sorted(s for _, s in ref), sorted(scores), atol=1e-3)


def test_blocker_really_blocks(tmp_path):
    r = run_blocked(tmp_path, LIBRARY_BLOCKED, ["-c", "import torch"])
    assert r.returncode != 0 and "torch is blocked" in r.stderr


def test_detector_from_onnx_without_torch(tmp_path, models):
    ckpt, onnx_path, image = models
    script = textwrap.dedent(f"""
        import json, sys
        import cv2
        from textseg.detector import Detector
        det = Detector.from_onnx({onnx_path!r})
        img = cv2.cvtColor(cv2.imread({image!r}), cv2.COLOR_BGR2RGB)
        dets = det(img)
        assert not [m for m in sys.modules if m.split(".")[0] in {LIBRARY_BLOCKED!r}]
        print(json.dumps({{"method": det.method,
                          "polygons": [p.tolist() for p, _ in dets],
                          "scores": [s for _, s in dets]}}))
    """)
    r = run_blocked(tmp_path, LIBRARY_BLOCKED, ["-c", script])
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["method"] == "pse"
    assert_same(reference(ckpt, image), out["polygons"], out["scores"])


def test_detect_cli_with_onnx_without_torch(tmp_path, models):
    ckpt, onnx_path, image = models
    out_dir = tmp_path / "out"
    r = run_blocked(tmp_path, CLI_BLOCKED, [os.path.join(ROOT, "tools", "detect.py"), image,
                                            "--model", onnx_path, "--out", str(out_dir),
                                            "--format", "json"])
    assert r.returncode == 0, r.stderr[-2000:]
    with open(out_dir / "page.json", encoding="utf-8") as f:
        record = json.load(f)
    dets = record["detections"]
    assert_same(reference(ckpt, image), [d["polygon"] for d in dets], [d["score"] for d in dets])
