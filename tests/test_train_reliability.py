"""Training never destroys a run (issue 19, items 1-6): a used work dir is refused, bad data
is listed before step 1 and skipped later, a crash leaves last.pt, non-finite weights are
never saved, overrides win on --resume, out of memory names the setting, the log is trimmed
on resume, and config values are range-checked."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, tiny_config

FAST = {"model__backbone__width": 0.125, "model__trunk__channels": 8, "data__crop_size": 64,
        "train__batch_size": 1}
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8")


def cfg_of(**extra):
    return tiny_config("east", **{**FAST, **extra})


def steps_logged(wd):
    with open(os.path.join(wd, "log.jsonl"), encoding="utf-8") as f:
        return [json.loads(line)["step"] for line in f if "loss" in line]


def snapshot(wd):
    return {name: open(os.path.join(wd, name), "rb").read() for name in sorted(os.listdir(wd))}


@pytest.fixture()
def data(synth_dir, tmp_path):
    """A private copy of the synthetic pages that a test may damage."""
    out = tmp_path / "data"
    shutil.copytree(synth_dir, out)
    return str(out)


def trainer(cfg, wd, data, **kw):
    from textseg.training import Trainer

    return Trainer(cfg, str(wd), data_dirs=[data], progress=False, **kw)


# ----------------------------------------------------------------------------- item 1

def test_new_run_in_a_work_dir_holding_a_run_is_refused(data, tmp_path):
    from textseg.training import TrainingError

    wd = tmp_path / "wd"
    trainer(cfg_of(train__steps=2), wd, data, val_dir=data).run()
    before = snapshot(wd)
    assert {"last.pt", "best.pt", "log.jsonl"} <= set(before)
    with pytest.raises(TrainingError) as e:
        trainer(cfg_of(train__steps=1), wd, data, val_dir=data)
    msg = str(e.value)
    assert str(wd) in msg and "--resume" in msg and "--work-dir" in msg and "--overwrite" in msg
    assert "\n" not in msg
    assert snapshot(wd) == before


def test_train_cli_refuses_a_used_work_dir_and_touches_nothing(data, tmp_path):
    wd = tmp_path / "wd"
    trainer(cfg_of(train__steps=1), wd, data).run()
    (wd / "config.yaml").write_text("the old run's config\n")
    before = snapshot(wd)
    cmd = [sys.executable, os.path.join(ROOT, "tools", "train.py"), "--config",
           os.path.join(ROOT, "configs", "east_fpn_r50.yaml"), "--data", data, "--work-dir",
           str(wd), "--no-progress", "train.steps=1", "model.backbone.name=resnet18",
           "model.backbone.width=0.125", "model.trunk.channels=8", "data.crop_size=64",
           "data.workers=0", "train.batch_size=1"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=120)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "--resume" in lines[0] and "--overwrite" in lines[0], p.stderr
    assert snapshot(wd) == before

    p = subprocess.run(cmd + ["--overwrite"], capture_output=True, text=True, env=ENV, timeout=120)
    assert p.returncode == 0, p.stderr
    assert steps_logged(wd) == [1]  # a fresh log, not appended to the old one
    assert (wd / "config.yaml").read_text() != "the old run's config\n"


def test_overwrite_starts_over(data, tmp_path):
    wd = tmp_path / "wd"
    trainer(cfg_of(train__steps=3), wd, data, val_dir=data).run()
    trainer(cfg_of(train__steps=2), wd, data, overwrite=True).run()
    assert steps_logged(wd) == [1, 2]
    assert not (wd / "best.pt").exists()  # the old run's best is not this run's
    assert torch.load(wd / "last.pt", weights_only=True)["step"] == 2


# ----------------------------------------------------------------------------- item 2

def test_bad_files_are_listed_before_step_1(data, tmp_path):
    from textseg.training import DataError

    (tmp_path / "data" / "images" / "img_1.jpg").write_bytes(b"")
    (tmp_path / "data" / "images" / "img_3.jpg").write_bytes(b"not an image at all")
    wd = tmp_path / "wd"
    with pytest.raises(DataError) as e:
        trainer(cfg_of(), wd, data)
    msg = str(e.value)
    assert "\n" not in msg and "2 " in msg
    assert "img_1.jpg" in msg and "img_3.jpg" in msg and "empty" in msg
    assert not (wd / "log.jsonl").exists() and not (wd / "last.pt").exists()


def test_bad_validation_file_is_listed_before_step_1(data, synth_dir, tmp_path):
    from textseg.training import DataError

    (tmp_path / "data" / "images" / "img_2.jpg").write_bytes(b"")
    with pytest.raises(DataError) as e:
        trainer(cfg_of(), tmp_path / "wd", synth_dir, val_dir=data)
    assert "img_2.jpg" in str(e.value) and "validation" in str(e.value)


@pytest.mark.parametrize("workers", [0, 2])
def test_file_failing_later_is_skipped_with_a_warning(data, tmp_path, capsys, workers):
    cfg = cfg_of(train__steps=6, data__workers=workers)
    t = trainer(cfg, tmp_path / "wd", data, val_dir=data)
    for name in os.listdir(os.path.join(data, "images")):  # every image breaks after the scan
        if name != "img_4.jpg":
            open(os.path.join(data, "images", name), "wb").close()
    t.run()
    out = capsys.readouterr()
    text = out.out + out.err
    assert "warning:" in text and "skipped" in text and "img_1.jpg" in text
    assert "samples skipped" in text
    assert torch.load(tmp_path / "wd" / "last.pt", weights_only=True)["step"] == 6


def test_any_crash_saves_last_pt(data, tmp_path):
    wd = tmp_path / "wd"
    t = trainer(cfg_of(train__steps=10), wd, data)
    real = t.train_step

    def step(batch):
        if t.step == 3:
            raise RuntimeError("a bug at step 4")
        return real(batch)

    t.train_step = step
    with pytest.raises(RuntimeError, match="a bug"):
        t.run()
    assert torch.load(wd / "last.pt", weights_only=True)["step"] == 3


# ----------------------------------------------------------------------------- item 3

def _all_finite(path):
    state = torch.load(path, weights_only=True)["model"]
    return all(bool(torch.isfinite(v).all()) for v in state.values() if v.is_floating_point())


def test_divergence_keeps_the_last_finite_weights(data, tmp_path):
    from textseg.training import TrainingError

    wd = tmp_path / "wd"
    t = trainer(cfg_of(train__steps=20, train__save_every=2, train__max_bad_steps=3), wd, data)
    real = t.loss_fn

    def poisoned(outputs, targets):  # from step 3 on: a finite loss with NaN gradients
        parts = real(outputs, targets)
        if t.step >= 2:
            first = next(iter(outputs.values()))
            parts["loss"] = parts["loss"] + torch.sqrt(0.0 * first.sum())
        return parts

    t.loss_fn = poisoned
    with pytest.raises(TrainingError) as e:
        t.run()
    assert "train.optimizer.lr" in str(e.value)
    assert _all_finite(wd / "last.pt")
    assert torch.load(wd / "last.pt", weights_only=True)["step"] == 2


def test_non_finite_weights_are_never_saved_over_good_ones(data, tmp_path, capsys):
    wd = tmp_path / "wd"
    t = trainer(cfg_of(train__steps=1), wd, data)
    t.run()
    good = (wd / "last.pt").read_bytes()
    with torch.no_grad():
        next(t.model.parameters()).fill_(float("nan"))
    t.save("last.pt")
    assert (wd / "last.pt").read_bytes() == good
    assert "not finite" in capsys.readouterr().out


def test_overrides_win_on_resume_and_are_reported(data, tmp_path, capsys):
    wd = tmp_path / "wd"
    trainer(cfg_of(train__steps=2, train__optimizer__lr=0.002), wd, data).run()
    capsys.readouterr()
    t = trainer(cfg_of(train__steps=4, train__optimizer__lr=0.0001), wd, data, resume=True)
    assert [g["lr"] for g in t.optimizer.param_groups] == [0.0001, 0.0001]
    assert t.scheduler.base_lrs == [0.0001, 0.0001]
    t.run()
    out = capsys.readouterr().out
    assert "train.optimizer.lr" in out and "0.002" in out and "0.0001" in out
    with open(wd / "log.jsonl", encoding="utf-8") as f:
        lrs = [json.loads(line)["lr"] for line in f]
    assert lrs == [0.002, 0.002, 0.0001, 0.0001]


# ----------------------------------------------------------------------------- item 4

CPU_OOM = ("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate "
           "memory: you tried to allocate 34359738368 bytes. Error code 12 (Cannot allocate memory)")


@pytest.mark.parametrize("exc", [RuntimeError(CPU_OOM), MemoryError()], ids=["torch", "python"])
def test_cpu_out_of_memory_names_the_setting_to_lower(data, tmp_path, exc):
    from textseg.training import TrainingError

    t = trainer(cfg_of(train__steps=5), tmp_path / "wd", data)

    def step(batch):
        raise exc

    t.train_step = step
    with pytest.raises(TrainingError) as e:
        t.run()
    msg = str(e.value)
    assert "out of memory" in msg and "train.batch_size" in msg and "data.crop_size" in msg


def test_out_of_memory_in_a_data_worker_names_the_setting(data, tmp_path):
    from textseg.training import TrainingError

    t = trainer(cfg_of(train__steps=5), tmp_path / "wd", data)

    def load(*_a):
        raise MemoryError()

    t.dataset.load = load
    with pytest.raises(TrainingError) as e:
        t.run()
    assert "out of memory" in str(e.value) and "data.crop_size" in str(e.value)


# ----------------------------------------------------------------------------- item 5

def test_resume_trims_the_log_to_the_checkpoint_step(data, tmp_path):
    wd = tmp_path / "wd"
    trainer(cfg_of(train__steps=2), wd, data).run()
    with open(wd / "log.jsonl", "a", encoding="utf-8") as f:  # what a SIGKILL leaves behind
        for step in (3, 4, 5):
            f.write(json.dumps({"step": step, "loss": 1.0}) + "\n")
        f.write('{"step": 6, "lo')
    trainer(cfg_of(train__steps=4), wd, data, resume=True).run()
    assert steps_logged(wd) == [1, 2, 3, 4]


# ----------------------------------------------------------------------------- item 6

def _config_error(tmp_path, text, *overrides, binary=None):
    from textseg.config import ConfigError, load_config

    path = tmp_path / "c.yaml"
    if binary is not None:
        path.write_bytes(binary)
    else:
        path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(str(path), list(overrides))
    return str(e.value), str(path)


def test_nan_learning_rate_is_a_config_error_with_its_line(tmp_path):
    msg, path = _config_error(tmp_path, "train:\n  optimizer:\n    lr: .nan\n")
    assert msg.startswith(f"{path}:3: train.optimizer.lr") and ">= 0" in msg and "finite" in msg


def test_infinite_learning_rate_override_is_refused(tmp_path):
    msg, _ = _config_error(tmp_path, "train: {}\n", "train.optimizer.lr=inf")
    assert "train.optimizer.lr" in msg and "finite" in msg


def test_reversed_scale_range_is_a_config_error(tmp_path):
    msg, path = _config_error(tmp_path, "data:\n  augment:\n    scale: [2.0, 0.5]\n")
    assert msg.startswith(f"{path}:3: data.augment.scale") and "lo <= hi" in msg


def test_probability_out_of_range_is_a_config_error(tmp_path):
    msg, path = _config_error(tmp_path, "data:\n  augment:\n    blur: 1.5\n")
    assert msg.startswith(f"{path}:3: data.augment.blur") and "0..1" in msg


def test_non_utf8_config_is_a_config_error_with_its_line(tmp_path):
    msg, path = _config_error(tmp_path, None, binary=b"train:\n  steps: 10 # \xe9t\xe9\n")
    assert msg.startswith(f"{path}:2: ") and "UTF-8" in msg


BAD_CONFIGS = {"nan": b"train:\n  optimizer:\n    lr: .nan\n",
               "latin1": b"infer:\n  batch_size: 1 # r\xe9sum\xe9\n"}


@pytest.mark.parametrize("kind", sorted(BAD_CONFIGS))
@pytest.mark.parametrize("tool", ["train", "detect", "export"])
def test_tools_report_bad_config_values_in_one_line(tmp_path, tool, kind):
    cfg = tmp_path / "bad.yaml"
    cfg.write_bytes(BAD_CONFIGS[kind])
    args = {"train": ["train.py", "--config", str(cfg), "--data", str(tmp_path)],
            "detect": ["detect.py", os.path.join(ROOT, "examples", "page.jpg"), "--config",
                       str(cfg)],
            "export": ["export_onnx.py", "--checkpoint", str(tmp_path / "c.pt"), "--config",
                       str(cfg), "--out", str(tmp_path / "m.onnx")]}[tool]
    if tool == "export":
        from textseg.checkpoint import save_checkpoint
        from textseg.model import build_model

        c = cfg_of()
        save_checkpoint(str(tmp_path / "c.pt"), build_model(c), c)
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", args[0]), *args[1:]],
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{cfg}:" in lines[0] and "Traceback" not in p.stderr, p.stderr
