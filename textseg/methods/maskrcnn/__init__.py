"""Mask R-CNN (He et al., ICCV 2017) with an FPN (Lin et al., CVPR 2017): the instance baseline.

The "head" is a whole two-stage detector on the FPN levels: P6 (max-pooled P5), anchors
and an RPN on P2..P6, multi-level RoIAlign on P2..P5, a two-FC box head (text vs
background + class-specific box regression) and a four-conv mask head (28 x 28). One
class: text. Anchors, NMS and RoIAlign are plain torch (torchvision's ops do not load).

How it plugs into textseg (it differs from the dense methods in three ways):

* ``INPUT = "pyramid"``: the model passes [P2, P3, P4, P5] (``trunk.forward_pyramid``)
  to the head, not the trunk's fused stride-4 map.
* ``NEEDS_TARGETS = True``: in training the model calls ``head(pyramid, targets)``; the
  head matches and samples anchors and proposals itself and returns predictions paired
  with their targets, which :class:`loss.Loss` turns into the loss.
* ``OUTPUT_KIND = "instances"``: in eval mode the head returns fixed-size tensors
  ``boxes`` (B, D, 4), ``scores`` (B, D) and ``masks`` (B, D, 28, 28) (probabilities),
  D = ``detections_per_image``, padded with score 0; nothing may crop them spatially.

This module is torch-free: it only holds the option defaults, the flags and the spec.

Document defaults (what differs from the COCO recipe and why):

* anchor sizes 16..256 on P2..P6 (COCO: 32..512) with two scales per octave (1, sqrt 2):
  body text at 100-300 DPI is 8-30 px tall, so words have sqrt(area) of 15-100 px; a
  single scale per octave leaves many words at IoU 0.5 of every anchor, under the 0.7
  positive threshold.
* aspect ratios h/w 1/8, 1/4, 1/2, 1 (COCO: 1/2, 1, 2): words are wider than tall.
* more proposals and detections (3000 pre-NMS per level, 2000 post-NMS, 1000
  detections; COCO: 1000/1000/100): a page holds hundreds to thousands of words.
"""

from ..contract import MethodSpec

HEAD_DEFAULTS = {
    "stride": 4,                     # stride of P2, the finest level (the model contract's)
    "anchor_sizes": [16, 32, 64, 128, 256],  # px, one per level P2..P6
    "anchor_scales": [1.0, 1.4142],  # multipliers of each size (octave steps)
    "anchor_ratios": [0.125, 0.25, 0.5, 1.0],  # h / w
    "rpn_pre_nms_topk": 3000,        # per level and image, by objectness
    "rpn_post_nms_topk": 2000,       # per image, over all levels
    "rpn_nms_thresh": 0.7,
    "rpn_min_size": 0.0,             # px: proposals with a shorter side are dropped
    "rpn_batch_per_image": 256,      # sampled anchors per image
    "rpn_positive_fraction": 0.5,
    "rpn_pos_iou": 0.7,              # anchor IoU >= it: positive (plus each box's best anchors)
    "rpn_neg_iou": 0.3,              # anchor IoU < it: negative; in between: ignored
    "roi_batch_per_image": 512,      # sampled proposals per image
    "roi_positive_fraction": 0.25,
    "roi_fg_iou": 0.5,               # proposal IoU >= it: text, else background
    "ignore_ioa": 0.5,               # intersection / own area with a ### box >= it: not a negative
    "canonical_scale": 224.0,        # FPN level of a RoI: 4 + log2(sqrt(area) / 224), in 2..5
    "box_pool": 7,                   # RoIAlign size for the box head
    "mask_pool": 14,                 # RoIAlign size for the mask head (mask side = 2x)
    "sampling_ratio": 2,
    "fc_dim": 1024,                  # box head: two fully connected layers of this width
    "mask_channels": 256,            # mask head: 3x3 convs of this width
    "mask_convs": 4,
    "box_weights": [10.0, 10.0, 5.0, 5.0],  # box-head delta weights (x, y, w, h)
    "box_score_thresh": 0.05,        # eval: detections below it are dropped before NMS
    "box_nms_thresh": 0.5,
    "detections_per_image": 1000,    # D: fixed number of eval outputs (padded with score 0)
}

TARGET_DEFAULTS = {
    "max_instances": 1000,           # K: boxes per image in the fixed-size targets
    "min_size": 2.0,                 # px: instances with a shorter box side become don't care
}

LOSS_DEFAULTS = {
    "lambda_rpn_cls": 1.0,
    "lambda_rpn_box": 1.0,
    "lambda_cls": 1.0,
    "lambda_box": 1.0,
    "lambda_mask": 1.0,
    "rpn_beta": 0.1111,              # smooth-L1 beta of the RPN box loss (0: L1)
    "box_beta": 0.1111,              # smooth-L1 beta of the box-head loss (0: L1)
}

DECODE_DEFAULTS = {
    "score_thresh": 0.5,             # detections at or under it are dropped
    "mask_thresh": 0.5,              # pasted mask pixels above it are text
    "polygon": False,                # True: simplified contour; False: min-area quad
    "approx_epsilon": 1.0,           # px: cv2.approxPolyDP tolerance for polygon=True
    "min_area": 4.0,                 # px^2: smaller masks are dropped
}

INPUT = "pyramid"
OUTPUT_KIND = "instances"
NEEDS_TARGETS = True

#: the method contract (see textseg.methods.contract); --threshold sets a detection's
#: class score
SPEC = MethodSpec("maskrcnn", __name__, HEAD_DEFAULTS, TARGET_DEFAULTS, LOSS_DEFAULTS,
                  DECODE_DEFAULTS, threshold_key="score_thresh", input=INPUT,
                  needs_targets=NEEDS_TARGETS, output_kind=OUTPUT_KIND)
