"""The method contract (textseg.methods.contract), checked for every registered method:
defaults valid, parts load, decode imports no torch, perfect targets decode back to GT."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from textseg import methods
from textseg.config import load_config
from textseg.data.icdar import Annotation
from textseg.errors import ConfigError
from textseg.evaluation import evaluate
from textseg.methods import MethodSpec, spec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = methods.names()


def config(name):
    return load_config({"model": {"head": {"method": name}}})


def box(x, y, w, h, angle=0.0):
    c, s = np.cos(angle), np.sin(angle)
    pts = np.array([[0, 0], [w, 0], [w, h], [0, h]], float) - [w / 2, h / 2]
    return (pts @ np.array([[c, s], [-s, c]]) + [x + w / 2, y + h / 2]).astype(np.float32)


def test_every_method_is_registered_with_its_spec():
    assert set(NAMES) >= {"east", "pse", "db", "maskrcnn"}
    for name in NAMES:
        s = spec(name)
        assert isinstance(s, MethodSpec) and s.name == name and s.package == methods.METHODS[name]
    with pytest.raises(ConfigError, match="model.head.method.*unknown method"):
        spec("nope")


@pytest.mark.parametrize("name", NAMES)
def test_defaults_are_valid(name):
    s = spec(name)
    cfg = config(name)  # the loader accepts every default as it is
    assert {k: v for k, v in cfg["model"]["head"].items() if k != "method"} == dict(s.head_defaults)
    assert cfg["model"]["targets"] == dict(s.target_defaults)
    assert cfg["model"]["loss"] == dict(s.loss_defaults)
    assert cfg["infer"]["decode"] == dict(s.decode_defaults)
    for key, allowed in s.choices.items():
        section, _, option = key.rpartition(".")
        assert s.defaults()[section][option] in allowed, key
    assert s.threshold_key is None or s.threshold_key in s.decode_defaults
    assert s.input in ("map", "pyramid") and s.output_kind in ("maps", "instances")
    assert isinstance(s.head_defaults.get("stride", 4), int)


@pytest.mark.parametrize("name", NAMES)
def test_parts_load(name):
    s = spec(name)
    cfg = config(name)
    head = s.head_class()(8 if s.input == "map" else 16,
                          **{k: v for k, v in cfg["model"]["head"].items() if k != "method"})
    assert head.stride == cfg["model"]["head"].get("stride", head.stride)
    assert isinstance(tuple(head.output_names), tuple) and head.output_names
    s.loss_class()(**cfg["model"]["loss"])
    assert callable(s.part("targets").build_targets) and callable(s.part("decode").decode)
    targets = s.build_targets([], (64, 96), methods.target_config(cfg))
    assert all(isinstance(v, np.ndarray) for v in targets.values())
    assert s.decode(s.targets_to_maps(targets, methods.target_config(cfg)),
                    methods.decode_config(cfg)) == []


BLOCKER = """
import sys

class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ImportError(name + " is blocked")
        return None

sys.meta_path.insert(0, _NoTorch())
"""


@pytest.mark.parametrize("name", NAMES)
def test_decode_imports_no_torch(name, tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    code = textwrap.dedent(f"""
        import sys
        from textseg.methods import spec
        s = spec({name!r})
        s.part("decode"), s.part("targets")
        assert not [m for m in sys.modules if m.split(".")[0] == "torch"]
        try:
            import torch  # noqa: F401
        except ImportError:
            print("blocked")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]))
    r = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "blocked"  # the blocker really was in place


@pytest.mark.parametrize("name", NAMES)
def test_perfect_targets_decode_back_to_the_ground_truth(name):
    from textseg.validation import round_trip

    cfg = config(name)
    quads = [box(20, 20, 120, 24), box(160, 22, 80, 20), box(30, 90, 200, 30, 0.08),
             box(40, 170, 60, 16), box(130, 200, 150, 28, -0.05)]
    anns = [Annotation(q, f"w{i}", False) for i, q in enumerate(quads)]
    anns.append(Annotation(box(300, 250, 40, 12), "###", True))
    trip = round_trip(cfg, (300, 400), anns)
    assert trip.input_hw == (300, 400)
    res = evaluate({"p": anns}, {"p": trip.detections})
    assert res["gt_care"] == 5
    assert res["recall"] == 1.0 and res["precision"] == 1.0, (name, res["matched"], res["det_care"])
    for poly, score in trip.detections:
        assert poly.dtype == np.float32 and poly.ndim == 2 and poly.shape[1] == 2
        assert 0.0 <= score <= 1.0 + 1e-6
