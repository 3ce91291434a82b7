"""Mask R-CNN losses (He et al. 2017; Ren et al. 2015 for the RPN).

The head samples anchors and RoIs itself (it needs its own proposals), so in training it
returns each sampled prediction next to its target; :class:`Loss` reduces them:

* ``rpn_cls``: binary cross-entropy of the sampled anchors' objectness (mean);
* ``rpn_box``: smooth-L1 of the positive anchors' deltas, summed, over the sampled count;
* ``cls``: 2-way cross-entropy of the sampled RoIs (mean);
* ``box``: smooth-L1 of the positive RoIs' deltas (weights 10, 10, 5, 5), over the sampled
  count;
* ``mask``: per-pixel binary cross-entropy of the positive RoIs' 28 x 28 masks (mean).

``loss`` is their sum weighted by the ``lambda_*`` options. Every part is finite when a
batch has no positive (it is 0 then) and keeps the graph connected to every parameter.
"""

import torch
import torch.nn.functional as F
from torch import nn

from . import LOSS_DEFAULTS

__all__ = ["Loss", "smooth_l1"]

#: names of the training outputs the head returns
OUTPUT_KEYS = ("rpn_logits", "rpn_labels", "rpn_deltas", "rpn_targets", "cls_logits",
               "cls_labels", "box_deltas", "box_targets", "mask_logits", "mask_targets",
               "mask_weights")


def smooth_l1(x, y, beta):
    """Summed smooth-L1 (Huber / beta); L1 when beta is 0."""
    d = (x - y).abs()
    if beta <= 0:
        return d.sum()
    return torch.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta).sum()


class Loss(nn.Module):
    def __init__(self, **options):
        super().__init__()
        unknown = sorted(set(options) - set(LOSS_DEFAULTS))
        if unknown:
            raise ValueError(f"maskrcnn loss: unknown option(s) {', '.join(unknown)}; "
                             f"allowed: {', '.join(LOSS_DEFAULTS)}")
        self.opts = {**LOSS_DEFAULTS, **options}

    def forward(self, outputs, targets=None):
        missing = [k for k in OUTPUT_KEYS if k not in outputs]
        if missing:
            raise ValueError(f"maskrcnn loss: the head's training outputs lack "
                             f"{', '.join(missing)} (call the head with targets in train mode)")
        o, opt = outputs, self.opts
        n_rpn = max(o["rpn_labels"].numel(), 1)
        n_roi = max(o["cls_labels"].numel(), 1)
        parts = {
            "rpn_cls": F.binary_cross_entropy_with_logits(
                o["rpn_logits"].float(), o["rpn_labels"].float(), reduction="sum") / n_rpn,
            "rpn_box": smooth_l1(o["rpn_deltas"].float(), o["rpn_targets"].float(),
                                 float(opt["rpn_beta"])) / n_rpn,
            "cls": F.cross_entropy(o["cls_logits"].float(), o["cls_labels"].long(),
                                   reduction="sum") / n_roi,
            "box": smooth_l1(o["box_deltas"].float(), o["box_targets"].float(),
                             float(opt["box_beta"])) / n_roi,
        }
        w = o["mask_weights"].float()
        per_roi = F.binary_cross_entropy_with_logits(
            o["mask_logits"].float(), o["mask_targets"].float(), reduction="none")
        per_roi = per_roi.flatten(1).mean(1)
        parts["mask"] = (per_roi * w).sum() / w.sum().clamp(min=1.0)
        lambdas = {"rpn_cls": "lambda_rpn_cls", "rpn_box": "lambda_rpn_box", "cls": "lambda_cls",
                   "box": "lambda_box", "mask": "lambda_mask"}
        total = sum(float(opt[lambdas[k]]) * v for k, v in parts.items())
        return {"loss": total, **parts}
