"""tools/train.py --init: start from other weights (a shipped default.pt or a checkpoint)."""

import os
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, tiny_config


def _save_ckpt(path, cfg, seed=0):
    from textseg.checkpoint import save_checkpoint
    from textseg.model import build_model

    torch.manual_seed(seed)
    model = build_model(cfg)
    save_checkpoint(str(path), model, cfg, step=7)
    return model


def test_init_copies_backbone_and_trunk_and_keeps_a_new_head_fresh(tmp_path):
    from textseg.checkpoint import init_from
    from textseg.model import build_model

    src = _save_ckpt(tmp_path / "pse.pt", tiny_config("pse"), seed=1)
    torch.manual_seed(2)
    dst = build_model(tiny_config("db"))
    fresh_head = {k: v.clone() for k, v in dst.state_dict().items() if k.startswith("head.")}
    loaded, new = init_from(dst, str(tmp_path / "pse.pt"))
    s, d = src.state_dict(), dst.state_dict()
    for k in d:
        if k.startswith(("backbone.", "trunk.")):
            assert torch.equal(d[k], s[k]), k
    assert all(torch.equal(d[k], v) for k, v in fresh_head.items())
    assert loaded == sum(k.startswith(("backbone.", "trunk.")) for k in d)
    assert new == len(fresh_head)


def test_init_from_an_fp16_state_dict_with_config(tmp_path):
    """The shipped default.pt form: fp16 tensors plus the config."""
    from textseg.checkpoint import init_config, init_from
    from textseg.model import build_model

    cfg = tiny_config("db")
    src = _save_ckpt(tmp_path / "c.pt", cfg)
    torch.save({"config": cfg, "model": {k: v.half() for k, v in src.state_dict().items()}},
               tmp_path / "default.pt")
    dst = build_model(cfg)
    loaded, new = init_from(dst, str(tmp_path / "default.pt"))
    assert new == 0 and loaded == len(dst.state_dict())
    assert dst.state_dict()["backbone.conv1.weight"].dtype == torch.float32
    assert init_config(str(tmp_path / "default.pt"))["model"]["head"]["method"] == "db"


def test_init_with_another_backbone_is_a_one_line_error(tmp_path):
    from textseg.checkpoint import init_from
    from textseg.errors import CheckpointError
    from textseg.model import build_model

    _save_ckpt(tmp_path / "w.pt", tiny_config("db"))
    other = build_model(tiny_config("db", model__trunk__channels=8))
    with pytest.raises(CheckpointError, match=r"w\.pt: weights do not fit .*trunk\."):
        init_from(other, str(tmp_path / "w.pt"))
    (tmp_path / "junk.pt").write_bytes(b"not torch")
    with pytest.raises(CheckpointError, match="junk.pt"):
        init_from(other, str(tmp_path / "junk.pt"))


def test_train_cli_init_without_config_takes_the_weights_config(tmp_path, synth_dir):
    cfg = tiny_config("db", train__steps=2)
    _save_ckpt(tmp_path / "start.pt", cfg)
    wd = tmp_path / "wd"
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "train.py"), "--init",
                        str(tmp_path / "start.pt"), "--data", synth_dir, "--work-dir", str(wd),
                        "--no-progress", "train.steps=2"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "--init:" in p.stderr + p.stdout
    assert os.path.isfile(wd / "last.pt")
    bad = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "train.py"), "--init",
                          str(tmp_path / "missing.pt"), "--data", synth_dir, "--work-dir",
                          str(tmp_path / "wd2"), "--no-progress"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "missing.pt" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
