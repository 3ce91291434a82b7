"""Trunks: fuse a backbone's [C2, C3, C4, C5] into one feature map at stride 4.

Every trunk is ``Trunk(in_channels: list[int], channels: int, **options)`` with
``out_channels`` and ``forward(feats) -> Tensor`` of C2's spatial size.
"""

from .fcn import FCN
from .fpn import FPN
from .unet import UNet

#: trunk name -> class; keep in step with textseg.config.TRUNK_NAMES
TRUNKS = {"fcn": FCN, "unet": UNet, "fpn": FPN}

__all__ = ["FCN", "FPN", "TRUNKS", "UNet"]
