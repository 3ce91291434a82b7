"""YAML config -> plain nested dict with defaults merged and every value checked.

``load_config(path_or_dict, overrides=["train.steps=2000", ...])``. Sections
``model``, ``data``, ``train``, ``infer``; ``model.head``, ``model.targets``,
``model.loss`` and ``infer.decode`` take their keys and defaults from the spec of the
method named by ``model.head.method`` (``textseg.methods.spec(name)``).
A value must have its default's type (an int is accepted for a float; a ``null``
default accepts anything); names are checked against their allowed values.
Any problem raises :class:`ConfigError`, one line naming the file (and line) or the
override, the dotted key and what is allowed. Torch-free.
"""

import copy
import math
import os
import re

from typing import Any, Iterable, List, Optional, Tuple, Union

import yaml

from . import methods
from .errors import ConfigError
from .tiles import TILE_DEFAULTS
from .types import Config

#: what load_config reads: a YAML path, a dict, or None for the defaults only
Source = Union[str, os.PathLike, dict, None]


BACKBONE_NAMES = ("resnet18", "resnet34", "resnet50", "resnet101", "vgg16", "vgg16_bn")
TRUNK_NAMES = ("fcn", "unet", "fpn")
TRUNK_VARIANTS = (None, "8s", "16s", "32s")
LEVELS = ("word", "line")

DEFAULTS = {
    "model": {
        "backbone": {"name": "resnet50", "pretrained": None, "frozen_stages": -1, "frozen_bn": False,
                     "width": 1.0, "stem": "standard"},
        "trunk": {"name": "fpn", "channels": 256, "variant": None, "fc": False, "fuse_kernel": 3},
        "head": {"method": "east"},  # + the method's HEAD_DEFAULTS
        "targets": {},               # the method's TARGET_DEFAULTS
        "loss": {},                  # the method's LOSS_DEFAULTS
    },
    "data": {
        "train": [],   # list of {path, ratio, level}
        "synth": None,  # or {dir, on_the_fly, ratio, seed}
        "val": None,
        "level": "word",
        "crop_size": 512,
        "workers": 2,
        "augment": {"scale": [0.5, 2.0], "rotate": 5.0, "perspective": 0.02, "color_jitter": 0.3,
                    "blur": 0.2, "noise": 0.2, "jpeg": 0.2, "crop_text_prob": 0.9},
    },
    "train": {
        "batch_size": 8,
        "steps": 10000,
        "optimizer": {"name": "adam", "lr": 0.001, "weight_decay": 0.0001, "momentum": 0.9,
                      "betas": [0.9, 0.999]},
        "schedule": {"name": "poly", "power": 0.9, "warmup_steps": 0, "warmup_factor": 0.001,
                     "min_lr": 0.0},
        "clip_grad": 0.0,
        "amp": None,
        "channels_last": False,
        "sync_bn": False,
        "seed": 0,
        "log_every": 20,
        "val_every": 1000,
        "save_every": 500,
        "max_bad_steps": 5,
        "device": "auto",
    },
    "infer": {
        "resize": {"policy": "document", "max_side": 2048, "long_side": 1024, "multiple": 32,
                   "upscale_to": 0, "max_upscale": 0.0, "glyph_px": 0, "min_long": 640,
                   "crop_margins": False},
        "batch_size": 1,
        # output boxes (words and lines) grown across their text by this x their height on
        # each side, after the layout has grouped the decoder's boxes (textseg.geometry.pad_across)
        "pad": 0.0,
        # line segments whose words' mean score is under this are dropped, as marks are
        # (textseg.layout.segment_lines' min_score): scribbles, stamps, specks the decoder
        # kept one box at a time; the words themselves stay
        "line_score": 0.0,
        "decode": {},  # the method's DECODE_DEFAULTS
        # large pages as overlapping tiles at native scale (textseg.tiles); auto: when the
        # long-side cap would shrink the page; sizes in network-input pixels
        "tile": dict(TILE_DEFAULTS),
    },
}

TRAIN_SOURCE_DEFAULTS = {"path": "", "ratio": 1.0, "level": None}  # level None: data.level
SYNTH_DEFAULTS = {"dir": None, "on_the_fly": False, "ratio": 1.0, "seed": 0}

#: dotted key -> allowed values
ENUMS = {
    "model.backbone.name": BACKBONE_NAMES,
    "model.backbone.stem": ("standard", "fast"),
    "model.trunk.fuse_kernel": (1, 3),
    "model.trunk.name": TRUNK_NAMES,
    "model.trunk.variant": TRUNK_VARIANTS,
    "train.optimizer.name": ("adam", "adamw", "sgd"),
    "train.schedule.name": ("poly", "cosine", "constant"),
    "train.amp": (None, "bf16", "fp16"),
    "infer.resize.policy": ("document", "fixed"),
    "infer.tile.enabled": ("auto", True, False),
    "data.level": LEVELS,
}

#: keys that hold a path or null
OPTIONAL_PATHS = {"model.backbone.pretrained", "data.val", "data.synth.dir"}

#: dotted key -> (min, max), None for open
RANGES = {
    "model.backbone.frozen_stages": (-1, 4),
    "model.backbone.width": (0.05, 4.0),
    "model.trunk.channels": (1, None),
    "data.crop_size": (32, None),
    "data.workers": (0, None),
    "train.batch_size": (1, None),
    "train.steps": (0, None),
    "train.optimizer.lr": (0, None),
    "train.optimizer.weight_decay": (0, None),
    "train.clip_grad": (0, None),
    "train.max_bad_steps": (0, None),
    "train.log_every": (1, None),
    "train.save_every": (0, None),   # 0: last.pt only at the end (and on a signal)
    "train.val_every": (0, None),    # 0: validate only at the end
    "infer.batch_size": (1, None),
    "infer.pad": (0, 1),
    "infer.line_score": (0, 1),
    "infer.resize.max_side": (32, None),
    "infer.resize.long_side": (32, None),
    "infer.resize.multiple": (1, None),
    "infer.resize.glyph_px": (0, 200),   # 0: off
    "infer.resize.min_long": (32, None),
    "infer.tile.size": (64, None),
    "infer.tile.overlap": (0, None),
    "data.augment.rotate": (0, 180),
    "data.augment.perspective": (0, 0.5),
    "data.augment.color_jitter": (0, 1),
    "data.augment.blur": (0, 1),
    "data.augment.noise": (0, 1),
    "data.augment.jpeg": (0, 1),
    "data.augment.crop_text_prob": (0, 1),
    "train.schedule.power": (0, None),
    "train.schedule.warmup_steps": (0, None),
    "train.schedule.warmup_factor": (0, 1),
    "train.schedule.min_lr": (0, None),
}

#: list keys: (min, max) of every element and whether the elements must not decrease
LIST_RANGES = {
    "data.augment.scale": (0.01, 100, True),
    "train.optimizer.betas": (0, 0.9999, False),
}


def _show(v):
    return "null" if v is None else str(v)


def _choices(values):
    return ", ".join(_show(v) for v in values)


def _method_defaults(spec):
    """Copies of the (head, targets, loss, decode) option tables of a method's spec."""
    return [copy.deepcopy(dict(t)) for t in (spec.head_defaults, spec.target_defaults,
                                             spec.loss_defaults, spec.decode_defaults)]


def _number(default, value):
    if isinstance(value, bool):
        return None
    if isinstance(default, int):
        return value if isinstance(value, int) else None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):  # YAML 1.1 reads 1e-4 as a string
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _method_choices():
    """Allowed values of method options named by the methods' specs (``choices``)."""
    out = {}
    for name in methods.names():
        try:
            out.update(methods.spec(name).choices)
        except ConfigError:  # a method that is not available has no options to check
            continue
    return out


def _check_value(default, value, key):
    allowed = ENUMS.get(key) or _method_choices().get(key)
    if allowed:
        if value not in allowed:
            raise ConfigError(f"{key}: unknown value {value!r}; choose from {_choices(allowed)}", key)
        return value
    if key in OPTIONAL_PATHS:
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise ConfigError(f"{key}: expected a path (string) or null, got {value!r}", key)
        return None if value is None else os.fspath(value)
    if default is None:
        return value
    if isinstance(default, bool):
        ok, want = (value if isinstance(value, bool) else None), "true or false"
    elif isinstance(default, (int, float)):
        ok = _number(default, value)
        want = "an integer" if isinstance(default, int) else "a number"
    elif isinstance(default, str):
        ok, want = (value if isinstance(value, str) else None), "a string"
    elif isinstance(default, list):
        ok, want = _check_list(default, value), "a list"
        if default and all(isinstance(d, (int, float)) for d in default):
            want = f"a list of {len(default)} numbers"
    else:
        ok, want = value, ""
    if ok is None:
        raise ConfigError(f"{key}: expected {want}, got {value!r}", key)
    lo, hi = RANGES.get(key, (None, None))
    bounds = "" if lo is None and hi is None else f">= {lo}" if hi is None else f"in {lo}..{hi}"
    if isinstance(ok, float) and not math.isfinite(ok):  # nan passes every comparison
        raise ConfigError(f"{key}: {value!r} is not a finite number; expected a finite value"
                          f"{' ' + bounds if bounds else ''}", key)
    if (lo is not None and ok < lo) or (hi is not None and ok > hi):
        raise ConfigError(f"{key}: {value!r} is out of range; expected a value {bounds}", key)
    if key in LIST_RANGES:
        _check_list_range(ok, value, key)
    return ok


def _check_list_range(nums, value, key):
    lo, hi, ordered = LIST_RANGES[key]
    if ordered:
        want = f"[lo, hi] with {lo} <= lo <= hi <= {hi}"
    else:
        want = f"values in {lo}..{hi}"
    bad = any(not math.isfinite(v) or v < lo or v > hi for v in nums) or \
        (ordered and any(a > b for a, b in zip(nums, nums[1:])))
    if bad:
        raise ConfigError(f"{key}: {value!r} is out of range; expected {want}", key)


def _check_list(default, value):
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        return None
    if default and all(isinstance(d, (int, float)) and not isinstance(d, bool) for d in default):
        nums = [_number(d, v) for d, v in zip(default, value)]
        if len(value) != len(default) or any(n is None for n in nums):
            return None
        return nums
    return value


def _merge(default, value, key):
    if key in SPECIAL:
        return SPECIAL[key](value, key)
    return _merge_plain(default, value, key)


def _merge_plain(default, value, key):
    if not isinstance(default, dict):
        return _check_value(default, value, key)
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping with keys {_choices(default)}, got {value!r}", key)
    for k in value:
        if k not in default:
            sub = f"{key}.{k}" if key else str(k)
            where = f"of {key}" if key else "at the top level"
            raise ConfigError(f"{sub}: unknown key; allowed keys {where}: {_choices(default)}", sub)
    return {k: _merge(d, value[k], f"{key}.{k}" if key else k) if k in value else copy.deepcopy(d)
            for k, d in default.items()}


def _train_sources(value, key):
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list of {{path, ratio, level}} (or paths), got {value!r}", key)
    out = []
    for i, entry in enumerate(value):
        if isinstance(entry, str):
            entry = {"path": entry}
        sub = f"{key}[{i}]"
        src = _merge_plain(TRAIN_SOURCE_DEFAULTS, entry, sub)
        if not src["path"]:
            raise ConfigError(f"{sub}.path: a training folder is required", f"{sub}.path")
        if src["level"] not in (None, *LEVELS):
            raise ConfigError(f"{sub}.level: unknown value {src['level']!r}; choose from "
                              f"{_choices(LEVELS)}", f"{sub}.level")
        if src["ratio"] <= 0:
            raise ConfigError(f"{sub}.ratio: must be > 0, got {src['ratio']}", f"{sub}.ratio")
        out.append(src)
    return out


def _synth(value, key):
    if value is None:
        return None
    synth = _merge_plain(SYNTH_DEFAULTS, value, key)
    if not synth["dir"] and not synth["on_the_fly"]:
        raise ConfigError(f"{key}: set dir (a folder of synthetic pages) or on_the_fly: true, "
                          f"or use null for no synthetic data", key)
    if synth["ratio"] <= 0:
        raise ConfigError(f"{key}.ratio: must be > 0, got {synth['ratio']}", f"{key}.ratio")
    return synth


SPECIAL = {"data.train": _train_sources, "data.synth": _synth}


def _cross_checks(cfg):
    trunk = cfg["model"]["trunk"]
    if trunk["variant"] is not None and trunk["name"] != "fcn":
        raise ConfigError(f"model.trunk.variant: only the fcn trunk has variants "
                          f"({_choices(TRUNK_VARIANTS[1:])}); use null for {trunk['name']}",
                          "model.trunk.variant")
    if trunk["fc"] and trunk["name"] != "fcn":
        raise ConfigError(f"model.trunk.fc: only the fcn trunk has the fc6/fc7 block; use false "
                          f"for {trunk['name']}", "model.trunk.fc")


def merge_config(user: Optional[dict]) -> Config:
    """Validate ``user`` (a dict) and merge it over the defaults; raises ConfigError."""
    if user is None:
        user = {}
    if not isinstance(user, dict):
        raise ConfigError(f"a config must be a mapping with sections {_choices(DEFAULTS)}, got {user!r}")
    model = user.get("model") if isinstance(user.get("model"), dict) else {}
    head = model.get("head") if isinstance(model.get("head"), dict) else {}
    method = head.get("method", DEFAULTS["model"]["head"]["method"])
    spec = methods.spec(method)  # ConfigError for an unknown or broken method
    head_d, target_d, loss_d, decode_d = _method_defaults(spec)
    defaults = copy.deepcopy(DEFAULTS)
    defaults["model"]["head"] = {"method": method, **head_d}
    defaults["model"]["targets"] = target_d
    defaults["model"]["loss"] = loss_d
    defaults["infer"]["decode"] = decode_d
    cfg = _merge(defaults, user, "")
    trunk = cfg["model"]["trunk"]["name"]
    if spec.input == "pyramid" and trunk != "fpn":
        raise ConfigError(f"model.trunk.name: method {method} reads pyramid levels and needs "
                          f"the fpn trunk, got {trunk}", "model.trunk.name")
    for src in cfg["data"]["train"]:  # a source without its own level reads data.level
        if src["level"] is None:
            src["level"] = cfg["data"]["level"]
    _cross_checks(cfg)
    return cfg


def parse_override(text: str) -> Tuple[List[str], Any]:
    """``"a.b.c=value"`` -> (["a", "b", "c"], value parsed by yaml.safe_load)."""
    key, sep, raw = str(text).partition("=")
    parts = key.strip().split(".")
    if not sep or not all(re.fullmatch(r"[A-Za-z0-9_]+", p) for p in parts):
        raise ConfigError(f"override {text!r}: expected key.sub=value, e.g. train.steps=2000")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as e:
        raise ConfigError(f"override {text!r}: value is not valid YAML "
                          f"({str(e).splitlines()[0]})") from None
    return parts, value


def apply_override(cfg: dict, text: str) -> str:
    """Set one ``key.sub=value`` override in the raw dict ``cfg`` (in place)."""
    parts, value = parse_override(text)
    node = cfg
    for i, p in enumerate(parts[:-1]):
        if node.get(p) is None:
            node[p] = {}
        if not isinstance(node[p], dict):
            key = ".".join(parts[: i + 1])
            raise ConfigError(f"override {text!r}: {key} is a value, not a section", key)
        node = node[p]
    node[parts[-1]] = value
    return ".".join(parts)


def _yaml_line(text, key):
    """1-based line of ``key`` (dotted, [i] for list items) in YAML ``text``, or None."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for tok in re.findall(r"[^.\[\]]+", key or ""):
        if isinstance(node, yaml.MappingNode):
            hit = [(k, v) for k, v in node.value if k.value == tok]
            if not hit:
                break
            line, node = hit[0][0].start_mark.line + 1, hit[0][1]
        elif isinstance(node, yaml.SequenceNode) and tok.isdigit() and int(tok) < len(node.value):
            node = node.value[int(tok)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def read_yaml(path: Union[str, os.PathLike]) -> Tuple[Any, str]:
    """Parse a YAML config file; errors name the file and line."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: config file not found")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); save the "
                          f"config as UTF-8") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        raise ConfigError(f"{where}: invalid YAML ({getattr(e, 'problem', None) or e})") from None
    return data, text


def load_config(source: Source = None, overrides: Iterable[str] = ()) -> Config:
    """A validated config: ``source`` is a YAML path, a dict or None (defaults only)."""
    path = text = None
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        user, text = read_yaml(path)
    else:
        user = copy.deepcopy(source)
    user = {} if user is None else user
    if not isinstance(user, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping with sections {_choices(DEFAULTS)}")
    set_by = {}
    for text_ov in overrides or ():
        set_by[apply_override(user, text_ov)] = text_ov
    try:
        return merge_config(user)
    except ConfigError as e:
        key = e.key or ""
        ov = [t for k, t in set_by.items() if key == k or key.startswith(k + ".")
              or k.startswith(key + ".") or key.startswith(k + "[")]
        if ov:
            raise ConfigError(f"override {ov[-1]!r}: {e}", e.key) from None
        if path:
            line = _yaml_line(text, key)
            raise ConfigError(f"{path}:{line}: {e}" if line else f"{path}: {e}", e.key) from None
        raise


def with_infer(cfg: Config, config: Source = None, overrides: Iterable[str] = (),
               owner: str = "the model") -> Config:
    """``cfg`` (a merged config) with another ``infer`` section, validated once, here.

    ``config``: a YAML path (or a dict) whose ``infer`` section (resize policy, decoder
    settings) replaces ``cfg``'s; it must be a config for the same method. ``overrides``:
    ``infer.*`` settings applied on top, as ``"infer.decode.box_thresh=0.9"`` strings.
    Raises :class:`ConfigError`, one line naming the file or the override; ``owner`` names
    what ``cfg`` belongs to in the message about a config for another method."""
    method = cfg["model"]["head"]["method"]
    infer = cfg["infer"]
    if config is not None:
        other = load_config(config)
        theirs = other["model"]["head"]["method"]
        if theirs != method:
            where = os.fspath(config) if isinstance(config, (str, os.PathLike)) else "config"
            raise ConfigError(f"{where}: is a config for method {theirs!r}, {owner} is "
                              f"{method!r}", "model.head.method")
        infer = other["infer"]
    overrides = list(overrides or ())
    for text in overrides:
        parts, _ = parse_override(text)
        if parts[0] != "infer" or len(parts) < 2:
            raise ConfigError(f"override {text!r}: only infer.* settings can be changed here",
                              ".".join(parts))
    if overrides:
        user = {"model": {"head": {"method": method}}, "infer": to_plain(infer)}
        infer = load_config(user, overrides)["infer"]
    return {**cfg, "infer": copy.deepcopy(infer)}


def to_plain(obj: Any) -> Any:
    """``obj`` with only dict/list/str/int/float/bool/None (tuples -> lists)."""
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"config value {obj!r} of type {type(obj).__name__} is not a plain type")


def dump_config(cfg: Config) -> str:
    """The config as YAML text (plain types, sections in order)."""
    return yaml.safe_dump(to_plain(cfg), sort_keys=False, default_flow_style=None)


def save_config(cfg: Config, path: Union[str, os.PathLike]) -> None:
    from .fileio import atomic_write

    atomic_write(path, dump_config(cfg))
