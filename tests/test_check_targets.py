"""tools/check_targets.py: GT -> targets -> perfect maps -> decoder -> ICDAR scores."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "check_targets.py")
DOCBENCH = os.path.join(ROOT, "tests", "data", "docbench-dev")  # shipped with the repository


def run_tool(*args):
    proc = subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True, cwd=ROOT)
    return proc


def write_page(folder, name, quads, texts, size=(300, 400)):
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    os.makedirs(os.path.join(folder, "gt"), exist_ok=True)
    img = np.full(size + (3,), 255, np.uint8)
    for q in quads:
        cv2.fillPoly(img, [np.round(q).astype(np.int32)], (40, 40, 40))
    cv2.imwrite(os.path.join(folder, "images", f"{name}.jpg"), img)
    with open(os.path.join(folder, "gt", f"gt_{name}.txt"), "w") as f:
        for q, t in zip(quads, texts):
            f.write(",".join(str(int(round(v))) for v in np.asarray(q).ravel()) + f",{t}\n")


def box(x, y, w, h, angle=0.0):
    c, s = np.cos(angle), np.sin(angle)
    pts = np.array([[0, 0], [w, 0], [w, h], [0, h]], float) - [w / 2, h / 2]
    return pts @ np.array([[c, s], [-s, c]]) + [x + w / 2, y + h / 2]


@pytest.fixture()
def data(tmp_path):
    folder = str(tmp_path / "data")
    write_page(folder, "img_1", [box(20, 20, 120, 24), box(160, 20, 80, 24), box(30, 100, 200, 30, 0.1),
                                 box(40, 200, 60, 14), box(300, 250, 30, 8)],
               ["alpha", "beta", "gamma", "delta", "###"])
    write_page(folder, "img_2", [box(50, 50, 150, 40, -0.2), box(60, 180, 90, 20)], ["one", "two"])
    cfg = tmp_path / "east.yaml"
    cfg.write_text("model:\n  head: {method: east}\n")
    return folder, str(cfg)


def test_round_trip_is_perfect_and_writes_pictures(data, tmp_path):
    folder, cfg = data
    out = str(tmp_path / "pics")
    proc = run_tool("--config", cfg, "--data", folder, "--out", out)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["images"] == 2 and summary["gt_care"] == 6
    assert summary["hmean"] == 1.0 and summary["precision"] == 1.0 and summary["recall"] == 1.0
    assert lines[0].startswith("img_1:")
    assert sorted(os.listdir(out)) == ["img_1_maps.png", "img_1_overlay.png",
                                       "img_2_maps.png", "img_2_overlay.png"]


def test_scaled_input_and_overrides(data):
    folder, cfg = data
    # a small input: GT is scaled down, targets built there, polygons scaled back up
    proc = run_tool("--config", cfg, "--data", folder, "--max-side", "200", "--n", "1",
                    "--set", "model.targets.min_text_size=2")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["images"] == 1 and summary["hmean"] >= 0.99
    # words below min_text_size are not learned: the round trip shows it
    proc = run_tool("--config", cfg, "--data", folder, "--set", "model.targets.min_text_size=25")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["recall"] == pytest.approx(2 / 6, abs=1e-3) and summary["precision"] == 1.0


def test_user_errors_are_one_line(data, tmp_path):
    folder, cfg = data
    proc = run_tool("--config", cfg, "--data", str(tmp_path / "missing"))
    assert proc.returncode != 0 and proc.stderr.startswith("error:")
    assert len(proc.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  head: {method: east, geometri: quad}\n")
    proc = run_tool("--config", str(bad), "--data", folder)
    assert proc.returncode != 0 and "bad.yaml" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_east_round_trip_on_docbench_pages(tmp_path):
    cfg = tmp_path / "east.yaml"
    cfg.write_text("model:\n  head: {method: east}\n")
    proc = run_tool("--config", str(cfg), "--data", DOCBENCH, "--n", "2")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["hmean"] >= 0.98
