"""tools/bench.py and textseg.benchmarks suites: report writing and tiny runs (no timings)."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT, tiny_config
from textseg.benchmarks import report

TINY_CASES = (("tiny", 256, 20, (8, 12)),)


def _machine():
    return report.machine_info(threads=1)


# ----------------------------------------------------------------------------- report

def test_cpu_model_reads_cpuinfo(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Some   CPU @ 2.0GHz\n")
    assert report.cpu_model(str(f)) == "Some CPU @ 2.0GHz"
    assert report.cpu_model(str(tmp_path / "missing"))  # falls back, never empty


def test_machine_description_names_versions_and_threads():
    info = _machine()
    text = report.describe_machine(info)
    assert info["cpu"] in text and "1 thread used" in text
    assert f"numpy {info['numpy']}" in text and info["date"] in text


def test_markdown_table_shapes_and_rejects_ragged_rows():
    t = report.markdown_table(["a", "b"], [["x", 1], ["y", None]])
    assert t.splitlines() == ["| a | b |", "|---|---:|", "| x | 1 |", "| y | - |"]
    with pytest.raises(ValueError):
        report.markdown_table(["a", "b"], [["x"]])


def _section(suite, body):
    return report.render_section(suite, suite.title(), body, _machine(), "cmd")


def test_text_table_and_printed_rows(capsys):
    cols = (("case", "case", 6), ("ms", "ms", 5), ("who", "who", 4, "<"))
    text = report.text_table(cols, [{"case": "a", "ms": 1.5, "who": "x"}, {"case": "b"}])
    assert text.splitlines() == ["case      ms who ", "a        1.5 x   ", "b          - -   "]
    report.print_table(cols, [{"case": "a", "ms": None}], notes=["note"])
    assert capsys.readouterr().out.splitlines()[1:] == ["a          - -   ", "note",
                                                        '{"case": "a", "ms": null}']


def test_every_decode_benchmark_prints_through_report():
    """The four decode_*.py print their tables with report.print_table, not their own."""
    for name in ("decode_east", "decode_pse", "decode_db", "decode_maskrcnn"):
        with open(os.path.join(ROOT, "textseg", "benchmarks", f"{name}.py")) as f:
            src = f.read()
        assert "print_table(" in src and "json.dumps" not in src, name


def test_sections_are_replaced_alone_and_kept_in_order(tmp_path):
    path = tmp_path / "docs" / "bench.md"
    report.update_section(path, "train", _section("train", "TRAIN-1"))
    report.update_section(path, "models", _section("models", "MODELS-1"))
    text = path.read_text()
    assert text.startswith(report.TITLE)
    assert text.index("MODELS-1") < text.index("TRAIN-1")  # canonical order
    # hand-written text between sections survives a rewrite
    path.write_text(text.replace("<!-- bench:train -->", "Hand note.\n\n<!-- bench:train -->"))
    report.update_section(path, "decode", _section("decode", "DECODE-1"))
    report.update_section(path, "models", _section("models", "MODELS-2"))
    text = path.read_text()
    assert "MODELS-1" not in text and text.count("MODELS-2") == 1
    assert text.index("MODELS-2") < text.index("DECODE-1") < text.index("Hand note.") \
        < text.index("TRAIN-1")
    assert text.count("<!-- bench:models -->") == 1 and text.count("<!-- /bench:models -->") == 1
    assert not [p for p in os.listdir(path.parent) if p.endswith(".tmp")]  # atomic writes


def test_unknown_suite_is_refused():
    with pytest.raises(ValueError, match="unknown suite"):
        report.replace_section("", "nope", "x")


# ----------------------------------------------------------------------------- suites

def test_decode_suite_on_tiny_pages():
    from textseg.benchmarks import decode

    rows, notes = decode.run(cases=TINY_CASES, strides=(4,), repeat=1)
    names = {r["decoder"] for r in rows}
    assert {"EAST LANMS", "EAST decode (restore + LANMS + scores)", "PSE expansion",
            "PSE decode (expansion + quads)", "Mask R-CNN post-processing, quads"} <= names
    for r in rows:
        assert r["case"] == "tiny" and r["ours_ms"] >= 0
        # perfect maps of 20 well-separated words decode to about 20 regions
        assert 16 <= r["ours_out"] <= 20, r
    table = decode.format_table(rows)
    assert len(table.splitlines()) == len(rows) + 2
    assert ("DB decode" in names) != bool(notes)  # DB measured, or said to be missing


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from textseg.checkpoint import save_checkpoint
    from textseg.model import build_model

    cfg = tiny_config("pse")
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(str(path), build_model(cfg), cfg)
    return str(path)


def test_pages_suite_on_two_images(tiny_checkpoint, synth_dir, monkeypatch, tmp_path):
    from textseg.benchmarks import pages

    monkeypatch.setattr(pages, "DEFAULT_MODEL_DIR", str(tmp_path))  # no default model here
    rows = pages.run(synth_dir, [tiny_checkpoint], levels=("word", "line"), max_images=2,
                     onnx=True)
    assert [r["level"] for r in rows] == ["word", "line"] * 3
    assert rows[0]["note"] == "not installed in this copy"
    measured = rows[2:]
    assert [r["backend"] for r in measured] == ["torch", "torch", "onnxruntime (exported)",
                                                "onnxruntime (exported)"]
    for r in measured:
        assert r["images"] == 2 and 0.0 <= r["hmean"] <= 1.0
        assert all(r[k] >= 0 for k in ("load", "preprocess", "network", "decode", "median_page"))
    assert "not installed" in pages.format_table(rows)


def test_pages_suite_bad_paths_are_clear_errors(tmp_path, synth_dir):
    from textseg.benchmarks import pages
    from textseg.detector import ModelError

    with pytest.raises(FileNotFoundError, match="data folder not found"):
        pages.run(str(tmp_path / "nope"), default=False)
    with pytest.raises(FileNotFoundError, match="no word or line-level ground truth"):
        pages.run(str(tmp_path), default=False)
    with pytest.raises(ModelError, match="x.pt: model file not found"):
        pages.run(synth_dir, [str(tmp_path / "x.pt")], default=False)


def test_pages_suite_skips_a_level_the_folder_has_no_ground_truth_for(
        tiny_checkpoint, synth_dir, tmp_path):
    """A receipt set has lines only: --levels word line scores the lines and says so."""
    import shutil

    from textseg.benchmarks import pages

    lines_only = tmp_path / "lines_only"
    shutil.copytree(synth_dir, lines_only)
    shutil.rmtree(lines_only / "words")
    said = []
    rows = pages.run(str(lines_only), [tiny_checkpoint], levels=("word", "line"),
                     max_images=1, default=False, log=said.append)
    assert [r["level"] for r in rows] == ["line"]
    assert any("no word-level ground truth" in m for m in said)


def test_train_suite_tiny():
    from textseg.benchmarks import train_speed

    rows = train_speed.run(["fpn"], ["resnet18"], ["east"], size=64, batch=1, warmup=1,
                           steps=1, pages=1, overrides=["model.trunk.channels=8"])
    (r,) = rows
    assert (r["trunk"], r["method"], r["channels"], r["size"]) == ("fpn", "east", 8, 64)
    assert r["step_img_s"] > 0 and r["data_img_s"] > 0
    assert "fpn (8)" in train_speed.format_table(rows)


def test_models_suite_tiny():
    from textseg.benchmarks import networks

    rows = networks.bench_one("east", "fpn", "resnet18", [64], threads=1, warmup=0, repeats=1,
                              memory=False, channels=8)
    (r,) = rows
    assert r["params"] > 0 and r["gmacs"] > 0 and r["torch_ms"] > 0 and r["ort_ms"] > 0
    assert r["peak_mb"] is None
    assert "64x64" in networks.format_table(rows)


# ----------------------------------------------------------------------------- CLI

def _bench(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "bench.py"), *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_pages_writes_its_section_and_keeps_others(tiny_checkpoint, synth_dir, tmp_path):
    out = tmp_path / "bench.md"
    report.update_section(out, "decode", _section("decode", "DECODE-KEPT"))
    p = _bench("pages", "--checkpoint", tiny_checkpoint, "--data", synth_dir, "--max-images",
               "2", "--levels", "word", "--no-default", "--threads", "1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "| tiny.pt | torch | word | 2 |" in p.stdout
    text = out.read_text()
    assert "DECODE-KEPT" in text and "<!-- bench:pages -->" in text
    assert text.index("DECODE-KEPT") < text.index("<!-- bench:pages -->")
    assert "Command: `python tools/bench.py pages --checkpoint" in text


def test_cli_reports_bad_input_in_one_line(tmp_path):
    p = _bench("pages", "--data", str(tmp_path / "nope"), "--no-write", "--threads", "1")
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "data folder not found" in p.stderr
