"""Paper and scanner effects for synthetic pages.

:func:`compose` turns a drawn :class:`~textseg.data.synth.render.Canvas` into an RGB page
(paper tint and texture, graphics, ink, stamps, bleed-through from a back page, stains).
:func:`scan` then does what a scanner and its software do to the page: one perspective
warp (rotation, mild keystone, the page shifted on a larger or smaller scan area with a
dark or light lid behind it), uneven illumination, blur, grey or binarised output (with
a fax look now and then), sensor noise and JPEG artefacts. It returns the homography so
the ground truth moves exactly with the image. Every draw comes from the ``rng`` given.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import degrade as D

__all__ = ["compose", "scan"]


def _smooth(rng, h, w, cells):
    """A smooth random field in [0, 1] of shape (h, w)."""
    small = rng.random((cells, cells)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _paper_colour(rng, cfg):
    if rng.random() < cfg["p_tint"]:  # cream, greyish, bluish, greenish paper
        base = np.array(rng.choice([[252, 244, 222], [245, 240, 230], [236, 238, 240],
                                    [240, 246, 236], [250, 235, 215]]), np.float32)
        return base + rng.uniform(-8, 4, 3).astype(np.float32)
    return np.full(3, rng.uniform(238, 255), np.float32)


def _lut3(col, k=1.0):
    """(256, 1, 3) uint8 table: i -> round(col * k * i / 255) per channel."""
    i = np.arange(256, dtype=np.float32)[:, None] * (k / 255.0)
    return np.clip(np.round(i * np.asarray(col, np.float32)[None, :]), 0, 255).astype(np.uint8)[:, None, :]


def _blend(img, alpha, col):
    """img * (1 - alpha) + col * alpha with alpha an uint8 (H, W) layer (255 = opaque)."""
    a3 = cv2.merge([alpha, alpha, alpha])
    keep = cv2.multiply(img, cv2.bitwise_not(a3), scale=1.0 / 255.0)
    return cv2.add(keep, cv2.LUT(a3, _lut3(col)))


def _darken(img, alpha, col):
    """Multiply img by a tint: img * (1 - alpha * (1 - col / 255)) (translucent ink)."""
    a3 = cv2.merge([alpha, alpha, alpha])
    factor = cv2.LUT(a3, _lut3(255.0 - np.asarray(col, np.float32)))
    return cv2.multiply(img, cv2.bitwise_not(factor), scale=1.0 / 255.0)


def compose(cv, rng, cfg):
    """Canvas -> RGB uint8 page and a meta dict."""
    h, w = cv.h, cv.w
    paper = _paper_colour(rng, cfg)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = np.clip(np.round(paper), 0, 255).astype(np.uint8)
    meta = {"paper_rgb": [int(v) for v in img[0, 0]]}
    if cv.under is not None:
        img = cv2.multiply(img, cv.under, scale=1.0 / 255.0)
    ink_rgb = np.array([rng.uniform(0, 50)] * 3, np.float32)
    if rng.random() < 0.15:  # blue or brown ink
        ink_rgb = np.array(rng.choice([[20, 30, 90], [60, 35, 20], [30, 30, 30]]), np.float32)
    if cfg["effects"] and rng.random() < cfg["p_bleed"]:  # the back page showing through
        back = cv2.GaussianBlur(cv.ink[:, ::-1], (0, 0), float(rng.uniform(1.0, 2.5)))
        dy, dx = (int(v) for v in rng.integers(-40, 41, 2))
        back = np.roll(back, (dy, dx), axis=(0, 1))
        back = cv2.convertScaleAbs(back, alpha=float(rng.uniform(0.05, 0.2)))
        img = _blend(img, back, ink_rgb)
        meta["bleed_through"] = True
    accent = np.array(rng.choice([[150, 20, 20], [20, 50, 140], [20, 100, 50], [40, 40, 40]]),
                      np.float32)
    pen = np.array(rng.choice([[20, 35, 120], [15, 25, 80], [25, 25, 35], [30, 50, 150]]),
                   np.float32) + rng.uniform(-10, 10, 3).astype(np.float32)
    colours = {"ink": ink_rgb, "pen": np.clip(pen, 0, 255),
               "knock": np.clip(paper + rng.uniform(-12, 3), 0, 255)}  # text knocked out of a fill
    order = sorted(cv.layers, key=lambda n: n == "knock")  # knock-out text after the fills
    for name in order:
        img = _blend(img, cv.layers[name], colours.get(name, accent))
    if cv.over is not None:  # stamps and signatures: ink that darkens what is under it
        img = _darken(img, cv.over, cv.over_color)
    if cfg["effects"] and rng.random() < cfg["p_stain"]:
        f = img.astype(np.float32)
        _stain(f, rng)
        img = np.clip(f, 0, 255).astype(np.uint8)
        meta["stain"] = True
    return img, meta


def _stain(img, rng):
    """A coffee-ring: a brownish translucent blob with a darker rim."""
    h, w = img.shape[:2]
    r = float(rng.uniform(0.05, 0.18)) * min(h, w)
    cx, cy = float(rng.uniform(0, w)), float(rng.uniform(0, h))
    x0, x1 = int(max(cx - 1.3 * r, 0)), int(min(cx + 1.3 * r, w))
    y0, y1 = int(max(cy - 1.3 * r, 0)), int(min(cy + 1.3 * r, h))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    ang = np.arctan2(yy - cy, xx - cx)
    wobble = 1.0 + 0.08 * np.sin(3 * ang + rng.uniform(0, 6)) + 0.05 * np.sin(7 * ang + rng.uniform(0, 6))
    d = np.hypot(xx - cx, yy - cy) / (r * wobble)
    inside = np.clip(1.0 - d, 0, 1) ** 0.3 * 0.25 + np.exp(-((d - 1.0) / 0.04) ** 2)
    a = (inside * float(rng.uniform(0.08, 0.3)))[..., None]
    brown = np.array([150, 100, 50], np.float32)
    img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - a) + a * (img[y0:y1, x0:x1] * brown / 255.0)


def _homography(rng, w, h, cfg, mode="scan"):
    """Page -> scan homography and the scan size (``mode`` photo: strong perspective on a
    wide surface; photocopy: larger skews)."""
    ang = 0.0
    if rng.random() < cfg["p_rotate"] or mode == "photo":
        lim = {"photo": cfg["photo_rotate"], "photocopy": cfg["photocopy_rotate"]}.get(mode, cfg["rotate"])
        lim *= (0.6 if rng.random() < 0.7 else 1.0)  # mostly small skews
        ang = float(rng.uniform(-lim, lim))
    c, s = np.cos(np.deg2rad(ang)), np.sin(np.deg2rad(ang))
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    ctr = np.array([w / 2, h / 2], np.float32)
    rot = np.array([[c, -s], [s, c]], np.float32)
    dst = (src - ctr) @ rot.T + ctr
    persp = rng.random() < cfg["p_perspective"] or mode == "photo"
    if persp:
        k = cfg["photo_perspective"] * float(rng.uniform(0.3, 1.0)) if mode == "photo" else cfg["perspective"]
        dst += rng.uniform(-1, 1, (4, 2)).astype(np.float32) * k * max(w, h)
    # where the page lies on the scan: margins (negative = the page runs off the scan)
    if mode == "photo":
        m = rng.uniform(0.02, 0.25, 4) * np.array([w, w, w, w])
    elif rng.random() < cfg["p_border"]:
        m = rng.uniform(-0.03, 0.07, 4) * np.array([w, h, w, h])
    else:
        m = rng.uniform(-0.015, 0.0, 4) * np.array([w, h, w, h])
    cropped = rng.random() < cfg["p_crop"]
    if cropped:  # part of the page is not on the scan: words cut by the edge are ###
        for side in rng.choice(4, int(rng.integers(1, 3)), replace=False):
            m[side] = -float(rng.uniform(0.02, 0.12)) * (w if side % 2 == 0 else h)
    x_min, y_min = dst[:, 0].min(), dst[:, 1].min()
    x_max, y_max = dst[:, 0].max(), dst[:, 1].max()
    dst -= np.array([x_min - m[0], y_min - m[1]], np.float32)
    out_w, out_h = x_max - x_min + m[0] + m[2], y_max - y_min + m[1] + m[3]
    scale = 1.0
    if cfg["max_side"] and max(out_w, out_h) > cfg["max_side"]:
        scale = cfg["max_side"] / max(out_w, out_h)
        dst *= scale
    out_w, out_h = max(8, int(round(out_w * scale))), max(8, int(round(out_h * scale)))
    H = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    meta = {"rotation_deg": round(ang, 3), "perspective": bool(persp), "cropped": bool(cropped),
            "margins_px": [int(v) for v in np.round(m)], "scale": round(float(scale), 4)}
    return H, (out_w, out_h), meta


def scan(page, rng, cfg, mode="scan"):
    """RGB page -> (scanned RGB image, 3x3 homography page->image, meta). ``mode``: scan,
    photocopy (fax and copier looks, :func:`.degrade.photocopy`) or photo (a photographed
    page: perspective, a surface behind it, creases, a shadow)."""
    h, w = page.shape[:2]
    if not cfg["effects"]:
        return page, np.eye(3), {"rotation_deg": 0.0}
    meta0 = {"mode": mode}
    if mode == "photo" and rng.random() < cfg["p_creases"]:
        page = D.creases(page, rng)
        meta0["creases"] = True
    H, (ow, oh), meta = _homography(rng, w, h, cfg, mode)
    meta.update(meta0)
    bg = float(rng.choice([rng.uniform(10, 60), rng.uniform(170, 245), 255.0], p=[0.35, 0.5, 0.15]))
    meta["background"] = int(bg)
    gray = rng.random() < cfg["p_gray"] and mode != "photo" or mode == "photocopy"
    meta["gray"] = bool(gray)
    src = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY) if gray else page
    img = cv2.warpPerspective(src, H, (ow, oh), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(bg, bg, bg))
    ch = 1 if gray else 3
    if mode == "photo":
        inside = cv2.warpPerspective(np.full((h, w), 255, np.uint8), H, (ow, oh), flags=cv2.INTER_LINEAR)
        a = (inside.astype(np.float32) / 255.0)
        back = D.surface((oh, ow), rng, ch).astype(np.float32)
        a = a if ch == 1 else a[..., None]
        img = (img.astype(np.float32) * a + back * (1 - a)).astype(np.uint8)
        if rng.random() < cfg["p_shadow"]:
            img = D.shadow(img, rng)
            meta["shadow"] = True
    field = None
    if rng.random() < cfg["p_illumination"]:
        amp = float(rng.uniform(0.0, cfg["illumination"]))
        yy = np.linspace(-1, 1, oh, dtype=np.float32)[:, None]
        xx = np.linspace(-1, 1, ow, dtype=np.float32)[None, :]
        field = 1.0 - amp * (0.6 * _smooth(rng, oh, ow, int(rng.integers(2, 5))) + 0.2 * (xx ** 2 + yy ** 2))
        meta["illumination"] = round(amp, 3)
    if rng.random() < 0.5:  # paper texture: faint mottling
        tex = 1.0 + (_smooth(rng, oh, ow, int(rng.integers(20, 60))) - 0.5) * float(rng.uniform(0.005, 0.03))
        field = tex if field is None else field * tex
    if field is not None:
        img = cv2.multiply(img, field if ch == 1 else cv2.merge([field] * 3), dtype=cv2.CV_8U)
    if rng.random() < cfg["p_blur"]:
        sig = float(rng.uniform(*cfg["blur_sigma"]))
        img = cv2.GaussianBlur(img, (0, 0), sig)
        meta["blur_sigma"] = round(sig, 2)
    cv2.setRNGSeed(int(rng.integers(1 << 31)))
    if mode == "photocopy":
        img, m = D.photocopy(img if ch == 1 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), rng, cfg)
        meta.update(m)
        ch = 1
        if m["copy"] != "grey":
            img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.3, 0.7))) if rng.random() < 0.5 else img
    elif rng.random() < cfg["p_binarize"]:
        g = img if ch == 1 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        ink, paper = np.percentile(g[::5, ::5], [1, 75])  # a threshold between ink and paper
        t = float(ink + (paper - ink) * rng.uniform(0.4, 0.75))
        b = np.where(g > t, 255, 0).astype(np.uint8)
        if rng.random() < cfg["p_fax"] / max(cfg["p_binarize"], 1e-9):  # fax: half vertical res
            b = cv2.resize(b, (ow, max(1, oh // 2)), interpolation=cv2.INTER_AREA)
            b = cv2.resize(np.where(b > 127, 255, 0).astype(np.uint8), (ow, oh),
                           interpolation=cv2.INTER_NEAREST)
            meta["fax"] = True
        speck = np.zeros_like(b)
        cv2.randu(speck, 0, 10000)
        flip = speck < int(rng.uniform(0, 15))
        b[flip] = 255 - b[flip]
        img, ch = b, 1
        meta["binarized"] = round(t, 1)
    elif rng.random() < cfg["p_noise"]:
        sd = float(rng.uniform(*cfg["noise_sd"]))
        noise = np.empty((oh, ow), np.float32)
        cv2.randn(noise, 0.0, sd)
        img = cv2.add(img, noise if ch == 1 else cv2.merge([noise] * 3), dtype=cv2.CV_8U)
        meta["noise_sd"] = round(sd, 2)
    if rng.random() < cfg["p_jpeg"]:
        q = int(rng.integers(*cfg["jpeg_quality"]))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        meta["jpeg_prev_q"] = q
    if ch == 1:
        img = cv2.merge([img, img, img])
    return np.ascontiguousarray(img), H, meta
