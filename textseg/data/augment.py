"""Polygon-aware training augmentation.

Every geometric transform is a 3x3 homography applied to the image and to the polygons
together (:func:`warp`). :class:`TrainAugment` composes scale, rotation and perspective
with the crop window into ONE homography and warps straight into the crop-sized output,
so a 4000 px page costs no more than a 512 px crop. Polygons cut by the output border are
clipped and marked don't-care (``ignore=True``): a box that no longer matches its word is
worse than no box. Polygons entirely outside are dropped.

All randomness comes from the ``np.random.Generator`` passed in, so a fixed generator
state gives the same sample (the training stream relies on it). numpy/OpenCV/shapely only.
"""

import cv2
import numpy as np

from ..geometry import min_area_quad, order_clockwise, to_shapely
from .icdar import Annotation

__all__ = ["TrainAugment", "warp", "fit_matrix", "scale_matrix", "rotation_matrix",
           "perspective_matrix", "random_scale", "random_rotate", "random_perspective",
           "random_crop", "pad_to", "color_jitter", "gaussian_blur", "gaussian_noise",
           "jpeg_compress", "transform_annotations", "AUGMENT_DEFAULTS"]

AUGMENT_DEFAULTS = {"scale": [0.5, 2.0], "rotate": 5.0, "perspective": 0.02, "color_jitter": 0.3,
                    "blur": 0.2, "noise": 0.2, "jpeg": 0.2, "crop_text_prob": 0.9}


# ---------------------------------------------------------------------------- matrices

def scale_matrix(s):
    return np.array([[s, 0, 0], [0, s, 0], [0, 0, 1]], np.float64)


def _translate(tx, ty):
    return np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], np.float64)


def rotation_matrix(deg, center):
    """Rotation by ``deg`` degrees (counter-clockwise on screen, as cv2) about ``center``."""
    m = np.eye(3)
    m[:2] = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), float(deg), 1.0)
    return m


def perspective_matrix(w, h, rng, strength):
    """Random keystone: each image corner moves up to ``strength * max(w, h)`` px."""
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = src + rng.uniform(-1, 1, (4, 2)).astype(np.float32) * float(strength) * max(w, h)
    return cv2.getPerspectiveTransform(src, dst).astype(np.float64)


def _corners(w, h):
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)


def _apply(H, pts):
    p = np.asarray(pts, np.float64).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(p, np.asarray(H, np.float64)).reshape(-1, 2)


def fit_matrix(H, w, h):
    """``H`` followed by the translation that puts the warped image at the origin, and the
    output size that holds all of it."""
    c = _apply(H, _corners(w, h))
    x0, y0 = np.floor(c.min(axis=0))
    x1, y1 = np.ceil(c.max(axis=0))
    return _translate(-x0, -y0) @ H, (int(max(1, x1 - x0)), int(max(1, y1 - y0)))


# ---------------------------------------------------------------------------- warping

def _clip_to_rect(poly, w, h):
    """Intersection of a polygon with [0, w] x [0, h] as a quad (or None if empty)."""
    from shapely.geometry import box

    g = to_shapely(poly).intersection(box(0, 0, w, h))
    if g.is_empty or g.area < 1.0:
        return None
    if g.geom_type != "Polygon":
        g = max(getattr(g, "geoms", [g]), key=lambda x: x.area)
        if g.geom_type != "Polygon":
            return None
    pts = np.asarray(g.exterior.coords, np.float64)[:-1]
    q = order_clockwise(pts) if len(pts) == 4 else min_area_quad(pts)
    q[:, 0] = np.clip(q[:, 0], 0, w)
    q[:, 1] = np.clip(q[:, 1], 0, h)
    return q.astype(np.float32)


def transform_annotations(annotations, H, out_w, out_h, tol=1.0, min_height=0.0):
    """Move annotations by ``H`` into an ``out_w`` x ``out_h`` image: quads come back
    clockwise from the top-left; cut ones are clipped and ignored; ones entirely outside
    are dropped; quads shorter than ``min_height`` px are ignored."""
    if not annotations:
        return []
    sizes = [len(a.polygon) for a in annotations]
    pts = _apply(H, np.concatenate([np.asarray(a.polygon, np.float64).reshape(-1, 2)
                                    for a in annotations]))
    polys = np.split(pts, np.cumsum(sizes)[:-1])
    lo = np.array([p.min(axis=0) for p in polys])
    hi = np.array([p.max(axis=0) for p in polys])
    outside = (hi[:, 0] < 0) | (lo[:, 0] > out_w) | (hi[:, 1] < 0) | (lo[:, 1] > out_h)
    cut = (lo[:, 0] < -tol) | (lo[:, 1] < -tol) | (hi[:, 0] > out_w + tol) | (hi[:, 1] > out_h + tol)
    quad = np.array(sizes) == 4
    keep = ~outside & ~cut
    p4 = np.zeros((len(annotations), 4, 2), np.float32)
    if (keep & quad).any():  # all whole quads at once: order, clamp, height
        idx = np.flatnonzero(keep & quad)
        q = order_clockwise(np.stack([polys[i] for i in idx]))
        q[..., 0] = np.clip(q[..., 0], 0, out_w)
        q[..., 1] = np.clip(q[..., 1], 0, out_h)
        p4[idx] = q
    hgt = 0.5 * (np.linalg.norm(p4[:, 3] - p4[:, 0], axis=1) + np.linalg.norm(p4[:, 2] - p4[:, 1], axis=1))
    out = []
    for i, a in enumerate(annotations):
        if outside[i]:
            continue
        ignore = bool(a.ignore)
        if cut[i]:
            p = _clip_to_rect(polys[i], out_w, out_h)
            if p is None:
                continue
            ignore = True
        elif quad[i]:
            p = p4[i]
            ignore = ignore or bool(min_height > 0 and hgt[i] < min_height)
        else:
            p = np.asarray(polys[i], np.float32)
            p[:, 0] = np.clip(p[:, 0], 0, out_w)
            p[:, 1] = np.clip(p[:, 1], 0, out_h)
        out.append(Annotation(p, a.text, ignore))
    return out


def warp(image, annotations, H, out_size, pad_value=0, interpolation=cv2.INTER_LINEAR,
         min_height=0.0):
    """Warp image and annotations by the homography ``H`` into ``out_size`` (w, h)."""
    ow, oh = int(out_size[0]), int(out_size[1])
    pv = (pad_value,) * 3 if np.isscalar(pad_value) else tuple(pad_value)
    out = cv2.warpPerspective(image, np.asarray(H, np.float64), (ow, oh), flags=interpolation,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=pv)
    return out, transform_annotations(annotations, H, ow, oh, min_height=min_height)


# ---------------------------------------------------------------------------- single transforms

def _log_uniform(rng, lo, hi):
    lo, hi = float(lo), float(hi)
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if hi > lo else lo


def random_scale(image, annotations, rng, lo=0.5, hi=2.0):
    h, w = image.shape[:2]
    H, size = fit_matrix(scale_matrix(_log_uniform(rng, lo, hi)), w, h)
    return warp(image, annotations, H, size)


def random_rotate(image, annotations, rng, max_deg=5.0):
    """Rotate by up to ``max_deg`` degrees; the output grows to hold the whole image."""
    h, w = image.shape[:2]
    H, size = fit_matrix(rotation_matrix(rng.uniform(-max_deg, max_deg), (w / 2, h / 2)), w, h)
    return warp(image, annotations, H, size)


def random_perspective(image, annotations, rng, strength=0.02):
    h, w = image.shape[:2]
    H, size = fit_matrix(perspective_matrix(w, h, rng, strength), w, h)
    return warp(image, annotations, H, size)


def _crop_origin(rng, annotations, H, w, h, size, text_prob):
    """Top-left of a ``size`` window in the space of ``H`` (the warped image)."""
    c = _apply(H, _corners(w, h))
    bx0, by0 = c.min(axis=0)
    bx1, by1 = c.max(axis=0)
    lo_x, hi_x = sorted((bx0, bx1 - size))
    lo_y, hi_y = sorted((by0, by1 - size))
    care = [a for a in annotations if not a.ignore]
    if care and rng.random() < text_prob:
        a = care[int(rng.integers(len(care)))]
        cx, cy = _apply(H, a.polygon).mean(axis=0)
        x0 = float(np.clip(cx - rng.uniform(0.1, 0.9) * size, lo_x, hi_x))
        y0 = float(np.clip(cy - rng.uniform(0.1, 0.9) * size, lo_y, hi_y))
        return x0, y0
    return float(rng.uniform(lo_x, hi_x)), float(rng.uniform(lo_y, hi_y))


def random_crop(image, annotations, rng, size, text_prob=0.9, pad_value=0):
    """A ``size`` x ``size`` window, around a random care word with probability
    ``text_prob``; a smaller image is padded."""
    h, w = image.shape[:2]
    x0, y0 = _crop_origin(rng, annotations, np.eye(3), w, h, size, text_prob)
    return warp(image, annotations, _translate(-round(x0), -round(y0)), (size, size), pad_value,
                interpolation=cv2.INTER_NEAREST)


def pad_to(image, annotations, size, pad_value=0):
    """Pad (bottom/right) to at least ``size`` x ``size``; annotations unchanged."""
    h, w = image.shape[:2]
    if h >= size and w >= size:
        return image, list(annotations)
    out = np.full((max(h, size), max(w, size), 3), pad_value, np.uint8)
    out[:h, :w] = image
    return out, list(annotations)


# ---------------------------------------------------------------------------- photometric

def color_jitter(image, rng, strength=0.3):
    """Brightness, contrast, saturation and per-channel gain, each up to ``strength``."""
    if strength <= 0:
        return image
    b = 1.0 + rng.uniform(-strength, strength)
    c = 1.0 + rng.uniform(-strength, strength)
    sat = 1.0 + rng.uniform(-strength, strength)
    gain = 1.0 + rng.uniform(-strength, strength, 3) * 0.3
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    img = cv2.addWeighted(image, sat, cv2.merge([gray, gray, gray]), 1.0 - sat, 0.0)
    mean = float(gray.mean())
    x = np.arange(256, dtype=np.float64)[:, None]
    lut = ((x - mean) * c + mean) * b * gain[None, :]  # (256, 3): one affine map per channel
    lut = np.clip(np.round(lut), 0, 255).astype(np.uint8).reshape(256, 1, 3)
    return cv2.LUT(img, lut)


def gaussian_blur(image, rng, max_sigma=1.5):
    return cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.3, max_sigma)))


def gaussian_noise(image, rng, max_sd=8.0):
    sd = float(rng.uniform(1.0, max_sd))
    n = rng.standard_normal(image.shape[:2], dtype=np.float32) * sd
    return cv2.add(image, cv2.merge([n, n, n]), dtype=cv2.CV_8U)


def jpeg_compress(image, rng, lo=30, hi=90):
    q = int(rng.integers(lo, hi + 1))
    ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy() if ok else image


# ---------------------------------------------------------------------------- composed

class TrainAugment:
    """``(image, annotations, rng) -> (crop_size x crop_size RGB uint8, annotations)``.

    cfg keys (the config's ``data.augment``): ``scale`` [lo, hi] (log-uniform),
    ``rotate`` (max degrees), ``perspective`` (max corner shift / long side),
    ``color_jitter`` (strength), ``blur``, ``noise``, ``jpeg`` (probabilities) and
    ``crop_text_prob`` (probability that the crop is centred near a care word).
    ``min_height``: polygons shorter than this (px, after scaling) become don't-care.
    """

    def __init__(self, cfg, crop_size, pad_value=0, min_height=4.0):
        c = dict(AUGMENT_DEFAULTS)
        unknown = set(cfg or {}) - set(c)
        if unknown:
            raise ValueError(f"augment: unknown option(s) {sorted(unknown)} (known: {', '.join(c)})")
        c.update(cfg or {})
        lo, hi = (float(v) for v in c["scale"])
        if not 0 < lo <= hi:
            raise ValueError(f"augment: scale must be [lo, hi] with 0 < lo <= hi, got {c['scale']}")
        self.cfg, self.size = c, int(crop_size)
        self.scale = (lo, hi)
        self.pad_value, self.min_height = pad_value, float(min_height)

    def matrix(self, w, h, rng):
        """(scale, homography of rotation and perspective about the centre of the image
        scaled to ``w * scale`` x ``h * scale``)."""
        c = self.cfg
        s = _log_uniform(rng, *self.scale)
        H = np.eye(3)
        if c["rotate"] > 0:
            H = rotation_matrix(rng.uniform(-c["rotate"], c["rotate"]), (w * s / 2, h * s / 2))
        if c["perspective"] > 0:
            H = perspective_matrix(w * s, h * s, rng, c["perspective"]) @ H
        return s, H

    def __call__(self, image, annotations, rng):
        h, w = image.shape[:2]
        s, R = self.matrix(w, h, rng)
        S = scale_matrix(s)
        src = image
        if s < 0.8:  # shrink with area averaging first: thin strokes must not alias away
            sw, sh = max(1, round(w * s)), max(1, round(h * s))
            src = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
            S = np.diag([sw / w, sh / h, 1.0])
            M = R
        else:
            M = R @ S
        x0, y0 = _crop_origin(rng, annotations, R @ S, w, h, self.size, self.cfg["crop_text_prob"])
        T = _translate(-x0, -y0)
        pv = (self.pad_value,) * 3 if np.isscalar(self.pad_value) else tuple(self.pad_value)
        out = cv2.warpPerspective(src, T @ M, (self.size, self.size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=pv)
        anns = transform_annotations(annotations, T @ R @ S, self.size, self.size,
                                     min_height=self.min_height)
        c = self.cfg
        if c["color_jitter"] > 0:
            out = color_jitter(out, rng, c["color_jitter"])
        if rng.random() < c["blur"]:
            out = gaussian_blur(out, rng)
        if rng.random() < c["noise"]:
            out = gaussian_noise(out, rng)
        if rng.random() < c["jpeg"]:
            out = jpeg_compress(out, rng)
        return np.ascontiguousarray(out), anns
