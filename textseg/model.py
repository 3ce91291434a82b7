"""Model assembly: backbone -> trunk -> method head, from a config.

Plain tables name -> factory/class: :data:`BACKBONES`, :data:`TRUNKS`; a method's head
class and how it is wired come from its spec (``textseg.methods.spec(method)``):
``head_class()``, ``input`` ("map": the trunk's stride-4 map, or "pyramid": [P2..P5]
from ``trunk.forward_pyramid``, FPN only), ``needs_targets`` (in training the head is
called as ``head(features, targets)``) and ``output_kind`` ("maps" are cropped to the
input size, "instances" returned as they are).
"""

from typing import Optional, Sequence

import torch.nn.functional as F
from torch import nn

from .backbones import BACKBONES, build_backbone
from .methods import spec
from .trunks import TRUNKS

__all__ = ["BACKBONES", "PAD_MULTIPLE", "TRUNKS", "TextSegModel", "build_model", "build_trunk",
           "count_parameters"]

#: the input is zero-padded (bottom/right) to a multiple of this (the C5 stride)
PAD_MULTIPLE = 32


def build_trunk(name: str, in_channels: Sequence[int], channels: int,
                variant: Optional[str] = None, fc: bool = False,
                pyramid: bool = False, fuse_kernel: int = 3) -> nn.Module:
    """A trunk by name; ``variant`` and ``fc`` belong to FCN only, ``fuse_kernel`` (the
    kernel of the conv that fuses P2..P5, 3 or 1) to FPN only.

    ``pyramid=True``: the model will use ``forward_pyramid`` only (FPN without its fusion conv).
    """
    if name not in TRUNKS:
        raise ValueError(f"unknown trunk {name!r}; choose from {', '.join(TRUNKS)}")
    if pyramid:
        if name != "fpn":
            raise ValueError(f"trunk {name!r} has no pyramid levels; this method needs the fpn trunk")
        return TRUNKS[name](list(in_channels), int(channels), fuse=False)
    options = {}
    if variant is not None:
        options["variant"] = variant
    if fc:
        options["fc"] = True
    if options and name != "fcn":
        raise ValueError(f"trunk {name!r} takes no {'/'.join(options)} option (fcn only)")
    if int(fuse_kernel) != 3:
        if name != "fpn":
            raise ValueError(f"model.trunk.fuse_kernel applies to the fpn trunk only, not {name!r}")
        options["fuse_kernel"] = int(fuse_kernel)
    return TRUNKS[name](list(in_channels), int(channels), **options)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``module`` (only those with requires_grad if asked)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


class TextSegModel(nn.Module):
    """backbone -> trunk -> head; any input size.

    ``forward(x, targets=None)``: x (B, 3, H, W) is zero-padded at the bottom/right to a
    multiple of 32, and every output map of the head is cropped to ceil(H/s) x ceil(W/s),
    where s = ``head.stride``; the result is the head's dict of maps. ``input``,
    ``needs_targets`` and ``output_kind`` are the method's flags (module docstring).
    """

    def __init__(self, backbone, trunk, head, input="map", needs_targets=False, output_kind="maps"):
        super().__init__()
        if input not in ("map", "pyramid") or output_kind not in ("maps", "instances"):
            raise ValueError(f"unknown head input {input!r} or output kind {output_kind!r}")
        self.backbone = backbone
        self.trunk = trunk
        self.head = head
        self.input, self.needs_targets, self.output_kind = input, bool(needs_targets), output_kind

    @property
    def stride(self):
        return int(self.head.stride)

    @property
    def output_names(self):
        return tuple(self.head.output_names)

    def forward(self, x, targets=None):
        h, w = x.shape[-2], x.shape[-1]
        m, s = PAD_MULTIPLE, self.stride
        # pad by m - 1 and slice to the next multiple of m: no shape-dependent Python
        # branch or pad amount, so a traced/ONNX graph pads every input size correctly
        x = F.pad(x, (0, m - 1, 0, m - 1))[..., : (h + m - 1) // m * m, : (w + m - 1) // m * m]
        maps = self.forward_padded(x, targets)
        if self.output_kind == "instances":
            return maps
        oh, ow = (h + s - 1) // s, (w + s - 1) // s
        return {k: v[..., :oh, :ow] for k, v in maps.items()}

    def forward_padded(self, x, targets=None):
        """:meth:`forward` for an input whose H and W are already multiples of
        :data:`PAD_MULTIPLE`: no padding, and the maps are not cropped (the ONNX export pads
        once, itself)."""
        feats = self.backbone(x)
        feats = self.trunk.forward_pyramid(feats) if self.input == "pyramid" else self.trunk(feats)
        if self.needs_targets and targets is not None:
            return self.head(feats, targets)
        return self.head(feats)


def build_model(cfg: dict, load_pretrained: bool = True) -> TextSegModel:
    """The model a merged config (see :func:`textseg.config.load_config`) describes.

    ``load_pretrained=False`` skips reading ``model.backbone.pretrained``: use it when
    the weights come from a checkpoint anyway (the file may not exist there).
    """
    m = cfg["model"]
    b, t = m["backbone"], m["trunk"]
    method = spec(m["head"]["method"])
    backbone = build_backbone(b["name"], pretrained=b.get("pretrained") if load_pretrained else None,
                              frozen_stages=b.get("frozen_stages", -1),
                              frozen_bn=b.get("frozen_bn", False), width=b.get("width", 1.0),
                              stem=b.get("stem", "standard"))
    trunk = build_trunk(t["name"], backbone.out_channels, t["channels"], t.get("variant"),
                        t.get("fc", False), pyramid=method.input == "pyramid",
                        fuse_kernel=t.get("fuse_kernel", 3))
    head_opts = {k: v for k, v in m["head"].items() if k != "method"}
    head = method.head_class()(trunk.out_channels, **head_opts)
    return TextSegModel(backbone, trunk, head, method.input, method.needs_targets,
                        method.output_kind)
