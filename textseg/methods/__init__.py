"""Detection methods. Each one is a package with four parts and one spec.

``spec(name)`` returns the method's :class:`MethodSpec`: option defaults and allowed
values, the main threshold, how the model wires the head, and the parts (``head``,
``targets``, ``loss``, ``decode``), imported on first use. Every caller (model, config,
detector, training data, tools) goes through it; see :mod:`textseg.methods.contract` for
what each part provides.

This module and every method's ``__init__`` stay torch-free: the decoders must run
where only onnxruntime is installed.
"""

import importlib

from ..errors import ConfigError
from .contract import PARTS, MethodSpec, Options

__all__ = ["METHODS", "PARTS", "MethodSpec", "Options", "decode_config", "names", "spec",
           "target_config"]

#: method name -> package holding ``SPEC`` and the parts head, targets, loss, decode
METHODS = {
    "east": "textseg.methods.east",
    "pse": "textseg.methods.pse",
    "db": "textseg.methods.db",
    "maskrcnn": "textseg.methods.maskrcnn",
}

_KEY = "model.head.method"


def names() -> list:
    """The registered method names, sorted."""
    return sorted(METHODS)


def spec(name: str) -> MethodSpec:
    """The :class:`MethodSpec` of method ``name`` (torch-free).

    Raises :class:`~textseg.errors.ConfigError` (key ``model.head.method``) for an unknown
    name or a package that cannot be imported or states no contract."""
    if not isinstance(name, str) or name not in METHODS:
        raise ConfigError(f"{_KEY}: unknown method {name!r}; choose from {', '.join(names())}",
                          _KEY)
    try:
        package = importlib.import_module(METHODS[name])
    except ImportError as e:
        raise ConfigError(f"{_KEY}: method {name!r} is not available ({e})", _KEY) from None
    found = getattr(package, "SPEC", None)
    if found is None:
        return MethodSpec.from_module(name, package)
    if not isinstance(found, MethodSpec) or found.name != name:
        raise ConfigError(f"{_KEY}: method {name!r} is not available ({package.__name__}.SPEC "
                          f"is not the MethodSpec of {name!r})", _KEY)
    return found


def _section(cfg, section):
    head = dict(cfg["model"]["head"])
    out = dict(section or {})
    out["head"] = head
    out["stride"] = int(head.get("stride", 4))
    return out


def target_config(cfg: dict) -> dict:
    """The ``cfg`` a method's ``build_targets`` receives: ``model.targets`` + head + stride."""
    return _section(cfg, cfg["model"].get("targets"))


def decode_config(cfg: dict) -> dict:
    """The ``cfg`` a method's ``decode`` receives: ``infer.decode`` + head + stride."""
    return _section(cfg, cfg.get("infer", {}).get("decode"))
