"""PSENet training targets: the kernel maps and the training mask at the output stride.

Kernel i of n (i = 0 .. n-1) is every text polygon shrunk with scale
``r_i = 1 - (1 - m) * i / (n - 1)`` (m = ``min_scale``): each edge moves inward by

    d_i = min(round(Area * (1 - r_i^2) / Perimeter), max_offset)   px of network input

with round joins (pyclipper). Kernel 0 (r = 1, d = 0) is the polygon itself (but see
below for stride > 1). A kernel that a shrink makes vanish keeps the next larger
kernel's shape (the authors' code keeps the polygon); one that splits keeps its pieces. Quads and polygons of any number of points are handled
alike.

* ``kernels`` (n, h, w): 1 inside kernel i of any non-ignored polygon, else 0.
* ``mask`` (1, h, w): 0 over ``###`` (ignore) polygons, 1 elsewhere.

Map pixel (i, j) stands for the network-input point ((j + 0.5) * s - 0.5,
(i + 0.5) * s - 0.5), s the stride (pixel centres at integers), as in the decoder; it
covers input pixels j*s .. j*s + s - 1. Ground-truth coordinates are pixel indices (a box
from x = a to b covers pixels a..b), and cv2.fillPoly rounds edges to the nearest pixel,
inclusive, which is right at stride 1 (the authors' maps) but at stride s would widen
every region by up to a map pixel and close the 3-5 px gaps between words on a page.
So kernel 0 is shrunk by (s - 1) / 2 input px before it is rasterised: a map pixel is
then text when its block's centre lies inside the polygon, and the decoder's outline
(moved out by the same amount) gives back the covered pixel range. The smaller kernels
keep the wider rounding (a thin kernel rasterised by centres alone breaks into pieces
that are only 8-connected, and the expansion is 4-connected) and are cut to kernel 0.
On docbench-dev this takes the stride-4 round trip from hmean 0.946 to 0.990.
Polygons are rasterised with one ``cv2.fillPoly`` call per kernel; fillPoly fills several
contours with the even-odd rule, so polygons whose boxes overlap another's are drawn one
by one. numpy/cv2/pyclipper only (runs in DataLoader workers).
"""

import math
from typing import Tuple

import numpy as np

from textseg.geometry import annotation_polygons, bounding_boxes, shrink_polygon

from ...types import Annotations, Maps, PartConfig, Targets
from . import SPEC
from ..raster import fill_together


def _checked(cfg):
    """(kernel_num, min_scale, max_offset, stride), with PSENet's range checks."""
    head, opts, stride = SPEC.target_options(cfg)
    n = int(head["kernel_num"])
    if n < 2:
        raise ValueError(f"PSENet kernel_num must be >= 2, got {n}")
    if not 0.0 < float(opts["min_scale"]) <= 1.0:
        raise ValueError(f"PSENet min_scale must be in (0, 1], got {opts['min_scale']}")
    return n, float(opts["min_scale"]), float(opts["max_offset"]), stride


def kernel_scales(n, min_scale):
    """The scales r_i (n,) of the n kernels, 1 for kernel 0 down to ``min_scale``."""
    return 1.0 - (1.0 - min_scale) * np.arange(n) / (n - 1)


def shrink_offsets(poly, scales, max_offset):
    """Inward offsets d_i (len(scales),) int of one polygon (N, 2), in its pixels."""
    p = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    area = abs(0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    perimeter = np.sum(np.hypot(*(np.roll(p, -1, axis=0) - p).T))
    d = np.floor(area * (1.0 - np.asarray(scales) ** 2) / (perimeter + 1e-3) + 0.5)
    return np.minimum(d, max_offset).astype(int)


def kernel_polygons(poly, scales, max_offset, extra=0.0):
    """For each scale, the list of polygons of ``poly`` shrunk by d_i px (kernel 0 by
    ``extra`` px); a shrink that vanishes keeps the previous (larger) kernel's shape,
    kernel 0 the original polygon."""
    poly = np.asarray(poly, dtype=np.float32).reshape(-1, 2)
    offsets = shrink_offsets(poly, scales, max_offset).astype(np.float64)
    offsets[0] = float(extra)
    out, cache, prev = [], {}, [poly]
    for d in offsets:
        if d not in cache:
            cache[d] = shrink_polygon(poly, float(d)) if d > 0 else [poly]
        prev = cache[d] or prev
        out.append(prev)
    return out


def _overlapping(polys):
    """Boolean (M,): polygon i's bounding box overlaps another polygon's."""
    box = bounding_boxes(polys)
    if len(box) < 2:
        return np.zeros(len(box), dtype=bool)
    hit = ((box[:, None, 0] <= box[None, :, 2]) & (box[None, :, 0] <= box[:, None, 2])
           & (box[:, None, 1] <= box[None, :, 3]) & (box[None, :, 1] <= box[:, None, 3]))
    np.fill_diagonal(hit, False)
    return hit.any(axis=1)


def fill_polygons(canvas, groups, solo, value, stride):
    """Rasterise a list of polygon groups (each a list of (K, 2) arrays in input pixels):
    all groups not flagged ``solo`` in one fillPoly call, the others one by one."""
    fill_together(canvas, [p for g, s in zip(groups, solo) if not s for p in g], value, stride)
    for g in (g for g, s in zip(groups, solo) if s):
        fill_together(canvas, g, value, stride)  # a split kernel's pieces never overlap
    return canvas


def _annotation_polygons(annotations):
    polys, ignore = annotation_polygons(annotations, np.float32)
    return polys, np.array(ignore, dtype=bool)


def build_targets(annotations: Annotations, image_hw: Tuple[int, int],
                  cfg: PartConfig) -> Targets:
    """PSENet maps for one image: {'kernels': (n, h, w), 'mask': (1, h, w)} float32."""
    n, min_scale, max_offset, stride = _checked(cfg)
    h, w = math.ceil(int(image_hw[0]) / stride), math.ceil(int(image_hw[1]) / stride)
    kernels = np.zeros((n, h, w), np.uint8)
    mask = np.ones((h, w), np.uint8)
    polys, ignore = _annotation_polygons(annotations)
    if polys:
        solo = _overlapping(polys)
        fill_polygons(mask, [[p] for p, i in zip(polys, ignore) if i], solo[ignore], 0, stride)
        keep = np.nonzero(~ignore)[0]
        scales = kernel_scales(n, min_scale)
        extra = (stride - 1) / 2.0  # fillPoly's rounding, see the module docstring
        shrunk = [kernel_polygons(polys[k], scales, max_offset, extra) for k in keep]
        for i in range(n):
            fill_polygons(kernels[i], [s[i] for s in shrunk], solo[keep], 1, stride)
        kernels[1:] &= kernels[0]  # nested, as the decoder makes them
    return {"kernels": kernels.astype(np.float32), "mask": mask[None].astype(np.float32)}


def targets_to_maps(targets: Targets, cfg: PartConfig) -> Maps:
    """The maps a perfect head outputs in eval mode for these targets (what the decoder
    reads): ``{'kernels': (n, h, w)}`` probabilities, 1 inside each kernel, 0 outside."""
    return {"kernels": np.asarray(targets["kernels"], dtype=np.float32).copy()}
