"""EAST loss (paper, section 3.4): L = lambda_score * L_s + lambda_geo * L_g.

* L_s: class-balanced cross-entropy (paper), beta = 1 - (positives / pixels) over the
  training mask of the batch, or dice (as many re-implementations), on the training mask.
* L_g, averaged over positive pixels (score target 1 and mask 1):
  RBOX: -log IoU of the axis-aligned boxes the 4 distances describe (+1 smoothing on
  both terms) + lambda_theta * (1 - cos(angle error));
  QUAD: smooth-L1 of the 8 corner offsets over 8 x the shortest edge of the target quad,
  the minimum over the 4 cyclic orders of the target corners (the paper's P_Q).

Parts returned: ``loss``, ``score``, ``geo`` and (RBOX) ``aabb``, ``angle``.
The geometry kind follows from the channels of the target (5 RBOX, 8 QUAD).
"""

import torch
from torch import nn
from torch.nn import functional as F

from . import LOSS_DEFAULTS


class Loss(nn.Module):
    def __init__(self, score_loss=LOSS_DEFAULTS["score_loss"], lambda_score=LOSS_DEFAULTS["lambda_score"],
                 lambda_geo=LOSS_DEFAULTS["lambda_geo"], lambda_theta=LOSS_DEFAULTS["lambda_theta"]):
        super().__init__()
        if score_loss not in ("bce", "dice"):
            raise ValueError(f"EAST score_loss must be 'bce' or 'dice', got {score_loss!r}")
        self.score_loss = score_loss
        self.lambda_score = float(lambda_score)
        self.lambda_geo = float(lambda_geo)
        self.lambda_theta = float(lambda_theta)

    def _score(self, outputs, gt, mask):
        prob = outputs["score"].float()
        if self.score_loss == "dice":
            inter = (prob * gt * mask).sum()
            return 1 - 2 * inter / ((prob * mask).sum() + (gt * mask).sum() + 1e-6)
        logits = outputs.get("score_logits")
        if logits is not None:
            log_p, log_not_p = F.logsigmoid(logits.float()), F.logsigmoid(-logits.float())
        else:
            prob = prob.clamp(1e-6, 1 - 1e-6)
            log_p, log_not_p = torch.log(prob), torch.log1p(-prob)
        n = mask.sum().clamp(min=1)
        beta = 1 - (gt * mask).sum() / n
        ce = -(beta * gt * log_p + (1 - beta) * (1 - gt) * log_not_p)
        return (ce * mask).sum() / n

    def _rbox(self, pred, gt):
        t1, r1, b1, l1, a1 = pred.unbind(1)
        t2, r2, b2, l2, a2 = gt.unbind(1)
        area_p, area_g = (t1 + b1) * (r1 + l1), (t2 + b2) * (r2 + l2)
        inter = (torch.min(r1, r2) + torch.min(l1, l2)) * (torch.min(t1, t2) + torch.min(b1, b2))
        union = area_p + area_g - inter
        aabb = -torch.log((inter + 1) / (union + 1))
        angle = 1 - torch.cos(a1 - a2)
        return aabb, angle

    def _quad(self, pred, gt):
        b, _, h, w = gt.shape
        corners = gt.view(b, 4, 2, h, w)
        edges = (corners - corners.roll(-1, dims=1)).norm(dim=2)  # (B, 4, h, w)
        norm = 8 * edges.min(dim=1).values.clamp(min=1.0)
        costs = [F.smooth_l1_loss(pred, corners.roll(s, dims=1).reshape(b, 8, h, w), reduction="none").sum(1)
                 for s in range(4)]
        return torch.stack(costs).min(dim=0).values / norm

    def forward(self, outputs, targets):
        gt = targets["score"].float()
        mask = targets["mask"].float()
        gt_geo = targets["geometry"].float()
        pred_geo = outputs["geometry"].float()
        score = self._score(outputs, gt, mask)
        pos = (gt * mask)[:, 0]
        n_pos = pos.sum().clamp(min=1)
        parts = {}
        if gt_geo.shape[1] == 5:
            aabb, angle = self._rbox(pred_geo, gt_geo)
            parts["aabb"] = (aabb * pos).sum() / n_pos
            parts["angle"] = (angle * pos).sum() / n_pos
            geo = parts["aabb"] + self.lambda_theta * parts["angle"]
        elif gt_geo.shape[1] == 8:
            geo = (self._quad(pred_geo, gt_geo) * pos).sum() / n_pos
        else:
            raise ValueError(f"EAST geometry target needs 5 or 8 channels, got {gt_geo.shape[1]}")
        total = self.lambda_score * score + self.lambda_geo * geo
        return {"loss": total, "score": score.detach(), "geo": geo.detach(),
                **{k: v.detach() for k, v in parts.items()}}
