import os
import warnings

import numpy as np
import pytest

from conftest import DOCBENCH
from textseg.data.icdar import (Annotation, GTFormatError, find_gt_files, find_pairs,
                                read_gt, read_results, scan_dataset, write_gt, write_results)


def write(path, text, encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_icdar2015_bom_crlf_commas_quotes_and_dont_care(tmp_path):
    p = write(tmp_path / "gt_img_1.txt",
              "\ufeff377,117,463,117,465,130,378,130,Genaxis Theatre\r\n"
              "\r\n"
              "493,115,519,115,519,131,493,131,[06]\r\n"
              "374,155,409,155,409,170,374,170,###\r\n"
              "10,10,50,10,50,30,10,30,Hello, world, again\r\n"
              "10,40,50,40,50,60,10,60,\"say \\\"hi\\\"\"\r\n"
              "10,70,50,70,50,90,10,90,2,000\r\n")
    anns = read_gt(p)
    assert [a.text for a in anns] == ["Genaxis Theatre", "[06]", "###", "Hello, world, again",
                                      'say "hi"', "2,000"]
    assert [a.ignore for a in anns] == [False, False, True, False, False, False]
    a = anns[0]
    assert isinstance(a, Annotation) and a.polygon.dtype == np.float32
    np.testing.assert_array_equal(a.polygon, [[377, 117], [463, 117], [465, 130], [378, 130]])
    assert all(x.polygon.shape == (4, 2) for x in anns)


def test_counter_clockwise_and_bowtie_quads_are_ordered(tmp_path):
    p = write(tmp_path / "gt.txt", "0,10,10,10,10,0,0,0,ccw\n0,0,10,10,10,0,0,10,bowtie\n")
    for a in read_gt(p):
        np.testing.assert_array_equal(a.polygon, [[0, 0], [10, 0], [10, 10], [0, 10]])


def test_icdar2013_comma_and_space(tmp_path):
    p = write(tmp_path / "a.txt", '38, 43, 920, 215, "Tiredness"\n275 264 343 300 "kills"\n')
    anns = read_gt(p)
    assert [a.text for a in anns] == ["Tiredness", "kills"]
    np.testing.assert_array_equal(anns[1].polygon, [[275, 264], [343, 264], [343, 300], [275, 300]])
    assert read_gt(p, fmt="icdar2013")[0].text == "Tiredness"


def test_mlt_and_polygon_lines(tmp_path):
    p = write(tmp_path / "m.txt", "1,1,20,1,20,9,1,9,Latin,Hi, there\n"
                                  "1,1,20,1,20,9,1,9,None,###\n"
                                  "0,0,10,0,20,0,20,10,10,10,0,10,curved text\n")
    anns = read_gt(p)
    assert [a.text for a in anns] == ["Hi, there", "###", "curved text"]
    assert anns[1].ignore and anns[2].polygon.shape == (6, 2)
    # counter-clockwise polygons are reversed to clockwise
    p2 = write(tmp_path / "p.txt", "0,10,10,10,20,10,20,0,10,0,0,0,x\n")
    (a,) = read_gt(p2, fmt="polygon")
    assert a.polygon.shape == (6, 2) and a.polygon[1, 0] > a.polygon[0, 0]
    assert read_gt(p, fmt="mlt")[0].text == "Hi, there"


GOOD = {"auto": "0,0,10,0,10,10,0,10,ok", "polygon": "0,0,10,0,10,10,0,10,ok",
        "icdar2013": '0,0,10,10,"ok"', "mlt": "0,0,10,0,10,10,0,10,Latin,ok"}


@pytest.mark.parametrize("line,fmt,reason", [
    ("1,2,3,4,5,6,7", "auto", "7 fields"),
    ("1,2,3,x,5,6,7,8,word", "auto", "field 4 'x' is not a number"),
    ("1,2,3,4,x,6,7,8,word", "auto", "field 5 'x' is not a number"),
    ("1,2,3,4,5,6,7,word", "polygon", "odd number of coordinates"),
    ("0,0,10,0,20,0,30,0,flat", "auto", "zero area"),
    ("0,0,0,0,5,5,5,5,two points", "auto", "fewer than 3 distinct points"),
    ("0,0,10,0,20,0,30,0,40,0,flat", "polygon", "zero area"),
    ("5,5,1,1,\"t\"", "icdar2013", "xmax < xmin"),
    ("1,2,3,4,5,6,7,8,Latin", "mlt", "10 fields"),
])
def test_malformed_lines_raise_one_line_errors(tmp_path, line, fmt, reason):
    p = write(tmp_path / "bad.txt", GOOD[fmt] + "\n\n" + line + "\n")
    with pytest.raises(GTFormatError) as e:
        read_gt(p, fmt=fmt)
    msg = str(e.value)
    assert msg.startswith(f"{p}:3: ") and reason in msg and "\n" not in msg
    assert e.value.line == 3


def test_auto_polygon_needs_plausible_extra_points(tmp_path):
    quad_with_numbers = "1011,933,1350,921,1351,946,1012,958,15, 2004, through 1.5.2, March"
    p = write(tmp_path / "q.txt", quad_with_numbers + "\n0,0,10,0,10,10,0,10,ok\n")
    a = read_gt(p)[0]
    assert a.polygon.shape == (4, 2) and a.text == "15, 2004, through 1.5.2, March"
    p = write(tmp_path / "p.txt", "0,0,10,0,10,10,0,10,quad\n0,0,50,0,100,0,100,20,50,20,0,20,b\n"
                                  "0,0,10,0,10,10,0,10,2,000\n")
    assert [x.polygon.shape[0] for x in read_gt(p)] == [4, 6, 4]
    assert read_gt(p)[2].text == "2,000"


def test_lenient_skips_with_one_warning_each(tmp_path):
    p = write(tmp_path / "bad.txt", "a,b\n0,0,10,0,10,10,0,10,ok\n1,2,3\n")
    stats = {}
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        anns = read_gt(p, lenient=True, stats=stats)
    assert [a.text for a in anns] == ["ok"]
    assert len(w) == 2 and f"{p}:1:" in str(w[0].message) and f"{p}:3:" in str(w[1].message)
    assert stats == {"annotations": 1, "skipped": 2}


def test_not_utf8_is_a_format_error(tmp_path):
    p = write(tmp_path / "l1.txt", "0,0,10,0,10,10,0,10,caf\xe9\n", encoding="latin-1")
    with pytest.raises(GTFormatError, match=r"l1.txt:1: not UTF-8"):
        read_gt(p)
    with pytest.warns(UserWarning):
        assert len(read_gt(p, lenient=True)) == 1


def test_write_gt_roundtrip_atomic(tmp_path):
    anns = [Annotation(np.array([[0.4, 0.6], [10.5, 0], [10, 5], [0, 5]], np.float32), "a,b", False),
            Annotation(np.array([[0, 0], [10, 0], [10, 5], [0, 5]], np.float32), "junk", True),
            Annotation(np.array([[0, 0], [5, 0], [10, 0], [10, 5], [5, 5], [0, 5]], np.float32),
                       "poly", False)]
    out = tmp_path / "gt_img_1.txt"
    write_gt(str(out), anns)
    assert out.read_text().splitlines()[:2] == ["0,1,10,0,10,5,0,5,a,b", "0,0,10,0,10,5,0,5,###"]
    back = read_gt(str(out))
    assert [a.text for a in back] == ["a,b", "###", "poly"] and back[1].ignore
    assert back[2].polygon.shape == (6, 2)
    assert os.listdir(tmp_path) == ["gt_img_1.txt"]  # no temporary file left behind


def test_results_roundtrip(tmp_path):
    q = np.array([[1.2, 2], [30, 2], [30, 12.7], [1, 12]], np.float32)
    path = str(tmp_path / "res_img_3.txt")
    write_results(path, [(q, 0.9), (q + 5, 0.25)], with_score=True)
    # truncated, as the ICDAR 2015 script reads float coordinates
    assert open(path).read().splitlines()[0] == "1,2,30,2,30,12,1,12,0.9"
    back = read_results(path)
    assert [s for _, s in back] == [0.9, 0.25]
    np.testing.assert_array_equal(back[0][0], np.trunc(q))
    write_results(path, [q, (q, 0.5)])
    assert [s for _, s in read_results(path)] == [None, None]
    bad = write(tmp_path / "res_img_4.txt", "1,2,3,x\n")
    with pytest.raises(GTFormatError, match="res_img_4.txt:1:"):
        read_results(bad)


def test_result_files_score_as_their_float_polygons(tmp_path):
    """Written and read back, detections score exactly as in memory (both truncate)."""
    from textseg.evaluation import evaluate

    rng = np.random.default_rng(5)
    gt, pred = {}, {}
    for k in range(6):
        x, y = rng.uniform(0, 200, (2, 12))
        w, h = rng.uniform(8, 30, (2, 12))
        boxes = [np.array([[a, b], [a + c, b], [a + c, b + d], [a, b + d]], np.float32)
                 for a, b, c, d in zip(x, y, w, h)]
        key = f"img_{k}"
        gt[key] = [(np.rint(q + rng.uniform(-3, 3, 2)).astype(np.float32), False) for q in boxes]
        pred[key] = [(q, 0.9) for q in boxes]
    from textseg.data.icdar import Annotation

    gt = {k: [Annotation(p, "w", ig) for p, ig in v] for k, v in gt.items()}
    back = {}
    for k, dets in pred.items():
        path = str(tmp_path / f"res_{k}.txt")
        write_results(path, dets)
        back[k] = read_results(path)
    a, b = evaluate(gt, pred), evaluate(gt, back)
    assert 0 < a["hmean"] < 1 and a["hmean"] == b["hmean"] and a["matched"] == b["matched"]


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"0,0,10,0,10,10,0,10,x\n")
    return str(path)


def test_find_pairs_images_words_lines(tmp_path):
    for n in (1, 2, 10):
        touch(tmp_path / "images" / f"img_{n}.jpg")
    touch(tmp_path / "words" / "gt_img_1.txt")
    touch(tmp_path / "words" / "gt_img_10.txt")
    touch(tmp_path / "words" / "gt_img_99.txt")
    touch(tmp_path / "lines" / "gt_img_2.txt")
    rep = scan_dataset(tmp_path)
    assert [os.path.basename(i) for i, _ in rep.pairs] == ["img_1.jpg", "img_2.jpg", "img_10.jpg"]
    assert [g and os.path.basename(g) for _, g in rep.pairs] == ["gt_img_1.txt", None, "gt_img_10.txt"]
    assert [os.path.basename(x) for x in rep.orphan_gt] == ["gt_img_99.txt"]
    assert len(rep.missing_gt) == 1
    lines = find_pairs(tmp_path, level="line")
    assert [g and os.path.basename(g) for _, g in lines] == [None, "gt_img_2.txt", None]
    assert set(find_gt_files(tmp_path)) == {"img_1", "img_10", "img_99"}


def test_find_pairs_gt_and_labels_folders_and_extensions(tmp_path):
    touch(tmp_path / "images" / "a.PNG")
    touch(tmp_path / "images" / "b.TIFF")
    touch(tmp_path / "images" / "notes.md")
    touch(tmp_path / "labels" / "a.txt")
    touch(tmp_path / "labels" / "gt_b.txt")
    pairs = find_pairs(tmp_path)
    assert [(os.path.basename(i), os.path.basename(g)) for i, g in pairs] == [
        ("a.PNG", "a.txt"), ("b.TIFF", "gt_b.txt")]


def test_find_pairs_official_ch4_layout(tmp_path):
    touch(tmp_path / "ch4_training_images" / "img_1.jpg")
    touch(tmp_path / "ch4_training_localization_transcription_gt" / "gt_img_1.txt")
    touch(tmp_path / "ch4_test_images" / "img_7.jpg")
    touch(tmp_path / "Challenge4_Test_Task1_GT" / "gt_img_7.txt")
    train = find_pairs(tmp_path, split="train")
    assert [os.path.basename(g) for _, g in train] == ["gt_img_1.txt"]
    assert "ch4_training_localization" in train[0][1]
    test = find_pairs(tmp_path, split="test")
    assert test[0][1].endswith(os.path.join("Challenge4_Test_Task1_GT", "gt_img_7.txt"))
    with pytest.raises(FileNotFoundError, match="several image folders"):
        find_pairs(tmp_path)


def test_find_pairs_flat_and_split_folders(tmp_path):
    touch(tmp_path / "flat" / "img_1.jpg")
    touch(tmp_path / "flat" / "gt_img_1.txt")
    touch(tmp_path / "flat" / "img_2.webp")
    pairs = find_pairs(tmp_path / "flat")
    assert [(os.path.basename(i), g and os.path.basename(g)) for i, g in pairs] == [
        ("img_1.jpg", "gt_img_1.txt"), ("img_2.webp", None)]
    touch(tmp_path / "ds" / "train" / "images" / "img_3.jpg")
    touch(tmp_path / "ds" / "train" / "gt" / "gt_img_3.txt")
    assert len(find_pairs(tmp_path / "ds", split="train")) == 1
    # a folder of gt_*.txt only (no images): keys come from the file names
    touch(tmp_path / "gtonly" / "gt_img_5.txt")
    assert list(find_gt_files(tmp_path / "gtonly")) == ["img_5"]


def test_find_pairs_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope: data folder not found"):
        find_pairs(tmp_path / "nope")
    touch(tmp_path / "images" / "img_1.jpg")
    with pytest.raises(FileNotFoundError, match="no lines/ folder"):
        find_pairs(tmp_path, level="line")
    with pytest.raises(ValueError, match="level"):
        find_pairs(tmp_path, level="char")


@pytest.mark.skipif(not os.path.isdir(DOCBENCH), reason="docbench-dev not available")
def test_docbench_reads_strictly():
    for level in ("word", "line"):
        pairs = find_pairs(DOCBENCH, level=level)
        assert len(pairs) == 20 and all(g for _, g in pairs)
        anns = [a for _, g in pairs for a in read_gt(g)]
        assert all(a.polygon.shape == (4, 2) for a in anns)
        assert any(a.ignore for a in anns) and not all(a.ignore for a in anns)


@pytest.mark.parametrize("with_score", [False, True])
def test_numeric_transcriptions_do_not_read_as_coordinates_or_scores(tmp_path, with_score):
    """Receipts are full of numbers: a transcription such as "1250" or "31.50" after the
    quad (and the score) must come back as text, never as a score or a fifth point."""
    from textseg.data.icdar import read_gt, read_results
    from textseg.output import write_icdar_txt

    quad = np.array([[10, 10], [60, 10], [60, 30], [10, 30]], np.float32)
    texts = ["1250", "31.50", "1,250.00", '"quoted"', "TOTAL", "", "a\\b"]
    dets = [(quad + 40 * i, 0.5) for i in range(len(texts))]
    path = tmp_path / "res_p.txt"
    write_icdar_txt(path, dets, with_score=with_score, texts=texts)
    back = read_results(path)
    assert len(back) == len(texts)
    for (poly, score), (q, _) in zip(back, dets):
        np.testing.assert_array_equal(poly, q)
        assert score == (0.5 if with_score else None)
    if not with_score:  # the same file read as ground truth keeps the exact text
        assert [w.text for w in read_gt(path)] == texts
