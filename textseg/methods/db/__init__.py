"""DBNet: Real-time Scene Text Detection with Differentiable Binarization
(Liao et al., AAAI 2020).

The head predicts, at full input resolution, a probability map P (text cores: every
word shrunk by D = A (1 - r^2) / L) and a threshold map T (high at the word borders,
low away from them). In training the two combine into the approximate binary map
B = 1 / (1 + exp(-k (P - T))), whose loss teaches P to be sharp where T is high. At
inference only P is needed: the decoder binarises it with a fixed threshold, takes one
region per connected component and grows each region back by D' = A' ratio / L'.

This module is torch-free: it only holds the option defaults and the spec.

Sources of the defaults:

* paper (section 3): r = 0.4, k = 50, threshold map in [0.3, 0.7], unclip ratio 1.5,
  L = L_s + alpha L_b + beta L_t with alpha = 1, beta = 10, OHEM 3:1 on L_s;
* authors' code (github.com/MhLiao/DB): head 3x3 conv (in/4 channels) + BN + ReLU,
  2x2 stride-2 deconv + BN + ReLU, 2x2 stride-2 deconv, sigmoid (``decoders/seg_detector.py``);
  min_text_size 8 px (``make_seg_detection_data.py``); loss ``L1BalanceCELoss``:
  5 x balanced BCE (prob) + 1 x dice (binary) + 10 x L1 (thresh), the weights PaddleOCR
  (``DBLoss`` alpha 5, beta 10 in its DB configs) and MMOCR (``DBModuleLoss``
  weight_prob 5, weight_thr 10) also use; test thresh 0.3, box_thresh 0.6 (ICDAR 2015),
  unclip 1.5 (also PaddleOCR's ``DBPostProcess``).
"""

from ..contract import MethodSpec

HEAD_DEFAULTS = {
    "stride": 1,            # 1 (paper: two 2x deconvs from the stride-4 trunk), 2 or 4
    "channels": 64,         # width of both branches (authors: in_channels / 4 = 256 / 4)
    "k": 50.0,              # paper: amplifying factor of the approximate binary map
}

TARGET_DEFAULTS = {
    "shrink_ratio": 0.4,    # paper: r; the shrink / dilation distance is A (1 - r^2) / L
    "thresh_min": 0.3,      # paper: the threshold map runs from 0.3 (band edge) ...
    "thresh_max": 0.7,      # ... to 0.7 (on the text border)
    "min_text_size": 8.0,   # px of input; shorter text (min-area rectangle) is ignored (authors)
}

LOSS_DEFAULTS = {
    "prob_weight": 5.0,     # balanced BCE on P (authors' code, PaddleOCR, MMOCR: 5; paper: 1)
    "binary_weight": 1.0,   # loss on B (paper alpha = 1)
    "thresh_weight": 10.0,  # L1 on T inside the dilated band (paper beta = 10)
    "ohem_ratio": 3.0,      # negatives kept per positive pixel in the BCE on P (paper)
    "binary_loss": "dice",  # "dice" (authors' code, PaddleOCR, MMOCR) or "bce" (paper text)
}

DECODE_DEFAULTS = {
    "thresh": 0.3,          # paper / authors: P above it is text
    "box_thresh": 0.6,      # drop regions whose mean P is under it (authors, ICDAR 2015)
    "unclip": "ratio",      # "ratio": D' = A' unclip_ratio / L' (paper); "inverse": the
                            # distance that the target shrink with shrink_ratio took away
    "unclip_ratio": 1.5,    # paper: r' = 1.5
    "shrink_ratio": 0.4,    # for unclip "inverse": must equal model.targets.shrink_ratio
    "min_size": 3.0,        # px of input: drop regions whose rectangle is thinner (authors),
                            # and boxes under min_size + 2 after unclipping
    "polygon": False,       # False: minimum-area quads; True: simplified outlines
    "polygon_epsilon": 0.05,  # outline simplification, a fraction of the text height
}

#: allowed values of the options that are names (dotted config keys)
CHOICES = {
    "model.loss.binary_loss": ("dice", "bce"),
    "infer.decode.unclip": ("ratio", "inverse"),
}

#: the method contract (see textseg.methods.contract); --threshold sets a region's mean
#: probability
SPEC = MethodSpec("db", __name__, HEAD_DEFAULTS, TARGET_DEFAULTS, LOSS_DEFAULTS, DECODE_DEFAULTS,
                  choices=CHOICES, threshold_key="box_thresh")
