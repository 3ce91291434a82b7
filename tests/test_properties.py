"""Property tests (hypothesis): decoders, targets, geometry and the evaluator never crash on
odd input and keep their output contracts."""

import importlib
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from textseg import geometry
from textseg.data.icdar import Annotation
from textseg.evaluation import evaluate

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
KINDS = ("random", "zeros", "ones", "nan", "wild", "binary")
SQUARE = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64)  # corners, clockwise


def _optional(module):
    try:
        return importlib.import_module(module)
    except ImportError:  # the method is still being written
        return None


DB_DECODE = _optional("textseg.methods.db.decode")
DB_TARGETS = _optional("textseg.methods.db.targets")
needs_db = pytest.mark.skipif(DB_DECODE is None or DB_TARGETS is None,
                              reason="textseg.methods.db not importable")


def fill(rng, kind, shape, scale=1.0):
    """float32 maps of one kind: random in [0, scale), all 0, all 1, random with NaNs,
    wild (any float32 incl. inf, huge, negative) or 0/1."""
    if kind == "zeros":
        return np.zeros(shape, np.float32)
    if kind == "ones":
        return np.ones(shape, np.float32)
    if kind == "binary":
        return (rng.random(shape) < 0.5).astype(np.float32)
    a = (rng.random(shape) * scale).astype(np.float32)
    if kind == "nan":
        a[rng.random(shape) < 0.3] = np.nan
    elif kind == "wild":
        pool = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, -1.0, 0.0, 1.0, 3e38, 1e-30],
                        np.float32)
        a = pool[rng.integers(0, len(pool), shape)]
    return a


def check_detections(dets):
    assert isinstance(dets, list)
    for det in dets:
        assert isinstance(det, tuple) and len(det) == 2
        poly, score = det
        assert isinstance(poly, np.ndarray) and poly.dtype == np.float32
        assert poly.ndim == 2 and poly.shape[1] == 2 and len(poly) >= 3, poly.shape
        assert np.isfinite(poly).all(), poly
        assert isinstance(score, float) and math.isfinite(score)


maps_args = dict(seed=st.integers(0, 2 ** 31), kind=st.sampled_from(KINDS),
                 h=st.integers(1, 12), w=st.integers(1, 12))


# ----------------------------------------------------------------------------- decoders

@SETTINGS
@given(**maps_args, quad=st.booleans(), thresh=st.sampled_from([0.0, 0.5, 0.8]),
       box=st.sampled_from([0.0, 0.1]), min_size=st.sampled_from([0.0, 4.0]))
def test_east_decode(seed, kind, h, w, quad, thresh, box, min_size):
    from textseg.methods.east.decode import decode

    rng = np.random.default_rng(seed)
    geo = fill(rng, kind, (8 if quad else 5, h, w), scale=40.0)
    if not quad and kind == "random":
        geo[4] = (rng.random((h, w)) - 0.5) * (np.pi / 2)
    maps = {"score": fill(rng, kind, (1, h, w)), "geometry": geo}
    cfg = {"head": {"geometry": "quad" if quad else "rbox"}, "stride": 4,
           "score_thresh": thresh, "box_thresh": box, "min_size": min_size}
    check_detections(decode(maps, cfg))


@SETTINGS
@given(**maps_args, n=st.integers(1, 7), polygon=st.booleans(), upsample=st.booleans(),
       thresh=st.sampled_from([0.0, 0.5]), min_area=st.sampled_from([0.0, 16.0]),
       stride=st.sampled_from([1, 4]))
def test_pse_decode(seed, kind, h, w, n, polygon, upsample, thresh, min_area, stride):
    from textseg.methods.pse.decode import decode

    rng = np.random.default_rng(seed)
    maps = {"kernels": fill(rng, kind, (n, h, w))}
    cfg = {"head": {"kernel_num": n}, "stride": stride, "thresh": thresh, "box_thresh": 0.0,
           "min_area": min_area, "polygon": polygon, "scale_to_input": upsample,
           "polygon_epsilon": 0.05}
    check_detections(decode(maps, cfg))


@SETTINGS
@given(seed=st.integers(0, 2 ** 31), kind=st.sampled_from(KINDS), d=st.integers(0, 6),
       m=st.sampled_from([1, 2, 5, 28]), polygon=st.booleans(),
       box_kind=st.sampled_from(["random", "inverted", "tiny", "wild"]))
def test_maskrcnn_decode(seed, kind, d, m, polygon, box_kind):
    from textseg.methods.maskrcnn.decode import decode

    rng = np.random.default_rng(seed)
    xy = rng.random((d, 2)) * 60 - 10
    wh = rng.random((d, 2)) * 40
    if box_kind == "inverted":
        wh = -wh
    elif box_kind == "tiny":
        wh = wh * 1e-3
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    if box_kind == "wild":
        boxes = fill(rng, "wild", (d, 4))
    scores = fill(rng, kind, (d,))
    maps = {"boxes": boxes, "scores": scores, "masks": fill(rng, kind, (d, m, m))}
    cfg = {"score_thresh": 0.0, "mask_thresh": 0.5, "min_area": 0.0, "polygon": polygon,
           "approx_epsilon": 1.0}
    check_detections(decode(maps, cfg))


def _db_decode(seed, kind, h, w, polygon, unclip, stride, box):
    rng = np.random.default_rng(seed)
    maps = {"prob": fill(rng, kind, (1, h, w))}
    cfg = {"head": {"stride": stride}, "stride": stride, "thresh": 0.3, "box_thresh": box,
           "unclip": unclip, "unclip_ratio": 1.5, "shrink_ratio": 0.4, "min_size": 0.0,
           "polygon": polygon, "polygon_epsilon": 0.05}
    check_detections(DB_DECODE.decode(maps, cfg))


db_args = dict(polygon=st.booleans(), unclip=st.sampled_from(["ratio", "inverse"]),
               stride=st.sampled_from([1, 4]), box=st.sampled_from([0.0, 0.6]))


@needs_db
@SETTINGS
@given(**{**maps_args, "kind": st.sampled_from([k for k in KINDS if k != "wild"])}, **db_args)
def test_db_decode(**kw):
    _db_decode(**kw)


@needs_db
@SETTINGS
@given(**{**maps_args, "kind": st.just("wild")}, **db_args)
def test_db_decode_broken_maps(**kw):
    _db_decode(**kw)


# ----------------------------------------------------------------------------- targets

def polygon(rng, kind, hw):
    """One ground-truth annotation of one kind in an image of size hw (H, W)."""
    H, W = hw
    k = int(rng.integers(3, 9))
    if kind == "random":       # random points: mostly self-intersecting
        p = rng.random((k, 2)) * [W + 20, H + 20] - 10
    elif kind == "box":        # a rotated rectangle, anywhere (partly outside too)
        c = rng.random(2) * [W, H]
        a, s = rng.random() * np.pi, rng.random(2) * [W, H] + 0.5
        u = np.array([np.cos(a), np.sin(a)])
        v = np.array([-u[1], u[0]])
        p = c + SQUARE @ np.stack([u * s[0], v * s[1]]) / 2
    elif kind == "bowtie":
        p = np.array([[0, 0], [W, H], [W, 0], [0, H]], np.float64)
    elif kind == "zero":       # zero area: one point repeated, or collinear points
        p = np.repeat(rng.random((1, 2)) * [W, H], k, 0) if rng.random() < 0.5 else \
            np.outer(np.linspace(0, 1, k), [W, H])
    elif kind == "tiny":
        p = rng.random(2) * [W, H] + rng.random((k, 2)) * 0.3
    elif kind == "outside":
        p = rng.random((4, 2)) * 50 + [W + 100, -200]
    elif kind == "huge":       # far beyond the image in every direction
        p = np.array([[-1e6, -1e6], [1e6, -1e6], [1e6, 1e6], [-1e6, 1e6]])
    elif kind == "short":      # fewer than 3 points
        p = rng.random((int(rng.integers(0, 3)), 2)) * [W, H]
    else:                      # "nan": a corner lost (NaN or inf)
        p = rng.random((4, 2)) * [W, H]
        p[int(rng.integers(4)), int(rng.integers(2))] = rng.choice([np.nan, np.inf])
    return Annotation(np.asarray(p, np.float32), "w", bool(rng.random() < 0.2))


POLY_KINDS = ("random", "box", "bowtie", "zero", "tiny", "outside", "huge", "short", "nan")
targets_args = dict(seed=st.integers(0, 2 ** 31), kinds=st.lists(st.sampled_from(POLY_KINDS),
                                                                  max_size=4),
                    h=st.integers(1, 48), w=st.integers(1, 48))


def gt_list(seed, kinds, hw):
    rng = np.random.default_rng(seed)
    return [polygon(rng, kind, hw) for kind in kinds]


def check_maps(maps, expect):
    assert set(maps) == set(expect)
    for name, shape in expect.items():
        a = maps[name]
        assert a.dtype == np.float32 and a.shape == shape, (name, a.shape, shape)
        assert np.isfinite(a).all(), name


@SETTINGS
@given(**targets_args, quad=st.booleans(), stride=st.sampled_from([1, 4]))
def test_east_targets(seed, kinds, h, w, quad, stride):
    from textseg.methods.east.targets import build_targets

    cfg = {"head": {"geometry": "quad" if quad else "rbox", "stride": stride}, "stride": stride,
           "shrink_ratio": 0.3, "min_text_size": 2}
    hh, ww = math.ceil(h / stride), math.ceil(w / stride)
    maps = build_targets(gt_list(seed, kinds, (h, w)), (h, w), cfg)
    check_maps(maps, {"score": (1, hh, ww), "geometry": (8 if quad else 5, hh, ww),
                      "mask": (1, hh, ww)})


@SETTINGS
@given(**targets_args, n=st.integers(2, 7), stride=st.sampled_from([1, 4]))
def test_pse_targets(seed, kinds, h, w, n, stride):
    from textseg.methods.pse.targets import build_targets

    cfg = {"head": {"kernel_num": n, "stride": stride}, "stride": stride, "min_scale": 0.4,
           "max_offset": 20.0}
    hh, ww = math.ceil(h / stride), math.ceil(w / stride)
    maps = build_targets(gt_list(seed, kinds, (h, w)), (h, w), cfg)
    check_maps(maps, {"kernels": (n, hh, ww), "mask": (1, hh, ww)})
    assert set(np.unique(maps["kernels"])) <= {0.0, 1.0}


@SETTINGS
@given(**targets_args)
def test_maskrcnn_targets(seed, kinds, h, w):
    from textseg.methods.maskrcnn.targets import build_targets

    cfg = {"max_instances": 4, "min_size": 1.0}
    maps = build_targets(gt_list(seed, kinds, (h, w)), (h, w), cfg)
    assert maps["boxes"].shape == (4, 4) and np.isfinite(maps["boxes"]).all()
    assert maps["instances"].shape == (1, h, w)
    b = maps["boxes"][maps["box_flags"] != 0]
    assert (b[:, :2] <= b[:, 2:]).all() and (b >= 0).all()


@needs_db
@SETTINGS
@given(**targets_args, stride=st.sampled_from([1, 4]))
def test_db_targets(seed, kinds, h, w, stride):
    cfg = {"head": {"stride": stride}, "stride": stride, "shrink_ratio": 0.4, "thresh_min": 0.3,
           "thresh_max": 0.7, "min_text_size": 2.0}
    hh, ww = math.ceil(h / stride), math.ceil(w / stride)
    maps = DB_TARGETS.build_targets(gt_list(seed, kinds, (h, w)), (h, w), cfg)
    check_maps(maps, {k: (1, hh, ww) for k in ("prob", "mask", "thresh", "thresh_mask")})


# ----------------------------------------------------------------------------- geometry

coord = st.floats(-1e4, 1e4, allow_nan=False, width=32)
point_lists = st.lists(st.tuples(coord, coord), min_size=1, max_size=9)


@SETTINGS
@given(pts=st.lists(st.tuples(coord, coord), min_size=4, max_size=4), dup=st.booleans())
def test_order_clockwise(pts, dup):
    q = np.array(pts, np.float32)
    if dup:
        q[2] = q[0]
    out = geometry.order_clockwise(q)
    assert out.shape == (4, 2) and out.dtype == np.float32 and np.isfinite(out).all()
    # the same four points, reordered
    as_set = lambda a: np.sort(a.view(np.complex64).ravel())  # noqa: E731
    assert np.array_equal(as_set(out), as_set(q))
    assert geometry.polygon_area(out) >= -1e-3 * max(1.0, abs(geometry.polygon_area(q)))


@SETTINGS
@given(pts=point_lists, d=st.floats(0, 50), nan=st.booleans())
def test_offset_polygon(pts, d, nan):
    p = np.array(pts, np.float64)
    if nan:
        p[0, 0] = np.nan
    for out in (geometry.shrink_polygon(p, d), geometry.expand_polygon(p, d)):
        assert isinstance(out, list)
        for q in out:
            assert q.ndim == 2 and q.shape[1] == 2 and len(q) >= 3 and np.isfinite(q).all()
            assert geometry.polygon_area(q) > 0  # clockwise in image coordinates
    geometry.is_valid_polygon(p)


@SETTINGS
@given(pts=point_lists)
def test_min_area_quad(pts):
    q = geometry.min_area_quad(np.array(pts, np.float32))
    assert q.shape == (4, 2) and np.isfinite(q).all()


@SETTINGS
@given(a=point_lists, b=point_lists, nan=st.booleans())
def test_polygon_iou(a, b, nan):
    a, b = np.array(a, np.float64), np.array(b, np.float64)
    if nan:
        b[0, 1] = np.nan
    for x, y in ((a, b), (b, a), (a, a)):
        iou = geometry.polygon_iou(x, y)
        assert isinstance(iou, float) and 0.0 <= iou <= 1.0
    if geometry.is_valid_polygon(a, min_area=1.0):
        assert geometry.polygon_iou(a, a) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- evaluation

int_coord = st.integers(-50, 250)


@st.composite
def rectangles(draw):
    """A care quad with integer corners: a rotated rectangle of sides >= 4 px."""
    cx, cy = draw(int_coord), draw(int_coord)
    w, h = draw(st.integers(4, 80)), draw(st.integers(4, 40))
    a = draw(st.floats(-0.7, 0.7))
    u, v = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
    corners = np.array([cx, cy]) + SQUARE * [w, h] @ np.stack([u, v]) / 2
    return np.round(corners).astype(np.float32)


raw_polys = st.lists(st.tuples(int_coord, int_coord), min_size=3, max_size=6).map(
    lambda p: np.array(p, np.float32))


@SETTINGS
@given(gt=st.dictionaries(st.sampled_from("abc"),
                          st.lists(st.tuples(raw_polys, st.booleans()), max_size=5), max_size=3),
       pred=st.lists(raw_polys, max_size=6), scores=st.booleans())
def test_evaluate_ranges(gt, pred, scores):
    gts = {k: [Annotation(p, "###" if ign else "w", ign) for p, ign in v] for k, v in gt.items()}
    dets = {k: [(p, 0.5) if scores else p for p in pred] for k in gts}
    res = evaluate(gts, dets)
    for k in ("precision", "recall", "hmean"):
        assert 0.0 <= res[k] <= 1.0
    assert res["matched"] <= min(res["gt_care"], res["det_care"])
    for r in res["per_image"].values():
        assert all(0.0 <= r[k] <= 1.0 for k in ("precision", "recall", "hmean"))


@SETTINGS
@given(gt=st.dictionaries(st.sampled_from("abcd"), st.lists(rectangles(), min_size=1, max_size=6),
                          min_size=1, max_size=3))
def test_evaluate_gt_against_itself(gt):
    assume(all(geometry.is_valid_polygon(p, min_area=1.0) for v in gt.values() for p in v))
    gts = {k: [Annotation(p, "w", False) for p in v] for k, v in gt.items()}
    res = evaluate(gts, {k: list(v) for k, v in gt.items()})
    assert res["hmean"] == 1.0 and res["matched"] == sum(map(len, gt.values()))
