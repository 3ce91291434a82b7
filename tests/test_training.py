"""Training: loss falls, resume is exact, torchrun on two CPU processes, failure modes."""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, tiny_config

METHODS = ["east", "pse", "db"]
#: learning rate per method for the few-step test (PSENet's OHEM dice starts slowly)
#: PSENet's OHEM dice needs more steps on the v2 synthetic pages (rules, stamps, marks)
FEW_STEPS = {"pse": 60}
FEW_STEP_LR = {"east": 0.001, "pse": 0.003, "db": 0.01}


def read_log(work_dir):
    with open(os.path.join(work_dir, "log.jsonl")) as f:
        return [json.loads(line) for line in f]


@pytest.mark.parametrize("method", METHODS)
def test_loss_falls_on_synthetic_pages(method, synth_dir, tmp_path):
    from textseg.training import train

    steps = FEW_STEPS.get(method, 24)
    cfg = tiny_config(method, train__steps=steps, train__optimizer__lr=FEW_STEP_LR[method])
    torch.manual_seed(0)
    train(cfg, str(tmp_path), data_dirs=[synth_dir], progress=False)
    losses = [e["loss"] for e in read_log(tmp_path) if "loss" in e]
    assert len(losses) == steps
    assert all(map(lambda v: v == v, losses))  # finite
    first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
    assert last < 0.92 * first, (first, last)
    assert os.path.isfile(tmp_path / "last.pt")


def _weights(path):
    return torch.load(path, weights_only=True)["model"]



def test_zero_intervals_validate_and_save_only_at_the_end(synth_dir, tmp_path):
    from textseg.training import train

    cfg = tiny_config("east", train__steps=3, train__val_every=0, train__save_every=0,
                      train__log_every=1)
    train(cfg, str(tmp_path), data_dirs=[synth_dir], val_dir=synth_dir, progress=False)
    log = read_log(tmp_path)
    assert [e["step"] for e in log if "val" in e] == [3]
    assert os.path.isfile(tmp_path / "last.pt") and os.path.isfile(tmp_path / "best.pt")


def test_resume_gives_the_same_weights(synth_dir, tmp_path):
    from textseg.training import train

    straight, split = tmp_path / "straight", tmp_path / "split"
    train(tiny_config("east", train__steps=6), str(straight), data_dirs=[synth_dir], progress=False)
    train(tiny_config("east", train__steps=3), str(split), data_dirs=[synth_dir], progress=False)
    train(tiny_config("east", train__steps=6), str(split), data_dirs=[synth_dir], resume=True,
          progress=False)
    a, b = _weights(straight / "last.pt"), _weights(split / "last.pt")
    assert torch.load(split / "last.pt", weights_only=True)["step"] == 6
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_torchrun_two_processes_hold_identical_weights(synth_dir, tmp_path):
    script = tmp_path / "ddp_check.py"
    script.write_text(f"""
import os, sys, torch, torch.distributed as dist
sys.path.insert(0, {ROOT!r}); sys.path.insert(0, {os.path.join(ROOT, 'tests')!r})
from conftest import tiny_config
from textseg.training import Trainer
cfg = tiny_config("east", train__steps=3)
t = Trainer(cfg, {str(tmp_path / 'wd')!r}, data_dirs=[{synth_dir!r}], progress=False)
model = t.run()
flat = torch.cat([p.detach().flatten() for p in model.parameters()])
gathered = [torch.zeros_like(flat) for _ in range(2)]
dist.all_gather(gathered, flat)
if t.rank == 0:
    print("MAXDIFF", float((gathered[0] - gathered[1]).abs().max()), flush=True)
dist.barrier()  # no rank tears gloo down while the other still talks to it
dist.destroy_process_group()
sys.stdout.flush()
os._exit(0)  # skip C++ static destructors: gloo's threads can abort at interpreter exit
""")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with socket.socket() as sock:  # a free port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={port}", str(script)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[:3000]
    line = [s for s in res.stdout.splitlines() if s.startswith("MAXDIFF")]
    assert line and float(line[0].split()[1]) == 0.0, res.stdout
    # only rank 0 wrote files, and the checkpoint is there
    assert os.path.isfile(tmp_path / "wd" / "last.pt")


def test_train_cli_reports_bad_config_in_one_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("model:\n  trunk:\n    name: resnet\n")
    res = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "train.py"), "--config",
                          str(cfg), "--data", str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and "model.trunk.name" in err[0], res.stderr


def test_train_cli_missing_data_folder(tmp_path):
    res = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "train.py"), "--config",
                          os.path.join(ROOT, "configs", "east_fpn_r50.yaml"), "--data",
                          str(tmp_path / "nope"), "--work-dir", str(tmp_path / "wd")],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert "nope" in res.stderr and "Traceback" not in res.stderr


def test_checkpoint_errors(tmp_path):
    from textseg.checkpoint import CheckpointError, load_checkpoint

    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    for p in (empty, junk, other, tmp_path / "missing.pt"):
        with pytest.raises(CheckpointError) as e:
            load_checkpoint(str(p))
        assert str(p) in str(e.value)
