"""tools/detect.py batches (issue 19, items 7-13 and the rest of 15 and 18): resuming with
--skip-existing, a missing input stops only itself, --recursive mirrors folders under --out,
--pages applies to the documents that have those pages, every option value is checked at
start-up, a bad --device says what is available, and the long-side cap warns when it
shrinks text below what the model reads."""

import contextlib
import importlib.util
import io
import json
import os
import sys
import warnings

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from test_cli_detect import PIXELS, _save, detect, tiny_model  # noqa: F401 (fixture)


def _tool():
    """tools/detect.py as a module, to run its start-up checks in this process."""
    tools = os.path.join(ROOT, "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)  # its own `import _common`
    spec = importlib.util.spec_from_file_location("detect_tool", os.path.join(tools, "detect.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_in_process(*argv):
    """(exit status, stderr) of detect.main(argv)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = _tool().main([str(a) for a in argv])
        except SystemExit as e:
            code = e.code
    return code, err.getvalue()


def png(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    return _save(path, Image.fromarray(np.roll(PIXELS, seed, axis=1)), "PNG")


def text_image(w, h, glyph_px, seed=0):
    """A white page with lines of black words whose letters are about glyph_px high."""
    img = np.full((h, w, 3), 255, np.uint8)
    rng = np.random.default_rng(seed)
    scale = glyph_px / 22.0  # FONT_HERSHEY_SIMPLEX capitals are ~22 px at scale 1
    thick = max(1, int(round(2 * scale)))
    step = int(glyph_px * 2)
    for y in range(step, h - glyph_px // 2, step):
        x = 5
        while x < w - 10 * glyph_px:
            word = "".join(rng.choice(list("ABDEHKMNRTWX"), rng.integers(2, 7)))
            cv2.putText(img, word, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick)
            x += int(len(word) * glyph_px * 1.2 + glyph_px)
    return img


# ----------------------------------------------------------------------------- item 7

def test_skip_existing_resumes_an_interrupted_batch(tiny_model, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    for name in ("a", "b", "c"):
        png(src / f"{name}.png", seed=ord(name))
    assert detect(src, "--out", out, "--model", tiny_model[1]).returncode == 0
    (out / "a.json").write_text("finished")          # a finished page is kept as it is
    (out / "res_b.txt").unlink()                      # a page left with only some outputs
    (out / "b_overlay.jpg").unlink()                  # (a full disk) is redone
    for f in ("c.json", "res_c.txt", "c_overlay.jpg"):
        (out / f).unlink()                            # a page never reached is done
    p = detect(src, "--out", out, "--model", tiny_model[1], "--skip-existing")
    assert p.returncode == 0, p.stderr
    assert "1 pages skipped" in p.stderr and "2 pages" in p.stderr, p.stderr
    assert (out / "a.json").read_text() == "finished"
    for stem in ("b", "c"):
        assert json.loads((out / f"{stem}.json").read_text())["image"].endswith(f"{stem}.png")
        assert (out / f"res_{stem}.txt").is_file() and (out / f"{stem}_overlay.jpg").is_file()
    # only the requested outputs count: with --format json every page is done
    p = detect(src, "--out", out, "--model", tiny_model[1], "--skip-existing", "--format", "json")
    assert p.returncode == 0 and "3 pages skipped" in p.stderr, p.stderr
    # without it, a rerun refuses the finished pages and says how to resume
    p = detect(src, "--out", out, "--model", tiny_model[1])
    assert p.returncode == 1 and "--skip-existing" in p.stderr, p.stderr


def test_skip_existing_needs_out_and_excludes_overwrite(tmp_path):
    img = png(tmp_path / "a.png")
    code, err = run_in_process(img, "--skip-existing")
    assert code == 2 and "--out" in err
    code, err = run_in_process(img, "--out", tmp_path / "o", "--skip-existing", "--overwrite")
    assert code == 2 and "not allowed with" in err


# ----------------------------------------------------------------------------- item 8

def test_a_missing_input_stops_only_itself(tiny_model, tmp_path):
    good, out = png(tmp_path / "form.png"), tmp_path / "out"
    missing = tmp_path / "missing.jpg"
    p = detect(good, missing, tmp_path / "none*.png", "--out", out, "--model", tiny_model[1])
    assert p.returncode == 1, p.stderr
    errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and str(missing) in errors[0] and "none*.png" in errors[1], p.stderr
    assert "1 of 3 inputs processed" in p.stderr
    assert (out / "form.json").is_file()


# ----------------------------------------------------------------------------- item 9

def test_recursive_folders_are_mirrored_under_out(tiny_model, tmp_path):
    src, out = tmp_path / "scans", tmp_path / "out"
    for rel in ("a/x.png", "b/x.png", "b/deep/y.png", "z.png"):
        png(src / rel)
    _save(src / "x.png", Image.fromarray(PIXELS), "PNG")
    _save(src / "x.webp", Image.fromarray(PIXELS), "WEBP", lossless=True)
    p = detect(src, "--recursive", "--out", out, "--model", tiny_model[1], "--format", "json")
    assert p.returncode == 0, p.stderr
    got = sorted(os.path.relpath(os.path.join(r, f), out) for r, _, fs in os.walk(out)
                 for f in fs)
    assert got == sorted(["a/x.json", "b/x.json", "b/deep/y.json", "z.json", "x_png.json",
                          "x_webp.json"]), got
    assert json.loads((out / "b" / "x.json").read_text())["image"].endswith(
        os.path.join("b", "x.png"))
    # a glob mirrors what lies below its fixed folder part
    p = detect(str(src / "**" / "*.png"), "--recursive", "--out", tmp_path / "g",
               "--model", tiny_model[1], "--format", "json")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "g" / "b" / "deep" / "y.json").is_file()
    # --flat keeps the old single folder: the same name twice is refused, not overwritten
    p = detect(src, "--recursive", "--flat", "--out", tmp_path / "f", "--model", tiny_model[1],
               "--format", "json")
    assert p.returncode == 1 and "writes the same outputs" in p.stderr, p.stderr
    assert (tmp_path / "f" / "y.json").is_file()


def test_a_symlink_loop_lists_each_file_once(tmp_path):
    from textseg.data.images import iter_inputs

    src = tmp_path / "scans"
    png(src / "sub" / "a.png")
    png(src / "b.png")
    os.symlink(src, src / "sub" / "loop")              # scans/sub/loop -> scans
    os.symlink(src / "b.png", src / "alias.png")      # the same file under a second name
    found = iter_inputs([str(src / "**" / "*.png")], recursive=True)
    assert len(found) == 2, found  # scans/sub/a.png once, and b.png or its alias once
    assert {os.path.realpath(p) for p in found} == {str(src / "sub" / "a.png"),
                                                   str(src / "b.png")}
    assert len(iter_inputs([src, src / "b.png"], recursive=True)) == 2


# ----------------------------------------------------------------------------- item 10

def test_pages_apply_to_the_documents_that_have_them(tiny_model, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    png(src / "one.png")
    png(src / "two.png", seed=5)
    frames = [Image.fromarray(np.roll(PIXELS, i, axis=0)) for i in range(4)]
    frames[0].save(src / "scan.tif", save_all=True, append_images=frames[1:])
    p = detect(src, "--pages", "4", "--out", out, "--model", tiny_model[1], "--format", "json")
    assert p.returncode == 0, p.stderr
    assert os.listdir(out) == ["scan_p4.json"]
    assert "2 inputs have none of the pages 4" in p.stderr and "error" not in p.stderr
    p = detect(src, "--pages", "9", "--out", out, "--model", tiny_model[1], "--format", "json")
    assert p.returncode == 1 and "no input has these pages" in p.stderr, p.stderr


# ----------------------------------------------------------------------------- item 11

@pytest.mark.parametrize("option", [
    ["--threshold", "5"], ["--threshold", "nan"], ["--threshold", "-1"],
    ["--max-side", "5"], ["--max-side", "-100"], ["--threads", "0"], ["--threads", "-3"],
    ["--dpi", "0"], ["--max-pixels", "0"], ["--max-pixels", "nan"], ["--pad", "1.5"],
    ["--pad", "-0.1"],
    ["--decode", "min_area=abc"]], ids=lambda o: "=".join(o))
def test_option_values_are_checked_at_start_up(tiny_model, tmp_path, option):
    img, out = png(tmp_path / "a.png"), tmp_path / "out"
    code, err = run_in_process(img, "--out", out, "--model", tiny_model[1], *option)
    assert code == 2, err
    errors = [line for line in err.splitlines() if "error" in line]  # after argparse's usage
    assert len(errors) == 1 and "Traceback" not in err, err
    assert option[0].lstrip("-").replace("-", "_") in errors[0].replace("-", "_"), err
    assert "range" in errors[0] or "expected" in errors[0], err
    assert not out.exists()


# ----------------------------------------------------------------------------- item 12

def test_a_bad_device_says_what_is_available(tiny_model, tmp_path):
    import onnxruntime
    import torch

    from textseg.detector import Detector
    from textseg.errors import TextsegError

    ckpt, onnx = tiny_model
    for model in (ckpt, onnx):
        with pytest.raises(TextsegError, match="cpu, cuda or cuda:N"):
            Detector.load(model, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(TextsegError, match="available: cpu"):
            Detector.load(ckpt, device="cuda")
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(TextsegError, match="onnxruntime-gpu"):
            Detector.load(onnx, device="cuda")
        with pytest.raises(TextsegError, match="onnxruntime-gpu"):
            Detector.load(None, device="cuda")  # the shipped ONNX model
    img = png(tmp_path / "a.png")
    p = detect(img, "--model", ckpt, "--device", "tpu")
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "cpu, cuda or cuda:N" in p.stderr


# ----------------------------------------------------------------------------- item 13

def test_the_long_side_cap_warns_when_it_shrinks_text_below_what_the_model_reads(
        tiny_model, tmp_path):
    from textseg.detector import Detector, TextTooSmallWarning

    det = Detector.load(tiny_model[1])  # its infer.resize.max_side is 256
    det.set_infer(overrides=["infer.tile.enabled=false"])  # tiles would keep the text
    strip = text_image(3000, 120, glyph_px=20)  # 3000 -> 256: 20 px letters become ~2 px
    with pytest.warns(TextTooSmallWarning, match=r"max_side \d+ \(--max-side\) keeps it"):
        det(strip)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TextTooSmallWarning)
        det(text_image(400, 300, glyph_px=60))  # shrunk by 0.64, letters stay ~38 px
        det(text_image(200, 100, glyph_px=20))  # not capped at all
    path = _save(tmp_path / "strip.png", Image.fromarray(strip), "PNG")
    p = detect(path, "--model", tiny_model[1], "--no-tile")
    assert p.returncode == 0, p.stderr
    warn = [line for line in p.stderr.splitlines() if line.startswith("warning:")]
    assert len(warn) == 1 and str(path) in warn[0] and "--max-side" in warn[0], p.stderr


# ----------------------------------------------------------------------------- item 18

def test_rgba_arrays_are_composited_on_white_like_rgba_files(tiny_model, tmp_path):
    from textseg.data.images import load_image
    from textseg.detector import Detector, _as_rgb

    rgba = np.dstack([PIXELS, np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1))])
    path = _save(tmp_path / "alpha.png", Image.fromarray(rgba, "RGBA"), "PNG")
    np.testing.assert_array_equal(_as_rgb(rgba), load_image(str(path)))
    assert (_as_rgb(np.zeros((8, 8, 4), np.uint8)) == 255).all()  # transparent is white
    det = Detector.load(tiny_model[1], decode=["thresh=0.0", "box_thresh=0.0", "min_area=0"])
    a, b = det(rgba), det(str(path))
    assert len(a) == len(b) > 0
    for (pa, sa), (pb, sb) in zip(a, b):
        np.testing.assert_allclose(pa, pb)
        assert sa == pytest.approx(sb)


def test_detect_suggests_only_its_own_max_pixels_option(tiny_model, tmp_path):
    from test_reliability_messages import huge_png

    huge_png(tmp_path / "big.png")
    p = detect(tmp_path / "big.png", "--model", tiny_model[1])
    assert p.returncode == 1 and "raise it with --max-pixels" in p.stderr, p.stderr
    with pytest.raises(SystemExit), contextlib.redirect_stdout(io.StringIO()) as help_text:
        _tool().parse_args(["--help"])
    assert "--max-pixels" in help_text.getvalue()  # the option the message names exists


def test_output_exists_error_is_a_textseg_error(tmp_path):
    from textseg.errors import TextsegError
    from textseg.output import OutputExistsError, write_json

    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(OutputExistsError) as e:
        write_json(tmp_path / "a.json", {"detections": []})
    assert isinstance(e.value, TextsegError) and isinstance(e.value, FileExistsError)
    assert str(tmp_path / "a.json") in str(e.value)


def test_infer_pad_grows_words_and_lines_after_grouping():
    """``infer.pad``: the decoder's boxes, grown across their text after grouping."""
    from textseg.config import load_config
    from textseg.detector import Detector

    def backend(x):  # two words on one row, 1/4 and 1/8 of the input's width apart
        n, _, h, w = x.shape
        prob = np.zeros((n, 1, h, w), np.float32)
        for x0, x1 in ((0.10, 0.40), (0.45, 0.80)):
            prob[:, :, int(0.4 * h):int(0.5 * h), int(x0 * w):int(x1 * w)] = 0.95
        return {"prob": prob}

    cfg = load_config(os.path.join(ROOT, "configs", "db_fpn_r18w50_scans.yaml"),
                      ["infer.pad=0.1"])
    det = Detector(cfg, backend)
    assert det.pad == 0.1
    image = np.full((200, 400, 3), 255, np.uint8)
    raw, padded = det(image, pad=False), det(image)
    assert len(raw) == len(padded) == 2

    def hw(poly):
        return np.ptp(poly[:, 1]), np.ptp(poly[:, 0])

    for (a, _), (b, _) in zip(raw, padded):
        (ha, wa), (hb, wb) = hw(a), hw(b)
        assert hb == pytest.approx(1.2 * ha, rel=1e-3) and wb == pytest.approx(wa, abs=1e-3)
    lines_raw, lines = det(image, level="line", pad=False), det(image, level="line")
    assert len(lines_raw) == len(lines) == 1  # grouped as before, then grown
    assert hw(lines[0][0])[0] == pytest.approx(1.2 * hw(lines_raw[0][0])[0], rel=1e-3)
    det.set_infer(overrides=["infer.pad=0"])
    assert det.pad == 0.0 and np.array_equal(det(image)[0][0], raw[0][0])


def test_line_level_is_the_page_layouts_lines():
    """``Detector(image, level="line")`` gives the segments ``tools/detect.py --level line``
    writes (the page layout's lines, padded along the page's reading direction): a lone
    tall character ("1") on its own row grows in height, not in width as a box taken on
    its own (taller than wide) would."""
    from textseg.config import load_config
    from textseg.detector import Detector
    from textseg.pipeline import page_result

    def backend(x):  # a row of two words, and a lone "1" (taller than wide) further down
        n, _, h, w = x.shape
        prob = np.zeros((n, 1, h, w), np.float32)
        for x0, x1 in ((0.10, 0.40), (0.45, 0.80)):
            prob[:, :, int(0.30 * h):int(0.38 * h), int(x0 * w):int(x1 * w)] = 0.95
        prob[:, :, int(0.60 * h):int(0.70 * h), int(0.20 * w):int(0.23 * w)] = 0.95
        return {"prob": prob}

    cfg = load_config(os.path.join(ROOT, "configs", "db_fpn_r18w50_scans.yaml"),
                      ["infer.pad=0.1"])
    det = Detector(cfg, backend)
    image = np.full((400, 400, 3), 255, np.uint8)
    lines = det(image, level="line")
    _, from_layout = page_result(det, image, "line")
    assert len(lines) == len(from_layout) == 2
    for (a, sa), (b, sb) in zip(lines, from_layout):
        assert np.allclose(a, b) and sa == pytest.approx(sb)
    raw = {round(float(p[:, 1].mean())): p for p, _ in det(image, level="line", pad=False)}
    for p, _ in lines:
        q = raw[round(float(p[:, 1].mean()))]
        assert np.ptp(p[:, 1]) == pytest.approx(1.2 * np.ptp(q[:, 1]), rel=1e-3)
        assert np.ptp(p[:, 0]) == pytest.approx(np.ptp(q[:, 0]), abs=1e-3)


def test_infer_line_score_drops_weak_segments_not_words():
    """``infer.line_score``: at line level (and in the page layout) segments whose words'
    mean score is under it are dropped; the words stay at word level."""
    from textseg.config import load_config
    from textseg.detector import Detector
    from textseg.pipeline import page_result

    def backend(x):  # a strong row, and a faint one (probability 0.5 inside its boxes)
        n, _, h, w = x.shape
        prob = np.zeros((n, 1, h, w), np.float32)
        for (x0, x1), (y0, y1), p in (((0.10, 0.40), (0.20, 0.28), 0.95),
                                      ((0.45, 0.80), (0.20, 0.28), 0.95),
                                      ((0.10, 0.50), (0.60, 0.68), 0.62)):
            prob[:, :, int(y0 * h):int(y1 * h), int(x0 * w):int(x1 * w)] = p
        return {"prob": prob}

    path = os.path.join(ROOT, "configs", "db_fpn_r18w50_scans.yaml")
    image = np.full((400, 400, 3), 255, np.uint8)
    plain = Detector(load_config(path, ["infer.line_score=0"]), backend)
    strict = Detector(load_config(path, ["infer.line_score=0.7"]), backend)
    assert len(plain(image)) == len(strict(image)) == 3
    assert len(plain(image, level="line")) == 2
    lines = strict(image, level="line")
    assert len(lines) == 1 and lines[0][1] > 0.9
    _, from_layout = page_result(strict, image, "line")
    assert len(from_layout) == 1 and np.allclose(from_layout[0][0], lines[0][0])
    assert len(page_result(strict, image, "word")[1]) == 3
    with pytest.raises(Exception, match="line_score"):
        load_config(path, ["infer.line_score=1.5"])
