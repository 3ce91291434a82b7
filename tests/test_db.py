"""DBNet: shrink and threshold maps, loss, head, decoding, a few training steps."""

import json
import os

import numpy as np
import pytest

from textseg.data.icdar import Annotation
from textseg.geometry import polygon_iou
from textseg.methods.db import DECODE_DEFAULTS
from textseg.methods.db.decode import decode, unclip_distance
from textseg.methods.db.targets import build_targets, shrink_distance, targets_to_maps


def box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def ann(poly, ignore=False):
    return Annotation(np.asarray(poly, np.float32), "###" if ignore else "w", ignore)


# --- targets ---------------------------------------------------------------------------

def test_shrink_and_threshold_maps_on_a_rectangle():
    # 79 x 19 px: A = 1501, L = 196, D = A (1 - 0.4^2) / L = 6.433
    d = 1501 * 0.84 / 196
    assert shrink_distance(box(20, 20, 99, 39), 0.4) == pytest.approx(d, rel=1e-6)
    t = build_targets([ann(box(20, 20, 99, 39))], (64, 128), {"stride": 1})
    assert set(t) == {"prob", "mask", "thresh", "thresh_mask"}
    assert all(v.shape == (1, 64, 128) and v.dtype == np.float32 for v in t.values())
    prob, thresh, band = t["prob"][0], t["thresh"][0], t["thresh_mask"][0]
    # shrunk to y 26.43 .. 32.57, x 26.43 .. 92.57; fillPoly rounds to the nearest pixel
    col, row = prob[:, 60], prob[30]
    assert col[26:34].all() and col.sum() == 8
    assert row[26:94].all() and row.sum() == 68
    assert thresh[20, 60] == pytest.approx(0.7)       # on the border
    assert thresh[39, 60] == pytest.approx(0.7)
    assert thresh[14, 60] == pytest.approx(0.3 + 0.4 * (1 - 6 / d), abs=1e-6)  # 6 px out
    assert thresh[24, 60] == pytest.approx(0.3 + 0.4 * (1 - 4 / d), abs=1e-6)  # 4 px in
    assert thresh[13, 60] == pytest.approx(0.3)        # 7 px out: beyond the band
    assert thresh[30, 60] == pytest.approx(0.3)        # 10 px in: beyond the band
    assert thresh.min() == pytest.approx(0.3) and thresh.max() == pytest.approx(0.7)
    assert band[14, 60] == 1 and band[13, 60] == 0 and band[30, 60] == 1
    # rounded corners of the dilation: 5 px out on both axes is 7.07 px away
    assert band[15, 15] == 0 and band[16, 16] == 1
    assert t["mask"].min() == 1


def test_ignored_and_small_text_are_masked():
    anns = [ann(box(10, 10, 60, 30), ignore=True), ann(box(10, 40, 60, 46)),  # 6 px tall
            ann(box(70, 10, 120, 30))]
    t = build_targets(anns, (64, 128), {"stride": 1})
    mask, prob, band = t["mask"][0], t["prob"][0], t["thresh_mask"][0]
    assert mask[20, 30] == 0 and mask[43, 30] == 0 and mask[20, 95] == 1
    assert prob[20, 30] == 0 and prob[43, 30] == 0 and prob[20, 95] == 1
    assert band[20, 30] == 0 and band[43, 30] == 0 and band[20, 95] == 1
    t = build_targets(anns, (64, 128), {"stride": 1, "min_text_size": 4.0})
    assert t["mask"][0, 43, 30] == 1 and t["prob"][0, 43, 30] == 1


@pytest.mark.parametrize("stride", [1, 2])
def test_threshold_map_equals_brute_force_distances(stride):
    import shapely

    polys = [np.array([[12, 8], [70, 14], [66, 34], [9, 27]], np.float32),   # rotated quad
             box(50, 20, 100, 40),                                          # overlaps it
             np.array([[20, 45], [60, 42], [90, 50], [60, 58], [25, 56]], np.float32)]
    h, w = 64, 112
    t = build_targets([ann(p) for p in polys], (h, w), {"stride": stride})
    ys, xs = np.mgrid[0:-(-h // stride), 0:-(-w // stride)]
    centre = (stride - 1) / 2
    pts = shapely.points(xs.ravel() * stride + centre, ys.ravel() * stride + centre)
    close = np.zeros(len(pts))
    for p in polys:
        d = shapely.distance(shapely.LinearRing(p.astype(np.float64)), pts)
        close = np.maximum(close, 1 - np.minimum(d / shrink_distance(p, 0.4), 1))
    expected = (0.3 + 0.4 * close).reshape(ys.shape)
    np.testing.assert_allclose(t["thresh"][0], expected, atol=1e-5)
    assert t["thresh_mask"][0][close.reshape(ys.shape) > 0].all()


# --- loss ------------------------------------------------------------------------------

def _targets_batch():
    import torch

    t = build_targets([ann(box(8, 8, 56, 24)), ann(box(8, 36, 40, 52))], (64, 64), {"stride": 1})
    return {k: torch.from_numpy(v)[None].repeat(2, 1, 1, 1) for k, v in t.items()}


def test_loss_zero_at_target_positive_elsewhere_finite_when_empty():
    import torch

    from textseg.methods.db.loss import Loss

    targets = _targets_batch()
    gt, thr = targets["prob"], targets["thresh"]
    perfect = {"prob_logits": (gt * 2 - 1) * 30.0, "thresh_logits": torch.logit(thr),
               "binary_logits": 50.0 * (gt - thr)}
    loss = Loss()
    out = loss(perfect, targets)
    assert set(out) == {"loss", "prob", "binary", "thresh"}
    assert float(out["loss"]) < 1e-3
    logits = {k: torch.randn(2, 1, 64, 64, requires_grad=True) for k in perfect}
    out = loss(logits, targets)
    assert float(out["loss"].detach()) > 0.5
    assert all(float(out[k]) > 0 for k in ("prob", "binary", "thresh"))
    out["loss"].backward()
    for v in logits.values():
        assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0
    empty = {k: torch.zeros_like(v) for k, v in targets.items()}
    empty["mask"] += 1
    for mode in ("dice", "bce"):
        out = Loss(binary_loss=mode)(logits, empty)
        assert all(torch.isfinite(v) for v in out.values())
    with pytest.raises(ValueError, match="binary_loss"):
        Loss(binary_loss="focal")


def test_ohem_keeps_three_negatives_per_positive():
    import torch

    from textseg.methods.db.loss import balanced_bce

    gt = torch.zeros(1, 1, 10, 10)
    gt[..., :2, :5] = 1                                  # 10 positives
    logits = torch.full((1, 1, 10, 10), -5.0)
    logits[..., 9, :] = 5.0                              # 10 hard negatives
    mask = torch.ones_like(gt)
    got = balanced_bce(logits, gt, mask, 3.0)
    lp = torch.nn.functional.softplus(torch.tensor(5.0))  # BCE of a wrong logit of 5
    lq = torch.nn.functional.softplus(torch.tensor(-5.0))
    assert float(got) == pytest.approx(float((10 * lp + 10 * lp + 20 * lq) / 40), rel=1e-5)


# --- head ------------------------------------------------------------------------------

@pytest.mark.parametrize("stride", [1, 2, 4])
def test_head_maps_and_modes(stride):
    import torch

    from textseg.methods.db.head import Head

    head = Head(16, stride=stride, channels=8)
    x = torch.randn(2, 16, 8, 12)
    out = head(x)
    assert set(out) == {"prob_logits", "thresh_logits", "binary_logits"}
    assert all(v.shape == (2, 1, 32 // stride, 48 // stride) for v in out.values())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = head(x)
    assert out["binary_logits"].dtype == torch.float32
    head.eval()
    out = head(x)
    assert tuple(out) == Head.output_names == ("prob",)
    assert out["prob"].shape == (2, 1, 32 // stride, 48 // stride)
    prob = out["prob"].detach()
    assert 0 <= float(prob.min()) and float(prob.max()) <= 1
    with pytest.raises(ValueError, match="stride"):
        Head(16, stride=8)


# --- decoding --------------------------------------------------------------------------

def _decode_cfg(stride=1, **extra):
    return {**DECODE_DEFAULTS, "stride": stride, "head": {"stride": stride}, **extra}


def _best_ious(gts, dets):
    return [max((polygon_iou(g, d) for d, _ in dets), default=0.0) for g in gts]


@pytest.mark.parametrize("stride, min_iou", [(1, 0.9), (2, 0.8)])
def test_decode_of_perfect_maps_returns_the_boxes(stride, min_iou):
    gts = [box(10, 10, 120, 30), box(130, 12, 180, 28),
           np.array([[20, 50], [150, 60], [148, 80], [18, 70]], np.float32)]
    t = build_targets([ann(g) for g in gts], (100, 200), {"stride": stride})
    maps = targets_to_maps(t, {"stride": stride})
    dets = decode(maps, _decode_cfg(stride, unclip="inverse"))
    assert len(dets) == 3
    assert min(_best_ious(gts, dets)) > min_iou
    for poly, score in dets:
        assert poly.shape == (4, 2) and poly.dtype == np.float32 and score == pytest.approx(1.0)
        x, y = poly[:, 0], poly[:, 1]
        assert np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) > 0          # clockwise
        assert np.argmin(poly.sum(1)) == 0                                   # top-left first
    dets = decode(maps, _decode_cfg(stride, unclip="inverse", polygon=True))
    assert len(dets) == 3 and min(_best_ious(gts, dets)) > min_iou - 0.05
    if stride == 1:  # the paper's D' = 1.5 A' / L' undoes r = 0.4 only roughly
        dets = decode(maps, _decode_cfg(stride))
        assert len(dets) == 3 and min(_best_ious(gts, dets)) > 0.65


def test_unclip_inverse_undoes_the_shrink_of_a_rectangle():
    w, h = 90.0, 14.0
    d = shrink_distance(box(0, 0, w, h), 0.4)
    ws, hs = w - 2 * d, h - 2 * d
    got = unclip_distance(ws * hs, 2 * (ws + hs), {**DECODE_DEFAULTS, "unclip": "inverse"})
    assert float(got) == pytest.approx(d, rel=1e-9)


def test_decode_thresholds_and_no_cap_on_regions():
    prob = np.zeros((1, 620, 620), np.float32)
    ys, xs = np.mgrid[0:40, 0:30]
    for y, x in zip(ys.ravel() * 15 + 5, xs.ravel() * 20 + 5):     # 1200 blobs, 5 x 12 px
        prob[0, y:y + 5, x:x + 12] = 0.9
    prob[0, 5:10, 5:17] = 0.5                                       # one under box_thresh
    dets = decode({"prob": prob}, _decode_cfg())
    assert len(dets) == 1199
    assert all(s == pytest.approx(0.9) for _, s in dets)
    assert decode({"prob": np.zeros((1, 50, 50), np.float32)}, _decode_cfg()) == []
    thin = np.zeros((1, 50, 50), np.float32)
    thin[0, 10:12, 5:40] = 1.0                                       # 2 px: under min_size 3
    assert decode({"prob": thin}, _decode_cfg()) == []
    with pytest.raises(ValueError, match="unclip"):
        decode({"prob": prob}, _decode_cfg(unclip="nope"))


# --- training --------------------------------------------------------------------------

def test_a_few_training_steps_lower_the_loss(synth_dir, tmp_path):
    import torch

    from conftest import tiny_config
    from textseg.training import train

    # a quarter-width ResNet-18 keeps this to seconds on a busy 2-core machine
    cfg = tiny_config("db", train__steps=6, train__optimizer__lr=0.01,
                      model__head__channels=8, model__backbone__width=0.25)
    torch.manual_seed(0)
    train(cfg, str(tmp_path), data_dirs=[synth_dir], progress=False)
    with open(os.path.join(tmp_path, "log.jsonl")) as f:
        losses = [e["loss"] for e in map(json.loads, f) if "loss" in e]
    assert len(losses) == 6 and all(np.isfinite(losses))
    first, last = np.mean(losses[:2]), np.mean(losses[-2:])
    assert last < 0.9 * first, (first, last)
