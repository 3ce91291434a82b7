"""tools/detect.py --workers N: the outputs, the stdout records and the summary of one
worker, in input order, with a tiny model; and the tile options of the command line."""

import json
import os
import re

import numpy as np
from PIL import Image

from test_cli_detect import detect, tiny_model  # noqa: F401 - the fixture

RNG = np.random.default_rng(7)


def inputs(d):
    """Five small pages (one a two-page TIFF) and a broken file, in a folder."""
    d.mkdir()
    for i in range(4):
        Image.fromarray(RNG.integers(0, 256, (40 + 8 * i, 64, 3), dtype=np.uint8)).save(
            d / f"p{i}.png")
    frames = [Image.fromarray(RNG.integers(0, 256, (48, 48, 3), dtype=np.uint8))
              for _ in range(2)]
    frames[0].save(d / "multi.tif", save_all=True, append_images=frames[1:])
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return d


def files(folder):
    out = {}
    for root, _, names in os.walk(folder):
        for n in names:
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, folder)] = f.read()
    return out


def summary(stderr):
    """The summary and the failure lines, without the timing."""
    lines = [re.sub(r"[\d.]+ s/page", "S s/page", line) for line in stderr.splitlines()
             if not line.startswith("warning:")]
    start = next(i for i, line in enumerate(lines) if "inputs processed" in line)
    return lines[start:]


def test_two_workers_write_what_one_writes_in_input_order(tiny_model, tmp_path):  # noqa: F811
    ckpt, onnx = tiny_model
    src = inputs(tmp_path / "in")
    runs = {}
    for n in (1, 2):
        out = tmp_path / f"out{n}"
        p = detect(src, "--model", onnx, "--out", out, "--workers", n, "--threads", 2)
        assert p.returncode == 1, p.stderr  # the broken file
        runs[n] = (files(out), summary(p.stderr))
    assert runs[1][0] and runs[1][0] == runs[2][0]
    assert runs[1][1] == runs[2][1]
    assert "5 of 6 inputs processed: 6 pages" in runs[2][1][0]
    assert any("broken.png" in line for line in runs[2][1])
    # stdout mode: one JSON object per page, in input order
    outs = []
    for n in (1, 2):
        p = detect(src / "p0.png", src / "multi.tif", src / "p3.png", "--model", ckpt,
                   "--workers", n, "--threads", 2)
        assert p.returncode == 0, p.stderr
        outs.append([json.loads(line) for line in p.stdout.splitlines()])
    assert len(outs[0]) == 4 and outs[0] == outs[1]


def test_worker_and_tile_options_are_checked_at_start(tmp_path):
    img = tmp_path / "a.png"
    Image.fromarray(np.full((20, 20, 3), 255, np.uint8)).save(img)
    for bad, word in [(["--workers", "0"], "--workers"), (["--tile", "10"], "--tile"),
                      (["--tile", "256", "--tile-overlap", "256"], "--tile-overlap"),
                      (["--tile", "256", "--no-tile"], "not allowed")]:
        p = detect(img, *bad)
        assert p.returncode == 2 and word in p.stderr, p.stderr


def test_tile_options_reach_the_detector(tmp_path):
    import argparse
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "tools"))
    import detect as cli

    def over(*argv):
        return cli.tile_overrides(cli.parse_args(["x.png", *argv]))

    assert over() == []
    assert over("--no-tile") == ["infer.tile.enabled=false"]
    assert over("--tile", "512") == ["infer.tile.enabled=true", "infer.tile.size=512",
                                     "infer.tile.overlap=128"]
    assert over("--tile", "2048", "--tile-overlap", "300") == [
        "infer.tile.enabled=true", "infer.tile.size=2048", "infer.tile.overlap=300"]
    assert isinstance(cli.parse_args(["x.png"]), argparse.Namespace)
