"""tools/detect.py's layout options end to end (a subprocess, as a user runs it): --level
line|block, --format hocr,alto,page,layout (valid ALTO / PAGE, boxes read back equal to the
JSON's), --orientation, --skip-existing with the new names, --recognize tesseract."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

lxml_etree = pytest.importorskip("lxml.etree")

DETECT = os.path.join("tools", "detect.py")
SCHEMAS = os.path.join(ROOT, "tests", "data", "schemas")
REQUIRE_OCR = bool(os.environ.get("TEXTSEG_REQUIRE_OCR"))
TEXT = ["Invoice number 12345", "Total amount due 99.50", "Thank you for your order"]


def detect(*args, env=None, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8", **(env or {}))
    p = subprocess.run([sys.executable, DETECT, *map(str, args), "--no-progress"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in p.stderr, p.stderr
    return p


def _page(path):
    """A small page of three printed lines (the shipped model finds them)."""
    import cv2

    img = np.full((240, 560, 3), 255, np.uint8)
    for i, t in enumerate(TEXT):
        cv2.putText(img, t, (24, 55 + 65 * i), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2,
                    cv2.LINE_AA)
    cv2.imwrite(str(path), img)
    return path


@pytest.fixture(scope="module")
def schemas():
    return {name: lxml_etree.XMLSchema(lxml_etree.parse(os.path.join(SCHEMAS, f)))
            for name, f in (("alto", "alto-4-4.xsd"), ("page", "pagecontent-2019-07-15.xsd"))}


@pytest.fixture(scope="module")
def line_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("layout")
    img = _page(d / "scan.png")
    out = d / "out"
    p = detect(img, "--out", out, "--level", "line", "--format", "json,txt,hocr,alto,page,layout")
    assert p.returncode == 0, p.stderr
    return img, out


def _close(a, b):
    """Integer points written by the XML formats against the JSON's float polygon."""
    a = np.asarray(a, np.float64).reshape(-1, 2)
    b = np.asarray(b, np.float64).reshape(-1, 2)
    return a.shape == b.shape and np.abs(a - b).max() <= 1.0


def test_layout_outputs_are_written_and_valid(line_run, schemas):
    _, out = line_run
    names = sorted(os.listdir(out))
    assert names == ["res_scan.txt", "scan.alto.xml", "scan.hocr", "scan.json",
                     "scan.layout.json", "scan.page.xml"]
    for fmt in ("alto", "page"):
        doc = lxml_etree.parse(str(out / f"scan.{fmt}.xml"))
        assert schemas[fmt].validate(doc), schemas[fmt].error_log
    rec = json.loads((out / "scan.json").read_text())
    assert rec["level"] == "line" and rec["orientation"] == 0 and "skew" in rec
    assert len(rec["detections"]) >= 2
    lay = json.loads((out / "scan.layout.json").read_text())
    assert [ln["order"] for b in lay["blocks"] for ln in b["lines"]] == \
        list(range(len(rec["detections"])))


@pytest.mark.parametrize("fmt", ["scan.hocr", "scan.alto.xml", "scan.page.xml"])
def test_boxes_read_back_equal_the_json(line_run, fmt):
    from textseg.formats import read_layout

    _, out = line_run
    rec = json.loads((out / "scan.json").read_text())
    back = read_layout(str(out / fmt)).detections("line")
    assert len(back) == len(rec["detections"])
    for (poly, _), d in zip(back, rec["detections"]):
        assert _close(poly, d["polygon"]), (fmt, poly, d["polygon"])
    icdar = (out / "res_scan.txt").read_text().splitlines()
    assert len(icdar) == len(rec["detections"])


def test_block_level_and_skip_existing_know_the_new_names(tmp_path):
    img = _page(tmp_path / "scan.png")
    out = tmp_path / "out"
    args = (img, "--out", out, "--level", "block", "--format", "json,alto,page,layout")
    p = detect(*args)
    assert p.returncode == 0, p.stderr
    rec = json.loads((out / "scan.json").read_text())
    lay = json.loads((out / "scan.layout.json").read_text())
    assert rec["level"] == "block" and len(rec["detections"]) == len(lay["blocks"]) >= 1
    p = detect(*args)  # outputs exist: refused, naming one
    assert p.returncode != 0 and "exists" in p.stderr
    p = detect(*args, "--skip-existing")
    assert p.returncode == 0 and "1 pages skipped" in p.stderr, p.stderr
    os.remove(out / "scan.page.xml")
    p = detect(*args, "--skip-existing")
    assert p.returncode == 0 and "skipped" not in p.stderr, p.stderr
    assert (out / "scan.page.xml").exists()


def _strip(path, turn=False):
    """A strip of a real page (docbench-dev img_1, shipped), half size; upside down with
    ``turn``."""
    import cv2

    page = cv2.imread(os.path.join(ROOT, "tests", "data", "docbench-dev", "images", "img_1.jpg"))
    page = cv2.resize(page, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)[100:400]
    cv2.imwrite(str(path), cv2.rotate(page, cv2.ROTATE_180) if turn else page)
    return path


def test_orientation_of_an_upside_down_page(tmp_path):
    img = _strip(tmp_path / "turned.png", turn=True)
    p = detect(img, "--orientation", "--level", "line")  # JSON to stdout
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout.splitlines()[0])
    assert rec["orientation"] == 180 and isinstance(rec["skew"], float)
    assert len(rec["detections"]) >= 2


def test_format_errors(tmp_path):
    img = _page(tmp_path / "x.png")
    p = detect(img, "--format", "json,text")
    assert p.returncode == 2 and "--recognize" in p.stderr
    p = detect(img, "--format", "json,docx")
    assert p.returncode == 2 and "hocr" in p.stderr


def test_missing_ocr_extra_is_one_line(tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "tesserocr.py").write_text("raise ImportError('No module named tesserocr')\n")
    img = _page(tmp_path / "x.png")
    p = detect(img, "--out", tmp_path / "o", "--recognize", "tesseract",
               env={"PYTHONPATH": str(fake)})
    assert p.returncode == 2
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "install_ocr.sh" in err[0], err
    assert not (tmp_path / "o").exists() or not os.listdir(tmp_path / "o")


def _have_ocr():
    if REQUIRE_OCR:  # CI installs the OCR extra: a missing engine fails, never skips
        return
    pytest.importorskip("tesserocr")
    from textseg.recognize import RecognizerError
    from textseg.recognize.tesseract import find_tessdata

    try:
        find_tessdata("eng")
    except RecognizerError as e:
        pytest.skip(str(e))


def test_recognize_fills_text_in_every_output(tmp_path, schemas):
    _have_ocr()
    from textseg.formats import read_layout

    img = _strip(tmp_path / "scan.png")
    out = tmp_path / "out"
    p = detect(img, "--out", out, "--level", "line", "--recognize", "tesseract", "--lang", "eng",
               "--format", "json,txt,hocr,alto,page")
    assert p.returncode == 0, p.stderr
    text = (out / "scan.text.txt").read_text()
    for word in ("LAME", "License"):
        assert word in text, text
    assert text.index("LAME") < text.index("License")
    rec = json.loads((out / "scan.json").read_text())
    assert all("text" in d for d in rec["detections"])
    read = [d["text"] for d in rec["detections"] if d["text"]]
    assert [t for t in text.splitlines() if t] == read  # reading order = JSON order
    assert "License" in (out / "res_scan.txt").read_text()
    for fmt in ("alto", "page"):
        doc = lxml_etree.parse(str(out / f"scan.{fmt}.xml"))
        assert schemas[fmt].validate(doc), schemas[fmt].error_log
    alto = (out / "scan.alto.xml").read_text()
    assert 'CONTENT="LAME"' in alto and "WC=" in alto
    assert "<TextEquiv>" in (out / "scan.page.xml").read_text()
    words = [w.text for w in read_layout(str(out / "scan.hocr")).words]
    assert "License:" in words or "License" in words


# ----------------------------------------------------------------------------- eval --level block

from test_cli_detect import tiny_model  # noqa: E402,F401  (the fixture)


def _eval(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, os.path.join("tools", "eval.py"), *map(str, args)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in p.stderr, p.stderr
    return p


def _block_data(root):
    import cv2

    for sub in ("images", "words", "blocks"):
        (root / sub).mkdir(parents=True)
    cv2.imwrite(str(root / "images" / "p1.png"), np.full((96, 128, 3), 255, np.uint8))
    (root / "words" / "gt_p1.txt").write_text("10,10,40,10,40,20,10,20,word\n")
    (root / "blocks" / "gt_p1.txt").write_text("8,8,100,8,100,60,8,60,block\n")
    return root


def test_eval_block_level_folders_and_model(tmp_path, tiny_model):
    data = _block_data(tmp_path / "data")
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "res_p1.txt").write_text("8,8,100,8,100,60,8,60\n")
    p = _eval("--gt", data, "--pred", pred, "--level", "block", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["hmean"] == 1.0
    p = _eval("--model", tiny_model[0], "--data", data, "--level", "block", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["images"] == 1 and r["gt_care"] == 1
    p = _eval("--model", tiny_model[0], "--data", tmp_path / "nothing", "--level", "block")
    assert p.returncode == 2 and p.stderr.startswith("error: ")
