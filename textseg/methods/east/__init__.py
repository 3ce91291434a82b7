"""EAST: An Efficient and Accurate Scene Text Detector (Zhou et al., CVPR 2017).

Per pixel of a stride-4 map the head predicts a text score and the geometry of the
word the pixel belongs to: RBOX (distances to the four edges of a rotated rectangle
plus its angle) or QUAD (offsets to the four corners). The decoder restores one
quadrangle per confident pixel and merges them with locality-aware NMS.

This module is torch-free: it only holds the option defaults and the spec.

Document defaults (what differs from the scene-text paper and why):

* ``max_text_size`` 2048: the RBOX distances are ``sigmoid * max_text_size`` pixels of
  the network input. Scanned pages are fed whole with the long side up to 2048 px
  (``infer.resize.max_side``); at 300 DPI words reach ~1000 px and text lines nearly the
  page width, so 2048 covers every distance a page can hold, at word and line level.
  The IoU loss is scale-invariant, so the wide range costs no precision on small text.
* ``min_text_size`` 6 px: words under it are left out of the training mask. The paper's
  scene-text 10 px would drop most body text of pages scanned at 100-150 DPI (8-15 px
  tall); 6 px is where docbench itself marks words ``###`` as illegible.
* the angle lies in [-pi/4, pi/4] (the edge nearest to horizontal is "top"), not the
  paper's [-pi/2, pi/2]: each rectangle then has one description, and document text
  (angle near 0) sits far from the wrap-around at +-45 degrees.
"""

from ..contract import MethodSpec

HEAD_DEFAULTS = {
    "geometry": "rbox",     # "rbox" (4 distances + angle) or "quad" (8 corner offsets)
    "max_text_size": 2048,  # px of network input: the largest distance/offset the head can output
    "stride": 4,            # output stride; > 4 average-pools the stride-4 trunk feature
    "channels": 64,         # width of the 3x3 conv stack before the 1x1 outputs
    "num_convs": 1,         # number of 3x3 conv+BN+ReLU layers before the outputs
}

TARGET_DEFAULTS = {
    "shrink_ratio": 0.3,    # paper: each edge end moves inward by 0.3 x its shorter adjacent edge
    "min_text_size": 6,     # px; boxes with a shorter min-area-rectangle side are ignored in the mask
}

LOSS_DEFAULTS = {
    "score_loss": "bce",    # "bce" (paper: class-balanced cross-entropy) or "dice"
    "lambda_score": 1.0,
    "lambda_geo": 1.0,      # paper: lambda_g = 1
    "lambda_theta": 10.0,   # paper: lambda_theta = 10
}

#: allowed values of the options that are names (dotted config keys)
CHOICES = {
    "model.head.geometry": ("rbox", "quad"),
    "model.loss.score_loss": ("bce", "dice"),
}

DECODE_DEFAULTS = {
    "score_thresh": 0.8,    # pixels above it give candidate boxes (paper / reference code)
    "nms_thresh": 0.2,      # IoU above which boxes merge (locality pass) or suppress (NMS)
    "box_thresh": 0.1,      # drop boxes whose mean score inside is at or under it
    "min_size": 0.0,        # drop boxes whose shorter side is under it (px of network input)
}

#: the method contract (see textseg.methods.contract); --threshold sets a pixel's text score
SPEC = MethodSpec("east", __name__, HEAD_DEFAULTS, TARGET_DEFAULTS, LOSS_DEFAULTS, DECODE_DEFAULTS,
                  choices=CHOICES, threshold_key="score_thresh")
