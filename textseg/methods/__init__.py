"""Detection methods. Each one is a sub-package with head, targets, loss and decode.

This module and every method's ``__init__`` stay torch-free: the decoders must run
where only onnxruntime is installed. Use :func:`method_part` to import one part.
"""

import importlib

#: method name -> sub-package holding head.py, targets.py, loss.py, decode.py
METHODS = {
    "east": "textseg.methods.east",
    "pse": "textseg.methods.pse",
    "db": "textseg.methods.db",
    "maskrcnn": "textseg.methods.maskrcnn",
}


def method_package(name):
    """The method's package (its option defaults), torch-free."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose from {sorted(METHODS)}")
    return importlib.import_module(METHODS[name])


def method_part(name, part):
    """Import ``head``, ``targets``, ``loss`` or ``decode`` of a method."""
    if part not in ("head", "targets", "loss", "decode"):
        raise ValueError(f"unknown method part {part!r}")
    return importlib.import_module(f"{method_package(name).__name__}.{part}")


def _section(cfg, section):
    head = dict(cfg["model"]["head"])
    out = dict(section or {})
    out["head"] = head
    out["stride"] = int(head.get("stride", 4))
    return out


def target_config(cfg):
    """The ``cfg`` a method's ``build_targets`` receives: ``model.targets`` + head + stride."""
    return _section(cfg, cfg["model"].get("targets"))


def decode_config(cfg):
    """The ``cfg`` a method's ``decode`` receives: ``infer.decode`` + head + stride."""
    return _section(cfg, cfg.get("infer", {}).get("decode"))
