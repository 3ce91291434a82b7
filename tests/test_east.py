"""EAST: targets, loss, decoder, locality-aware NMS and head."""

import math
import subprocess
import sys

import numpy as np
import pytest

from textseg.data.icdar import Annotation
from textseg.methods.east import DECODE_DEFAULTS
from textseg.methods.east.decode import candidates, decode, lanms
from textseg.methods.east.lanms import quad_iou
from textseg.geometry import rect_corners
from textseg.methods.east.targets import build_targets, targets_to_maps


def ann(quad, ignore=False):
    return Annotation(np.asarray(quad, np.float32), "###" if ignore else "word", ignore)


def rect(cx, cy, theta, w, h):
    return rect_corners(np.array([[cx, cy]], float), np.array([theta]), np.array([w]), np.array([h]))[0]


def cfg(geometry="rbox", **kw):
    return {"stride": 4, "head": {"geometry": geometry}, **kw}


def line_distance(p, a, b):
    """Distance from point p to the line through a and b."""
    d = b - a
    return abs(d[0] * (p[1] - a[1]) - d[1] * (p[0] - a[0])) / np.hypot(*d)


# ---------------------------------------------------------------------------- targets

def test_targets_axis_aligned_box_exact_values():
    quad = [[20, 40], [100, 40], [100, 60], [20, 60]]
    t = build_targets([ann(quad)], (160, 200), cfg())
    assert t["score"].shape == (1, 40, 50) and t["geometry"].shape == (5, 40, 50)
    # map pixel (row 12, col 10) stands for input point (41.5, 49.5)
    assert t["score"][0, 12, 10] == 1
    np.testing.assert_allclose(t["geometry"][:, 12, 10], [9.5, 58.5, 10.5, 21.5, 0.0], atol=1e-4)
    # the shrunk region: 0.3 * 20 px off each side, so y 46..54 and x 26..94
    rows, cols = np.nonzero(t["score"][0])
    ys, xs = rows * 4 + 1.5, cols * 4 + 1.5
    assert ys.min() >= 46 - 2 and ys.max() <= 54 + 2 and xs.min() >= 26 - 2 and xs.max() <= 94 + 2
    assert t["score"][0, 10, 10] == 0 and t["mask"].min() == 1  # row 10: y = 41.5, near the edge
    q = build_targets([ann(quad)], (160, 200), cfg("quad"))["geometry"][:, 12, 10]
    np.testing.assert_allclose(q, (np.array(quad) - [41.5, 49.5]).ravel(), atol=1e-4)


def test_targets_rotated_box_distances_and_angle():
    corners = rect(100, 70, 0.3, 120, 32)
    t = build_targets([ann(corners)], (160, 200), cfg())
    rows, cols = np.nonzero(t["score"][0])
    assert len(rows) > 20
    for r, c in zip(rows[::7], cols[::7]):
        p = np.array([c * 4 + 1.5, r * 4 + 1.5])
        expected = [line_distance(p, corners[i], corners[(i + 1) % 4]) for i in range(4)]
        np.testing.assert_allclose(t["geometry"][:4, r, c], expected, atol=1e-3)
        assert t["geometry"][4, r, c] == pytest.approx(0.3, abs=1e-5)
    # positives sit well inside the box: at least ~0.3 * 32 px from the long edges
    top_bottom = t["geometry"][[0, 2]][:, rows, cols]
    assert top_bottom.min() > 0.3 * 32 - 3


def test_targets_angle_range_and_order_independence():
    corners = rect(100, 70, -0.6, 100, 30)  # beyond -pi/4 would wrap; -0.6 stays
    a = build_targets([ann(corners)], (160, 200), cfg())
    b = build_targets([ann(corners[[2, 3, 0, 1]])], (160, 200), cfg())
    np.testing.assert_allclose(a["geometry"], b["geometry"], atol=1e-4)
    assert np.abs(a["geometry"][4]).max() <= math.pi / 4 + 1e-6


def test_targets_ignore_small_and_overlap():
    big = [[10, 10], [190, 10], [190, 70], [10, 70]]
    small = [[60, 30], [140, 30], [140, 50], [60, 50]]
    tiny = [[20, 120], [60, 120], [60, 124], [20, 124]]  # 4 px tall < min_text_size
    dont = [[100, 100], [180, 100], [180, 130], [100, 130]]
    t = build_targets([ann(big), ann(small), ann(tiny), ann(dont, ignore=True)], (160, 200), cfg())
    assert t["mask"][0, 31, 35] == 0 and t["score"][0, 28:32, 28:42].sum() == 0  # '###'
    assert t["mask"][0, 30, 10] == 0  # tiny box ignored
    # overlapping boxes: the small one owns its pixels (its geometry there)
    assert t["score"][0, 10, 25] == 1
    np.testing.assert_allclose(t["geometry"][:4, 10, 25], [11.5, 38.5, 8.5, 41.5], atol=1e-4)
    t2 = build_targets([ann(tiny)], (160, 200), cfg(min_text_size=3))
    assert t2["score"].sum() > 0 and t2["mask"].min() == 1
    empty = build_targets([], (33, 50), cfg())
    assert empty["score"].shape == (1, 9, 13) and empty["score"].sum() == 0


# ---------------------------------------------------------------------------- decode

@pytest.mark.parametrize("geometry", ["rbox", "quad"])
def test_decode_perfect_maps_give_the_boxes(geometry):
    boxes = [rect(60, 40, 0.1, 80, 20), rect(150, 120, -0.2, 60, 24),
             np.array([[20, 100], [70, 100], [70, 116], [20, 116]], float)]
    c = cfg(geometry)
    maps = targets_to_maps(build_targets([ann(b) for b in boxes], (160, 200), c), c)
    dets = decode(maps, {**c, **DECODE_DEFAULTS})
    assert len(dets) == 3
    for poly, score in dets:
        assert poly.shape == (4, 2) and poly.dtype == np.float32 and 0 < score <= 1
        ious = quad_iou(np.repeat(poly[None], 3, 0), np.stack(boxes))
        assert ious.max() > 0.99
        # clockwise from the top-left
        assert poly[1, 0] > poly[0, 0] and poly[3, 1] > poly[0, 1]
    assert decode({"score": np.zeros((1, 40, 50), np.float32),
                   "geometry": np.zeros_like(maps["geometry"])}, c) == []


def test_decode_drops_low_score_boxes_and_no_torch():
    c = cfg()
    maps = targets_to_maps(build_targets([ann(rect(60, 40, 0, 80, 20))], (160, 200), c), c)
    maps["score"] *= 0.85
    assert len(decode(maps, {**c, "box_thresh": 0.1})) == 1
    assert decode(maps, {**c, "score_thresh": 0.9}) == []
    code = ("import sys, textseg.methods.east.decode, textseg.methods.east.targets; "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- lanms

def test_quad_iou_matches_shapely():
    import shapely

    rng = np.random.default_rng(0)
    a = rect_corners(rng.uniform(0, 40, (300, 2)), rng.uniform(-1, 1, 300),
                     rng.uniform(1, 30, 300), rng.uniform(1, 15, 300))
    b = a[::-1] + rng.normal(0, 2, a.shape)  # some non-convex quads
    b[:20] = a[:20]                           # identical
    b[20:30] = a[20:30] + (a[20:30, 1] - a[20:30, 0])[:, None]  # sharing an edge
    pa, pb = shapely.make_valid(shapely.polygons(a)), shapely.make_valid(shapely.polygons(b))
    inter = shapely.area(shapely.intersection(pa, pb))
    ref = inter / (shapely.area(pa) + shapely.area(pb) - inter)
    np.testing.assert_allclose(quad_iou(a, b), ref, atol=1e-9)


def test_lanms_hand_made():
    def box(x, y, w, h, s):
        return [x, y, x + w, y, x + w, y + h, x, y + h, s]

    boxes = np.array([
        box(0, 0, 10, 10, 1.0),
        box(1, 0, 10, 10, 3.0),    # overlaps its predecessor: merges (weighted by score)
        box(50, 0, 10, 10, 0.5),   # far away: a new run
        box(0.5, 0.5, 10, 10, 0.9),  # overlaps the first merge but not its predecessor
        box(100, 0, 10, 10, 0.2),
    ], np.float32)
    out = lanms(boxes, 0.3)
    assert out.shape == (3, 9)
    np.testing.assert_allclose(out[0], box(0.75, 0, 10, 10, 4.0), atol=1e-5)  # NMS kept it
    np.testing.assert_allclose(out[1:], [box(50, 0, 10, 10, 0.5), box(100, 0, 10, 10, 0.2)])
    assert lanms(np.zeros((0, 9), np.float32), 0.3).shape == (0, 9)
    with pytest.raises(ValueError, match="shape"):
        lanms(np.zeros((3, 8), np.float32), 0.3)


def test_lanms_matches_reference_when_installed():
    reference = pytest.importorskip("lanms")
    from textseg.benchmarks.decode_east import make_candidates, match

    boxes = make_candidates(512, 60, (8, 14), seed=3)
    ref = np.asarray(reference.merge_quadrangle_n9(boxes.copy(), 0.2), np.float32).reshape(-1, 9)
    ours = lanms(boxes, 0.2)
    assert len(ours) == len(ref) and match(ref, ours) == len(ref)


# ---------------------------------------------------------------------------- loss and head

torch = pytest.importorskip("torch")


def _batch(targets):
    return {k: torch.from_numpy(v)[None] for k, v in targets.items()}


@pytest.mark.parametrize("geometry,score_loss", [("rbox", "bce"), ("rbox", "dice"), ("quad", "bce")])
def test_loss_zero_at_target_positive_elsewhere(geometry, score_loss):
    from textseg.methods.east.loss import Loss

    t = _batch(build_targets([ann(rect(100, 70, 0.2, 120, 30))], (160, 200), cfg(geometry)))
    loss = Loss(score_loss=score_loss)
    perfect = {"score": t["score"].clone(), "score_logits": (t["score"] * 2 - 1) * 30,
               "geometry": t["geometry"].clone()}
    at_target = loss(perfect, t)
    assert at_target["loss"].item() < 1e-6 and at_target["geo"].item() < 1e-6
    off = dict(perfect, geometry=t["geometry"] * 1.2 + 0.05)
    assert loss(off, t)["geo"].item() > 1e-3
    wrong = {"score": 1 - t["score"], "score_logits": (1 - 2 * t["score"]) * 3, "geometry": perfect["geometry"]}
    assert loss(wrong, t)["score"].item() > 0.1


def test_loss_gradients_finite_with_empty_targets():
    from textseg.methods.east.head import Head
    from textseg.methods.east.loss import Loss

    head = Head(8, channels=8)
    feat = torch.randn(2, 8, 10, 12, requires_grad=True)
    out = head(feat)
    t = {"score": torch.zeros(2, 1, 10, 12), "geometry": torch.zeros(2, 5, 10, 12),
         "mask": torch.ones(2, 1, 10, 12)}
    for kind in ("bce", "dice"):
        res = Loss(score_loss=kind)(out, t)
        res["loss"].backward(retain_graph=True)
        assert torch.isfinite(res["loss"]) and torch.isfinite(feat.grad).all()


def test_head_shapes_and_ranges():
    from textseg.methods.east.head import Head

    x = torch.randn(2, 16, 9, 11)
    head = Head(16, channels=8, max_text_size=512).eval()
    out = head(x)
    assert head.output_names == ("score", "geometry") and head.stride == 4
    assert set(out) == {"score", "geometry"}
    assert out["score"].shape == (2, 1, 9, 11) and out["geometry"].shape == (2, 5, 9, 11)
    g = out["geometry"]
    assert g[:, :4].min() >= 0 and g[:, :4].max() <= 512 and g[:, 4].abs().max() <= math.pi / 4
    assert 0 <= out["score"].min() and out["score"].max() <= 1
    quad = Head(16, geometry="quad", stride=8, num_convs=2, channels=8).train()(x)
    assert quad["geometry"].shape == (2, 8, 5, 6) and "score_logits" in quad
    with pytest.raises(ValueError, match="geometry"):
        Head(16, geometry="poly")


def test_candidates_follow_pixel_convention():
    c = cfg()
    geo = np.zeros((5, 4, 4), np.float32)
    geo[:4] = 2.0
    score = np.zeros((1, 4, 4), np.float32)
    score[0, 1, 2] = 1
    cand = candidates({"score": score, "geometry": geo}, c)
    # pixel (row 1, col 2) -> input point (9.5, 5.5), a 4x4 box around it
    np.testing.assert_allclose(cand[0], [7.5, 3.5, 11.5, 3.5, 11.5, 7.5, 7.5, 7.5, 1.0])
