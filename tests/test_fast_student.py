"""tools/fast_student.py: the fast variant (fast stem, 1x1 fusion) made from a trained model."""

import os
import subprocess
import sys

import torch

from conftest import ROOT, tiny_config


def _teacher(path, **extra):
    from textseg.checkpoint import save_checkpoint
    from textseg.model import build_model

    torch.manual_seed(0)
    cfg = tiny_config("db", **extra)
    model = build_model(cfg, load_pretrained=False)
    save_checkpoint(str(path), model, cfg, step=3)
    return model


def _tool(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "fast_student.py"), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_student_copies_the_shared_weights_and_fits_the_new_layers(tmp_path, synth_dir):
    from textseg.checkpoint import init_config, init_from
    from textseg.model import build_model

    teacher = _teacher(tmp_path / "t.pt")
    out = tmp_path / "s.pt"
    r = _tool("--teacher", str(tmp_path / "t.pt"), "--data", synth_dir, "--out", str(out),
              "--steps", "12", "--batch", "2", "--crop", "96", "--lr", "0.01")
    assert r.returncode == 0, r.stderr
    errs = [line for line in r.stderr.splitlines() if line.startswith("step ")]
    first = float(errs[0].split("stem ")[1].split()[0])
    last = float(errs[-1].split("stem ")[1].split()[0])
    assert last < first  # the stem's fit improves
    cfg = init_config(str(out))
    assert cfg["model"]["backbone"]["stem"] == "fast"
    assert cfg["model"]["trunk"]["fuse_kernel"] == 1
    student = build_model(cfg, load_pretrained=False)
    loaded, fresh = init_from(student, str(out), require=("",))
    assert fresh == 0
    s, t = student.state_dict(), teacher.state_dict()
    for k in s:  # everything but the stem and the fusion conv is the teacher's
        if not k.startswith(("backbone.conv1", "backbone.bn1", "trunk.fuse.")):
            assert torch.equal(s[k], t[k]), k
    assert s["trunk.fuse.0.weight"].shape[-2:] == (1, 1)
    # the student runs at the teacher's strides: same map size
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        a, b = teacher.eval()(x), student.eval()(x)
    assert a["prob"].shape == b["prob"].shape


def test_student_needs_a_standard_resnet_fpn_teacher(tmp_path, synth_dir):
    _teacher(tmp_path / "fast.pt", model__backbone__stem="fast")
    r = _tool("--teacher", str(tmp_path / "fast.pt"), "--data", synth_dir,
              "--out", str(tmp_path / "s.pt"), "--steps", "1")
    assert r.returncode == 2 and "already a fast variant" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = _tool("--teacher", str(tmp_path / "none.pt"), "--data", synth_dir,
              "--out", str(tmp_path / "s.pt"))
    assert r.returncode == 2 and "none.pt" in r.stderr and "Traceback" not in r.stderr
    _teacher(tmp_path / "t.pt")
    for data in (str(tmp_path / "nowhere"), str(tmp_path)):  # absent; no images in it
        r = _tool("--teacher", str(tmp_path / "t.pt"), "--data", data,
                  "--out", str(tmp_path / "s.pt"), "--steps", "1")
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert data in r.stderr.strip().splitlines()[-1]
    (tmp_path / "s.pt").write_bytes(b"keep")
    r = _tool("--teacher", str(tmp_path / "fast.pt"), "--data", synth_dir,
              "--out", str(tmp_path / "s.pt"))
    assert r.returncode == 2 and "exists" in r.stderr
    assert (tmp_path / "s.pt").read_bytes() == b"keep"
