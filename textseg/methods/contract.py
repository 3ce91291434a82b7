"""The method contract: one :class:`MethodSpec` per detection method.

A method is a package ``textseg/methods/<name>/`` with four parts (modules), loaded only
when asked for, and one ``SPEC = MethodSpec(...)`` in its ``__init__``:

* ``head.py``: ``Head(in_channels, **model.head options)``, an ``nn.Module`` with
  ``stride`` and ``output_names``; ``forward(features)`` (``forward(features, targets)`` in
  training when ``needs_targets``) returns a dict of tensors.
* ``targets.py``: ``build_targets(annotations, image_hw, cfg) -> dict of numpy arrays``
  (the training maps of one image; ``cfg`` from :func:`textseg.methods.target_config`),
  and, where the targets are not what the head outputs in eval mode,
  ``targets_to_maps(targets, cfg)``: the maps a perfect head would output.
* ``loss.py``: ``Loss(**model.loss options)``; ``loss(outputs, targets)`` returns a dict
  of scalar tensors with the total under ``"loss"``.
* ``decode.py``: ``decode(maps, cfg) -> list of (polygon float32 (N, 2), score)`` in
  network-input pixels, numpy/OpenCV only (it runs where torch is not installed); ``cfg``
  from :func:`textseg.methods.decode_config`.

The spec holds everything else a caller needs (option defaults, allowed values, the main
threshold, how the model wires the head) and imports the parts lazily. This module and
every method's ``__init__`` are torch-free.
"""

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Optional

from ..errors import ConfigError

__all__ = ["MethodSpec", "Options", "PARTS", "SECTIONS"]

#: the modules of a method package
PARTS = ("head", "targets", "loss", "decode")
#: config section of each option table: head, targets, loss, decode
SECTIONS = {"head": "model.head", "targets": "model.targets", "loss": "model.loss",
            "decode": "infer.decode"}
INPUTS = ("map", "pyramid")
OUTPUT_KINDS = ("maps", "instances")


class Options(NamedTuple):
    """What a targets builder or decoder works with: the head's options, its own section's
    options (defaults merged) and the stride of the maps."""

    head: dict
    opts: dict
    stride: int


@dataclass(frozen=True)
class MethodSpec:
    """Everything textseg knows about a method, torch-free.

    ``head_defaults`` ... ``decode_defaults``: the option tables of ``model.head``,
    ``model.targets``, ``model.loss`` and ``infer.decode`` (every key with its default;
    the config loader accepts exactly these keys). ``choices``: dotted key -> allowed
    values of options that are names. ``threshold_key``: the ``infer.decode`` option
    ``tools/detect.py --threshold`` sets. ``input``: the head reads the trunk's fused
    stride-4 ``"map"`` or the FPN ``"pyramid"`` [P2..P5]. ``needs_targets``: in training the
    head is called ``head(features, targets)``. ``output_kind``: ``"maps"`` are cropped to
    the input size, ``"instances"`` (fixed-size lists) are returned as they are.
    """

    name: str
    package: str
    head_defaults: Mapping[str, Any]
    target_defaults: Mapping[str, Any]
    loss_defaults: Mapping[str, Any]
    decode_defaults: Mapping[str, Any]
    choices: Mapping[str, tuple] = field(default_factory=dict)
    threshold_key: Optional[str] = None
    input: str = "map"
    needs_targets: bool = False
    output_kind: str = "maps"

    def __post_init__(self):
        where = f"method {self.name!r} ({self.package})"
        if self.input not in INPUTS:
            raise ValueError(f"{where}: input must be one of {INPUTS}, not {self.input!r}")
        if self.output_kind not in OUTPUT_KINDS:
            raise ValueError(f"{where}: output_kind must be one of {OUTPUT_KINDS}, "
                             f"not {self.output_kind!r}")
        if self.threshold_key is not None and self.threshold_key not in self.decode_defaults:
            raise ValueError(f"{where}: threshold_key {self.threshold_key!r} is not a decode option")
        for key in self.choices:
            section, _, name = key.rpartition(".")
            table = self.defaults().get(section)
            if table is None or name not in table:
                raise ValueError(f"{where}: choices name {key!r}, which is not an option")

    def __reduce__(self):  # DataLoader workers get the spec by name, not by value
        return spec_by_name, (self.name,)

    # -- options
    def defaults(self) -> dict:
        """Section (``model.head``, ...) -> option table, as the config loader reads them."""
        return {SECTIONS["head"]: self.head_defaults, SECTIONS["targets"]: self.target_defaults,
                SECTIONS["loss"]: self.loss_defaults, SECTIONS["decode"]: self.decode_defaults}

    def options(self, cfg, part) -> Options:
        """``cfg`` (a :func:`target_config` / :func:`decode_config` dict, or a partial one:
        missing keys take their defaults, keys of other sections are ignored) as the
        :class:`Options` of ``part`` ("targets" or "decode"); names are checked against
        :attr:`choices` (``ConfigError``, a ``ValueError``)."""
        cfg = dict(cfg or {})
        table = self.target_defaults if part == "targets" else self.decode_defaults
        head = {**self.head_defaults, **(cfg.get("head") or {})}
        opts = {**table, **{k: v for k, v in cfg.items() if k in table}}
        for key, allowed in self.choices.items():
            section, _, name = key.rpartition(".")
            values = head if section == SECTIONS["head"] else opts if section == SECTIONS[part] else {}
            if name in values and values[name] not in allowed:
                raise ConfigError(f"{key}: unknown value {values[name]!r}; choose from "
                                  f"{', '.join(map(str, allowed))}", key)
        return Options(head, opts, int(cfg.get("stride", head.get("stride", 4))))

    def target_options(self, cfg) -> Options:
        return self.options(cfg, "targets")

    def decode_options(self, cfg) -> Options:
        return self.options(cfg, "decode")

    # -- parts (imported on first use)
    def part(self, name):
        """The module ``head``, ``targets``, ``loss`` or ``decode`` of the method."""
        if name not in PARTS:
            raise ValueError(f"unknown method part {name!r}; choose from {', '.join(PARTS)}")
        return importlib.import_module(f"{self.package}.{name}")

    def head_class(self) -> type:
        """``Head``: ``Head(in_channels, **options)`` (imports torch)."""
        return self.part("head").Head

    def loss_class(self) -> type:
        """``Loss``: ``Loss(**options)``; ``loss(outputs, targets)`` (imports torch)."""
        return self.part("loss").Loss

    def build_targets(self, annotations, image_hw, cfg) -> dict:
        """The training maps of one image (numpy), see the module docstring."""
        return self.part("targets").build_targets(annotations, image_hw, cfg)

    def targets_to_maps(self, targets, cfg) -> dict:
        """The eval-mode maps a perfect head would output for ``targets``."""
        convert: Callable = getattr(self.part("targets"), "targets_to_maps", None)
        return dict(targets) if convert is None else convert(targets, cfg)

    def decode(self, maps, cfg) -> list:
        """Polygons of one image's maps: list of (float32 (N, 2), score)."""
        return self.part("decode").decode(maps, cfg)

    @classmethod
    def from_module(cls, name, module) -> "MethodSpec":
        """The spec of a package that states its contract as module constants
        (``HEAD_DEFAULTS``, ``TARGET_DEFAULTS``, ``LOSS_DEFAULTS``, ``DECODE_DEFAULTS`` and
        optionally ``CHOICES``, ``THRESHOLD_KEY``, ``INPUT``, ``NEEDS_TARGETS``,
        ``OUTPUT_KIND``) instead of a ``SPEC``: the short form for stand-in methods."""
        tables = ("HEAD_DEFAULTS", "TARGET_DEFAULTS", "LOSS_DEFAULTS", "DECODE_DEFAULTS")
        lacking = [t for t in tables if not isinstance(getattr(module, t, None), dict)]
        if lacking:
            raise ConfigError(f"model.head.method: method {name!r} is not available "
                              f"({module.__name__} defines no SPEC and no {', '.join(lacking)})",
                              "model.head.method")
        return cls(name, module.__name__, *(getattr(module, t) for t in tables),
                   choices=getattr(module, "CHOICES", None) or {},
                   threshold_key=getattr(module, "THRESHOLD_KEY", None),
                   input=getattr(module, "INPUT", "map"),
                   needs_targets=bool(getattr(module, "NEEDS_TARGETS", False)),
                   output_kind=getattr(module, "OUTPUT_KIND", "maps"))


def spec_by_name(name):
    """The spec registered under ``name`` (see :func:`textseg.methods.spec`)."""
    from . import spec

    return spec(name)
