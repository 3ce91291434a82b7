"""The secondary tools never overwrite silently and fail in one line (issue 19, items 15-17):
eval.py --save-pred, show_data.py and check_targets.py --out refuse existing outputs without
--overwrite; a full disk, a missing folder and Ctrl-C give one `error:` line, never a
traceback or the name of an internal temporary file; progress bars degrade without tqdm."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import ROOT, sigint_default

TOOLS = os.path.join(ROOT, "tools")
CONFIG = os.path.join(ROOT, "configs", "east_fpn_r50.yaml")

#: runs a tool as __main__ after optional patches: a full disk (every fsync fails with
#: ENOSPC, as a write to a full file system does at the latest) and blocked imports
WRAPPER = """
import errno, os, runpy, sys
sys.path[:0] = [{tools!r}, {root!r}]
if {enospc!r}:
    def _full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    os.fsync = _full

class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} is blocked: this check runs without it")
        return None

sys.meta_path.insert(0, _Blocked())
sys.argv = [{script!r}] + {argv!r}
runpy.run_path({script!r}, run_name="__main__")
"""


def run_tool(tool, *argv, enospc=False, blocked=(), timeout=300):
    code = WRAPPER.format(tools=TOOLS, root=ROOT, enospc=enospc, blocked=tuple(blocked),
                          script=os.path.join(TOOLS, tool), argv=[str(a) for a in argv])
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def one_error_line(p, *needles, code=2):
    assert p.returncode == code, (p.returncode, p.stderr[-3000:])
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, p.stderr[-3000:]
    assert ".tmp" not in errors[0], errors[0]
    for n in needles:
        assert n in errors[0], (n, errors[0])
    return errors[0]


def no_temporary_files(folder):
    left = [os.path.join(d, f) for d, _, files in os.walk(folder) for f in files
            if f.endswith(".tmp")]
    assert not left, left


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    from textseg.data.synth import write_dataset

    out = tmp_path_factory.mktemp("pages")
    write_dataset(str(out), n=2, seed=7, level="word", dpi_range=(40, 50), workers=1,
                  progress=False)
    return str(out)


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory):
    wd = tmp_path_factory.mktemp("run")
    with open(wd / "log.jsonl", "w", encoding="utf-8") as f:
        for step in (1, 2, 3):
            f.write(json.dumps({"step": step, "lr": 0.001, "loss": 1.0 / step}) + "\n")
    return str(wd)


# ----------------------------------------------------------------------------- item 16

def test_eval_save_pred_refuses_existing_results(pages, tmp_path):
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "res_img_1.txt").write_text("detect's result\n")
    args = ["--model", "default", "--data", pages, "--save-pred", pred]
    one_error_line(run_tool("eval.py", *args), str(pred / "res_img_1.txt"), "--overwrite")
    assert (pred / "res_img_1.txt").read_text() == "detect's result\n"
    assert sorted(os.listdir(pred)) == ["res_img_1.txt"]  # nothing written at all
    p = run_tool("eval.py", *args, "--overwrite")
    assert p.returncode == 0, p.stderr
    assert (pred / "res_img_1.txt").read_text() != "detect's result\n"


def test_show_data_refuses_existing_pictures(pages, tmp_path):
    out = tmp_path / "show"
    out.mkdir()
    (out / "img_2_word.jpg").write_bytes(b"mine")
    one_error_line(run_tool("show_data.py", "--data", pages, "--out", out),
                   "img_2_word.jpg", "--overwrite")
    assert sorted(os.listdir(out)) == ["img_2_word.jpg"]
    assert (out / "img_2_word.jpg").read_bytes() == b"mine"
    p = run_tool("show_data.py", "--data", pages, "--out", out, "--overwrite")
    assert p.returncode == 0, p.stderr
    assert (out / "img_2_word.jpg").read_bytes() != b"mine"


def test_check_targets_refuses_existing_pictures(pages, tmp_path):
    out = tmp_path / "trip"
    out.mkdir()
    (out / "img_1_overlay.png").write_bytes(b"mine")
    args = ["--config", CONFIG, "--data", pages, "--out", out, "--n", "1"]
    one_error_line(run_tool("check_targets.py", *args), "img_1_overlay.png", "--overwrite")
    assert sorted(os.listdir(out)) == ["img_1_overlay.png"]
    p = run_tool("check_targets.py", *args, "--overwrite")
    assert p.returncode == 0, p.stderr
    assert (out / "img_1_overlay.png").read_bytes() != b"mine"


# ----------------------------------------------------------------------------- item 17

def test_plot_log_into_a_missing_folder(work_dir):
    one_error_line(run_tool("plot_log.py", work_dir, "--out", "/nonexistent-dir/c.png"),
                   "/nonexistent-dir")


FULL_DISK = {
    "plot_log": lambda pages, wd, out: ("plot_log.py", wd, "--out", out / "c.png"),
    "show_data": lambda pages, wd, out: ("show_data.py", "--data", pages, "--out", out),
    "check_targets": lambda pages, wd, out: ("check_targets.py", "--config", CONFIG, "--data",
                                             pages, "--out", out, "--n", "1"),
    "make_synth": lambda pages, wd, out: ("make_synth.py", "--n", "1", "--out", out,
                                          "--no-progress", "--dpi-range", "40", "50"),
    "eval_save_pred": lambda pages, wd, out: ("eval.py", "--model", "default", "--data", pages,
                                              "--save-pred", out, "--limit", "1"),
}


@pytest.mark.parametrize("tool", sorted(FULL_DISK))
def test_full_disk_is_one_line_naming_the_file(tool, pages, work_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    argv = FULL_DISK[tool](pages, work_dir, out)
    line = one_error_line(run_tool(*argv, enospc=True), str(out), "No space left on device")
    assert "[Errno" not in line
    no_temporary_files(out)


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_in_make_synth_is_one_line(tmp_path, workers):
    out = tmp_path / "synth"
    code = WRAPPER.format(tools=TOOLS, root=ROOT, enospc=False, blocked=(),
                          script=os.path.join(TOOLS, "make_synth.py"),
                          argv=["--n", "400", "--out", str(out), "--no-progress",
                                "--workers", str(workers)])
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONIOENCODING="utf-8")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=sigint_default)
    try:
        deadline = time.monotonic() + 120
        while not (out / "images").is_dir() or len(os.listdir(out / "images")) < 2:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no page written in 120 s"
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole process group
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    p = subprocess.CompletedProcess(proc.args, proc.returncode, "", err)
    one_error_line(p, "interrupted", code=130)
    assert len(err.strip().splitlines()) == 1, err
    time.sleep(0.5)  # workers that were told to stop are gone by now
    no_temporary_files(out)


# ----------------------------------------------------------------------------- item 15

def test_progress_degrades_without_tqdm():
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        sys.modules["tqdm"] = None  # import tqdm fails
        from textseg.progress import progress_bar
        bar = progress_bar(total=3, desc="detect", unit="file")
        for _ in range(3):
            bar.update(1)
        bar.set_postfix({{"loss": "0.1"}})
        bar.write("a message")
        bar.close()
        print("done")
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip().endswith("done"), p.stderr
    assert "a message" in p.stdout + p.stderr


def test_training_progress_without_tqdm(tmp_path, pages):
    code = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{ROOT!r}, {os.path.join(ROOT, 'tests')!r}]
        sys.modules["tqdm"] = None
        from conftest import tiny_config
        from textseg.training import train
        cfg = tiny_config("east", train__steps=2, model__backbone__width=0.125,
                          model__trunk__channels=8, data__crop_size=64, train__batch_size=1)
        train(cfg, {str(tmp_path / 'wd')!r}, data_dirs=[{pages!r}], progress=True)
        print("trained")
    """)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0 and "trained" in p.stdout, p.stderr[-3000:]


def test_torch_free_detect_on_a_folder_without_tqdm(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    for name in ("page.jpg", "form.jpg"):
        shutil.copy(os.path.join(ROOT, "examples", name), scans / name)
    model = os.path.join(ROOT, "textseg", "weights", "default.onnx")
    p = run_tool("detect.py", scans, "--model", model, "--out", tmp_path / "results",
                 blocked=("torch", "tqdm", "onnx", "matplotlib"))
    assert p.returncode == 0, p.stderr[-3000:]
    assert (tmp_path / "results" / "page.json").is_file()
    assert (tmp_path / "results" / "form.json").is_file()
