"""PSENet: shrink formula, targets, loss, progressive expansion and decoding."""

import os
import subprocess
import sys
from collections import deque

import numpy as np
import pytest

from textseg.data.icdar import Annotation
from textseg.geometry import polygon_area, polygon_iou
from textseg.methods.pse.decode import decode, pse
from textseg.methods.pse.targets import (build_targets, kernel_polygons, kernel_scales,
                                         shrink_offsets, targets_to_maps)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def ann(poly, ignore=False):
    return Annotation(np.asarray(poly, np.float32), "###" if ignore else "w", ignore)


# --- targets ---------------------------------------------------------------------------

def test_shrink_formula_on_a_rectangle():
    # 100 x 20: area 2000, perimeter 240; d_i = round(2000 (1 - r_i^2) / 240)
    scales = kernel_scales(7, 0.4)
    np.testing.assert_allclose(scales, [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    expected = [round(2000 * (1 - r * r) / 240) for r in scales]  # [0, 2, 3, 4, 5, 6, 7]
    assert shrink_offsets(box(0, 0, 100, 20), scales, 20).tolist() == expected
    assert shrink_offsets(box(0, 0, 100, 20), scales, 5).max() == 5  # max_offset caps it
    smallest = kernel_polygons(box(0, 0, 100, 20), scales, 20)[-1][0]
    np.testing.assert_allclose(smallest.min(0), [7, 7], atol=0.01)
    np.testing.assert_allclose(smallest.max(0), [93, 13], atol=0.01)


def test_vanishing_shrink_keeps_the_larger_kernel():
    tiny = box(10, 10, 12, 11)  # 2 x 1 px: every shrink vanishes
    polys = kernel_polygons(tiny, kernel_scales(7, 0.4), 20, extra=1.5)
    assert all(len(p) == 1 and np.allclose(p[0], tiny) for p in polys)


@pytest.mark.parametrize("stride", [1, 4])
def test_targets_nested_masked_and_polygons(stride):
    star = np.array([[60, 20], [110, 30], [120, 70], [90, 100], [40, 90], [30, 50]], np.float32)
    anns = [ann(box(10, 10, 50, 30)), ann(box(10, 105, 50, 125), ignore=True), ann(star)]
    t = build_targets(anns, (130, 150), {"stride": stride})
    k, m = t["kernels"], t["mask"]
    h, w = -(-130 // stride), -(-150 // stride)
    assert k.shape == (7, h, w) and m.shape == (1, h, w) and k.dtype == np.float32
    assert np.all(k[1:] <= k[:-1])                     # nested
    areas = k.reshape(7, -1).sum(1)
    assert np.all(np.diff(areas) <= 0) and areas[-1] > 0
    ignored = m[0] == 0
    assert ignored.any() and not (k[0] * ignored).any()  # ### is masked, not text
    y, x = int(80 / stride), int(80 / stride)          # inside the 6-point polygon
    assert k[:, y, x].all()
    assert targets_to_maps(t, {"stride": stride})["kernels"].shape == k.shape


def test_overlapping_polygons_are_both_filled():
    # one fillPoly call with several contours uses the even-odd rule: no hole allowed
    t = build_targets([ann(box(10, 10, 60, 40)), ann(box(30, 20, 80, 50))], (64, 96), {"stride": 1})
    assert t["kernels"][0, 30, 45] == 1


# --- loss ------------------------------------------------------------------------------

def _loss_inputs(kernels, mask):
    import torch

    return {"kernels": torch.from_numpy(kernels)[None], "mask": torch.from_numpy(mask)[None]}


def test_loss_zero_at_target_positive_elsewhere_finite_when_empty():
    import torch

    from textseg.methods.pse.loss import Loss

    t = build_targets([ann(box(8, 8, 56, 24)), ann(box(8, 36, 40, 52))], (64, 64), {"stride": 4})
    targets = {k: torch.from_numpy(v)[None].repeat(2, 1, 1, 1) for k, v in t.items()}
    perfect = {"kernels": (targets["kernels"] * 2 - 1) * 30.0}
    loss = Loss()
    out = loss(perfect, targets)
    assert set(out) == {"loss", "text", "kernels"} and float(out["loss"]) < 1e-3
    logits = torch.randn(2, 7, 16, 16, requires_grad=True)
    out = loss({"kernels": logits}, targets)
    assert float(out["loss"].detach()) > 0.1
    out["loss"].backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    empty = {"kernels": torch.zeros(2, 7, 16, 16), "mask": torch.ones(2, 1, 16, 16)}
    for mode in ("pred", "gt"):
        out = Loss(kernel_mask=mode)({"kernels": logits}, empty)
        assert all(torch.isfinite(v) for v in out.values())


def test_ohem_keeps_three_negatives_per_positive():
    import torch

    from textseg.methods.pse.loss import ohem_mask

    gt = torch.zeros(1, 10, 10)
    gt[0, :2, :5] = 1                            # 10 positives
    score = torch.arange(100.0).reshape(1, 10, 10) / 100
    sel = ohem_mask(score, gt, torch.ones(1, 10, 10), 3.0).reshape(10, 10)
    assert int(sel.sum()) == 40 and sel[gt[0] > 0].all()
    assert sel.reshape(-1)[-30:].all()           # the 30 highest-scoring negatives


# --- progressive scale expansion -------------------------------------------------------

def _levels(rows):
    """Kernels (7, H, W) from a map of levels: level v lies in kernels 0 .. v-1."""
    lv = np.array(rows)
    return np.stack([lv > i for i in range(7)]).astype(np.uint8)


def test_pse_first_come_first_served_on_a_row():
    k = np.zeros((2, 1, 9), np.uint8)
    k[0] = 1
    k[1, 0, [1, 5]] = 1                          # two seeds; column 3 is at distance 2 of both
    np.testing.assert_array_equal(pse(k, 0)[0], [1, 1, 1, 1, 2, 2, 2, 2, 2])


def test_pse_two_regions_meeting_follow_the_queue_order():
    # What the authors' Cython pse returns for these kernels: pixels reached at the same
    # time go to the label whose frontier pixel is earlier in its FIFO queue, and a pixel
    # that has labelled a neighbour leaves the queue (row 2, column 4 goes to label 1).
    k = _levels([[0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
                 [7, 7, 7, 4, 1, 7, 7, 7, 7, 7],
                 [7, 7, 7, 4, 1, 7, 7, 7, 7, 7],
                 [4, 4, 4, 4, 1, 4, 4, 4, 4, 3],
                 [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]])
    expected = [[0, 1, 1, 1, 2, 2, 2, 2, 2, 2],
                [1, 1, 1, 1, 2, 2, 2, 2, 2, 2],
                [1, 1, 1, 1, 1, 2, 2, 2, 2, 2],
                [1, 1, 1, 1, 2, 2, 2, 2, 2, 2],
                [0, 0, 0, 0, 0, 0, 2, 2, 2, 2]]
    np.testing.assert_array_equal(pse(k, 0), expected)


def test_pse_min_area_drops_small_seeds_and_keeps_numbering():
    k = np.zeros((2, 5, 12), np.uint8)
    k[0, 1:4, 0:12] = 1
    k[1, 2, 1:3] = 1                             # 2-pixel seed: dropped at min_area 3
    k[1, 2, 6:10] = 1
    out = pse(k, 3)
    assert out.dtype == np.int32 and set(np.unique(out)) == {0, 2}
    assert (out[1:4] == 2).all()


def test_pse_more_than_255_regions():
    k = np.zeros((3, 80, 80), np.uint8)
    for y in range(0, 80, 4):
        for x in range(0, 80, 4):
            k[0, y:y + 3, x:x + 3] = 1
            k[1, y:y + 3, x:x + 2] = 1
            k[2, y + 1, x + 1] = 1
    out = pse(k, 0)
    assert out.dtype == np.int32 and out.max() == 400
    labels, counts = np.unique(out[out > 0], return_counts=True)
    assert len(labels) == 400 and (counts == 9).all()


def _queue_pse(kernels, min_area):
    """Plain-Python statement of the reference algorithm (slow; small maps only)."""
    import cv2

    n, seeds = cv2.connectedComponents(kernels[-1], connectivity=4)
    areas = np.bincount(seeds.ravel(), minlength=n)
    seeds[areas[seeds] < min_area] = 0
    pred = seeds.astype(np.int32)
    h, w = seeds.shape
    queue = deque(zip(*np.nonzero(seeds)))
    for j in range(len(kernels) - 2, -1, -1):
        nxt = deque()
        while queue:
            y, x = queue.popleft()
            edge = True
            for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                v, u = y + dy, x + dx
                if 0 <= v < h and 0 <= u < w and kernels[j, v, u] and not pred[v, u]:
                    pred[v, u] = pred[y, x]
                    queue.append((v, u))
                    edge = False
            if edge:
                nxt.append((y, x))
        queue = nxt
    return pred


@pytest.mark.parametrize("seed", range(4))
def test_pse_matches_the_queue_algorithm_on_random_blobs(seed):
    import cv2

    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.random((48, 64)).astype(np.float32), (0, 0), 2.5)
    level = np.clip(((noise - noise.mean()) / noise.std() + 0.6) * 3.0, 0, 7).astype(int)
    k = np.stack([level > i for i in range(7)]).astype(np.uint8)
    ref, ours = _queue_pse(k, 3), pse(k, 3)
    assert ref.max() > 2                         # several regions meet
    assert set(np.unique(ref)) == set(np.unique(ours))
    either = (ref > 0) | (ours > 0)
    assert (ref[either] == ours[either]).mean() >= 0.99


# --- decoding --------------------------------------------------------------------------

def _round_trip(anns, hw, stride, **decode_opts):
    t = build_targets(anns, hw, {"stride": stride})
    return decode(targets_to_maps(t, {"stride": stride}), {"stride": stride, **decode_opts})


@pytest.mark.parametrize("stride,opts", [(4, {}), (4, {"scale_to_input": True}), (1, {})])
def test_decode_round_trip_quads(stride, opts):
    words = [box(20, 20, 99, 39), box(104, 20, 163, 39), box(20, 44, 79, 63)]  # 4 px gaps
    dets = _round_trip([ann(b) for b in words], (96, 192), stride, **opts)
    assert len(dets) == 3
    for poly, score in dets:
        assert poly.shape == (4, 2) and poly.dtype == np.float32 and score > 0.85
        assert polygon_area(poly) > 0 and np.argmin(poly.sum(1)) == 0  # clockwise from top-left
        assert max(polygon_iou(poly, b) for b in words) > 0.85


def test_decode_polygon_output_follows_curved_text():
    t = np.linspace(np.pi * 0.15, np.pi * 0.85, 12)
    outer = np.stack([100 - 70 * np.cos(t), 100 - 70 * np.sin(t)], 1)
    inner = np.stack([100 - 45 * np.cos(t), 100 - 45 * np.sin(t)], 1)[::-1]
    arc = np.concatenate([outer, inner]).astype(np.float32)
    for stride in (1, 4):
        dets = _round_trip([ann(arc)], (128, 200), stride, polygon=True)
        assert len(dets) == 1
        poly = dets[0][0]
        assert len(poly) > 4 and polygon_area(poly) > 0
        assert polygon_iou(poly, arc) > 0.85
        quad = _round_trip([ann(arc)], (128, 200), stride)[0][0]
        assert polygon_iou(poly, arc) > polygon_iou(quad, arc) + 0.2


def test_decode_drops_small_and_low_score_regions():
    t = build_targets([ann(box(8, 8, 60, 30))], (64, 64), {"stride": 4})
    maps = targets_to_maps(t, {"stride": 4})
    assert len(decode(maps, {"stride": 4})) == 1
    assert decode(maps, {"stride": 4, "min_area": 5000.0}) == []
    maps["kernels"][0] *= 0.8                    # mean text probability under box_thresh
    assert decode(maps, {"stride": 4}) == []


# --- head, configs, imports ------------------------------------------------------------

def test_head_logits_in_training_probabilities_in_eval():
    import torch

    from textseg.methods.pse.head import Head

    feat = torch.randn(2, 8, 10, 12)
    for stride, size in ((4, (10, 12)), (1, (40, 48))):
        head = Head(8, kernel_num=5, stride=stride, channels=8)
        assert head.output_names == ("kernels",) and head.stride == stride
        out = head.train()(feat)["kernels"]
        assert out.shape == (2, 5, *size)
        prob = head.eval()(feat)["kernels"]
        assert prob.min() >= 0 and prob.max() <= 1
    with pytest.raises(ValueError, match="stride"):
        Head(8, stride=3)


def test_configs_load():
    from textseg.config import load_config

    for trunk in ("fcn", "unet", "fpn"):
        cfg = load_config(os.path.join(ROOT, "configs", f"pse_{trunk}_r50.yaml"))
        assert cfg["model"]["head"]["method"] == "pse" and cfg["model"]["trunk"]["name"] == trunk
        assert cfg["data"]["crop_size"] == 640 and cfg["train"]["batch_size"] == 16


def test_decoder_does_not_import_torch():
    code = ("import sys, textseg.methods.pse, textseg.methods.pse.decode; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
