import itertools
import math

import numpy as np
import pytest

from textseg.geometry import (bounding_boxes, clip_polygon, expand_polygon, is_valid_polygon,
                              min_area_quad, order_clockwise, polygon_area, polygon_iou,
                              quad_areas, shrink_polygon)

RECT = np.array([[0, 0], [10, 0], [10, 5], [0, 5]], np.float32)  # clockwise, image coords


def rotated_rect(cx, cy, w, h, deg):
    t = math.radians(deg)
    r = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
    base = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    return (base @ r + [cx, cy]).astype(np.float32)


def test_area_sign_positive_for_clockwise_in_image_coordinates():
    assert polygon_area(RECT) == pytest.approx(50.0)
    assert polygon_area(RECT[::-1]) == pytest.approx(-50.0)
    batch = np.stack([RECT, RECT[::-1], RECT * 2])
    np.testing.assert_allclose(polygon_area(batch), [50, -50, 200])
    np.testing.assert_allclose(quad_areas(batch), [50, -50, 200])


def test_bowtie_area_is_net_of_its_lobes():
    bowtie = np.array([[0, 0], [10, 10], [10, 0], [0, 10]], np.float32)
    assert polygon_area(bowtie) == pytest.approx(0.0)


@pytest.mark.parametrize("perm", list(itertools.permutations(range(4))))
def test_order_clockwise_any_input_order(perm):
    out = order_clockwise(RECT[list(perm)])
    np.testing.assert_array_equal(out, RECT)
    assert out.dtype == np.float32


@pytest.mark.parametrize("deg", [-30, -10, 0, 10, 30, 44])
def test_order_clockwise_rotated_starts_top_left(deg):
    q = rotated_rect(100, 50, 40, 10, deg)
    out = order_clockwise(q[[2, 0, 3, 1]])  # scrambled, self-intersecting order
    assert polygon_area(out) > 0
    # the first edge is the long "top" edge and points right
    d = out[1] - out[0]
    assert d[0] > 0 and np.hypot(*d) == pytest.approx(40, rel=1e-4)
    np.testing.assert_allclose(out, q, atol=1e-4)


def test_order_clockwise_near_45_degrees_is_stable_on_each_side():
    a = order_clockwise(rotated_rect(0, 0, 40, 10, 44.0))
    b = order_clockwise(rotated_rect(0, 0, 40, 10, 46.0))
    assert a[1, 0] > a[0, 0] and a[1, 1] > a[0, 1]  # 44 deg: top edge goes right and down
    assert polygon_area(a) > 0 and polygon_area(b) > 0
    # 46 deg: the short edge now points more along +x, so it becomes the top edge
    assert np.hypot(*(b[1] - b[0])) == pytest.approx(10, rel=1e-4)


def test_order_clockwise_batch_matches_single_and_concave_quads():
    rng = np.random.default_rng(0)
    quads = rng.uniform(0, 100, (50, 4, 2)).astype(np.float32)
    batch = order_clockwise(quads)
    for q, o in zip(quads, batch):
        np.testing.assert_array_equal(order_clockwise(q), o)
        assert polygon_area(o) >= 0
        assert is_valid_polygon(o) or abs(polygon_area(o)) < 1e-3
    # a concave "arrow head": the result is a simple polygon with the full area
    arrow = np.array([[0, 0], [10, 5], [0, 10], [3, 5]], np.float32)
    out = order_clockwise(arrow[[0, 2, 1, 3]])
    assert is_valid_polygon(out) and polygon_area(out) == pytest.approx(35.0)
    assert order_clockwise(np.zeros((0, 4, 2))).shape == (0, 4, 2)
    with pytest.raises(ValueError):
        order_clockwise(np.zeros((3, 2)))


def test_is_valid_polygon():
    assert is_valid_polygon(RECT)
    assert is_valid_polygon(RECT[::-1])  # orientation is not validity
    assert not is_valid_polygon(RECT[[0, 2, 1, 3]])  # bow-tie
    assert not is_valid_polygon([[0, 0], [5, 5], [10, 10], [2, 2]])  # zero area
    assert not is_valid_polygon([[0, 0], [0, 0], [1, 1], [1, 1]])  # 2 distinct points
    assert not is_valid_polygon([[0, 0], [1, 0]])
    assert not is_valid_polygon([[0, 0], [np.nan, 0], [1, 1]])


def test_shrink_and_expand_rectangle():
    r = np.array([[0, 0], [20, 0], [20, 10], [0, 10]], np.float32)
    (s,) = shrink_polygon(r, 2)
    assert s.dtype == np.float32 and polygon_area(s) == pytest.approx(16 * 6, rel=1e-3)
    (e,) = expand_polygon(r, 1)
    # round joins: area grows by perimeter * d + pi * d^2
    assert polygon_area(e) == pytest.approx(200 + 60 + math.pi, rel=2e-3)
    assert polygon_area(e) > 0  # clockwise
    assert shrink_polygon(r, 5.5) == []  # vanishes
    assert shrink_polygon([[0, 0], [1, 1], [2, 2]], 0.1) == []


def test_shrink_splits_a_dumbbell_in_two():
    dumbbell = np.array([[0, 0], [10, 0], [10, 4], [20, 4], [20, 0], [30, 0], [30, 10],
                         [20, 10], [20, 6], [10, 6], [10, 10], [0, 10]], np.float32)
    parts = shrink_polygon(dumbbell, 2)
    assert len(parts) == 2
    assert all(polygon_area(p) == pytest.approx(36, rel=1e-2) for p in parts)


def test_min_area_quad():
    q = rotated_rect(50, 40, 30, 8, 20)
    pts = np.concatenate([q, (q[0] + q[2])[None] / 2])  # plus an inner point
    out = min_area_quad(pts)
    assert out.shape == (4, 2) and polygon_area(out) == pytest.approx(240, rel=1e-3)
    np.testing.assert_allclose(out, q, atol=1e-2)
    with pytest.raises(ValueError):
        min_area_quad(np.zeros((0, 2)))


def test_polygon_iou_cases():
    assert polygon_iou(RECT, RECT) == pytest.approx(1.0)
    half = np.array([[5, 0], [15, 0], [15, 5], [5, 5]], np.float32)
    assert polygon_iou(RECT, half) == pytest.approx(25 / 75)
    assert polygon_iou(RECT, RECT + 100) == 0.0
    # a bow-tie is repaired into its two lobes (25 of area), not rejected
    sq = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], np.float32)
    bowtie = sq[[0, 2, 1, 3]]
    assert polygon_iou(sq, bowtie) == pytest.approx(50 / 100)
    assert polygon_iou(sq, [[0, 0], [5, 5], [10, 10], [3, 3]]) == 0.0  # zero area


def test_clip_polygon_and_bounding_boxes():
    p = np.array([[-5, -1], [120, 3], [130, 90], [-2, 70]], np.float32)
    c = clip_polygon(p, 100, 80)
    assert c.dtype == np.float32 and c.shape == p.shape
    assert c[:, 0].min() == 0 and c[:, 0].max() == 99 and c[:, 1].max() == 79
    np.testing.assert_array_equal(clip_polygon(p[None], 100, 80)[0], c)
    b = bounding_boxes([RECT, RECT + 3, np.array([[0, 0], [1, 2], [3, 1], [2, 0], [1, -1]])])
    np.testing.assert_allclose(b, [[0, 0, 10, 5], [3, 3, 13, 8], [0, -1, 3, 2]])
    np.testing.assert_allclose(bounding_boxes(np.stack([RECT, RECT])), [[0, 0, 10, 5]] * 2)
    assert bounding_boxes([]).shape == (0, 4)


def test_aabb_iou():
    from textseg.geometry import aabb_iou

    assert aabb_iou([0, 0, 10, 10], [0, 0, 10, 10]) == pytest.approx(1.0)
    assert aabb_iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert aabb_iou([0, 0, 10, 10], [10, 0, 20, 10]) == 0.0  # touching edges
    assert aabb_iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0  # empty union


def test_pad_across_moves_the_long_sides_out_and_keeps_the_ends():
    from textseg.geometry import pad_across, pad_detections

    q = np.array([[10, 20], [110, 20], [110, 40], [10, 40]], np.float32)
    p = pad_across(q, 0.1)
    assert np.allclose(p, [[10, 18], [110, 18], [110, 42], [10, 42]], atol=1e-4)
    # a vertical run: across is x
    v = np.array([[0, 0], [20, 0], [20, 100], [0, 100]], np.float32)
    assert np.allclose(pad_across(v, 0.1), [[-2, 0], [22, 0], [22, 100], [-2, 100]], atol=1e-4)
    # a given direction wins over the rectangle's longer side (one tall character)
    c = np.array([[0, 0], [10, 0], [10, 30], [0, 30]], np.float32)
    assert np.allclose(pad_across(c, 0.1, (1, 0)), [[0, -3], [10, -3], [10, 33], [0, 33]],
                       atol=1e-4)
    # rotated boxes grow along their own normal; point order is kept
    t = np.deg2rad(30)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    r = pad_across(q @ rot.T, 0.25) @ rot
    assert np.allclose(r, [[10, 15], [110, 15], [110, 45], [10, 45]], atol=1e-3)
    assert pad_across(q, 0.0) is not q and np.array_equal(pad_across(q, 0.0), q)
    dets = pad_detections([(q, 0.5)], 0.1)
    assert dets[0][1] == 0.5 and np.allclose(dets[0][0], p)


def test_pad_detections_is_pad_across_on_each_box_quads_in_one_pass():
    from textseg.geometry import pad_across, pad_detections

    rng = np.random.default_rng(3)
    dets = []
    for k in range(40):
        t = rng.uniform(-np.pi, np.pi)
        w, h = rng.uniform(5, 80, 2)
        c = rng.uniform(0, 500, 2)
        u, n = np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])
        q = np.stack([c, c + w * u, c + w * u + h * n, c + h * n]).astype(np.float32)
        dets.append((q, float(k)))
    hexagon = np.array([[0, 0], [40, 0], [50, 10], [40, 20], [0, 20], [-10, 10]], np.float32)
    dets.insert(7, (hexagon, -1.0))
    out = pad_detections(dets, 0.1)
    assert [s for _, s in out] == [s for _, s in dets]
    for (p, _), (q, _) in zip(dets, out):
        assert q.dtype == np.float32 and q.shape == p.shape
        assert np.allclose(q, pad_across(p, 0.1), atol=1e-4)
    # each quad grows by 20% across its longer side and keeps its length
    for (p, _), (q, _) in zip(dets, out):
        if len(p) != 4:
            continue
        e1, e2 = np.linalg.norm(p[1] - p[0]), np.linalg.norm(p[2] - p[1])
        f1, f2 = np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[1])
        long_, short_ = (f1, f2) if e1 >= e2 else (f2, f1)
        assert long_ == pytest.approx(max(e1, e2), rel=1e-4)
        assert short_ == pytest.approx(1.2 * min(e1, e2), rel=1e-4)
    assert pad_detections([], 0.1) == [] and pad_detections(dets, 0) == dets
