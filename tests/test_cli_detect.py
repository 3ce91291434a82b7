"""tools/detect.py run as a user runs it (a subprocess from the repository root) on good and
bad inputs, with a tiny randomly initialised PSENet checkpoint and its ONNX export."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, sigint_default
from test_images import _encrypted_pdf, _png_header_only

DETECT = os.path.join("tools", "detect.py")
RNG = np.random.default_rng(1)
PIXELS = RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8)


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """(checkpoint, onnx) of a tiny PSENet: resnet18 at 1/8 width, 8-channel trunk and head."""
    from textseg.checkpoint import save_checkpoint
    from textseg.config import load_config
    from textseg.export import export_onnx
    from textseg.model import build_model

    d = tmp_path_factory.mktemp("model")
    cfg = load_config(os.path.join(ROOT, "configs", "pse_fpn_r50.yaml"),
                      ["model.backbone.name=resnet18", "model.backbone.width=0.125",
                       "model.trunk.channels=8", "model.head.channels=8",
                       "infer.resize.max_side=256"])
    ckpt = str(d / "tiny.pt")
    save_checkpoint(ckpt, build_model(cfg, load_pretrained=False), cfg)
    onnx = str(d / "tiny.onnx")
    export_onnx(ckpt, onnx, check=False)
    return ckpt, onnx


def detect(*args, timeout=180):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8")
    p = subprocess.run([sys.executable, DETECT, *map(str, args), "--no-progress"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in p.stderr, p.stderr
    return p


def _save(path, img, fmt=None, **kw):
    img.save(path, fmt, **kw)
    return path


def _bytes(img, fmt):
    import io

    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def make_good(d):
    """Every kind of good input; returns {file name: [output stems]}."""
    d.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(PIXELS)
    _save(d / "gray.png", rgb.convert("L"))
    deep = np.linspace(0, 65535, 48 * 64).reshape(48, 64).astype(np.uint16)
    _save(d / "deep16.png", Image.fromarray(deep))
    rgba = np.dstack([PIXELS, np.full((48, 64), 128, np.uint8)])
    _save(d / "alpha.png", Image.fromarray(rgba, "RGBA"))
    _save(d / "cmyk.jpg", rgb.convert("CMYK"), quality=90)
    _save(d / "palette.png", rgb.quantize(16))
    exif = Image.Exif()
    exif[0x0112] = 6
    _save(d / "phone.jpg", rgb, exif=exif)
    frames = [Image.new("RGB", (40 + 8 * i, 32), (60 * i, 90, 0)) for i in range(3)]
    frames[0].save(d / "scan.tif", save_all=True, append_images=frames[1:])
    pages = [Image.new("RGB", (72, 48), "white"), Image.new("RGB", (48, 72), "gray")]
    pages[0].save(d / "doc.pdf", save_all=True, append_images=pages[1:], resolution=72.0)
    _save(d / "page un été 图.png", rgb)
    return {"gray.png": ["gray"], "deep16.png": ["deep16"], "alpha.png": ["alpha"],
            "cmyk.jpg": ["cmyk"], "palette.png": ["palette"], "phone.jpg": ["phone"],
            "scan.tif": ["scan_p1", "scan_p2", "scan_p3"], "doc.pdf": ["doc_p1", "doc_p2"],
            "page un été 图.png": ["page un été 图"]}


def make_bad(d):
    """Every kind of bad input; returns {file name: words its error must contain}."""
    d.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(PIXELS)
    (d / "empty.jpg").write_bytes(b"")
    jpg, png = _bytes(rgb, "JPEG"), _bytes(rgb, "PNG")
    (d / "cut.jpg").write_bytes(jpg[: len(jpg) // 2])
    (d / "cut.png").write_bytes(png[: len(png) // 2])
    (d / "notes.jpg").write_text("these are my notes, not a picture\n")
    (d / "anim.webp").write_bytes(_bytes(rgb, "GIF"))  # a GIF under an image extension
    (d / "locked.pdf").write_bytes(_encrypted_pdf())
    (d / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage\n")
    _save(d / "dot.png", Image.new("RGB", (1, 1)))
    (d / "bomb.png").write_bytes(_png_header_only(100000, 100000))
    return {"empty.jpg": ["empty"], "cut.jpg": ["truncated"], "cut.png": ["truncated"],
            "notes.jpg": ["not an image"], "anim.webp": ["unsupported format GIF"],
            "locked.pdf": ["encrypted", "password"], "broken.pdf": ["PDF"],
            "dot.png": ["1x1", "too small"], "bomb.png": ["100000x100000", "pixels"]}


def _is_tmp(name):
    return name.startswith(".") or name.endswith(".tmp")


def tmp_files(folder):
    return [f for f in os.listdir(folder) if _is_tmp(f)]


def check_outputs(out, stems):
    for stem in stems:
        rec = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))
        assert rec["width"] > 0 and isinstance(rec["detections"], list)
        assert (out / f"res_{stem}.txt").is_file()
        with Image.open(out / f"{stem}_overlay.jpg") as im:
            assert (im.width, im.height) == (rec["width"], rec["height"])


# ----------------------------------------------------------------------------- tests

def test_mixed_folder_reports_each_bad_file_and_writes_the_good(tiny_model, tmp_path):
    src = tmp_path / "in"
    good, bad = make_good(src), make_bad(src)
    blob = tmp_path / "blob.xyz"  # folders skip unknown extensions; named, it is an error
    blob.write_bytes(RNG.integers(0, 256, 300, dtype=np.uint8).tobytes())
    bad[os.path.join("..", "blob.xyz")] = ["unsupported format", ".xyz"]
    out = tmp_path / "out"
    p = detect(src, blob, "--out", out, "--model", tiny_model[0])
    assert p.returncode == 1, p.stderr
    errors = [line for line in p.stderr.splitlines() if line.startswith("error: ")]
    tail = p.stderr[p.stderr.index(f"{len(bad)} failed:"):]
    for name, words in bad.items():
        mine = [e for e in errors if os.path.normpath(os.path.join(str(src), name)) in e]
        assert len(mine) == 1, (name, p.stderr)
        assert all(w in mine[0] for w in words), mine[0]
        assert os.path.basename(name) in tail
    assert len(errors) == len(bad)
    stems = [s for names in good.values() for s in names]
    assert (f"{len(good)} of {len(good) + len(bad)} inputs processed: {len(stems)} pages"
            in p.stderr)
    check_outputs(out, stems)
    assert len(os.listdir(out)) == 3 * len(stems) and not tmp_files(out)
    # EXIF orientation applied: the 64x48 picture is stored rotated, shown 48 wide
    assert json.loads((out / "phone.json").read_text())["width"] == 48


def test_good_inputs_exit_0_and_overwrite_rules(tiny_model, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _save(src / "a.png", Image.fromarray(PIXELS))
    _save(src / "b c.jpg", Image.fromarray(PIXELS))
    out = tmp_path / "out"
    assert detect(src, "--out", out, "--model", tiny_model[0]).returncode == 0
    check_outputs(out, ["a", "b c"])
    (out / "a.json").write_text("sentinel")
    before = {f: (out / f).read_bytes() for f in os.listdir(out)}
    p = detect(src, "--out", out, "--model", tiny_model[0])
    assert p.returncode == 1 and "--overwrite" in p.stderr
    assert {f: (out / f).read_bytes() for f in os.listdir(out)} == before
    p = detect(src, "--out", out, "--model", tiny_model[0], "--overwrite")
    assert p.returncode == 0, p.stderr
    assert json.loads((out / "a.json").read_text())["image"].endswith("a.png")
    assert sorted(os.listdir(out)) == sorted(before) and not tmp_files(out)


def test_onnx_model_and_odd_names_write_only_inside_out(tiny_model, tmp_path):
    work = tmp_path / "work"
    deep = work / "x" / "y"
    deep.mkdir(parents=True)
    odd = ["we\nird:*?.png", "-dash.png", "..png", "CON.png", " spaced .png",
           os.fsdecode(b"not utf8 \xff.png")]  # undecodable bytes, as Linux allows
    for name in odd:
        _save(work / name, Image.fromarray(PIXELS), "PNG")
    out = work / "out"
    inputs = [os.path.join(str(deep), "..", "..", name) for name in odd]
    before = {os.path.join(r, f) for r, _, fs in os.walk(work) for f in fs}
    p = detect(*inputs, "--out", out, "--model", tiny_model[1])
    assert p.returncode == 0, p.stderr
    after = {os.path.join(r, f) for r, _, fs in os.walk(work) for f in fs}
    new = after - before
    assert len(new) == 3 * len(odd)
    assert all(os.path.dirname(f) == str(out) for f in new), new
    assert not any("\n" in f for f in os.listdir(out)) and not tmp_files(out)
    assert "tiny.onnx" in (out / "_CON.json").read_text()
    assert json.loads((out / "not utf8.json").read_text(encoding="utf-8"))["image"].endswith(
        "not utf8 \ufffd.png")


def test_stdout_json_mode_and_line_level(tiny_model, tmp_path):
    frames = [Image.fromarray(PIXELS), Image.fromarray(PIXELS[::-1])]
    tif = tmp_path / "two.tif"
    frames[0].save(tif, save_all=True, append_images=frames[1:])
    # threshold 0: every pixel is text, so the random model still gives detections to group
    p = detect(tif, "--model", tiny_model[0], "--level", "line", "--decode", "thresh=0.0",
               "--decode", "box_thresh=0.0", "--decode", "min_area=0")
    assert p.returncode == 0, p.stderr
    recs = [json.loads(line) for line in p.stdout.splitlines()]
    assert [(r["page"], r["pages"], r["level"]) for r in recs] == [(1, 2, "line"), (2, 2, "line")]
    assert all(r["detections"] for r in recs)
    for d in recs[0]["detections"]:
        xy = np.array(d["polygon"])
        assert xy.shape[1] == 2 and (xy >= 0).all() and (xy[:, 0] <= 63).all()
    assert os.listdir(tmp_path) == ["two.tif"]
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(_encrypted_pdf(user=b"secret"))
    p = detect(locked, "--model", tiny_model[0], "--password", "secret", "--dpi", "144")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["width"] == 144


def test_setup_errors_are_one_line_exit_2(tiny_model, tmp_path):
    empty = tmp_path / "nothing here"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images")
    p = detect(empty, "--out", tmp_path / "out", "--model", tiny_model[0])
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [p.stderr.strip()]
    assert str(empty) in p.stderr and "no image" in p.stderr
    assert not (tmp_path / "out").exists()
    missing = tmp_path / "gone.pt"
    p = detect(empty, "--model", missing)
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert str(missing) in p.stderr and "not found" in p.stderr
    p = detect(empty, "--model", tmp_path / "gone.onnx")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "gone.onnx" in p.stderr
    # an --out that is a file
    f = tmp_path / "file"
    f.write_text("x")
    img = _save(tmp_path / "ok.png", Image.fromarray(PIXELS))
    p = detect(img, "--out", f, "--model", tiny_model[0])
    assert p.returncode == 2 and "not a directory" in p.stderr and p.stderr.count("\n") == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_batch_leaves_only_whole_files(tiny_model, tmp_path, sig):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    n = 4000  # ~3 ms a page: the run must outlast the moment the signal is sent
    for i in range(n):
        _save(src / f"p{i}.png", Image.fromarray(np.roll(PIXELS, i, axis=1)))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, DETECT, str(src), "--out", str(out), "--model",
                             tiny_model[1], "--no-progress"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_default)
    try:
        deadline = time.monotonic() + 60
        # whole files only: a temporary one seen here may be gone once the signal lands
        while not (out.is_dir() and sum(not _is_tmp(f) for f in os.listdir(out)) >= 6):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "error: interrupted" and "Traceback" not in err
    names = os.listdir(out)
    assert 6 <= len(names) < 3 * n and not tmp_files(out)
    for name in names:  # every file there is whole
        if name.endswith(".json"):
            json.loads((out / name).read_text())
        elif name.endswith(".jpg"):
            with Image.open(out / name) as im:
                im.load()


def test_threshold_and_decode_options_reach_the_default_models_decoder(tmp_path):
    """--threshold is the shipped model's region score (box_thresh), so raising it drops
    detections; an unknown --decode key is a one-line error, not silently ignored."""
    page = Image.open(os.path.join(ROOT, "examples", "page.jpg"))
    img = _save(tmp_path / "top.png", page.crop((0, 0, page.width, page.height // 3)))

    def count(*extra):
        p = detect(img, "--threads", "1", *extra)
        assert p.returncode == 0, p.stderr
        return len(json.loads(p.stdout)["detections"])

    base, strict = count(), count("--threshold", "0.8")
    assert base > 20 and 0 < strict < base
    assert count("--decode", "box_thresh=0.8") == strict
    p = detect(img, "--decode", "box_threshold=0.9")
    assert p.returncode == 2 and "box_threshold" in p.stderr and "box_thresh" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1

    # --config: a config file's infer section for the same method replaces the model's
    cfg = tmp_path / "strict.yaml"
    cfg.write_text("model: {head: {method: db}}\n"
                   "infer: {resize: {policy: document, max_side: 2048, upscale_to: 2000,\n"
                   "                 max_upscale: 1.6, crop_margins: true},\n"
                   "        decode: {box_thresh: 0.8}}\n")
    assert count("--config", cfg) == strict
    other = tmp_path / "east.yaml"
    other.write_text("model: {head: {method: east}}\n")
    for bad in (other, tmp_path / "missing.yaml"):
        p = detect(img, "--config", bad)
        assert p.returncode == 2 and str(bad) in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1


def test_malformed_pages_spec_stops_the_run_once(tmp_path):
    img = _save(tmp_path / "a.png", Image.fromarray(PIXELS))
    p = detect(img, img, "--pages", "3-1")
    errors = [line for line in p.stderr.splitlines() if "error" in line]
    assert p.returncode == 2 and len(errors) == 1 and "--pages" in errors[0], p.stderr
