"""Mask R-CNN: RoIAlign, NMS, anchors, targets, losses, training, decoding, ONNX export."""

import io
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from textseg.data.icdar import Annotation
from textseg.geometry import polygon_area
from textseg.methods import maskrcnn
from textseg.methods.maskrcnn.anchors import cell_anchors, clip_boxes, decode, encode, grid_anchors
from textseg.methods.maskrcnn.decode import decode as decode_polygons
from textseg.methods.maskrcnn.decode import paste_mask
from textseg.methods.maskrcnn.head import Head
from textseg.methods.maskrcnn.loss import Loss
from textseg.methods.maskrcnn.nms import batched_nms, nms
from textseg.methods.maskrcnn.roi_align import assign_levels, multilevel_roi_align, roi_align
from textseg.methods.maskrcnn.roi_heads import mask_targets
from textseg.methods.maskrcnn.rpn import match, sample
from textseg.methods.maskrcnn.targets import build_targets

TINY = dict(fc_dim=32, mask_channels=16, mask_convs=2, rpn_pre_nms_topk=300,
            rpn_post_nms_topk=200, detections_per_image=40, rpn_batch_per_image=64,
            roi_batch_per_image=64)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors: one thread is faster, and fair to the other processes."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ----------------------------------------------------------------------------- RoIAlign

def _bilinear(f, y, x):
    """torchvision's roi_align bilinear interpolation at one point (float64)."""
    c, h, w = f.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return torch.zeros(c, dtype=torch.float64)
    y, x = max(y, 0.0), max(x, 0.0)
    yl, xl = int(y), int(x)
    if yl >= h - 1:
        yh = yl = h - 1
        y = float(yl)
    else:
        yh = yl + 1
    if xl >= w - 1:
        xh = xl = w - 1
        x = float(xl)
    else:
        xh = xl + 1
    ly, lx = y - yl, x - xl
    return ((1 - ly) * (1 - lx) * f[:, yl, xl] + (1 - ly) * lx * f[:, yl, xh]
            + ly * (1 - lx) * f[:, yh, xl] + ly * lx * f[:, yh, xh])


def _roi_align_reference(feat, rois, size, scale, sr):
    out = torch.zeros(len(rois), feat.shape[1], size, size, dtype=torch.float64)
    f64 = feat.double()
    for k, (b, x1, y1, x2, y2) in enumerate(rois.double().tolist()):
        x1, y1, x2, y2 = (v * scale - 0.5 for v in (x1, y1, x2, y2))
        bw, bh = (x2 - x1) / size, (y2 - y1) / size
        for i in range(size):
            for j in range(size):
                acc = sum(_bilinear(f64[int(b)], y1 + i * bh + (iy + 0.5) * bh / sr,
                                    x1 + j * bw + (ix + 0.5) * bw / sr)
                          for iy in range(sr) for ix in range(sr))
                out[k, :, i, j] = acc / (sr * sr)
    return out


def test_roi_align_matches_reference():
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(3, 2, 11, 15, generator=g)
    n = 14
    xy = torch.rand(n, 2, generator=g) * torch.tensor([70.0, 50.0]) - 10  # some past the borders
    wh = torch.rand(n, 2, generator=g) * 40
    rois = torch.cat([torch.randint(0, 3, (n, 1), generator=g).float(), xy, xy + wh], 1)
    rois[0, 1:] = torch.tensor([-30.0, -30.0, -10.0, -12.0])  # wholly outside: zeros
    out = roi_align(feat, rois, 4, 0.25, 2)
    ref = _roi_align_reference(feat, rois, 4, 0.25, 2)
    assert out.shape == (n, 2, 4, 4)
    assert (out.double() - ref).abs().max() < 1e-5
    assert out[0].abs().max() == 0


def test_roi_align_grad_and_empty():
    feat = torch.randn(1, 3, 8, 8, requires_grad=True)
    rois = torch.tensor([[0.0, 4.0, 4.0, 20.0, 12.0]])
    roi_align(feat, rois, 2, 0.5, 2).sum().backward()
    assert feat.grad.abs().sum() > 0
    assert roi_align(feat, rois[:0], 2, 0.5, 2).shape == (0, 3, 2, 2)


def test_multilevel_assignment():
    boxes = torch.tensor([[0, 0, 20, 20], [0, 0, 112, 112], [0, 0, 224, 224], [0, 0, 2000, 2000.0]])
    assert assign_levels(boxes, 4).tolist() == [0, 1, 2, 3]  # P2, P3, P4, P5 (clamped)
    feats = [torch.randn(1, 2, 64 // s, 64 // s) for s in (1, 2, 4, 8)]
    rois = torch.cat([torch.zeros(4, 1), boxes / 8], 1)
    out = multilevel_roi_align(feats, (4, 8, 16, 32), rois, 3)
    for lvl, s in enumerate((4, 8, 16, 32)):
        lv = assign_levels(rois[:, 1:], 4)
        idx = torch.nonzero(lv == lvl).squeeze(1)
        assert torch.allclose(out[idx], roi_align(feats[lvl], rois[idx], 3, 1 / s))


# ----------------------------------------------------------------------------- NMS

def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / union if union > 0 else 0.0


def _naive_nms(boxes, scores, thr):
    """Greedy NMS, one box at a time, in plain Python."""
    b, s = boxes.tolist(), scores.tolist()
    keep = []
    for i in sorted(range(len(s)), key=lambda i: (-s[i], i)):
        if all(_iou(b[i], b[j]) <= thr for j in keep):
            keep.append(i)
    return keep


@pytest.mark.parametrize("n,thr", [(0, 0.5), (1, 0.5), (40, 0.3), (600, 0.5), (600, 0.7)])
def test_nms_matches_naive(n, thr):
    g = torch.Generator().manual_seed(n)
    xy = torch.rand(n, 2, generator=g) * 150
    wh = torch.rand(n, 2, generator=g) * 40 + 1
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.rand(n, generator=g)
    assert nms(boxes, scores, thr).tolist() == _naive_nms(boxes, scores, thr)


def test_nms_clusters_and_groups():
    g = torch.Generator().manual_seed(1)
    base = torch.tensor([[10.0, 10, 60, 20], [100, 10, 150, 22]])
    boxes = base.repeat_interleave(30, 0) + torch.randn(60, 4, generator=g) * 0.5
    scores = torch.rand(60, generator=g)
    keep = nms(boxes, scores, 0.5)
    assert keep.tolist() == _naive_nms(boxes, scores, 0.5)
    best = {int(scores[:30].argmax()), 30 + int(scores[30:].argmax())}
    assert len(keep) == 2 and set(keep.tolist()) == best
    # the same boxes in two groups are suppressed only within their group
    groups = torch.cat([torch.zeros(60), torch.ones(60)]).long()
    kept = batched_nms(torch.cat([boxes, boxes]), torch.cat([scores, scores]), groups, 0.5)
    assert sorted(kept.tolist()) == sorted(keep.tolist() + (keep + 60).tolist())
    # score threshold drops boxes before suppression
    assert nms(boxes, scores, 0.5, score_threshold=2.0).numel() == 0


# ----------------------------------------------------------------------------- anchors

def test_anchor_shapes_and_round_trip():
    cell = cell_anchors(16, [0.25, 1.0], [1.0, 2.0])
    w, h = cell[:, 2] - cell[:, 0], cell[:, 3] - cell[:, 1]
    assert torch.allclose(h / w, torch.tensor([0.25, 1.0, 0.25, 1.0]))
    assert torch.allclose((w * h).sqrt(), torch.tensor([16.0, 16, 32, 32]))
    anchors = grid_anchors(cell, torch.zeros(1, 1, 3, 5), 8)
    assert anchors.shape == (3 * 5 * 4, 4)
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    assert torch.allclose(centres[4 * 6], torch.tensor([(1 + 0.5) * 8 - 0.5, (1 + 0.5) * 8 - 0.5]))
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(50, 2, generator=g) * 100
    boxes = torch.cat([xy, xy + torch.rand(50, 2, generator=g) * 60 + 2], 1)
    refs = anchors[:50]
    for weights in ((1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)):
        assert torch.allclose(decode(encode(boxes, refs, weights), refs, weights), boxes, atol=1e-3)
    clipped = clip_boxes(torch.tensor([[-5.0, -2, 300, 40]]), (32, 64))
    assert clipped.tolist() == [[0.0, 0.0, 63.0, 31.0]]


# ----------------------------------------------------------------------------- targets

def _quad(x1, y1, x2, y2):
    return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float32)


def test_build_targets():
    anns = [Annotation(_quad(10, 10, 60, 30), "big", False),
            Annotation(_quad(20, 15, 30, 22), "small", False),        # inside "big", wins
            Annotation(_quad(70, 40, 90, 50), "###", True),
            Annotation(_quad(5, 60, 40, 61), "thin", False),          # 1 px: don't care
            Annotation(_quad(200, 200, 220, 210), "outside", False),  # dropped
            Annotation(_quad(90, 70, 140, 80), "cut", False)]         # clipped at the border
    t = build_targets(anns, (100, 120), {"max_instances": 8})
    assert t["boxes"].shape == (8, 4) and t["box_flags"].shape == (8,)
    assert t["instances"].shape == (1, 100, 120) and t["instances"].dtype == np.int32
    assert t["box_flags"].tolist() == [1, 1, 1, -1, -1, 0, 0, 0]
    assert t["boxes"][0].tolist() == [10, 10, 60, 30]          # text first, larger first
    assert t["boxes"][1].tolist() == [90, 70, 119, 80]
    assert t["boxes"][2].tolist() == [20, 15, 30, 22]
    inst = t["instances"][0]
    assert inst[12, 12] == 1 and inst[18, 25] == 3 and inst[45, 80] in (4, 5)
    assert inst[0, 0] == 0 and inst[75, 119] == 2
    with pytest.warns(UserWarning, match="max_instances"):
        t = build_targets(anns, (100, 120), {"max_instances": 2})
    assert t["box_flags"].tolist() == [1, 1]
    empty = build_targets([], (16, 16), {})
    assert empty["boxes"].shape == (maskrcnn.TARGET_DEFAULTS["max_instances"], 4)
    assert not empty["box_flags"].any() and not empty["instances"].any()


def test_match_and_sample():
    anchors = torch.tensor([[10.0, 10, 60, 30], [12, 10, 62, 30], [30, 10, 80, 30],
                            [200, 200, 240, 220], [300, 300, 340, 320], [0, 0, 8, 8]])
    gt = torch.tensor([[10.0, 10, 60, 30], [0, 0, 20, 20]])
    ignore = torch.tensor([[290.0, 290, 350, 330]])
    labels, matched = match(anchors, gt, ignore, 0.7, 0.3, 0.5)
    # exact, close (IoU 0.92), partial (IoU 0.43: ignored), far, inside ###, best of gt 1
    assert labels.tolist() == [1, 1, -1, 0, -1, 1]
    assert matched[:2].tolist() == [0, 0] and matched[5] == 1
    labels = torch.tensor([1] * 10 + [0] * 100 + [-1] * 5)
    pos, neg = sample(labels, 16, 0.25)
    assert len(pos) == 4 and len(neg) == 12
    assert (labels[pos] == 1).all() and (labels[neg] == 0).all()



def test_match_equals_brute_force_on_random_boxes():
    """Labels equal the plain definition (full IoU matrix), with every text box's best
    anchors positive even when their IoU is low, on anchors of a real grid."""
    from textseg.methods.maskrcnn.nms import box_iou
    g = torch.Generator().manual_seed(3)
    ys, xs = torch.meshgrid(torch.arange(0, 160, 8.0), torch.arange(0, 200, 8.0), indexing="ij")
    c = torch.stack([xs.flatten(), ys.flatten()], 1).repeat(3, 1)
    half = torch.tensor([[8.0, 4], [16, 4], [11, 11]]).repeat_interleave(xs.numel(), 0)
    anchors = torch.cat([c - half, c + half], 1)
    for trial in range(5):
        xy = torch.rand(30, 2, generator=g) * torch.tensor([190.0, 150])
        wh = torch.rand(30, 2, generator=g) * torch.tensor([60.0, 14]) + 2
        gt = torch.cat([xy, xy + wh], 1)
        ignore = gt[:3] + 5
        labels, matched = match(anchors, gt, ignore, 0.7, 0.3, 0.5)
        iou = box_iou(anchors, gt)
        best, arg = iou.max(1)
        col = iou.max(0).values
        ref = torch.zeros_like(labels)
        ref[best >= 0.3] = -1
        ref[best >= 0.7] = 1
        ref[((iou == col[None]) & (col[None] > 0)).any(1)] = 1
        lt = torch.maximum(anchors[:, None, :2], ignore[None, :, :2])
        rb = torch.minimum(anchors[:, None, 2:], ignore[None, :, 2:])
        ioa = (rb - lt).clamp(min=0).prod(-1) / ((anchors[:, 2:] - anchors[:, :2]).prod(-1))[:, None]
        ref[(ref == 0) & (ioa.max(1).values >= 0.5)] = -1
        assert torch.equal(labels, ref), trial
        assert torch.equal(matched, arg)
        assert (labels == 1).sum() > (best >= 0.7).sum()  # low-quality best matches count


def test_mask_targets_cut_from_instance_map():
    inst = torch.zeros(1, 1, 40, 60, dtype=torch.int32)
    inst[0, 0, 10:20, 10:30] = 3          # pixels 10..19 x 10..29, box (10, 10, 29, 19)
    boxes = torch.tensor([[10.0, 10, 29, 19], [0, 0, 59, 39]])
    t = mask_targets(inst, torch.zeros(2, dtype=torch.long), boxes, torch.tensor([3, 3]), 8)
    assert t.shape == (2, 8, 8)
    assert t[0].min() == 1                 # the RoI is the instance: all text
    assert 0 < t[1].mean() < 0.2           # a large RoI: the instance is a small part
    assert mask_targets(inst, torch.zeros(1, dtype=torch.long), boxes[:1],
                        torch.tensor([2]), 8).max() == 0  # another instance's id


# ----------------------------------------------------------------------------- model

class _Model(torch.nn.Module):
    """backbone -> FPN pyramid -> Mask R-CNN head (what TextSegModel does for INPUT 'pyramid')."""

    def __init__(self, **head):
        super().__init__()
        from textseg.backbones import build_backbone
        from textseg.trunks.fpn import FPN

        self.backbone = build_backbone("resnet18")
        self.trunk = FPN(self.backbone.out_channels, 16)
        self.head = Head(16, **{**TINY, **head})

    def forward(self, x, targets=None):
        h, w = x.shape[-2:]
        x = F.pad(x, (0, (-w) % 32, 0, (-h) % 32))
        return self.head(self.trunk.forward_pyramid(self.backbone(x)), targets)


def _page(seed=0, size=128):
    """A white page with dark word boxes and their annotations (one ###)."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size, 3), 235, np.uint8)
    anns, y = [], 8
    while y < size - 20:
        x = 6
        h = int(rng.integers(8, 14))
        while True:
            w = int(rng.integers(14, 40))
            if x + w > size - 6:
                break
            img[y:y + h + 1, x:x + w + 1] = 30
            anns.append(Annotation(_quad(x, y, x + w, y + h), "w", len(anns) == 3))
            x += w + 8
        y += h + 10
    return img, anns


def _batch(pages):
    from textseg.data.images import normalize

    x = torch.stack([torch.from_numpy(normalize(img)) for img, _ in pages])
    ts = [build_targets(anns, img.shape[:2], {"max_instances": 64}) for img, anns in pages]
    return x, {k: torch.from_numpy(np.stack([t[k] for t in ts])) for k in ts[0]}


def test_training_lowers_the_loss_and_inference_gives_quads():
    torch.manual_seed(0)
    model = _Model(rpn_pos_iou=0.6)
    x, targets = _batch([_page(0), _page(1)])
    loss_fn = Loss()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for _ in range(8):
        parts = loss_fn(model(x, targets), targets)
        assert all(torch.isfinite(v) for v in parts.values())
        opt.zero_grad()
        parts["loss"].backward()
        opt.step()
        losses.append(float(parts["loss"].detach()))
    assert np.mean(losses[-3:]) < 0.75 * losses[0], losses

    model.eval()
    for m in model.modules():  # 10 steps leave the running statistics far from the batch's
        if isinstance(m, torch.nn.BatchNorm2d):
            m.train()
    model.head.opts["box_score_thresh"] = 0.0  # and the text scores still low
    with torch.no_grad():
        out = model(x[:1, :, :, :120])  # any size: padded inside
    d = TINY["detections_per_image"]
    assert out["boxes"].shape == (1, d, 4) and out["scores"].shape == (1, d)
    assert out["masks"].shape == (1, d, 28, 28)
    s = out["scores"][0]
    assert (s[:-1] >= s[1:]).all() and (s >= 0).all() and (s <= 1).all()
    assert (out["boxes"][0][s == 0] == 0).all() and (out["masks"][0][s == 0] == 0).all()
    dets = decode_polygons({k: v[0].numpy() for k, v in out.items()}, {"score_thresh": 0.0,
                                                                       "mask_thresh": 0.3})
    assert dets, "no detection at all"
    for poly, score in dets:
        assert poly.shape == (4, 2) and poly.dtype == np.float32 and 0 < score <= 1
        assert polygon_area(poly) > 0                                # clockwise (y down)
        assert np.argmin(poly.sum(axis=1)) == 0 or poly[0, 1] <= poly[:, 1].min() + 1e-3
        assert poly.min() >= -2 and poly.max() <= 129  # boxes are clipped to the padded input


def test_loss_without_text_is_finite_and_connected():
    torch.manual_seed(0)
    model = _Model()
    img = np.full((64, 64, 3), 235, np.uint8)
    x, targets = _batch([(img, [])])
    parts = Loss()(model(x, targets), targets)
    assert float(parts["mask"].detach()) == 0 and float(parts["rpn_box"].detach()) == 0
    parts["loss"].backward()
    assert model.head.mask_head.logits.weight.grad is not None
    with pytest.raises(ValueError, match="targets"):
        model(x)


def test_head_rejects_unknown_options():
    with pytest.raises(ValueError, match="anchor_size"):
        Head(16, anchor_size=3)
    with pytest.raises(ValueError, match="rpn_beta"):
        Loss(rpn_bta=1.0)


# ----------------------------------------------------------------------------- decode

def test_paste_and_decode_quads_and_polygons():
    mask = np.ones((28, 28), np.float32)
    binary, (x0, y0) = paste_mask(mask, (10.3, 20.7, 50.2, 30.1))
    assert (x0, y0) == (11, 21) and binary.shape == (10, 40) and binary.all()
    d = 5
    boxes = np.zeros((d, 4), np.float32)
    scores = np.zeros(d, np.float32)
    masks = np.zeros((d, 28, 28), np.float32)
    boxes[0], scores[0], masks[0] = (10, 20, 50, 30), 0.9, 1.0
    boxes[1], scores[1] = (60, 5, 100, 45), 0.8
    masks[1, 7:21, 7:21] = 1.0            # the middle half of its box
    masks[1, 7:14, 14:21] = 0.0           # an L shape for the polygon mode
    boxes[2], scores[2], masks[2] = (0, 0, 30, 10), 0.3, 1.0  # under the score threshold
    maps = {"boxes": boxes, "scores": scores, "masks": masks}
    dets = decode_polygons(maps, {"score_thresh": 0.5})
    assert [round(s, 2) for _, s in dets] == [0.9, 0.8]
    assert np.allclose(dets[0][0], [[10, 20], [50, 20], [50, 30], [10, 30]])
    assert np.allclose(dets[1][0], [[70, 15], [89, 15], [89, 34], [70, 34]], atol=1)
    polys = decode_polygons(maps, {"score_thresh": 0.5, "polygon": True})
    assert 6 <= len(polys[1][0]) <= 8 and polygon_area(polys[1][0]) > 0  # an L (+ a cut corner)
    assert np.allclose(polys[1][0][0], [71, 16], atol=1)       # starts top-left
    assert decode_polygons({**maps, "scores": np.zeros(d, np.float32)}, {}) == []
    with pytest.raises(ValueError, match="masks"):
        decode_polygons({**maps, "masks": masks[:2]}, {})


# ----------------------------------------------------------------------------- ONNX

def test_onnx_export_parity():
    ort = pytest.importorskip("onnxruntime")

    class Graph(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            out = self.model(x)
            return out["boxes"], out["scores"], out["masks"]

    torch.manual_seed(0)
    graph = Graph(_Model()).eval()
    buf = io.BytesIO()
    axes = {"image": {0: "batch", 2: "height", 3: "width"},
            **{n: {0: "batch"} for n in ("boxes", "scores", "masks")}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, (torch.zeros(1, 3, 64, 96),), buf, dynamo=False, opset_version=17,
                          input_names=["image"], output_names=["boxes", "scores", "masks"],
                          dynamic_axes=axes)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    x = torch.from_numpy(_batch([_page(2, 128)])[0].numpy()[:, :, :112, :])
    for inp in (x, torch.cat([x, x.flip(-1)])):   # another size than traced, and batch 2
        with torch.no_grad():
            ref = [t.numpy() for t in graph(inp)]
        got = sess.run(None, {"image": inp.numpy()})
        assert (ref[1] > 0).sum() > 0
        for a, b in zip(ref, got):
            assert a.shape == b.shape
            assert np.abs(a - b).max() < 1e-3 * max(1.0, np.abs(a).max())


# ----------------------------------------------------------------------------- config

def test_config_loads_and_builds(monkeypatch):
    import os

    from textseg import methods
    from textseg.config import load_config

    monkeypatch.setitem(methods.METHODS, "maskrcnn", "textseg.methods.maskrcnn")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cfg = load_config(os.path.join(root, "configs", "maskrcnn_fpn_r50.yaml"))
    head = {k: v for k, v in cfg["model"]["head"].items() if k != "method"}
    assert head == maskrcnn.HEAD_DEFAULTS  # the config spells out the defaults
    assert cfg["model"]["loss"] == maskrcnn.LOSS_DEFAULTS
    assert cfg["train"]["optimizer"]["name"] == "sgd"
    h = Head(cfg["model"]["trunk"]["channels"], **head)
    assert h.output_names == ("boxes", "scores", "masks") and h.stride == 4
    assert (h.input_kind, h.output_kind, h.needs_targets) == (maskrcnn.INPUT, maskrcnn.OUTPUT_KIND,
                                                              maskrcnn.NEEDS_TARGETS)
    Loss(**cfg["model"]["loss"])
    t = build_targets([], (32, 32), methods.target_config(cfg))
    assert t["boxes"].shape == (cfg["model"]["targets"]["max_instances"], 4)
    assert decode_polygons({"boxes": np.zeros((3, 4)), "scores": np.zeros(3),
                            "masks": np.zeros((3, 28, 28))}, methods.decode_config(cfg)) == []


def test_build_model_pyramid_integration(monkeypatch):
    """textseg.model.build_model wires the method flags: pyramid in, targets, no crop."""
    from conftest import tiny_config

    from textseg import methods
    from textseg.model import build_model

    monkeypatch.setitem(methods.METHODS, "maskrcnn", "textseg.methods.maskrcnn")
    cfg = tiny_config("maskrcnn", **{f"model__head__{k}": v for k, v in TINY.items()})
    torch.manual_seed(0)
    model = build_model(cfg)
    assert model.trunk.fuse is None  # pyramid only: no unused fusion conv under DDP
    x, targets = _batch([_page(0, 96)])
    parts = Loss(**cfg["model"]["loss"])(model(x[..., :90], targets), targets)
    assert torch.isfinite(parts["loss"])
    model.eval()
    with torch.no_grad():
        out = model(x[..., :90])
    assert out["masks"].shape == (1, TINY["detections_per_image"], 28, 28)
