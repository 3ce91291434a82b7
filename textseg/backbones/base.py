"""What every backbone shares: stage freezing, frozen BatchNorm, and loading torchvision weights."""

import os

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..errors import TextsegError

#: state-dict prefixes of ImageNet classifiers, ignored when loading a backbone
CLASSIFIER_PREFIXES = ("fc.", "classifier.")


class PretrainedError(TextsegError, ValueError):
    """A pretrained weights file that does not fit the backbone (one line, names the file)."""


class Backbone(nn.Module):
    """Base class: subclasses set ``out_channels`` and implement :meth:`stages`.

    ``stages()[0]`` is the stem and ``stages()[i]`` the stage whose output is C(i+1)
    (ResNet: ``layer i``). ``freeze(k)`` stops gradients in stages 0..k and keeps
    them in eval mode; ``frozen_bn`` does the same for every BatchNorm of the backbone
    (running statistics and affine parameters stay as loaded).
    """

    out_channels: list[int]

    def __init__(self):
        super().__init__()
        self.frozen_stages = -1
        self.frozen_bn = False

    def stages(self) -> list[list[nn.Module]]:
        raise NotImplementedError

    def freeze(self, frozen_stages=-1, frozen_bn=False):
        n = len(self.stages())
        if not isinstance(frozen_stages, int) or not -1 <= frozen_stages < n:
            raise ValueError(f"frozen_stages must be an int in -1..{n - 1} "
                             f"(-1 none, 0 stem, i stage i), got {frozen_stages!r}")
        self.frozen_stages, self.frozen_bn = frozen_stages, bool(frozen_bn)
        for p in self._frozen_parameters():
            p.requires_grad_(False)
        return self.train(self.training)

    def _frozen_modules(self):
        for stage in self.stages()[: self.frozen_stages + 1]:
            yield from stage
        if self.frozen_bn:
            yield from (m for m in self.modules() if isinstance(m, _BatchNorm))

    def _frozen_parameters(self):
        for m in self._frozen_modules():
            yield from m.parameters()

    def train(self, mode=True):
        super().train(mode)
        if mode:
            for m in self._frozen_modules():
                m.eval()
        return self


def init_weights(module):
    """Kaiming-normal (fan_out, ReLU) convolutions, unit BatchNorm, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _read_state_dict(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: pretrained weights file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt file, pickle with code, not a torch file
        raise PretrainedError(f"{path}: cannot read pretrained weights "
                              f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    for key in ("state_dict", "model"):  # training checkpoints wrap the weights
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise PretrainedError(f"{path}: not a state dict (expected a dict of name -> tensor)")
    if obj and all(k.startswith("module.") for k in obj):  # saved from DataParallel/DDP
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def _listing(keys, limit=6):
    keys = sorted(keys)
    more = f", ... ({len(keys)} in all)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def load_pretrained(backbone, path, name="backbone"):
    """Load a torchvision ImageNet state dict (local ``.pth``) into ``backbone``.

    Classifier keys (``fc.*``, ``classifier.*``) are ignored; every other key must
    match a backbone parameter or buffer by name and shape, and every backbone key
    must be present (``num_batches_tracked`` may be absent, as in old torchvision files).
    """
    state = {k: v for k, v in _read_state_dict(path).items()
             if not k.startswith(CLASSIFIER_PREFIXES)}
    own = backbone.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in state.items()
              if k in own and v.shape != own[k].shape]
    problems = []
    if missing:
        problems.append(f"missing keys: {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_listing(unexpected)}")
    if shapes:
        problems.append(f"shape mismatch (file vs {name}): {_listing(shapes, 3)}")
    if problems:
        raise PretrainedError(f"{path}: weights do not fit {name}: " + "; ".join(problems))
    backbone.load_state_dict(state, strict=False)
    return backbone
