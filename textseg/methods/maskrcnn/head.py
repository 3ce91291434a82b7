"""The Mask R-CNN "head": RPN + RoI heads on the FPN levels (see the package docstring).

``Head(in_channels, **HEAD_DEFAULTS)``; ``forward(pyramid, targets=None)`` with
``pyramid`` = [P2, P3, P4, P5] (strides 4..32, ``in_channels`` each). P6 is P5
max-pooled with stride 2 (RPN only, as in the FPN paper).

* train mode: ``targets`` are the batched :mod:`targets` arrays (``boxes`` (B, K, 4),
  ``box_flags`` (B, K), ``instances`` (B, 1, H, W)); returns the sampled predictions and
  their targets (:data:`loss.OUTPUT_KEYS`) for :class:`loss.Loss`.
* eval mode: ``boxes`` (B, D, 4) (x1, y1, x2, y2 in input pixels, pixel centres at
  integers), ``scores`` (B, D) text probability (0 = no detection), ``masks``
  (B, D, M, M) mask probabilities over each box; D = ``detections_per_image``, M = 2 x
  ``mask_pool``. Best first.

Boxes use textseg's pixel-centre convention; RoIAlign gets them shifted by +0.5 so that
its ``aligned=True`` grid puts the feature pixel j of stride s at input point
(j + 0.5) s - 0.5, as the anchors do.
"""

import torch
import torch.nn.functional as F
from torch import nn

from . import HEAD_DEFAULTS
from .anchors import cell_anchors, decode, dims, encode, grid_anchors, index_range
from .roi_align import multilevel_roi_align
from .roi_heads import BoxHead, MaskHead, detections, mask_targets
from .rpn import INVALID, RPNHead, match, proposals, sample

__all__ = ["Head"]

STRIDES = (4, 8, 16, 32, 64)  # P2..P6


class Head(nn.Module):
    input_kind = "pyramid"
    output_kind = "instances"
    needs_targets = True

    def __init__(self, in_channels, **options):
        super().__init__()
        unknown = sorted(set(options) - set(HEAD_DEFAULTS))
        if unknown:
            raise ValueError(f"maskrcnn head: unknown option(s) {', '.join(unknown)}; "
                             f"allowed: {', '.join(HEAD_DEFAULTS)}")
        o = {**HEAD_DEFAULTS, **options}
        if len(o["anchor_sizes"]) != len(STRIDES):
            raise ValueError(f"maskrcnn head: anchor_sizes needs {len(STRIDES)} sizes (P2..P6), "
                             f"got {o['anchor_sizes']}")
        if int(o["stride"]) != 4:
            raise ValueError(f"maskrcnn head: stride must be 4 (P2), got {o['stride']}")
        self.opts = o
        self.stride = 4
        self.output_names = ("boxes", "scores", "masks")
        self.mask_size = 2 * int(o["mask_pool"])
        cells = [cell_anchors(s, o["anchor_ratios"], o["anchor_scales"]) for s in o["anchor_sizes"]]
        for i, c in enumerate(cells):
            self.register_buffer(f"cell{i}", c, persistent=False)
        self.rpn = RPNHead(in_channels, cells[0].shape[0])
        self.box_head = BoxHead(in_channels, int(o["box_pool"]), int(o["fc_dim"]))
        self.mask_head = MaskHead(in_channels, int(o["mask_channels"]), int(o["mask_convs"]))

    # -- shared
    def _levels(self, pyramid):
        if len(pyramid) != 4:
            raise ValueError(f"maskrcnn head: expected the 4 FPN levels P2..P5, got {len(pyramid)}")
        return list(pyramid) + [F.max_pool2d(pyramid[-1], 1, 2)]

    def _anchors(self, feats):
        return [grid_anchors(getattr(self, f"cell{i}"), f, s)
                for i, (f, s) in enumerate(zip(feats, STRIDES))]

    def _align(self, feats, rois, size):
        """RoIAlign of rois (n, 5) [batch, x1, y1, x2, y2] on P2..P5."""
        shifted = torch.cat([rois[:, :1], rois[:, 1:] + 0.5], dim=1)
        return multilevel_roi_align(feats[:4], STRIDES[:4], shifted, size,
                                    int(self.opts["sampling_ratio"]),
                                    float(self.opts["canonical_scale"]))

    def forward(self, pyramid, targets=None):
        feats = self._levels(pyramid)
        size = dims(feats[0])
        hw = (size[2] * 4, size[3] * 4)
        objs, deltas = self.rpn(feats)
        anchors = self._anchors(feats)
        o = self.opts
        props, pscores = proposals(objs, deltas, anchors, hw, o["rpn_pre_nms_topk"],
                                   o["rpn_post_nms_topk"], o["rpn_nms_thresh"], o["rpn_min_size"])
        if self.training:
            if targets is None:
                raise ValueError("maskrcnn head: training needs targets "
                                 "(boxes, box_flags, instances)")
            return self._train(feats, objs, deltas, anchors, props, pscores, targets)
        return self._infer(feats, props, pscores, hw)

    # -- training
    def _train(self, feats, objs, deltas, anchors, props, pscores, targets):
        o = self.opts
        anchors = torch.cat(anchors)
        obj, dl = torch.cat(objs, 1), torch.cat(deltas, 1)
        boxes, flags = targets["boxes"].float(), targets["box_flags"]
        weights = tuple(float(v) for v in o["box_weights"])
        out = {k: [] for k in (
            "rpn_logits", "rpn_labels", "rpn_deltas", "rpn_targets", "box_targets")}
        rois, n_pos, n_sel, pos_rois, pos_ids = [], [], [], [], []
        for b in range(obj.shape[0]):
            care = torch.nonzero(flags[b] > 0).squeeze(1)
            gt, ign = boxes[b, care], boxes[b, torch.nonzero(flags[b] < 0).squeeze(1)]
            # RPN: anchors
            labels, matched = match(anchors, gt, ign, o["rpn_pos_iou"], o["rpn_neg_iou"],
                                    o["ignore_ioa"], best_match=True)
            pos, neg = sample(labels, o["rpn_batch_per_image"], o["rpn_positive_fraction"])
            out["rpn_logits"].append(obj[b, torch.cat([pos, neg])])
            out["rpn_labels"].append(torch.cat([torch.ones_like(pos), torch.zeros_like(neg)]))
            out["rpn_deltas"].append(dl[b, pos])
            out["rpn_targets"].append(encode(gt[matched[pos]], anchors[pos]))
            # RoIs: proposals + the text boxes themselves
            p = torch.cat([props[b][pscores[b] > INVALID / 2], gt])
            labels, matched = match(p, gt, ign, o["roi_fg_iou"], o["roi_fg_iou"],
                                    o["ignore_ioa"], best_match=False)
            pos, neg = sample(labels, o["roi_batch_per_image"], o["roi_positive_fraction"])
            sel = torch.cat([pos, neg])
            rois.append(torch.cat([torch.full_like(p[sel, :1], b), p[sel]], dim=1))
            n_pos.append(pos.numel())
            n_sel.append(sel.numel())
            out["box_targets"].append(encode(gt[matched[pos]], p[pos], weights))
            pos_rois.append(rois[-1][:pos.numel()])
            pos_ids.append(care[matched[pos]].to(torch.int32) + 1)
        out = {k: torch.cat(v) for k, v in out.items()}
        rois = torch.cat(rois)
        cls_labels = torch.cat([torch.cat([torch.ones(k, dtype=torch.long),
                                           torch.zeros(r - k, dtype=torch.long)])
                                for k, r in zip(n_pos, n_sel)]).to(rois.device)
        cls_logits, box_deltas = self.box_head(self._align(feats, rois, int(o["box_pool"])))
        is_pos = cls_labels == 1
        out.update(cls_logits=cls_logits, cls_labels=cls_labels, box_deltas=box_deltas[is_pos])
        mrois, ids = torch.cat(pos_rois), torch.cat(pos_ids)
        weights_m = torch.ones(mrois.shape[0], device=rois.device)
        if mrois.shape[0] == 0:  # no positive: one dummy RoI with weight 0 keeps the graph whole
            mrois, ids, weights_m = rois[:1], ids.new_zeros(1), weights_m.new_zeros(1)
        out["mask_logits"] = self.mask_head(self._align(feats, mrois, int(o["mask_pool"])))
        out["mask_targets"] = mask_targets(targets["instances"], mrois[:, 0].long(), mrois[:, 1:],
                                           ids, self.mask_size)
        out["mask_weights"] = weights_m
        return out

    # -- inference
    def _infer(self, feats, props, pscores, hw):
        o = self.opts
        p = pscores.shape[1]
        valid = pscores > INVALID / 2                                            # (B, P)
        image = index_range(pscores[:, 0])[:, None, None].to(props)              # (B, 1, 1)
        rois = torch.cat([image.expand(-1, p, 1), props], dim=2).reshape(-1, 5)
        idx = torch.nonzero(valid.reshape(-1)).squeeze(1)
        cls, dl = self.box_head(self._align(feats, rois[idx], int(o["box_pool"])))
        margin = (cls[:, 1] - cls[:, 0]).float()          # softmax(cls)[:, 1] = sigmoid(margin)
        weights = tuple(float(v) for v in o["box_weights"])
        bx = decode(dl.float(), rois[idx, 1:], weights)
        scores = torch.zeros_like(pscores).reshape(-1).index_put((idx,), margin).reshape(-1, p)
        boxes = torch.zeros_like(props).reshape(-1, 4).index_put((idx,), bx).reshape(-1, p, 4)
        d = int(o["detections_per_image"])
        boxes, scores = detections(boxes, scores, valid, hw, float(o["box_score_thresh"]),
                                   float(o["box_nms_thresh"]), d)
        live = torch.nonzero(scores.reshape(-1) > 0).squeeze(1)
        mrois = torch.cat([image.expand(-1, d, 1), boxes], dim=2).reshape(-1, 5)[live]
        logits = self.mask_head(self._align(feats, mrois, int(o["mask_pool"])))
        m = self.mask_size
        masks = torch.zeros_like(scores).reshape(-1, 1, 1).expand(-1, m, m)
        masks = masks.index_put((live,), torch.sigmoid(logits.float()))
        return {"boxes": boxes, "scores": scores, "masks": masks.reshape(-1, d, m, m)}
