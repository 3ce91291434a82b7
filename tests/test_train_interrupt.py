"""tools/train.py stopped by SIGINT / SIGTERM: it saves last.pt and stops; --resume goes
on from the saved step. A work dir that cannot be created is refused before training."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, sigint_default

TINY = ["model.backbone.name=resnet18", "model.backbone.width=0.125", "model.trunk.channels=8",
        "model.head.channels=8", "data.crop_size=64", "data.workers=0", "train.batch_size=1",
        "train.log_every=1", "train.save_every=100000", "train.val_every=100000",
        "data.augment.scale=[1.0,1.0]", "data.augment.rotate=0.0", "data.augment.perspective=0.0"]
CONFIG = os.path.join(ROOT, "configs", "east_fpn_r50.yaml")
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8")


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    from textseg.data.synth import write_dataset

    out = tmp_path_factory.mktemp("pages")
    write_dataset(str(out), n=2, seed=5, level="word", dpi_range=(40, 50), workers=1,
                  progress=False)
    return str(out)


def command(pages, wd, *extra):
    return [sys.executable, os.path.join("tools", "train.py"), "--config", CONFIG, "--data",
            pages, "--work-dir", str(wd), "--no-progress", *TINY, *extra]


def logged_steps(wd):
    path = os.path.join(wd, "log.jsonl")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["step"] for line in f if line.endswith("\n")]


def load_step(path):
    import torch

    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    assert ckpt["format"] == "textseg-checkpoint" and ckpt["model"]
    return ckpt["step"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_saves_last_and_resume_continues(pages, tmp_path, sig):
    wd = tmp_path / "wd"
    proc = subprocess.Popen(command(pages, wd, "train.steps=100000"), cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_default)
    try:
        deadline = time.monotonic() + 120
        while not logged_steps(wd):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no training step logged in 120 s"
            time.sleep(0.2)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err  # stopped early: not a success
    assert "Traceback" not in err
    assert f"{sig.name}: stopped at step" in out + err and "--resume" in out + err
    last = wd / "last.pt"
    step = load_step(str(last))
    assert step >= 1 and step == logged_steps(wd)[-1]
    assert not [f for f in os.listdir(wd) if f.startswith(".") or f.endswith(".tmp")]

    p = subprocess.run(command(pages, wd, f"train.steps={step + 2}", "--resume"), cwd=ROOT,
                       env=ENV, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    assert f"resumed from {last} at step {step}" in p.stdout + p.stderr
    assert load_step(str(last)) == step + 2
    assert logged_steps(wd)[-2:] == [step + 1, step + 2]


def test_unwritable_work_dir_is_refused_before_training(pages, tmp_path):
    blocker = tmp_path / "file"  # root writes anywhere: a path under a FILE cannot exist
    blocker.write_text("x")
    wd = blocker / "wd"
    p = subprocess.run(command(pages, wd, "train.steps=3"), cwd=ROOT, env=ENV,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(wd) in lines[0], p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""
    assert blocker.read_text() == "x"
