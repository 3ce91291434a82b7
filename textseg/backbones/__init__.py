"""Backbones: plain-torch ResNets and VGG-16 returning [C2, C3, C4, C5] (strides 4..32).

Parameter names are torchvision's, so an ImageNet ``.pth`` saved by torchvision
loads with every backbone key matched (see :func:`base.load_pretrained`).
"""

from .base import Backbone, PretrainedError, load_pretrained
from .resnet import resnet18, resnet34, resnet50, resnet101
from .vgg import vgg16, vgg16_bn

#: backbone name -> factory (no arguments); keep in step with textseg.config.BACKBONE_NAMES
BACKBONES = {
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "vgg16": vgg16,
    "vgg16_bn": vgg16_bn,
}

__all__ = ["BACKBONES", "Backbone", "PretrainedError", "build_backbone", "load_pretrained"]


def build_backbone(name, pretrained=None, frozen_stages=-1, frozen_bn=False, width=1.0,
                   stem="standard"):
    """A backbone by name, optionally with local ImageNet weights, frozen as asked.

    ``pretrained``: ``None`` or the path of a torchvision state dict (``.pth``).
    ``frozen_stages``: -1 trains everything; k freezes the stem (0) and stages 1..k.
    ``frozen_bn``: every BatchNorm keeps its statistics and affine parameters.
    ``width``: channel multiplier of the ResNets (1.0 = torchvision's; pretrained needs 1.0).
    ``stem``: the ResNets' stem, ``standard`` (torchvision's) or ``fast`` (two 3x3/2
    convolutions, no pool: a third of the stem's work; pretrained needs ``standard``).
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose from {', '.join(BACKBONES)}")
    if stem != "standard":
        if not name.startswith("resnet"):
            raise ValueError(f"model.backbone.stem applies to the ResNets only, not {name!r}")
        if pretrained:
            raise ValueError("model.backbone.pretrained: ImageNet weights need stem: standard")
    kw = {"stem": stem} if name.startswith("resnet") else {}
    if float(width) != 1.0:
        if not name.startswith("resnet"):
            raise ValueError(f"model.backbone.width applies to the ResNets only, not {name!r}")
        if pretrained:
            raise ValueError("model.backbone.pretrained: ImageNet weights need width 1.0")
        net = BACKBONES[name](width=float(width), **kw)
    else:
        net = BACKBONES[name](**kw)
    if pretrained:
        load_pretrained(net, str(pretrained), name)
    return net.freeze(frozen_stages, frozen_bn)
