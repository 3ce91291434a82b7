"""Greedy non-maximum suppression in plain torch, exportable to ONNX.

:func:`nms` is exact greedy NMS (the same result as ``torchvision.ops.nms``): boxes in
score order, a box is kept unless a kept, higher-scoring box overlaps it with IoU above
the threshold. It works in blocks of ``BLOCK`` boxes so that it never holds an n x n
matrix: inside a block the greedy decisions come from a short fixed-point iteration on
the block's overlap matrix (each pass settles at least one more box of every chain of
suppressions, typically 2-3 passes), then the block's kept boxes suppress every later box
with one matrix operation. Cost: O(kept x n) IoUs and O(n / BLOCK) Python steps.

Under ``torch.onnx.export`` (TorchScript exporter) the call becomes ONNX
``NonMaxSuppression`` (opset >= 11), which implements the same greedy rule (suppression
when IoU > threshold, boxes of zero area never suppress), so onnxruntime runs it natively.

Boxes are (x1, y1, x2, y2); width is ``x2 - x1`` (no +1).
"""

import torch

__all__ = ["box_iou", "nms", "batched_nms", "kept_mask", "BLOCK"]

#: boxes per block of the greedy pass
BLOCK = 256


def box_iou(a, b):
    """IoU matrix (n, m) of boxes a (n, 4) and b (m, 4); 0 where a union is empty."""
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def _overlaps(a, b, thr):
    """(n, m) bool: IoU(a_i, b_j) > thr, without a division (inter > thr * union)."""
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    w = (torch.minimum(a[:, None, 2], b[None, :, 2]) - torch.maximum(a[:, None, 0], b[None, :, 0]))
    h = (torch.minimum(a[:, None, 3], b[None, :, 3]) - torch.maximum(a[:, None, 1], b[None, :, 1]))
    inter = w.clamp_(min=0) * h.clamp_(min=0)
    return inter * (1 + thr) > thr * (area_a[:, None] + area_b[None, :])


def _greedy_block(over, alive):
    """Greedy decisions inside one block. ``over`` (k, k) bool: i suppresses j (i < j);
    ``alive`` (k,) bool: not suppressed by earlier blocks. Returns kept (k,) bool."""
    keep = alive.clone()
    while True:
        # j survives if no kept i < j overlaps it
        new = alive & ~(over & keep[:, None]).any(dim=0)
        if torch.equal(new, keep):
            return keep
        keep = new


def _nms_eager(boxes, scores, iou_threshold):
    n = boxes.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = torch.argsort(scores, descending=True, stable=True)
    b = boxes[order].float()
    removed = torch.zeros(n, dtype=torch.bool, device=boxes.device)
    kept = []
    for start in range(0, n, BLOCK):
        end = min(start + BLOCK, n)
        alive = ~removed[start:end]
        blk = b[start:end]
        over = torch.triu(_overlaps(blk, blk, iou_threshold), diagonal=1)
        idx = torch.nonzero(_greedy_block(over, alive)).squeeze(1) + start
        kept.append(idx)
        if end < n and idx.numel():
            rest = torch.nonzero(~removed[end:]).squeeze(1) + end
            hit = _overlaps(b[idx], b[rest], iou_threshold).any(dim=0)
            removed[rest[hit]] = True
    return order[torch.cat(kept)]


def _nms_select(boxes, scores, iou_threshold, score_threshold):
    valid = torch.nonzero(scores > score_threshold).squeeze(1)
    return valid[_nms_eager(boxes[valid], scores[valid], iou_threshold)]


@torch.library.custom_op("textseg::nms", mutates_args=())
def _nms_op(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float,
            score_threshold: float) -> torch.Tensor:
    return _nms_select(boxes, scores, iou_threshold, score_threshold)


@_nms_op.register_fake
def _nms_fake(boxes, scores, iou_threshold, score_threshold):
    n = torch.library.get_ctx().new_dynamic_size()
    return boxes.new_empty((n,), dtype=torch.long)


def _nms_symbolic(g, boxes, scores, iou_threshold, score_threshold):
    """ONNX NonMaxSuppression on one image and one class: (n, 4), (n,) -> kept (k,)."""
    from torch.onnx.symbolic_helper import _maybe_get_const

    def const(v, dtype):
        return g.op("Constant", value_t=torch.tensor(v, dtype=dtype))

    iou = float(_maybe_get_const(iou_threshold, "f"))
    thr = float(_maybe_get_const(score_threshold, "f"))
    b = g.op("Unsqueeze", boxes, const([0], torch.long))                        # (1, n, 4)
    s = g.op("Unsqueeze", scores, const([0, 1], torch.long))                    # (1, 1, n)
    n = g.op("Slice", g.op("Shape", boxes), const([0], torch.long), const([1], torch.long))
    sel = g.op("NonMaxSuppression", b, s, n, const([iou], torch.float),
               const([thr], torch.float))                                      # (k, 3)
    return g.op("Gather", sel, const(2, torch.long), axis_i=1)                  # (k,)


torch.onnx.register_custom_op_symbolic("textseg::nms", _nms_symbolic, 11)


def nms(boxes, scores, iou_threshold, score_threshold=-3.0e38):
    """Indices (long, in decreasing score order) of the boxes greedy NMS keeps.

    ``boxes`` (n, 4) float, ``scores`` (n,) float. Boxes whose score is not above
    ``score_threshold`` are dropped first. Not differentiable (indices only)."""
    if boxes.ndim != 2 or boxes.shape[-1] != 4 or scores.shape != boxes.shape[:1]:
        raise ValueError(f"nms: expected boxes (n, 4) and scores (n,), got {tuple(boxes.shape)} "
                         f"and {tuple(scores.shape)}")
    args = (boxes.detach().float(), scores.detach().float(), float(iou_threshold),
            float(score_threshold))
    if torch.jit.is_tracing():  # one node, that the ONNX symbolic turns into NonMaxSuppression
        return _nms_op(*args)
    with torch.no_grad():  # direct call: a custom op's first call imports torch._dynamo (~3 s)
        return _nms_select(*args)


def kept_mask(keep, like):
    """Bool mask shaped like the 1-D tensor ``like``, True at the indices ``keep``
    (a float index_fill: the bool one does not trace)."""
    return torch.zeros_like(like, dtype=torch.float32).index_fill(0, keep, 1.0) > 0


def batched_nms(boxes, scores, groups, iou_threshold, score_threshold=-3.0e38):
    """NMS within each group (e.g. pyramid level) only. Returns kept indices, by group
    then score in eager mode (in one score order when exported). ``groups`` (n,) int."""
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or boxes.numel() == 0:
        # one call: groups are moved apart so that boxes of two groups never overlap
        span = (boxes.max() - boxes.min()).detach() + 1
        shifted = boxes + (groups.to(boxes.dtype) * span)[:, None]
        return nms(shifted, scores, iou_threshold, score_threshold)
    keep = []
    for g in torch.unique(groups).tolist():  # cost is O(kept x n) per group: split them
        idx = torch.nonzero(groups == g).squeeze(1)
        keep.append(idx[nms(boxes[idx], scores[idx], iou_threshold, score_threshold)])
    return torch.cat(keep)
