"""Optimisers and learning-rate schedules of the training loop (``train.optimizer``,
``train.schedule``): weight decay on conv and linear weights only, warm-up then poly,
cosine or constant decay to ``min_lr``."""

import math

import torch

from .errors import TrainingError

__all__ = ["param_groups", "build_optimizer", "lr_factor", "build_scheduler"]


def param_groups(model, weight_decay):
    """Weight decay on conv/linear weights only: none on norms and biases."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model, opt):
    groups = param_groups(model, float(opt["weight_decay"]))
    name, lr = opt["name"], float(opt["lr"])
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=float(opt["momentum"]), nesterov=False)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=tuple(opt["betas"]))
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(opt["betas"]))
    raise TrainingError(f"train.optimizer.name: unknown optimizer {name!r} (sgd, adam, adamw)")


def lr_factor(step, total, sched, base_lr):
    """Multiplier of the base learning rate at ``step`` (warm-up, then poly/cosine/constant)."""
    warm = int(sched.get("warmup_steps", 0))
    if warm > 0 and step < warm:
        f0 = float(sched.get("warmup_factor", 0.001))
        return f0 + (1.0 - f0) * step / warm
    t = min(max(step - warm, 0) / max(total - warm, 1), 1.0)
    name = sched["name"]
    if name == "poly":
        f = (1.0 - t) ** float(sched.get("power", 0.9))
    elif name == "cosine":
        f = 0.5 * (1.0 + math.cos(math.pi * t))
    elif name == "constant":
        f = 1.0
    else:
        raise TrainingError(f"train.schedule.name: unknown schedule {name!r} (poly, cosine, constant)")
    floor = float(sched.get("min_lr", 0.0)) / base_lr if base_lr > 0 else 0.0
    return floor + (1.0 - floor) * f


def build_scheduler(optimizer, cfg):
    tr = cfg["train"]
    total, sched, base = int(tr["steps"]), tr["schedule"], float(tr["optimizer"]["lr"])
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, total, sched, base))
