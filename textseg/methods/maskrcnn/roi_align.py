"""RoIAlign (He et al. 2017) in plain torch, and its multi-level use on an FPN.

:func:`roi_align` has the semantics of ``torchvision.ops.roi_align`` with
``aligned=True`` and a fixed ``sampling_ratio``: a RoI (x1, y1, x2, y2) in input pixels
is scaled by ``spatial_scale`` and shifted by -0.5 (so feature pixel centres sit at
integer coordinates); each of the S x S bins averages ``sampling_ratio``^2 bilinear
samples at the centres of a regular sub-grid. A sample outside [-1, H] x [-1, W] counts
as 0; one inside that range but beyond the border reads the border value.

All RoIs of a batch are sampled at once with one ``F.grid_sample`` call (bilinear,
border padding, the out-of-range samples zeroed afterwards), then ``avg_pool2d`` averages
each bin: no Python loop over RoIs or images, and no (RoIs x samples x channels) gather
in memory.
Differentiable with respect to the features; exports to ONNX ``GridSample`` (opset 16+).
"""

import math

import torch
import torch.nn.functional as F

from .anchors import dims

__all__ = ["roi_align", "assign_levels", "multilevel_roi_align"]


def _sample_grid(rois, size, sr, scale, hw, batch):
    """Grid (1, n*m, m, 2), m = S * sr, in grid_sample's normalised coordinates
    (align_corners=False) on the stacked image of :func:`roi_align`, and the validity mask
    (1, 1, n*m, m) of each sample."""
    h, w, batch = (torch.as_tensor(v, device=rois.device).to(rois.dtype) for v in (*hw, batch))
    m = size * sr
    t = (torch.arange(m, dtype=rois.dtype, device=rois.device) + 0.5) / m        # (m,)
    x1 = rois[:, 1] * scale - 0.5
    y1 = rois[:, 2] * scale - 0.5
    bw = (rois[:, 3] - rois[:, 1]) * scale
    bh = (rois[:, 4] - rois[:, 2]) * scale
    xs = x1[:, None] + t[None, :] * bw[:, None]                                   # (n, m)
    ys = y1[:, None] + t[None, :] * bh[:, None]                                   # (n, m)
    vx = (xs >= -1) & (xs <= w)
    vy = (ys >= -1) & (ys <= h)
    gx = (2 * xs + 1) / w - 1
    row = ys + 1 + rois[:, :1].round() * (h + 2)          # row in the stacked image
    gy = (2 * row + 1) / (batch * (h + 2)) - 1
    grid = torch.stack([gx[:, None, :].expand(-1, m, m), gy[:, :, None].expand(-1, m, m)], dim=-1)
    valid = (vy[:, :, None] & vx[:, None, :]).to(rois.dtype)
    return grid.reshape(1, -1, m, 2), valid.reshape(1, 1, -1, m)


def roi_align(feat, rois, output_size, spatial_scale=1.0, sampling_ratio=2):
    """RoIAlign (``aligned=True``) of ``rois`` (K, 5) ``[batch index, x1, y1, x2, y2]`` on
    ``feat`` (B, C, H, W) -> (K, C, S, S), S = ``output_size``.

    The B images are stacked into one (C, B (H + 2), W) image, each with its first and last
    row repeated above and below it: a sample in [-1, 0) or (H - 1, H] then reads the
    border row as torchvision does, never the neighbouring image, and one grid_sample
    call serves every RoI of the batch."""
    if sampling_ratio <= 0:
        raise ValueError("roi_align: sampling_ratio must be > 0 "
                         "(the adaptive rule is not supported)")
    if rois.ndim != 2 or rois.shape[1] != 5:
        raise ValueError(f"roi_align: expected rois (K, 5), got {tuple(rois.shape)}")
    c = feat.shape[1]
    b, _, h, w = dims(feat)
    size, sr = int(output_size), int(sampling_ratio)
    stacked = F.pad(feat, (0, 0, 1, 1), mode="replicate").transpose(0, 1).flatten(1, 2)[None]
    # coordinates stay float32 (bf16/fp16 would round them to pixels or worse)
    grid, valid = _sample_grid(rois.float(), size, sr, float(spatial_scale), (h, w), b)
    samples = F.grid_sample(stacked.float(), grid, mode="bilinear", padding_mode="border",
                            align_corners=False) * valid                         # (1, C, n*m, m)
    samples = samples.to(feat.dtype)
    m = size * sr
    samples = samples.reshape(c, -1, m, m).transpose(0, 1)             # (n, C, m, m)
    return F.avg_pool2d(samples, sr)


def assign_levels(boxes, num_levels, canonical_scale=224.0, canonical_level=4, first_level=2):
    """FPN level index (0 = ``first_level``) of each box (K, 4): eq. (1) of Lin et al.,
    k = floor(k0 + log2(sqrt(area) / 224)), clamped to the available levels."""
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).clamp(min=1e-6)
    k = torch.floor(canonical_level + torch.log2(torch.sqrt(area) / canonical_scale + 1e-8))
    return (k.clamp(first_level, first_level + num_levels - 1) - first_level).long()


def multilevel_roi_align(feats, strides, rois, output_size, sampling_ratio=2,
                         canonical_scale=224.0, canonical_level=4):
    """RoIAlign of each RoI (K, 5) on the pyramid level its size picks. ``feats``: list of
    (B, C, H_l, W_l), ``strides``: their strides (powers of 2 from the first level's)."""
    first = int(round(math.log2(strides[0])))
    levels = assign_levels(rois[:, 1:], len(feats), canonical_scale, canonical_level, first)
    size = int(output_size)
    out = torch.zeros_like(rois[:, :1, None, None], dtype=feats[0].dtype)
    out = out.expand(-1, feats[0].shape[1], size, size)
    for lvl, (feat, stride) in enumerate(zip(feats, strides)):
        idx = torch.nonzero(levels == lvl).squeeze(1)
        vals = roi_align(feat, rois[idx], size, 1.0 / stride, sampling_ratio)
        out = out.index_put((idx,), vals)
    return out
