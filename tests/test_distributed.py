"""The Ray Data pipeline (textseg.distributed) on a local 2-CPU Ray instance writes the same
files as tools/detect.py. Skipped only where Ray is not installed
(pip install -r requirements-ray.txt); CI installs it and sets TEXTSEG_REQUIRE_RAY=1, so
there a missing Ray fails the test."""

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

# CI installs the ray extra and sets TEXTSEG_REQUIRE_RAY: never skip there
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None
                               and not os.environ.get("TEXTSEG_REQUIRE_RAY"),
                               reason="ray not installed (pip install -r requirements-ray.txt)")


@needs_ray
def test_ray_pipeline_outputs_equal_detect_py(synth_dir, tmp_path):
    images = sorted(os.listdir(os.path.join(synth_dir, "images")))[:3]
    inp = tmp_path / "in"
    inp.mkdir()
    for name in images:
        shutil.copy(os.path.join(synth_dir, "images", name), inp / name)
    opts = ["--max-side", "640", "--level", "word"]
    ref, out = tmp_path / "ref", tmp_path / "ray"
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "detect.py"), str(inp),
                        "--out", str(ref), "--no-progress", *opts],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    env = dict(os.environ, RAY_worker_niceness="0")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "detect_ray.py"), str(inp),
                        "--out", str(out), "--num-cpus", "2", "--actors", "1", *opts],
                       capture_output=True, text=True, timeout=900, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    names = sorted(os.listdir(ref))
    assert len(names) == 9 and sorted(os.listdir(out)) == names
    for name in names:
        assert (ref / name).read_bytes() == (out / name).read_bytes(), name


def test_missing_ray_is_one_line(monkeypatch):
    from textseg import distributed

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(distributed.RayMissing, match="pip install"):
        distributed.run(["x.jpg"], "out")
