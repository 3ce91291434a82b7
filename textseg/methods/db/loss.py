"""DBNet loss: balanced BCE (OHEM) on P, dice (or BCE) on B, masked L1 on T.

    loss = prob_weight * L_prob + binary_weight * L_binary + thresh_weight * L_thresh

* L_prob: binary cross-entropy of the probability logits against ``prob``, computed
  from the logits, over every positive pixel of the training mask plus the
  ``ohem_ratio`` x #positives hardest negatives of the batch (the authors'
  ``BalanceCrossEntropyLoss``: one selection over the whole batch), divided by the
  number of selected pixels. A batch without text gives 0.
* L_binary: the approximate binary map B = sigmoid(binary_logits) against ``prob``
  inside the training mask; ``dice``: ``1 - 2 sum(B g M) / (sum(B M) + sum(g M) + eps)``
  over the batch (authors' code, PaddleOCR, MMOCR), ``bce``: the same balanced BCE as
  L_prob (what the paper's text describes).
* L_thresh: mean |sigmoid(thresh_logits) - thresh| over ``thresh_mask`` (the polygons
  dilated by D); 0 when the mask is empty.

Everything runs in float32 (the training loop hands the outputs over as float; autocast
does not reach here). ``forward(outputs, targets)``: outputs 'prob_logits',
'thresh_logits', 'binary_logits' (B, 1, h, w) (the head in training mode); targets
'prob', 'mask', 'thresh', 'thresh_mask' (B, 1, h, w). Returns
{'loss', 'prob', 'binary', 'thresh'} (the parts unweighted, detached).
"""

import torch
import torch.nn.functional as F
from torch import nn

from . import LOSS_DEFAULTS

_EPS = 1e-6


def balanced_bce(logits, gt, mask, ratio):
    """BCE from logits over the positives of ``mask`` and the ``ratio`` x #positives
    hardest negatives of the whole batch, averaged over those pixels (a scalar)."""
    loss = F.binary_cross_entropy_with_logits(logits, gt, reduction="none").flatten()
    pos = ((gt > 0.5) & (mask > 0.5)).flatten()
    neg = ((gt <= 0.5) & (mask > 0.5)).flatten()
    n_pos = int(pos.sum())
    n_neg = min(int(neg.sum()), int(n_pos * ratio))
    total = (loss * pos).sum()
    if n_neg > 0:
        total = total + torch.topk(loss * neg, n_neg, sorted=False).values.sum()
    return total / (n_pos + n_neg + _EPS)


def dice_loss(prob, gt, mask):
    """Batch dice loss ``1 - 2 |P G| / (|P| + |G|)`` inside ``mask`` (a scalar)."""
    inter = (prob * gt * mask).sum()
    union = (prob * mask).sum() + (gt * mask).sum() + _EPS
    return 1.0 - 2.0 * inter / union


def masked_l1(pred, gt, mask):
    """Mean |pred - gt| over ``mask`` (0 when the mask is empty)."""
    return (torch.abs(pred - gt) * mask).sum() / (mask.sum() + _EPS)


class Loss(nn.Module):
    def __init__(self, prob_weight=LOSS_DEFAULTS["prob_weight"],
                 binary_weight=LOSS_DEFAULTS["binary_weight"],
                 thresh_weight=LOSS_DEFAULTS["thresh_weight"],
                 ohem_ratio=LOSS_DEFAULTS["ohem_ratio"], binary_loss=LOSS_DEFAULTS["binary_loss"]):
        super().__init__()
        if binary_loss not in ("dice", "bce"):
            raise ValueError(f"DBNet loss binary_loss must be 'dice' or 'bce', got {binary_loss!r}")
        if float(ohem_ratio) <= 0:
            raise ValueError(f"DBNet loss ohem_ratio must be > 0, got {ohem_ratio}")
        weights = (prob_weight, binary_weight, thresh_weight)
        if any(float(v) < 0 for v in weights):
            raise ValueError(f"DBNet loss weights must be >= 0, got {weights}")
        self.prob_weight, self.binary_weight, self.thresh_weight = (float(v) for v in weights)
        self.ohem_ratio = float(ohem_ratio)
        self.binary_loss = binary_loss

    def forward(self, outputs, targets):
        logits = outputs["prob_logits"].float()
        gt = targets["prob"].to(logits.dtype)
        mask = targets["mask"].to(logits.dtype)
        if logits.shape != gt.shape:
            raise ValueError(f"DBNet loss: outputs {tuple(logits.shape)} and targets "
                             f"{tuple(gt.shape)} differ in shape")
        prob = balanced_bce(logits, gt, mask, self.ohem_ratio)
        binary_logits = outputs["binary_logits"].float()
        if self.binary_loss == "dice":
            binary = dice_loss(torch.sigmoid(binary_logits), gt, mask)
        else:
            binary = balanced_bce(binary_logits, gt, mask, self.ohem_ratio)
        thresh = masked_l1(torch.sigmoid(outputs["thresh_logits"].float()),
                           targets["thresh"].to(logits.dtype),
                           targets["thresh_mask"].to(logits.dtype))
        loss = self.prob_weight * prob + self.binary_weight * binary + self.thresh_weight * thresh
        return {"loss": loss, "prob": prob.detach(), "binary": binary.detach(),
                "thresh": thresh.detach()}
