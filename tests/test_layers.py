"""No module of the package imports one of a higher layer (checked with ast, lazy imports
inside functions included).

    tools > benchmarks > export, training, validation, recognize, ocrmypdf, pipeline > detector,
    output, formats, evaluation > config, model, data, checkpoint, optim > methods, layout >
    backbones, trunks, geometry, fileio, errors, types, progress, tiles, scale

Imports within one layer are allowed. The package root (``textseg/__init__.py``) is a
lazy facade (``textseg.Detector``, ``__version__``) and is left out. A new top-level
module or package must be given its layer here.
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "textseg")

LAYERS = (
    ("backbones", "trunks", "geometry", "fileio", "errors", "types", "progress", "tiles",
     "scale", "onnx_passes"),
    ("methods", "layout"),
    ("config", "model", "data", "checkpoint", "optim"),
    ("detector", "output", "formats", "evaluation"),
    ("export", "training", "validation", "recognize", "ocrmypdf", "onnx_import", "quantize",
     "distributed", "pipeline"),
    ("benchmarks",),
)
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def top_level_names():
    out = set()
    for entry in os.listdir(PACKAGE):
        path = os.path.join(PACKAGE, entry)
        if entry.endswith(".py") and entry != "__init__.py":
            out.add(entry[:-3])
        elif os.path.isfile(os.path.join(path, "__init__.py")):
            out.add(entry)
    return out


def modules():
    """(dotted module name, path) of every module of the package."""
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
        rel = os.path.relpath(folder, ROOT).split(os.sep)
        for f in sorted(files):
            if f.endswith(".py"):
                parts = rel + ([] if f == "__init__.py" else [f[:-3]])
                yield ".".join(parts), os.path.join(folder, f), f == "__init__.py"


def imported(module, path, is_package):
    """(line, dotted target) of every import in a module."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            if node.module is None:  # from . import a, b: each may be a module
                for alias in node.names:
                    yield node.lineno, f"{prefix}.{alias.name}"
            else:
                yield node.lineno, prefix


def layer_of(dotted):
    """The layer of a dotted name inside the package, None for the root or outside."""
    parts = dotted.split(".")
    if parts[0] != "textseg" or len(parts) == 1:
        return None
    return parts[1]


def test_every_top_level_module_has_a_layer():
    missing = sorted(top_level_names() - set(LAYER))
    assert not missing, f"give these modules a layer in tests/test_layers.py: {missing}"


def test_no_module_imports_a_higher_layer():
    names = top_level_names()
    bad = []
    for module, path, is_package in modules():
        own = layer_of(module)
        if own is None:  # the package root: a lazy facade
            continue
        for line, target in imported(module, path, is_package):
            if target.split(".")[0] in ("tools", "_common"):
                bad.append(f"{module}:{line} imports the tools ({target})")
                continue
            other = layer_of(target)
            if other is None or other not in names or other not in LAYER or own not in LAYER:
                continue  # outside the package, the root's attributes, or unplaced (see above)
            if LAYER[other] > LAYER[own]:
                bad.append(f"{os.path.relpath(path, ROOT)}:{line}: {own} (layer {LAYER[own]}) "
                           f"imports {target} (layer {LAYER[other]})")
    assert not bad, "imports up the layers:\n" + "\n".join(bad)


@pytest.mark.parametrize("source, module, is_package, expected", [
    ("from . import methods", "textseg.config", False, ["textseg.methods"]),
    ("from ..errors import X", "textseg.data.icdar", False, ["textseg.errors"]),
    ("from .. import spec", "textseg.methods.east", True, ["textseg.methods.spec"]),
    ("from ...geometry import g", "textseg.methods.east.decode", False, ["textseg.geometry"]),
    ("import textseg.detector", "textseg.output", False, ["textseg.detector"]),
])
def test_imports_are_resolved(tmp_path, source, module, is_package, expected):
    path = tmp_path / "m.py"
    path.write_text(source + "\n")
    assert [t for _, t in imported(module, str(path), is_package)] == expected
