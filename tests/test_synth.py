import os
import sys

import cv2
import numpy as np
import pytest

from textseg.data import synth
from textseg.data.icdar import find_pairs, read_gt
from textseg.data.synth.render import Word
from textseg.geometry import order_clockwise, polygon_area

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = {"dpi_range": (60, 80)}  # small pages keep the tests fast


def _tool(name):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        return __import__(name)
    finally:
        sys.path.pop(0)


def test_generate_page_is_deterministic_per_seed():
    a, b = synth.generate_page(11, SMALL), synth.generate_page(11, SMALL)
    c = synth.generate_page(12, SMALL)
    assert a.image.dtype == np.uint8 and a.image.ndim == 3 and a.image.shape[2] == 3
    assert np.array_equal(a.image, b.image)
    assert [w.text for w in a.words] == [w.text for w in b.words]
    assert all(np.array_equal(x.polygon, y.polygon) for x, y in zip(a.words, b.words))
    assert a.meta == b.meta
    assert a.image.shape != c.image.shape or not np.array_equal(a.image, c.image)


def test_gt_inside_image_and_clockwise():
    templates = set()
    for seed in range(8):
        page = synth.generate_page(seed, SMALL)
        templates.add(page.meta["template"])
        h, w = page.image.shape[:2]
        assert page.words and page.lines
        assert len(page.lines) <= len(page.words)
        for a in page.words + page.lines:
            p = a.polygon
            assert p.shape == (4, 2) and p.dtype == np.float32
            assert p[:, 0].min() >= 0 and p[:, 1].min() >= 0
            assert p[:, 0].max() <= w and p[:, 1].max() <= h
            assert polygon_area(p) > 0
            np.testing.assert_allclose(order_clockwise(p), p, atol=1e-4)
        for a in page.words:
            assert a.text and not any(ch.isspace() for ch in a.text)
    assert len(templates) >= 3


def test_dont_care_rules():
    cfg = synth.merge_config(None)
    words = [Word((10, 10, 60, 30), "Hello", 1, 20.0, 26.0),   # fine
             Word((70, 10, 80, 30), "\u2022", 1, 20.0, 26.0),  # bullet: no letter or digit
             Word((90, 52, 110, 56), "tiny", 2, 5.0, 56.0),    # 4 px tall ink
             Word((180, 10, 230, 30), "edge", 3, 20.0, 26.0),  # runs past x = 200
             Word((300, 10, 330, 30), "away", 4, 20.0, 26.0)]  # outside the image
    anns, lines = synth.build_gt(words, np.eye(3), (100, 200, 3), cfg)
    flags = {a.text: a.ignore for a in anns}
    assert flags == {"Hello": False, "\u2022": True, "tiny": True, "edge": True}
    edge = [a for a in anns if a.text == "edge"][0]
    assert edge.polygon[:, 0].max() <= 199
    hello = [a for a in anns if a.text == "Hello"][0]
    np.testing.assert_allclose(hello.polygon, [[9, 9], [61, 9], [61, 31], [9, 31]])  # 1 px pad
    assert [ln.text for ln in lines][:1] == ["Hello \u2022"]


def test_tiny_pages_mark_small_words_dont_care():
    page = synth.generate_page(3, {"dpi_range": (30, 32), "effects": False})
    hs = [0.5 * (np.linalg.norm(a.polygon[3] - a.polygon[0]) + np.linalg.norm(a.polygon[2] - a.polygon[1]))
          for a in page.words if not a.ignore]
    assert all(h - 2.0 >= 6.0 - 1e-3 for h in hs)
    assert any(a.ignore for a in page.words)


def test_boxes_are_tight_on_a_clean_page():
    checked = 0
    # printed pages without fills behind the text (ruled forms and dark bars are checked on
    # the canvas in test_synth_v2.py)
    clean = {"dpi_range": (110, 120), "effects": False, "p_inverse": 0.0, "p_underline": 0.0,
             "p_narrow_space": 0.0, "p_scribble": 0.0,
             "templates": {"article": 1, "letter": 1, "manpage": 1, "sparse": 1}}
    for seed in (1, 2, 5):
        page = synth.generate_page(seed, clean)
        gray = cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY).astype(np.int32)
        paper = int(np.median(gray))
        dark = gray < paper - 60
        border_ink, touches = [], []
        for a in page.words:
            if a.ignore:
                continue
            x0, y0 = np.floor(a.polygon.min(axis=0)).astype(int)
            x1, y1 = np.ceil(a.polygon.max(axis=0)).astype(int)
            box = dark[y0:y1, x0:x1]
            assert box.any(), a.text  # every care box holds ink
            edge = np.concatenate([box[0], box[-1], box[:, 0], box[:, -1]])
            border_ink.append(edge.mean())
            # the ink reaches within 2 px of each side (the box is not loose)
            touches.append(box[:3].any() and box[-3:].any() and box[:, :3].any() and box[:, -3:].any())
            checked += 1
        assert np.median(border_ink) == 0.0
        assert np.mean(np.array(border_ink) < 0.1) > 0.95
        assert np.mean(touches) > 0.9
    assert checked > 100


def test_config_errors():
    with pytest.raises(ValueError, match="unknown key"):
        synth.generate_page(0, {"dpi": 100})
    with pytest.raises(ValueError, match="dpi_range"):
        synth.generate_page(0, {"dpi_range": (300, 100)})


def test_write_dataset_both_levels_and_worker_independence(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    synth.write_dataset(str(a), 2, seed=5, level="both", dpi_range=(50, 60), workers=1, progress=False)
    synth.write_dataset(str(b), 2, seed=5, level="both", dpi_range=(50, 60), workers=2, progress=False)
    for i in (1, 2):
        for rel in (f"images/img_{i}.jpg", f"words/gt_img_{i}.txt", f"lines/gt_img_{i}.txt"):
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
        words = read_gt(a / f"words/gt_img_{i}.txt", fmt="icdar2015")
        lines = read_gt(a / f"lines/gt_img_{i}.txt", fmt="icdar2015")
        assert words and lines
    assert len(find_pairs(str(a))) == 2
    synth.write_dataset(str(tmp_path / "c"), 1, level="line", dpi_range=(50, 60), progress=False)
    assert not (tmp_path / "c" / "words").exists() and (tmp_path / "c" / "lines" / "gt_img_1.txt").exists()


def test_make_synth_and_show_data_cli(tmp_path, capsys):
    make_synth, show_data = _tool("make_synth"), _tool("show_data")
    out = tmp_path / "ds"
    make_synth.main(["--n", "2", "--out", str(out), "--level", "both", "--dpi-range", "50", "60",
                     "--no-progress"])
    assert "pages/s" in capsys.readouterr().out
    assert sorted(os.listdir(out / "images")) == ["img_1.jpg", "img_2.jpg"]
    assert sorted(os.listdir(out / "words")) == ["gt_img_1.txt", "gt_img_2.txt"]
    with pytest.raises(SystemExit) as e:  # refuses to overwrite
        make_synth.main(["--n", "1", "--out", str(out), "--no-progress"])
    assert e.value.code == 2 and "--overwrite" in capsys.readouterr().err
    make_synth.main(["--n", "1", "--out", str(out), "--overwrite", "--level", "word",
                     "--dpi-range", "50", "60", "--no-progress"])
    assert os.listdir(out / "images") == ["img_1.jpg"] and not (out / "lines").exists()
    vis = tmp_path / "vis"
    show_data.main(["--data", str(out), "--out", str(vis), "--n", "1", "--format", "png"])
    assert os.listdir(vis) == ["img_1_word.png"]
    over = cv2.imread(str(vis / "img_1_word.png"))
    assert over is not None and over.shape[:2] == cv2.imread(str(out / "images/img_1.jpg")).shape[:2]
    with pytest.raises(SystemExit):
        show_data.main(["--data", str(tmp_path / "missing"), "--out", str(vis)])
