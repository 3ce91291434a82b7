"""The README's headline scores reproduce from a clone (issue 19, item 19): the docbench-dev
pages ship in the repository, the scoring test runs instead of skipping, and the quick start
can be rerun into the same out/."""

import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from conftest import DOCBENCH, ROOT

SHIPPED = os.path.join(ROOT, "tests", "data", "docbench-dev")
ENV = dict(os.environ, OMP_NUM_THREADS="2", PYTHONIOENCODING="utf-8")


def readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


def test_docbench_dev_ships_with_the_repository():
    from textseg.data import icdar

    assert os.path.normpath(DOCBENCH) == os.path.normpath(SHIPPED)
    for level in ("word", "line"):
        pairs = icdar.find_pairs(SHIPPED, level=level)
        assert len(pairs) == 20 and all(gt for _img, gt in pairs), level
    # the measuring commands in the README read the shipped copy
    assert "tools/eval.py --model default --data tests/data/docbench-dev" in readme()


@pytest.mark.parametrize("level", ["word", "line"])
def test_readme_headline_score_reproduces(level):
    row = next(line for line in readme().splitlines() if line.startswith("| **textseg default**"))
    cells = [c.strip() for c in row.split("|")]
    want = float(re.search(r"\*\*([0-9.]+)\*\*", cells[2 if level == "word" else 3]).group(1))
    cmd = [sys.executable, os.path.join(ROOT, "tools", "eval.py"), "--model", "default",
           "--data", SHIPPED, "--level", level, "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["images"] == 20
    assert abs(got["hmean"] - want) < 0.0015, (level, got["hmean"], want)


def test_quick_start_can_be_rerun_into_the_same_out(tmp_path):
    line = next(x for x in readme().splitlines() if "python tools/detect.py examples/page.jpg" in x
                and x.startswith("pip install"))
    detect = shlex.split(line.split("&&", 1)[1])
    assert detect[:3] == ["python", "tools/detect.py", "examples/page.jpg"]
    out = str(tmp_path / "out") + "/"
    cmd = [sys.executable, *[out if c == "out/" else c for c in detect[1:]], "--no-progress"]
    assert out in cmd
    for attempt in (1, 2):
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=ENV, timeout=300)
        assert p.returncode == 0, (attempt, p.stderr)
    for name in ("page.json", "res_page.txt", "page_overlay.jpg"):
        assert (tmp_path / "out" / name).stat().st_size > 0
