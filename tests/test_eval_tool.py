import json
import os
import subprocess
import sys

import pytest

from conftest import DOCBENCH, ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import eval as eval_tool  # noqa: E402  (tools/eval.py)

GT = {"img_1": "0,0,10,0,10,10,0,10,a\n20,0,30,0,30,10,20,10,b\n40,0,50,0,50,10,40,10,###\n",
      "img_2": "0,0,10,0,10,10,0,10,c\n",
      "img_3": "0,0,10,0,10,10,0,10,d\n"}


@pytest.fixture
def folders(tmp_path):
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    for k, text in GT.items():
        (gt / f"gt_{k}.txt").write_text(text)
    (pred / "res_img_1.txt").write_text("0,0,10,0,10,10,0,10\n41,0,50,0,50,10,41,10\n")
    (pred / "res_img_2.txt").write_text("0,0,10,0,10,10,0,10,0.8\n100,100,110,100,110,110,100,110,0.3\n")
    return str(gt), str(pred)  # img_3 has no result file


def run(capsys, *argv):
    code = None
    try:
        code = eval_tool.main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_json_last_line_and_counts(folders, capsys):
    gt, pred = folders
    code, out, err = run(capsys, "--gt", gt, "--pred", pred, "--json")
    assert code == 0
    res = json.loads(out.strip().splitlines()[-1])
    # care GT 4 (a, b, c, d), care det 3 (the one on ### is removed), matched 2
    assert (res["gt_care"], res["det_care"], res["matched"]) == (4, 3, 2)
    assert res["precision"] == pytest.approx(2 / 3) and res["recall"] == 0.5
    assert res["hmean"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert res["missing_results"] == 1 and "hmean" in err


def test_text_report_and_worst_images(folders, capsys):
    gt, pred = folders
    code, out, err = run(capsys, "--gt", gt, "--pred", pred, "--per-image", "2")
    assert code == 0
    assert "precision 0.6667  recall 0.5000  hmean 0.5714" in out
    worst = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert worst == ["img_3", "img_1"]  # hmean 0, then 0.8 (1 of 2 GT, 1 of 1 det)
    assert "1 image(s) without a result file" in out


def test_orphan_result_file_is_an_error(folders, capsys):
    gt, pred = folders
    open(os.path.join(pred, "res_img_9.txt"), "w").close()
    code, out, err = run(capsys, "--gt", gt, "--pred", pred)
    assert code == 2 and "res_img_9.txt" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("problem", ["no_gt_dir", "no_pred_dir", "bad_gt", "bad_res", "ccw"])
def test_bad_input_gives_one_line_error(folders, capsys, problem):
    gt, pred = folders
    args = ["--gt", gt, "--pred", pred]
    expect = ""
    if problem == "no_gt_dir":
        args[1], expect = gt + "_missing", "gt_missing: data folder not found"
    elif problem == "no_pred_dir":
        args[3], expect = pred + "_missing", "pred_missing: result folder not found"
    elif problem == "bad_gt":
        with open(os.path.join(gt, "gt_img_2.txt"), "a") as f:
            f.write("1,2,3\n")
        expect = "gt_img_2.txt:2:"
    elif problem == "bad_res":
        with open(os.path.join(pred, "res_img_2.txt"), "a") as f:
            f.write("1,2,x\n")
        expect = "res_img_2.txt:3:"
    else:
        with open(os.path.join(pred, "res_img_2.txt"), "a") as f:
            f.write("0,10,10,10,10,0,0,0\n")
        args.append("--strict")
        expect = "res_img_2.txt: detection #3: points are not clockwise"
    code, out, err = run(capsys, *args)
    assert code == 2 and expect in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_ccw_warning_without_strict(folders, capsys):
    gt, pred = folders
    with open(os.path.join(pred, "res_img_3.txt"), "w") as f:
        f.write("0,10,10,10,10,0,0,0\n")
    code, out, err = run(capsys, "--gt", gt, "--pred", pred, "--json")
    assert code == 0 and json.loads(out)["ccw_detections"] == 1
    assert "counter-clockwise" in err


def test_lenient_skips_bad_gt_lines(folders, capsys):
    gt, pred = folders
    with open(os.path.join(gt, "gt_img_2.txt"), "a") as f:
        f.write("1,2,3\n")
    with pytest.warns(UserWarning, match="gt_img_2.txt:2: "):
        code, out, err = run(capsys, "--gt", gt, "--pred", pred, "--lenient", "--json")
    assert code == 0 and json.loads(out)["gt_care"] == 4


def test_cli_on_docbench_lines(tmp_path):
    """The real command line (a subprocess): GT against itself and against nothing."""
    from textseg.data import icdar

    pred = tmp_path / "pred"
    pred.mkdir()
    for img, gt in icdar.find_pairs(DOCBENCH, level="line"):
        key = os.path.splitext(os.path.basename(img))[0]
        icdar.write_results(str(pred / f"res_{key}.txt"), [a.polygon for a in icdar.read_gt(gt)])
    cmd = [sys.executable, os.path.join(ROOT, "tools", "eval.py"), "--gt", DOCBENCH,
           "--level", "line", "--json"]
    p = subprocess.run(cmd + ["--pred", str(pred)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.splitlines()[-1])["hmean"] == 1.0
    empty = tmp_path / "empty"
    empty.mkdir()
    p = subprocess.run(cmd + ["--pred", str(empty)], capture_output=True, text=True, timeout=60)
    assert json.loads(p.stdout.splitlines()[-1])["hmean"] == 0.0
