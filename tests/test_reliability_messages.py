"""Messages that say what is true (issue 19, item 18): no option a tool does not have, the
file that is at fault, a folder called a folder, an install hint for a missing package."""

import os
import struct
import subprocess
import sys
import zlib

import pytest

from conftest import ROOT

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8")


def huge_png(path, w=20000, h=20000):
    """A PNG whose header says w x h (its pixels are never decoded: the size is refused)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    path.write_bytes(data + chunk(b"IEND", b""))


@pytest.fixture()
def big_page(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "words").mkdir()
    huge_png(tmp_path / "images" / "img_1.png")
    (tmp_path / "words" / "gt_img_1.txt").write_text("10,10,50,10,50,30,10,30,word\n")
    return tmp_path


def test_eval_does_not_suggest_an_option_it_lacks(big_page):
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "eval.py"), "--model",
                        "default", "--data", str(big_page)], capture_output=True, text=True,
                       env=ENV, timeout=300)
    assert p.returncode == 2 and "above the limit" in p.stderr, p.stderr
    assert "raise it with --max-pixels" not in p.stderr


def test_training_scan_does_not_suggest_an_option_it_lacks(big_page):
    from textseg.data.dataset import folder_source
    from textseg.training import DataError, scan_data

    with pytest.raises(DataError) as e:
        scan_data([folder_source(str(big_page))])
    assert "above the limit" in str(e.value) and "raise it with --max-pixels" not in str(e.value)


def test_detect_still_names_its_max_pixels_option(tmp_path):
    from textseg.data.images import ImageLoadError, iter_pages

    huge_png(tmp_path / "big.png")
    with pytest.raises(ImageLoadError) as e:
        list(iter_pages(str(tmp_path / "big.png")))
    assert "--max-pixels" in str(e.value)


@pytest.mark.parametrize("bad", ["gt", "pred"])
def test_huge_coordinates_blame_the_file_that_has_them(tmp_path, bad):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    big, fine = "0,0,1e300,0,1e300,10,0,10", "0,0,10,0,10,10,0,10"
    (gt / "gt_img_1.txt").write_text((big if bad == "gt" else fine) + ",word\n")
    (pred / "res_img_1.txt").write_text((big if bad == "pred" else fine) + "\n")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "eval.py"), "--gt", str(gt),
                        "--pred", str(pred)], capture_output=True, text=True, env=ENV,
                       timeout=120)
    assert p.returncode == 2, p.stderr
    wrong = pred / "res_img_1.txt" if bad == "gt" else gt / "gt_img_1.txt"
    right = gt / "gt_img_1.txt" if bad == "gt" else pred / "res_img_1.txt"
    assert f"{right}:1:" in p.stderr and str(wrong) not in p.stderr, p.stderr
    assert "out of range" in p.stderr and "warning: overflow" not in p.stderr


def test_export_to_a_directory_says_so(tmp_path):
    from textseg.checkpoint import save_checkpoint
    from textseg.model import build_model

    from conftest import tiny_config

    cfg = tiny_config("east", model__backbone__width=0.125, model__trunk__channels=8)
    save_checkpoint(str(tmp_path / "c.pt"), build_model(cfg), cfg)
    for extra in ([], ["--overwrite"]):
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "export_onnx.py"),
                            "--checkpoint", str(tmp_path / "c.pt"), "--out", str(tmp_path),
                            "--no-check", *extra], capture_output=True, text=True, env=ENV,
                           timeout=300)
        assert p.returncode == 2, p.stderr
        assert "is a directory" in p.stderr and "file exists" not in p.stderr, p.stderr
        assert "Traceback" not in p.stderr


def test_missing_pypdfium2_gives_an_install_hint(tmp_path):
    doc = tmp_path / "doc.pdf"  # any PDF will do: pypdfium2 is needed before it is read
    doc.write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    code = (f"import sys; sys.path.insert(0, {ROOT!r}); sys.modules['pypdfium2'] = None\n"
            f"from textseg.data.images import ImageLoadError, iter_pages\n"
            f"try:\n    list(iter_pages({str(doc)!r}))\n"
            f"except ImageLoadError as e:\n    print('MSG', e)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "MSG" in p.stdout, p.stderr
    assert "pip install pypdfium2" in p.stdout and str(doc) in p.stdout
