"""PSENet loss: dice on the text map with OHEM, dice on the shrunk kernels.

    loss = text_weight * L_text + kernel_weight * mean_i L_kernel_i

* Dice of one image: ``1 - 2 sum(p g M) / (sum(p^2 M) + sum(g^2 M))`` (+1e-3 in both sums
  of the denominator, as the authors' code), p the sigmoid, g the target, M a mask; the
  batch's loss is the mean over its images.
* L_text: M is online hard example mining per image: every positive (text) pixel of the
  training mask plus the ``ohem_ratio`` x #positives highest-scoring negatives; an image
  with no positive keeps its whole training mask.
* L_kernel (kernels 1..n-1): M is the training mask times, with ``kernel_mask: pred``,
  the pixels whose predicted text probability is above 0.5 -- the paper ("we ignore the
  pixels in the non-text region of S_n") and the authors' original code
  (train_ic15.py); ``kernel_mask: gt`` uses the ground-truth text instead, as their newer
  code (models/head/psenet_head.py) does.

``forward(outputs, targets)``: outputs['kernels'] logits (B, n, h, w); targets
'kernels' (B, n, h, w) and 'mask' (B, 1, h, w). Returns {'loss', 'text', 'kernels'}.
"""

import torch
from torch import nn

from . import LOSS_DEFAULTS

_EPS = 1e-3


def dice_loss(prob, target, mask):
    """Per-image dice loss (B,) of probabilities, targets and masks (B, ...)."""
    p, g, m = (t.flatten(1) for t in (prob, target, mask))
    p, g = p * m, g * m
    inter = (p * g).sum(1)
    return 1.0 - 2.0 * inter / ((p * p).sum(1) + _EPS + (g * g).sum(1) + _EPS)


def ohem_mask(score, gt, mask, ratio):
    """OHEM selection (B, h, w) float: positives of the mask plus the ``ratio`` x #positives
    hardest negatives (highest score) of each image; the whole mask where none is positive."""
    b = score.shape[0]
    score, gt, mask = score.reshape(b, -1), gt.reshape(b, -1) > 0.5, mask.reshape(b, -1) > 0.5
    pos = gt & mask
    neg = ~gt & mask
    n_pos = pos.sum(1)
    n_neg = torch.minimum((n_pos.float() * ratio).long(), neg.sum(1))
    ranked = torch.where(neg, score, torch.full_like(score, -float("inf")))
    ranked = ranked.sort(dim=1, descending=True).values
    k = (n_neg - 1).clamp(min=0)
    thresh = ranked.gather(1, k[:, None])                            # (B, 1)
    selected = pos | (neg & (score >= thresh) & (n_neg > 0)[:, None])
    selected = torch.where((n_pos > 0)[:, None], selected, mask)
    return selected.float()


class Loss(nn.Module):
    def __init__(self, text_weight=LOSS_DEFAULTS["text_weight"],
                 kernel_weight=LOSS_DEFAULTS["kernel_weight"],
                 ohem_ratio=LOSS_DEFAULTS["ohem_ratio"], kernel_mask=LOSS_DEFAULTS["kernel_mask"]):
        super().__init__()
        if kernel_mask not in ("pred", "gt"):
            raise ValueError(f"PSENet loss kernel_mask must be 'pred' or 'gt', got {kernel_mask!r}")
        if float(ohem_ratio) <= 0:
            raise ValueError(f"PSENet loss ohem_ratio must be > 0, got {ohem_ratio}")
        self.text_weight = float(text_weight)
        self.kernel_weight = float(kernel_weight)
        self.ohem_ratio = float(ohem_ratio)
        self.kernel_mask = kernel_mask

    def forward(self, outputs, targets):
        logits = outputs["kernels"].float()
        gt = targets["kernels"].to(logits.dtype)
        mask = targets["mask"].to(logits.dtype)[:, 0]
        if logits.shape != gt.shape:
            raise ValueError(f"PSENet loss: outputs {tuple(logits.shape)} and targets "
                             f"{tuple(gt.shape)} differ in shape")
        prob = torch.sigmoid(logits)
        with torch.no_grad():
            selected = ohem_mask(prob[:, 0], gt[:, 0], mask, self.ohem_ratio).view_as(mask)
            region = (prob[:, 0] > 0.5) if self.kernel_mask == "pred" else (gt[:, 0] > 0.5)
            region = region.to(mask.dtype) * mask
        text = dice_loss(prob[:, 0], gt[:, 0], selected).mean()
        rows = prob.shape[0] * (prob.shape[1] - 1)  # one dice per (image, kernel)
        region = region[:, None].expand_as(prob[:, 1:])
        kernels = dice_loss(prob[:, 1:].reshape(rows, -1), gt[:, 1:].reshape(rows, -1),
                            region.reshape(rows, -1)).mean()
        loss = self.text_weight * text + self.kernel_weight * kernels
        return {"loss": loss, "text": text.detach(), "kernels": kernels.detach()}
