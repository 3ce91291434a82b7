"""Readers for FUNSD, CORD and SROIE folders as their authors ship them."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import ROOT
from textseg.data.icdar import find_gt_files, find_pairs, read_gt
from textseg.errors import GTFormatError

FUNSD = {"form": [
    {"id": 0, "label": "question", "text": "Date:", "box": [10, 10, 60, 30],
     "words": [{"box": [10, 10, 60, 30], "text": "Date:"}]},
    {"id": 1, "label": "answer", "text": "March 27, 1984", "box": [70, 10, 200, 30],
     "words": [{"box": [70, 10, 120, 30], "text": "March"}, {"box": [125, 10, 150, 30], "text": "27,"},
               {"box": [155, 10, 200, 30], "text": "1984"}]},
    {"id": 2, "label": "other", "text": "two line entity", "box": [10, 50, 120, 100],
     "words": [{"box": [10, 50, 50, 70], "text": "two"}, {"box": [55, 50, 90, 70], "text": "line"},
               {"box": [10, 80, 70, 100], "text": "entity"}]},
    {"id": 3, "label": "other", "text": "", "box": [150, 80, 190, 100],
     "words": [{"box": [150, 80, 190, 100], "text": ""}]},
]}

CORD = {"valid_line": [
    {"category": "menu.nm", "group_id": 1, "words": [
        {"quad": {"x1": 10, "y1": 10, "x2": 60, "y2": 10, "x3": 60, "y3": 30, "x4": 10, "y4": 30},
         "text": "ICE", "row_id": 5, "is_key": 0},
        {"quad": {"x1": 65, "y1": 10, "x2": 120, "y2": 10, "x3": 120, "y3": 30, "x4": 65, "y4": 30},
         "text": "TEA", "row_id": 5, "is_key": 0}]},
    {"category": "menu.price", "group_id": 1, "words": [
        {"quad": {"x1": 150, "y1": 10, "x2": 200, "y2": 10, "x3": 200, "y3": 30, "x4": 150, "y4": 30},
         "text": "9.000", "row_id": 5, "is_key": 0}]},
]}


def _image(path, w=220, h=120):
    cv2.imwrite(str(path), np.full((h, w, 3), 255, np.uint8))


def _funsd(root):
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    _image(root / "images" / "82092117.png")
    (root / "annotations" / "82092117.json").write_text(json.dumps(FUNSD))
    return root


def test_funsd_words_and_entity_lines(tmp_path):
    root = _funsd(tmp_path / "training_data")
    (img, gt), = find_pairs(root)
    words = read_gt(gt)
    assert [a.text for a in words] == ["Date:", "March", "27,", "1984", "two", "line", "entity", "###"]
    assert words[-1].ignore and not words[0].ignore
    np.testing.assert_allclose(words[1].polygon, [[70, 10], [120, 10], [120, 30], [70, 30]])
    (img, gt), = find_pairs(root, level="line")
    lines = read_gt(gt)
    assert [a.text for a in lines] == ["Date:", "March 27, 1984", "two line", "entity", "###"]
    np.testing.assert_allclose(lines[1].polygon, [[70, 10], [200, 10], [200, 30], [70, 30]])


def test_cord_words_and_field_rows(tmp_path):
    root = tmp_path / "train"
    (root / "image").mkdir(parents=True)
    (root / "json").mkdir()
    _image(root / "image" / "receipt_00000.png")
    (root / "json" / "receipt_00000.json").write_text(json.dumps(CORD))
    assert [a.text for a in read_gt(find_pairs(root)[0][1])] == ["ICE", "TEA", "9.000"]
    lines = read_gt(find_pairs(root, level="line")[0][1])
    assert [a.text for a in lines] == ["ICE TEA", "9.000"]
    np.testing.assert_allclose(lines[0].polygon, [[10, 10], [120, 10], [120, 30], [10, 30]])
    assert list(find_gt_files(tmp_path, split="train", level="line")) == ["receipt_00000"]


@pytest.mark.parametrize("layout", ["flat", "img_box"])
def test_sroie_folders_give_line_ground_truth(tmp_path, layout):
    root = tmp_path / "task1"
    imgs = root if layout == "flat" else root / "img"
    boxes = root if layout == "flat" else root / "box"
    imgs.mkdir(parents=True)
    boxes.mkdir(parents=True, exist_ok=True)
    _image(imgs / "X00016469612.jpg")
    (boxes / "X00016469612.txt").write_text("72,25,326,25,326,64,72,64,TAN WOON YANN\n"
                                            "50,82,440,82,440,121,50,121,BOOK TA .K(TAMAN DAYA) SDN BND\n")
    (img, gt), = find_pairs(root, level="line")
    assert os.path.basename(gt) == "X00016469612.txt"
    assert [a.text for a in read_gt(gt)] == ["TAN WOON YANN", "BOOK TA .K(TAMAN DAYA) SDN BND"]


def test_malformed_json_is_a_one_line_error_naming_the_file(tmp_path):
    root = _funsd(tmp_path / "f")
    bad = root / "annotations" / "82092117.json"
    bad.write_text('{"form": [{"words": [{"box": [1, 2, "x", 4]}]}]}')
    with pytest.raises(GTFormatError, match=r"82092117\.json:1: form\[0\]\.words\[0\]"):
        read_gt(find_pairs(root)[0][1])
    bad.write_text("{not json")
    with pytest.raises(GTFormatError, match=r"82092117\.json:1: not valid JSON"):
        read_gt(find_pairs(root)[0][1])
    bad.write_text('{"something": []}')
    with pytest.raises(GTFormatError, match="neither FUNSD"):
        read_gt(find_pairs(root)[0][1])


def test_eval_scores_a_funsd_folder_as_it_comes(tmp_path):
    """tools/eval.py folder mode: ground truth straight from FUNSD JSON."""
    root = _funsd(tmp_path / "funsd")
    pred = tmp_path / "pred"
    pred.mkdir()
    boxes = [w["box"] for e in FUNSD["form"] for w in e["words"] if w["text"]]
    with open(pred / "res_82092117.txt", "w") as f:
        for x1, y1, x2, y2 in boxes[:4]:
            f.write(f"{x1},{y1},{x2},{y1},{x2},{y2},{x1},{y2}\n")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "eval.py"), "--gt", str(root),
                        "--pred", str(pred), "--json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["precision"] == 1.0 and abs(r["recall"] - 4 / 7) < 1e-6
