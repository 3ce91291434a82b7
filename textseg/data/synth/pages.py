"""Synthetic scanned document pages with exact word and line ground truth.

    page = generate_page(seed)                 # Page(image, words, lines, meta)
    write_dataset("data/synth", n=10000, seed=0, level="both", workers=4)

A page is drawn by a template (:mod:`.layout`: articles in 1-3 columns, reports
with tables, forms, letters, receipts, man pages, code listings, sparse title pages) with
real text (:mod:`.text`), rendered with FreeType (:mod:`.render`), given paper
and scanner effects (:mod:`.scan`), and labelled the ICDAR 2015 way:

* a word is a whitespace-separated token; its box hugs the token's ink (computed from the
  rasterised glyphs) with ``pad`` pixels around it, and its 4 corners go through the same
  homography as the image, clockwise from the top-left;
* a line is a text segment: a quad around a row of words with normal spacing (a run of
  text drawn as a unit, split where a gap is wider than ``line_gap`` em and twice its
  word space; runs on one baseline closer than ``line_gap`` em are merged), so a receipt
  column or a table cell gap ends a line; a vertical run is a line of its own;
* ``###`` (ignore) marks words under ``min_height`` px tall in the final image, tokens with
  no letter or digit (bullets, dashes, lone punctuation), words cut by the image edge and
  words the scan wiped out (under ``min_contrast`` grey levels in their box);
  a line is ``###`` when all its words are, when it is cut or too small.

Everything is a pure function of the seed: the same seed gives the same page on any
machine with the same fonts and Python version.
"""

from __future__ import annotations

import json
import os
import platform
from multiprocessing import get_context
from typing import NamedTuple

import cv2
import numpy as np

from ...fileio import atomic_open
from ...geometry import clip_polygon, order_clockwise, polygon_area
from ..icdar import Annotation, write_gt
from .fonts import family_names
from .layout import TEMPLATES, layout_page, new_canvas
from .scan import compose, scan
from .text import get_corpus

__all__ = ["SynthPage", "SYNTH_DEFAULTS", "generate_page", "draw_page", "write_dataset", "page_seed",
           "merge_config", "build_gt", "manifest"]

SYNTH_DEFAULTS = {
    "dpi_range": (100, 300),   # nominal scan resolution, drawn uniformly per page
    "max_side": 2000,          # long side cap of the final image (px); None for none
    "templates": dict(TEMPLATES),
    "effects": True,           # False: a clean, unrotated page (for tests and debugging)
    "rotate": 5.0,             # max rotation (degrees); typical pages are within +-2
    "p_rotate": 0.85,
    "perspective": 0.012,      # max corner shift as a fraction of the long side
    "p_perspective": 0.4,
    "p_border": 0.6,           # the page lies inside a larger scan (dark or light lid)
    "p_illumination": 0.8,
    "illumination": 0.25,      # max darkening by the uneven-light field
    "p_blur": 0.85,
    "blur_sigma": (0.2, 0.9),
    "p_gray": 0.75,
    "p_binarize": 0.07,
    "p_fax": 0.02,             # part of p_binarize: binarised at half vertical resolution
    "p_noise": 0.9,
    "noise_sd": (0.5, 3.0),
    "p_jpeg": 0.6,
    "jpeg_quality": (35, 92),
    "p_tint": 0.4,
    "p_bleed": 0.15,
    "p_stain": 0.07,
    "pad": 1.0,                # px around the ink of a word / line box
    "min_height": 6.0,         # words shorter than this (px, final image) are ###
    "min_contrast": 24,        # words spanning fewer grey levels in the final image are ###
    "line_gap": 1.2,           # runs on one baseline closer than this (em) form one line
    "jpeg_write_quality": (70, 95),  # write_dataset's JPEG quality range
    # --- v2: the looks of real forms, receipts, faxes and copies (probabilities per page)
    "p_photocopy": 0.2,        # fax/photocopy mode (pages other than receipts)
    "photocopy_dpi": (80, 200),  # its scan resolution
    "photocopy_rotate": 4.0,   # its max skew (degrees)
    "p_speckle": 0.6,          # of photocopies: isolated dots (never labelled)
    "p_dither": 0.25,          # of photocopies: ordered dither (else halftone/threshold/grey)
    "p_halftone": 0.15,        # of photocopies: halftone screen
    "p_streaks": 0.35,         # of photocopies: toner streaks
    "p_crop": 0.12,            # the page runs off the scan on 1-2 sides
    "receipt_dpi": (150, 600),  # receipts (within dpi_range low .. 2 x high; the long side
                               # stays under max_side, so long rolls come out at lower DPI)
    "p_photo": 0.35,           # of receipts: photographed (perspective, surface, shadow)
    "photo_rotate": 10.0,
    "photo_perspective": 0.07,
    "p_creases": 0.6,          # of photos: fold lines
    "p_shadow": 0.5,           # of photos: a soft shadow
    "p_thermal": 0.6,          # of receipts (not dot-matrix): uneven thermal fading
    "p_dot_matrix": 0.2,       # of receipts: dot-matrix print
    "p_letter_spacing": 0.25,  # of receipts: letter-spaced mono (one box per word)
    "p_handwriting": 0.5,      # form entries handwritten (else typed in another face)
    "p_narrow_space": 0.3,     # bold sans with narrow spaces (titles, form captions)
    "p_inverse": 0.25,         # light-on-dark bars and table headers
    "p_vertical": 0.15,        # an ID running up the page edge
    "p_display": 0.2,          # display type 30-200 px tall
    "p_hand_note": 0.1,        # a handwritten note or date somewhere on the page
    "p_text_stamp": 0.12,      # an office stamp with words (RECEIVED, a date): labelled
    "p_fax_header": 0.12,      # a fax machine's header line at the top (letters, forms, reports)
    "p_typewriter": 0.35,      # letters, forms, reports: mono text struck like a typewriter's
    "p_underline": 0.15,       # underlined headings and form/key-value labels
    "p_scribble": 0.08,        # a pen scribble somewhere, over text or not (not labelled)
}


class SynthPage(NamedTuple):
    image: np.ndarray   # RGB uint8 (H, W, 3)
    words: list         # list[Annotation]
    lines: list         # list[Annotation]
    meta: dict


def merge_config(cfg):
    """SYNTH_DEFAULTS updated with ``cfg``; unknown keys raise ValueError."""
    out = dict(SYNTH_DEFAULTS)
    for k, v in (cfg or {}).items():
        if k not in SYNTH_DEFAULTS:
            raise ValueError(f"synth config: unknown key {k!r} (known: {', '.join(SYNTH_DEFAULTS)})")
        out[k] = v
    lo, hi = out["dpi_range"]
    if not 30 <= lo <= hi <= 1200:
        raise ValueError(f"synth config: dpi_range must be 30 <= low <= high <= 1200, got {out['dpi_range']}")
    unknown = set(out["templates"]) - set(TEMPLATES)
    if unknown:
        raise ValueError(f"synth config: unknown template(s) {sorted(unknown)} (known: {', '.join(TEMPLATES)})")
    return out


def page_seed(seed, index):
    """The seed of page ``index`` of a data set made with ``seed`` (any worker count)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint32)[0])


# ---------------------------------------------------------------------------- ground truth

def _runs_to_lines(words, gap_em):
    """Group word indices into lines: runs, merged when on one baseline and close."""
    runs = {}
    for i, w in enumerate(words):
        runs.setdefault(w.run, []).append(i)
    items, vertical = [], []
    segments = []
    for idx in runs.values():
        if words[idx[0]].vertical:  # a rotated run is a line of its own
            vertical.append(sorted(idx, key=lambda i: words[i].box[1]))
            continue
        idx.sort(key=lambda i: words[i].box[0])
        # a gap much wider than the run's own spacing (aligned code, spread cells) ends a segment
        cur = [idx[0]]
        for i in idx[1:]:
            prev = words[cur[-1]]
            wide = max(gap_em * max(prev.size, words[i].size), 2.0 * max(prev.space, words[i].space))
            if words[i].box[0] - prev.box[2] > wide:
                segments.append(cur)
                cur = []
            cur.append(i)
        segments.append(cur)
    for idx in segments:
        b = np.array([words[i].box for i in idx])
        items.append([idx, words[idx[0]].baseline, b[:, 0].min(), b[:, 2].max(),
                      max(words[i].size for i in idx)])
    items.sort(key=lambda t: (round(t[1]), t[2]))
    lines = []
    for it in items:
        if lines:
            last = lines[-1]
            em = max(last[4], it[4])
            if abs(last[1] - it[1]) < 0.15 * em and 0 <= it[2] - last[3] < gap_em * em:
                last[0] = last[0] + it[0]
                last[3] = max(last[3], it[3])
                last[4] = em
                continue
        lines.append(list(it))
    return [ln[0] for ln in lines] + vertical


def _warp_boxes(boxes, H, pad):
    """(M, 4) x0,y0,x1,y1 page boxes -> (M, 4, 2) image quads, clockwise from top-left."""
    if len(boxes) == 0:
        return np.zeros((0, 4, 2), np.float32)
    b = np.asarray(boxes, np.float64)
    x0, y0, x1, y1 = b[:, 0] - pad, b[:, 1] - pad, b[:, 2] + pad, b[:, 3] + pad
    q = np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1),
                  np.stack([x0, y1], 1)], 1)
    q = cv2.perspectiveTransform(q.reshape(-1, 1, 2), np.asarray(H, np.float64)).reshape(-1, 4, 2)
    # pixel-edge coordinates, as docbench writes them: the ink spans [x0 + pad, x1 - pad)
    return order_clockwise(q)


def _quad_height(q):
    return 0.5 * (np.linalg.norm(q[:, 3] - q[:, 0], axis=1) + np.linalg.norm(q[:, 2] - q[:, 1], axis=1))


def _finalise(quads, texts, ignore, w, h, min_height, pad):
    """Apply the ### rules that depend on the final image; drop what is outside it."""
    out = []
    if len(quads) == 0:
        return out
    tol = 0.5
    cut = ((quads[..., 0] < -tol) | (quads[..., 0] > w - 1 + tol) |
           (quads[..., 1] < -tol) | (quads[..., 1] > h - 1 + tol)).any(axis=1)
    tiny = _quad_height(quads) - 2 * pad < min_height
    for q, t, ig, c, small in zip(quads, texts, ignore, cut, tiny):
        if c:
            q = clip_polygon(q, w, h)
            if polygon_area(q) < 4.0 or np.ptp(q[:, 0]) < 2 or np.ptp(q[:, 1]) < 2:
                continue  # (almost) entirely outside the image
            q = order_clockwise(q)
        else:  # within the tolerance of an edge: onto it
            q = np.stack([np.clip(q[:, 0], 0, w), np.clip(q[:, 1], 0, h)], 1)
        out.append(Annotation(q.astype(np.float32), t, bool(ig or c or small)))
    return out


def _no_alnum(text):
    return not any(ch.isalnum() for ch in text)


def _faint(quads, image, min_contrast):
    """True for each quad whose pixels span less than ``min_contrast`` grey levels (the
    word did not survive the scan: thresholded away, faded out)."""
    out = np.zeros(len(quads), bool)
    if image is None or not min_contrast or len(quads) == 0:
        return out
    g = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = g.shape
    lo = np.floor(quads.min(axis=1)).astype(int)
    hi = np.ceil(quads.max(axis=1)).astype(int)
    for i, ((x0, y0), (x1, y1)) in enumerate(zip(lo, hi)):
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        crop = g[y0:y1, x0:x1]
        out[i] = int(crop.max()) - int(crop.min()) < min_contrast or \
            np.percentile(crop, 97) - np.percentile(crop, 3) < min_contrast
    return out


def build_gt(words, H, shape, cfg, image=None):
    """Canvas words + homography -> (word annotations, line annotations). With the final
    ``image``, words that did not survive the scan (less than ``min_contrast`` grey levels
    in their box) are ``###`` too."""
    h, w = shape[:2]
    pad, mh = float(cfg["pad"]), float(cfg["min_height"])
    boxes = [wd.box for wd in words]
    texts = [wd.text for wd in words]
    wq = _warp_boxes(boxes, H, pad)
    faint = _faint(wq, image, float(cfg["min_contrast"]))
    ign = [_no_alnum(t) or bool(f) for t, f in zip(texts, faint)]
    word_ann = _finalise(wq, texts, ign, w, h, mh, pad)
    groups = _runs_to_lines(words, float(cfg["line_gap"]))
    lboxes, ltexts, lign = [], [], []
    for g in groups:
        b = np.array([words[i].box for i in g])
        lboxes.append((b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()))
        ltexts.append(" ".join(words[i].text for i in g))
        lign.append(all(ign[i] for i in g))
    lq = _warp_boxes(lboxes, H, pad)
    line_ann = _finalise(lq, ltexts, lign, w, h, mh, pad)
    # a line whose care words are all ### (tiny) is ### too
    return word_ann, line_ann


# ---------------------------------------------------------------------------- pages

def draw_page(seed, cfg=None):
    """The drawn canvas of page ``seed`` before paper and scan effects:
    ``(canvas, rng, meta, mode)`` (``generate_page`` goes on from there)."""
    cfg = merge_config(cfg)
    rng = np.random.default_rng(int(seed))
    names = list(cfg["templates"])
    p = np.array([cfg["templates"][k] for k in names], np.float64)
    template = names[int(rng.choice(len(names), p=p / p.sum()))]
    mode = "scan"
    if cfg["effects"]:
        u = rng.random()
        if template == "receipt":
            mode = "photo" if u < cfg["p_photo"] else "scan"
        elif u < cfg["p_photocopy"]:
            mode = "photocopy"
    dpi = float(rng.uniform(*cfg["dpi_range"]))
    if template == "receipt":  # till rolls are scanned or photographed close: large type
        lo, hi = cfg["dpi_range"]
        rlo, rhi = (float(np.clip(v, lo, 2 * hi)) for v in cfg["receipt_dpi"])
        dpi = float(rng.uniform(rlo, rhi))
    if mode == "photocopy":  # faxes and copies are low resolution (within the page's range)
        lo, hi = cfg["photocopy_dpi"]
        dpi = float(np.clip(rng.uniform(lo, hi), *cfg["dpi_range"]))
    cv, paper = new_canvas(rng, template, dpi, cfg["max_side"])
    cv.rng = np.random.default_rng(int(rng.integers(1 << 32)))
    meta = {"seed": int(seed), "paper": paper, "dpi": round(dpi, 1), "render_dpi": round(cv.dpi, 1)}
    meta.update(layout_page(cv, rng, get_corpus(), template, cfg))
    return cv, rng, meta, mode


def generate_page(seed, cfg=None):
    """One synthetic scanned page (deterministic for a seed). See the module doc."""
    cfg = merge_config(cfg)
    cv, rng, meta, mode = draw_page(seed, cfg)
    page, m = compose(cv, rng, cfg)
    meta.update(m)
    image, H, m = scan(page, rng, cfg, mode)
    meta.update(m)
    words, lines = build_gt(cv.words, H, image.shape, cfg, image)
    meta["width"], meta["height"] = int(image.shape[1]), int(image.shape[0])
    meta["jpeg_q"] = int(rng.integers(*cfg["jpeg_write_quality"]))
    return SynthPage(image, words, lines, meta)


def _write_one(args):
    out_dir, i, seed, level, cfg = args
    page = generate_page(page_seed(seed, i), cfg)
    ok, buf = cv2.imencode(".jpg", page.image[..., ::-1],
                           [cv2.IMWRITE_JPEG_QUALITY, page.meta["jpeg_q"]])
    if not ok:
        raise RuntimeError(f"could not encode page {i} as JPEG")
    with atomic_open(os.path.join(out_dir, "images", f"img_{i}.jpg"), "wb") as f:
        f.write(buf.tobytes())
    if level in ("word", "both"):
        write_gt(os.path.join(out_dir, "words", f"gt_img_{i}.txt"), page.words)
    if level in ("line", "both"):
        write_gt(os.path.join(out_dir, "lines", f"gt_img_{i}.txt"), page.lines)
    return i, len(page.words), page.image.shape[:2]


def manifest(cfg, n=None, seed=None, level=None):
    """What a data set was made with: the generator version, the full config and the font
    families found (``{kind: [name, ...]}``), for model cards."""
    full = merge_config(cfg)
    fams = family_names()
    return {"generator": "textseg.data.synth", "version": 2, "n": n, "seed": seed, "level": level,
            "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in full.items()},
            "fonts": {"families": sum(len(v) for v in fams.values()), "by_kind": fams},
            "python": platform.python_version()}


def write_dataset(out_dir, n, seed=0, level="word", dpi_range=(100, 300), workers=1,
                  progress=True, cfg=None):
    """Write ``n`` pages as ``images/img_{i}.jpg`` with ``words/gt_img_{i}.txt`` and/or
    ``lines/gt_img_{i}.txt`` (i from 1), and ``manifest.json`` (:func:`manifest`). Page i is
    ``generate_page(page_seed(seed, i))``, so the data set is the same for any ``workers``. Returns the number of words written."""
    if level not in ("word", "line", "both"):
        raise ValueError(f"write_dataset: level must be 'word', 'line' or 'both', got {level!r}")
    if int(n) < 1:
        raise ValueError(f"write_dataset: n must be >= 1, got {n}")
    cfg = dict(cfg or {})
    cfg["dpi_range"] = tuple(dpi_range)
    merge_config(cfg)  # validate before starting workers
    for sub in ["images"] + (["words"] if level in ("word", "both") else []) + \
            (["lines"] if level in ("line", "both") else []):
        os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
    get_corpus()  # built once here, shared by forked workers
    with atomic_open(os.path.join(out_dir, "manifest.json"), "w") as f:  # also loads the fonts once
        json.dump(manifest(cfg, int(n), int(seed), level), f, indent=1)
        f.write("\n")
    jobs = [(out_dir, i, int(seed), level, cfg) for i in range(1, int(n) + 1)]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), unit="page", desc="synth")
    total = 0
    try:
        if int(workers) <= 1:
            for _, nw, _ in map(_write_one, jobs):
                total += nw
                if bar is not None:
                    bar.update(1)
        else:
            with get_context("spawn" if os.name == "nt" else "fork").Pool(int(workers)) as pool:
                for _, nw, _ in pool.imap_unordered(_write_one, jobs, chunksize=1):
                    total += nw
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return total
