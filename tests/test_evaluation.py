"""ICDAR 2015 protocol against numbers worked out by hand."""

import time

import numpy as np
import pytest

from conftest import DOCBENCH
from textseg.data.icdar import Annotation
from textseg.evaluation import EvaluationError, evaluate, evaluate_folders, load_gt_folder


def box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def care(*boxes):
    return [Annotation(b, "w", False) for b in boxes]


def dontcare(b):
    return Annotation(b, "###", True)


def prh(r):
    return r["precision"], r["recall"], r["hmean"]


def test_simple_match():
    r = evaluate({"a": care(box(0, 0, 10, 10))}, {"a": [box(0, 0, 10, 9)]})  # IoU 0.9
    assert prh(r) == (1.0, 1.0, 1.0)
    assert (r["gt_care"], r["det_care"], r["matched"]) == (1, 1, 1)
    assert r["per_image"]["a"]["pairs"] == [(0, 0)]


def test_iou_exactly_half_is_not_a_match():
    gt = {"a": care(box(0, 0, 10, 10))}
    assert evaluate(gt, {"a": [box(0, 0, 10, 5)]})["matched"] == 0  # 50 / 100
    assert evaluate(gt, {"a": [box(0, 0, 10, 6)]})["matched"] == 1  # 60 / 100


def test_dont_care_removes_detections_mostly_inside_it():
    gt = {"a": [dontcare(box(0, 0, 10, 10)), *care(box(100, 0, 110, 10))]}
    # 60% of the detection inside the don't care region: removed (not a false positive)
    r = evaluate(gt, {"a": [box(4, 0, 14, 10), box(100, 0, 110, 10)]})
    assert (r["det_care"], r["det_dontcare"], r["matched"]) == (1, 1, 1)
    assert prh(r) == (1.0, 1.0, 1.0)
    # exactly 50% inside: kept, and it is a false positive
    r = evaluate(gt, {"a": [box(5, 0, 15, 10), box(100, 0, 110, 10)]})
    assert (r["det_care"], r["det_dontcare"], r["matched"]) == (2, 0, 1)
    assert r["precision"] == 0.5 and r["recall"] == 1.0
    # a detection that exactly covers the don't care GT is never matched to it
    r = evaluate({"a": [dontcare(box(0, 0, 10, 10))]}, {"a": [box(0, 0, 10, 10)]})
    assert (r["gt_care"], r["det_care"], r["matched"]) == (0, 0, 0)


def test_several_detections_on_one_gt_first_in_order_wins():
    gt = {"a": care(box(0, 0, 10, 10))}
    # det 0 has IoU 0.7, det 1 is perfect: the official greedy loop takes det 0
    r = evaluate(gt, {"a": [box(0, 0, 10, 7), box(0, 0, 10, 10)]})
    assert r["per_image"]["a"]["pairs"] == [(0, 0)]
    assert (r["precision"], r["recall"]) == (0.5, 1.0)
    assert r["hmean"] == pytest.approx(2 / 3)


def test_one_detection_over_two_gts():
    gt = {"a": care(box(0, 0, 10, 10), box(10, 0, 20, 10))}
    r = evaluate(gt, {"a": [box(0, 0, 20, 10)]})  # IoU 100/200 = 0.5 with each
    assert r["matched"] == 0 and prh(r) == (0.0, 0.0, 0.0)
    r = evaluate(gt, {"a": [box(0, 0, 16, 10)]})  # IoU 100/160 with GT 0
    assert r["per_image"]["a"]["pairs"] == [(0, 0)]
    assert (r["precision"], r["recall"]) == (1.0, 0.5)


def test_images_without_care_gt():
    gt = {"empty": [], "dc": [dontcare(box(0, 0, 10, 10))], "a": care(box(0, 0, 10, 10))}
    r = evaluate(gt, {"empty": [box(50, 50, 60, 60)], "a": [box(0, 0, 10, 10)]})
    pi = r["per_image"]
    assert (pi["empty"]["recall"], pi["empty"]["precision"]) == (1.0, 0.0)
    assert (pi["dc"]["recall"], pi["dc"]["precision"], pi["dc"]["hmean"]) == (1.0, 1.0, 1.0)
    # pooled: 1 matched of 1 care GT and 2 care detections
    assert (r["recall"], r["precision"]) == (1.0, 0.5)
    # nothing to find and nothing found: 0 by the official method formulas
    r = evaluate({"x": []}, {"x": []})
    assert prh(r) == (0.0, 0.0, 0.0) and r["per_image"]["x"]["hmean"] == 1.0


def test_missing_results_count_as_no_detections():
    gt = {"a": care(box(0, 0, 10, 10)), "b": care(box(0, 0, 10, 10), box(20, 0, 30, 10))}
    r = evaluate(gt, {"a": [(box(0, 0, 10, 10), 0.9)]})  # (polygon, score) accepted
    assert (r["gt_care"], r["det_care"], r["matched"]) == (3, 1, 1)
    assert r["precision"] == 1.0 and r["recall"] == pytest.approx(1 / 3)
    assert r["per_image"]["b"]["det_care"] == 0


def test_pooled_not_averaged():
    gt = {"a": care(box(0, 0, 10, 10)),
          "b": care(box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 50, 10))}
    r = evaluate(gt, {"a": [box(0, 0, 10, 10)], "b": [box(100, 100, 110, 110)]})
    assert r["recall"] == pytest.approx(1 / 4)  # averaged per image it would be 0.5
    assert r["precision"] == pytest.approx(1 / 2)
    assert r["hmean"] == pytest.approx(2 * 0.25 * 0.5 / 0.75)


def test_points_are_truncated_to_int():
    gt = {"a": care(box(0, 0, 10, 10))}
    # 5.9 -> 5: IoU 0.5 after truncation, so no match (0.59 as floats would match)
    assert evaluate(gt, {"a": [box(0, 0, 10, 5.9)]})["matched"] == 0
    # 10.9 -> 10: a perfect match
    r = evaluate(gt, {"a": [box(0.7, 0.2, 10.9, 10.9)]})
    assert r["matched"] == 1
    # truncation goes toward zero like int(): -0.9 -> 0 (floor, -1, would give IoU 0.5)
    assert evaluate({"a": care(box(0, 0, 1, 10))}, {"a": [box(-0.9, 0, 1, 10)]})["matched"] == 1


def test_counter_clockwise_and_bowtie_detections():
    gt = {"a": care(box(0, 0, 10, 10))}
    ccw = box(0, 0, 10, 10)[::-1]
    r = evaluate(gt, {"a": [ccw]})
    assert r["matched"] == 1 and r["ccw_detections"] == 1
    with pytest.raises(EvaluationError, match="a: detection #1: points are not clockwise"):
        evaluate(gt, {"a": [ccw]}, strict=True)
    # Polygon.area() of the bow-tie (0,0),(10,10),(10,0),(0,10) is |25 - 25| = 0 and its
    # intersection with the square is both lobes, 50: IoU = 50 / (0 + 100 - 50) = 1
    bowtie = np.array([[0, 0], [10, 10], [10, 0], [0, 10]], np.float32)
    r = evaluate(gt, {"a": [bowtie]}, strict=True)  # net orientation 0: officially valid
    assert r["matched"] == 1 and r["ccw_detections"] == 0


def test_polygons_and_bad_input():
    hexagon = np.array([[0, 0], [5, 0], [10, 0], [10, 10], [5, 10], [0, 10]], np.float32)
    r = evaluate({"a": care(box(0, 0, 10, 10))}, {"a": [hexagon]})
    assert r["matched"] == 1
    with pytest.raises(EvaluationError, match="no ground truth: b"):
        evaluate({"a": []}, {"b": []})
    with pytest.raises(EvaluationError, match="detection #0"):
        evaluate({"a": []}, {"a": [np.zeros((2, 2))]})


def test_many_boxes_per_image_is_fast():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 3000, (1000, 2))
    wh = rng.uniform(10, 80, (1000, 2))
    gts = [box(*p, *(p + s)) for p, s in zip(xy, wh)]
    dets = [g + rng.normal(0, 2, (4, 2)).astype(np.float32) for g in gts]
    t = time.perf_counter()
    r = evaluate({"a": care(*gts)}, {"a": dets})
    assert time.perf_counter() - t < 2.0
    assert r["matched"] > 900


@pytest.mark.parametrize("level", ["word", "line"])
def test_docbench_gt_against_itself_and_nothing(level, tmp_path):
    gt = load_gt_folder(DOCBENCH, level)
    assert len(gt) == 20
    r = evaluate(gt, {k: [a.polygon for a in v] for k, v in gt.items()})
    assert prh(r) == (1.0, 1.0, 1.0) and r["matched"] == r["gt_care"] > 0
    r = evaluate_folders(DOCBENCH, str(tmp_path), level=level)  # no result files at all
    assert prh(r) == (0.0, 0.0, 0.0) and len(r["missing_results"]) == 20
