"""The Python versions the project claims are the ones its pins resolve on (issue 19, item 14).

``requires-python`` and the README claim Python 3.10+. Every pin of requirements.txt and
requirements-dev.txt must then select exactly one version on 3.10 and one on 3.11+, and the
3.10 versions are the ones known to have 3.10 wheels (checked with ``pip download
--python-version 3.10 --only-binary=:all: --no-deps``; the torch-free tests and detect.py
were run on 3.10 with them). Offline: no index is asked.
"""

import os
import re

import pytest

from conftest import ROOT

markers = pytest.importorskip("packaging.markers")
requirements = pytest.importorskip("packaging.requirements")

#: the newest releases with CPython 3.10 wheels, where the 3.11 pins have none
PY310 = {"numpy": "2.2.6", "shapely": "2.1.2", "onnxruntime": "1.23.2", "pillow": "12.3.0",
         "matplotlib": "3.10.9", "hypothesis": "6.168.5"}


def pins(name):
    out = []
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                out.append(requirements.Requirement(line))
    return out


def selected(reqs, python):
    env = {"python_version": python, "python_full_version": python + ".0"}
    chosen = {}
    for r in reqs:
        if r.marker is None or r.marker.evaluate(env):
            assert r.name not in chosen, f"{r.name} pinned twice for Python {python}"
            (spec,) = r.specifier
            assert spec.operator == "==", r
            chosen[r.name.lower()] = spec.version
    return chosen


def claimed_minimum():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        m = re.search(r'requires-python\s*=\s*">=\s*3\.(\d+)"', f.read())
    return f"3.{m.group(1)}"


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_every_pin_resolves_on_every_claimed_python(name):
    reqs = pins(name)
    assert claimed_minimum() == "3.10"
    names = {r.name.lower() for r in reqs}
    for python in ("3.10", "3.11", "3.12", "3.13"):
        assert set(selected(reqs, python)) == names, python
    on310 = selected(reqs, "3.10")
    for pkg, version in PY310.items():
        if pkg in on310:
            assert on310[pkg] == version, (pkg, on310[pkg])


def test_readme_claims_what_pyproject_claims():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    assert f"Python {claimed_minimum()}+" in text
