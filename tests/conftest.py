import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

def sigint_default():
    """``preexec_fn`` for a child that a test stops with SIGINT: a shell that runs a job in
    the background (CI does) starts it with SIGINT ignored, and Python then keeps ignoring
    it; restore the default so the child gets KeyboardInterrupt as it does at a terminal."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def sans_font(size):
    """A sans-serif PIL font ``size`` px (DejaVu or Liberation, else PIL's own)."""
    from PIL import ImageFont

    for p in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
              "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"):
        if os.path.exists(p):
            return ImageFont.truetype(p, size)
    return ImageFont.load_default(size=size)


#: the 20 docbench-dev measurement pages, shipped with the repository (never trained on)
DOCBENCH = os.path.join(ROOT, "tests", "data", "docbench-dev")


def tiny_config(method="east", trunk="fpn", backbone="resnet18", **extra):
    """A config small enough to train for a few steps in a test."""
    from textseg.config import load_config

    overrides = [
        f"model.backbone.name={backbone}",
        f"model.trunk.name={trunk}",
        "model.trunk.channels=16",
        f"model.head.method={method}",
        "data.crop_size=128",
        "data.workers=0",
        "data.augment.scale=[1.0,1.0]",
        "data.augment.rotate=0.0",
        "data.augment.perspective=0.0",
        "train.batch_size=2",
        "train.steps=6",
        "train.log_every=1",
        "train.save_every=1000",
        "train.val_every=1000",
        "train.optimizer.name=adam",
        "train.optimizer.lr=0.001",
        "train.schedule.name=constant",
        "infer.resize.max_side=512",
    ]
    overrides += [f"{k.replace('__', '.')}={v}" for k, v in extra.items()]
    return load_config({"model": {"head": {"method": method}}}, overrides)


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory):
    """A handful of small synthetic pages in ICDAR format (words and lines)."""
    from textseg.data.synth import write_dataset

    out = tmp_path_factory.mktemp("synth")
    write_dataset(str(out), n=4, seed=123, level="both", dpi_range=(72, 90), workers=1,
                  progress=False)
    return str(out)
