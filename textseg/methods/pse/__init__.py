"""PSENet: Shape Robust Text Detection with Progressive Scale Expansion Network
(Wang et al., CVPR 2019).

The head predicts ``kernel_num`` segmentation maps per pixel: kernel 0 is the whole text
region, kernels 1.. are the same regions shrunk more and more (the last, smallest, keeps
``min_scale`` of the size). The smallest kernels separate words that touch; the decoder
labels them and grows each label back, kernel by kernel, to the full text region
(progressive scale expansion, breadth first: a contested pixel goes to the label that
reaches it first).

This module is torch-free: it only holds the option defaults and the spec.

Sources of the defaults: the paper (n = 7 kernels, m = 0.4, loss 0.7 text + 0.3 kernels,
OHEM 3:1) and the authors' code (github.com/whai362/PSENet: head 3x3 conv 256 + BN +
ReLU + 1x1 conv; shrink offset capped at 20 px; test ``min_area`` 16, ``min_score`` 0.85,
kernel threshold 0.5 on the sigmoid).
"""

from ..contract import MethodSpec

HEAD_DEFAULTS = {
    "kernel_num": 7,        # paper: n = 7 (kernel 0 is the text region)
    "stride": 4,            # 4 (the trunk's stride); 2 or 1 upsample the logits bilinearly
    "channels": 256,        # width of the 3x3 conv before the 1x1 output (reference: 256)
    "num_convs": 1,         # 3x3 conv+BN+ReLU layers before the output
}

TARGET_DEFAULTS = {
    "min_scale": 0.4,       # paper: m, the scale of the smallest kernel
    "max_offset": 20.0,     # px of network input; the reference caps each shrink at 20 px
}

LOSS_DEFAULTS = {
    "text_weight": 0.7,     # paper: lambda = 0.7
    "kernel_weight": 0.3,   # 1 - lambda
    "ohem_ratio": 3.0,      # negatives kept per positive pixel (per image) in the text loss
    "kernel_mask": "pred",  # "pred": pixels the net calls text (paper, original code);
                            # "gt": ground-truth text pixels (the authors' newer code)
}

DECODE_DEFAULTS = {
    "thresh": 0.5,          # kernel and text pixels: probability above it (logit > 0)
    "box_thresh": 0.85,     # drop regions whose mean text probability is under it
    "min_area": 16.0,       # px^2 of network input: smaller kernels/regions are dropped
    "scale_to_input": False,  # upsample the maps to stride 1 before decoding (reference)
    "polygon": False,       # False: minimum-area quads; True: simplified contours
    "polygon_epsilon": 0.05,  # contour simplification, as a fraction of the text height
}

#: the method contract (see textseg.methods.contract); --threshold sets a region's mean
#: text probability
SPEC = MethodSpec("pse", __name__, HEAD_DEFAULTS, TARGET_DEFAULTS, LOSS_DEFAULTS, DECODE_DEFAULTS,
                  threshold_key="box_thresh")
