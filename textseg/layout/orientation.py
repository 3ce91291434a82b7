"""Page orientation (0 / 90 / 180 / 270) and skew from the image and its word polygons.

    from textseg.layout.orientation import detect_orientation, upright_image, to_input_frame
    angle, skew, confidence = detect_orientation(image, words)

``angle`` is the reading direction of the page's text in the image, in degrees (image
coordinates, y down): 0 upright, 90 text running top to bottom (the page was turned
clockwise), 180 upside down, 270 text running bottom to top. ``skew`` (degrees) is the
remaining small angle: lines run at ``angle + skew``. :func:`upright_image` turns the
image so that its text reads left to right; :func:`to_upright_frame` and
:func:`to_input_frame` map polygons between the two frames (exact, multiples of 90).

The method, in two steps:

1. **Axis (0/180 vs 90/270) and skew, from the boxes and the ink.** Words are elongated
   along their reading direction (a word is longer than tall far more often than not;
   single letters weigh little), so the length-weighted mean axis of the long edges of
   elongated words (doubled angles, sign-free) is the text axis. Its distance to the
   nearest multiple of 90 degrees is the skew; the agreement of the words with it is the
   first confidence. With the image, projection profiles check it (:func:`ink_axis`: text
   lines make the ink's profile across them alternate sharply, along them it stays
   smooth): a detector's words on a page turned sideways are fragments that need not lie
   along the text, and where the profiles clearly disagree with the words they win.
2. **Sense (0 vs 180, 90 vs 270), from the ink.** Each of the larger words is sampled
   along the candidate direction into a small patch (an affine warp per word, not per
   pixel), binarised (Otsu), cleared of rules (horizontal runs longer than the text is
   tall: form fields and underlines sit under words), and its row profile split into the x-height band (the dense
   core) and what lies above and below it. Latin (and Cyrillic, Greek) text has more
   ascenders, capitals and digits above the x-height than descenders below the baseline
   (b d f h k l t, every capital and digit against g j p q y), so upright words have more
   ink above their core than below; an upside-down page has it the other way round. The
   words vote, weighted by their ink; the margin of the vote is the second confidence.
   The band's edges are where the profile crosses half its peak, to a fraction of a row
   (:func:`_band`), and the ink above and below is counted from half a row beyond them
   (``EDGE``: the x-height letters' overshoot and blur), so that no row that is half
   inked at the x-height line or the baseline moves the vote or the band by a whole row.
   Words without an x-height band (capitals, digits: a core over ``max_core`` of their
   ink height) vote less, and from ``max_core + CORE_RAMP`` not at all: their only marks
   outside the core are punctuation. A ramp, not a cut: the words of one font whose only
   ascenders are short (t, capitals, digits; a large x-height) share one core fraction;
   where it sat just past a cut, all of them lost their votes while the words with
   descenders, a row lower, kept theirs (upright putText pages read upside down). Marks
   that do not reach into the core band (commas, quotes, i-dots, bits of neighbouring
   lines caught by a loose box) are left out of the profile (connected components).

With fewer than ``MIN_VOTERS`` voting words (a page in capitals) the page is taken as
upright in its axis, with a low confidence; with more, it is taken as upside down only
when the vote is clear for their number (``FLIP_Z``). Where the ink's axis disagrees with
confident words, the words keep theirs when they read along it (x-height bands) better
than along the ink's (:func:`_reads_along`). Without an image only step 1 runs: 0 or 90 comes back, the sense unknown (confidence
halved). numpy and OpenCV only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["detect_orientation", "detect_upright", "text_axis", "ink_axis", "ink_sense", "upright_image",
           "to_upright_frame", "to_input_frame", "upright_size"]

PATCH_H = 32  # rows of a word patch
MIN_VOTERS = 5  # words with an x-height band needed to tell 0 from 180
FLIP_Z = 0.8  # |vote| x sqrt(voters) a page needs to be taken as upside down (word votes
#               spread about 0.5: 1.6 standard errors); upright pages of docbench-dev
#               score 1.4 or more, upright receipts of sroie-dev under 0.8
INK_AXIS_RATIO = 1.5  # profile sharpness ratio at which the ink's axis overrides the boxes' (x2
#                       against words agreeing at 0.8 or more)

CORE_RAMP = 0.05  # a word whose x-height band covers max_core of its ink height votes in
#                   full, one at max_core + CORE_RAMP or more not at all, linearly between
EDGE = 0.5  # rows of a word patch beyond each edge of the band that count as neither above
#             nor below it (the overshoot of o, e, s and the blur of the edge)

_RULE_KERNEL = np.ones((1, int(1.25 * PATCH_H)), np.uint8)


def _quads(words):
    from .lines import _as_quad

    out = []
    for w in words:
        p = w[0] if isinstance(w, (tuple, list)) and len(w) == 2 and np.ndim(w[1]) == 0 else w
        out.append(_as_quad(p))
    return np.array(out, np.float64).reshape(-1, 4, 2)


def text_axis(quads):
    """``(axis_deg, confidence)``: the text axis of word quads (M, 4, 2), in [-90, 90)."""
    q = np.asarray(quads, np.float64).reshape(-1, 4, 2)
    if len(q) == 0:
        return 0.0, 0.0
    along = (q[:, 1] - q[:, 0]) + (q[:, 2] - q[:, 3])
    side = (q[:, 2] - q[:, 1]) + (q[:, 3] - q[:, 0])
    la, ls = np.linalg.norm(along, axis=1), np.linalg.norm(side, axis=1)
    long_dir = np.where((ls > la)[:, None], side, along)
    ratio = np.maximum(la, ls) / np.maximum(np.minimum(la, ls), 1e-6)
    elongated = ratio >= 1.6
    v = long_dir[elongated] if elongated.sum() >= 1 else long_dir
    ang = np.arctan2(v[:, 1], v[:, 0])
    w = np.linalg.norm(v, axis=1)
    c, s = np.sum(w * np.cos(2 * ang)), np.sum(w * np.sin(2 * ang))
    axis = 0.5 * np.degrees(np.arctan2(s, c))
    # confidence: the words' weighted agreement with the axis (1 = all along it)
    conf = float(np.hypot(c, s) / max(np.sum(w), 1e-9))
    return float((axis + 90.0) % 180.0 - 90.0), conf


def _gray(image):
    import cv2

    im = np.asarray(image)
    if im.ndim == 3:
        im = cv2.cvtColor(im[..., :3].astype(np.uint8), cv2.COLOR_RGB2GRAY)
    return im.astype(np.uint8)


def _band(prof):
    """``(top, bottom)``: the x-height band of a word's row profile (its rows inked at least
    half as much as its densest one) to a fraction of a row, row ``i`` spanning
    ``[i, i + 1)``: each edge where the profile crosses half its peak, linearly between
    row centres. Whole rows would move an edge by a row when the row at the x-height line
    or the baseline is about half inked, and with it which words vote (``max_core``)."""
    h = 0.5 * float(prof.max())
    rows = np.flatnonzero(prof >= h)
    top, bottom = int(rows[0]), int(rows[-1])
    p = prof.tolist()  # Python floats: a few scalar steps, cheaper than numpy's
    above = p[top - 1] if top > 0 else 0.0  # < h <= p[top]
    below = p[bottom + 1] if bottom + 1 < len(p) else 0.0  # < h <= p[bottom]
    return (top - 0.5 + (h - above) / (p[top] - above),
            bottom + 0.5 + (p[bottom] - h) / (p[bottom] - below))


def _extent(prof, inked):
    """The height of a word's ink, its rows ``inked`` (indices, in order), to a fraction of a
    row: each end row counts by its ink against its inner neighbour's."""
    i0, i1 = inked[0], inked[-1]
    if i1 == i0:
        return 1.0
    return float(i1 - i0 - 1 + prof[i0] / max(prof[i0], prof[i0 + 1])
                 + prof[i1] / max(prof[i1], prof[i1 - 1]))


def ink_sense(image, quads, theta_deg, max_words=300, max_core=0.75):
    """Vote of the words for reading direction ``theta_deg`` against its opposite:
    ``(vote, weight, voters)``, vote in [-1, 1] (> 0: ``theta_deg`` is right). ``voters``
    counts the words that vote, each by its share (a float: words whose band covers
    between ``max_core`` and ``max_core + CORE_RAMP`` of their ink height count in part)."""
    import cv2

    gray = _gray(image)
    q = np.asarray(quads, np.float64).reshape(-1, 4, 2)
    if len(q) == 0:
        return 0.0, 0.0, 0
    t = np.radians(theta_deg)
    u = np.array([np.cos(t), np.sin(t)])
    n = np.array([-u[1], u[0]])  # "down" of text reading along u
    pu, pn = q @ u, q @ n
    length = pu.max(1) - pu.min(1)
    height = pn.max(1) - pn.min(1)
    ok = (height >= 8) & (length >= 1.2 * height)
    idx = np.flatnonzero(ok)
    idx = idx[np.argsort(-length[idx] * height[idx])][:max_words]
    votes, weights, shares = [], [], []
    for k in idx:  # one affine warp per word (not per pixel)
        scale = PATCH_H / height[k]
        pw = int(np.clip(np.ceil(length[k] * scale), 8, 512))
        # patch pixel (x, y) <- image point origin + (x + 0.5)/scale u + (y + 0.5)/scale n
        # (pixel centres on both sides: index i covers [i, i + 1))
        origin = pu[k].min() * u + pn[k].min() * n
        t = origin + (0.5 / scale) * (u + n) - 0.5
        a = np.array([[u[0] / scale, n[0] / scale, t[0]], [u[1] / scale, n[1] / scale, t[1]]])
        patch = cv2.warpAffine(gray, a, (pw, PATCH_H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REPLICATE)
        _, bw = cv2.threshold(patch, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        ink = (bw == 0 if (bw == 0).mean() < 0.5 else bw == 1).astype(np.uint8)
        # rules (form fields, underlines, table borders) are no letters: horizontal runs
        # longer than the text is tall are removed before the profile
        rules = cv2.morphologyEx(ink, cv2.MORPH_OPEN, _RULE_KERNEL)
        ink = ink & (1 - rules)
        prof = ink.mean(axis=1)
        if prof.max() <= 0:
            continue
        rows = np.flatnonzero(prof >= 0.5 * prof.max())
        # keep the marks that reach into the core band (letters, with their ascenders and
        # descenders); marks wholly outside it (commas, quotes, i-dots, bits of the
        # neighbouring lines in a loose box) are dropped
        n_cc, lab, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
        y0, hh = stats[:, cv2.CC_STAT_TOP], stats[:, cv2.CC_STAT_HEIGHT]
        keep = (y0 <= rows[-1]) & (y0 + hh - 1 >= rows[0])
        keep[0] = False  # background
        ink = keep[lab]
        prof = ink.mean(axis=1)
        if prof.max() <= 0:
            continue
        inked = np.flatnonzero(prof > 0.02)
        if len(inked) == 0:
            continue
        top, bottom = _band(prof)
        # a word in capitals or digits has no x-height band (its core is its whole
        # height); its only marks outside it are punctuation (commas hang below): no vote.
        # Past max_core the vote fades out (CORE_RAMP) rather than stopping at once
        share = min(1.0, (max_core + CORE_RAMP - (bottom - top) / _extent(prof, inked)) / CORE_RAMP)
        if share <= 0:
            continue
        # ink above the band and below it, from EDGE rows beyond its edges (the integral of
        # the row profile: its cumulative sum, interpolated between rows)
        cum = np.concatenate([[0.0], np.cumsum(prof)])
        at_top, at_bottom = np.interp([top - EDGE, bottom + EDGE], np.arange(len(cum)), cum)
        above, below = at_top, cum[-1] - at_bottom
        if above + below <= 0:
            continue
        votes.append((above - below) / (above + below))
        weights.append(share * (above + below))
        shares.append(share)
    if not votes:
        return 0.0, 0.0, 0
    w = np.asarray(weights)
    return float(np.sum(np.asarray(votes) * w) / np.sum(w)), float(np.sum(w)), float(np.sum(shares))


def detect_orientation(image, words, use_ink_axis=True):
    """``(angle, skew, confidence)`` of a page from its image (RGB or gray, or None) and its
    word detections (``[(polygon, score), ...]`` or polygons). See the module docstring.

    ``use_ink_axis``: with an image, the axis also comes from the ink's projection
    profiles (:func:`ink_axis`), which wins where the two disagree and the profiles are
    clear: a detector's words on a page turned sideways are fragments that need not lie
    along the text."""
    q = _quads(words)
    axis, conf_axis = text_axis(q)
    base = 0 if abs(axis) < 45 else 90
    skew = axis - (0 if base == 0 else (90 if axis > 0 else -90))
    if len(q) == 0:
        base, skew, conf_axis = 0, 0.0, 0.0
    if image is None:
        return base, float(skew), 0.5 * conf_axis
    sense = None  # the words' vote along the axis taken, once computed
    if use_ink_axis:
        ink_base, ink_skew, ratio = ink_axis(image)
        # the ink's axis overrides the words' where its profiles are clear, and clearer
        # still against confident words, unless those read along their own axis
        clear = ratio >= INK_AXIS_RATIO * (2.0 if conf_axis >= 0.8 else 1.0)
        if ink_base != base and (clear or len(q) == 0):
            if conf_axis >= 0.8:
                sense = ink_sense(image, q, base + skew)
            if sense is None or not _reads_along(image, q, sense, ink_base + ink_skew):
                base, skew, conf_axis = ink_base, ink_skew, min(1.0, (ratio - 1.0))
                sense = None
        elif ink_base == base:
            # the ink's skew: on docbench-dev the profiles give it to 0.04 degrees (median
            # error), a detector's word boxes to 0.6 (tight ground-truth boxes to 0.03)
            skew = ink_skew
    vote, _, voters = sense if sense is not None else ink_sense(image, q, base + skew)
    if voters < MIN_VOTERS:  # too little lower-case text to tell: upright, as most scans are
        return base, float(skew), 0.5 * conf_axis * voters / MIN_VOTERS
    # upside down only on a clear vote: its margin, in units of the spread a mean of
    # ``voters`` words' votes has by chance, must reach FLIP_Z (a receipt in capitals
    # and digits has a dozen voters and margins near 0 either way)
    flip = vote < 0 and abs(vote) * np.sqrt(voters) >= FLIP_Z
    angle = base + 180 if flip else base
    conf = conf_axis * min(1.0, abs(vote) / 0.2) * min(1.0, voters / (4 * MIN_VOTERS))
    return int(angle), float(skew), float(conf)


def _reads_along(image, quads, sense, theta_ink):
    """Do confident words read along their own axis rather than the ink's? ``sense``: their
    :func:`ink_sense` along their own axis. True when at least ``MIN_VOTERS`` of them show
    an x-height band there, more than along the ink's axis ``theta_ink``. A photographed
    page's background (a table's grain, stripes, the paper's edges) can give the ink's
    profiles a sharp axis of its own across well-read words; the fragments a detector
    makes of a page turned sideways show no x-height band along their long edges."""
    if sense[2] < MIN_VOTERS:
        return False
    return sense[2] > ink_sense(image, quads, theta_ink)[2]


# ----------------------------------------------------------------------------- frames

_CV_ROTATE = {90: "ROTATE_90_COUNTERCLOCKWISE", 180: "ROTATE_180", 270: "ROTATE_90_CLOCKWISE"}


def _check(angle):
    a = int(angle) % 360
    if a not in (0, 90, 180, 270):
        raise ValueError(f"orientation must be 0, 90, 180 or 270, not {angle!r}")
    return a


def upright_image(image, angle):
    """The image turned so that text of orientation ``angle`` reads left to right."""
    import cv2

    a = _check(angle)
    return np.ascontiguousarray(image) if a == 0 else cv2.rotate(image, getattr(cv2, _CV_ROTATE[a]))


def upright_size(width, height, angle):
    """(width, height) of the upright image."""
    return (height, width) if _check(angle) in (90, 270) else (width, height)


def to_upright_frame(points, angle, width, height):
    """Map points (..., 2) of the input image (``width`` x ``height``) into the frame of
    :func:`upright_image` (continuous pixel coordinates; point order kept)."""
    p = np.asarray(points, np.float64)
    x, y = p[..., 0], p[..., 1]
    a = _check(angle)
    if a == 0:
        out = np.stack([x, y], -1)
    elif a == 90:
        out = np.stack([y, width - x], -1)
    elif a == 180:
        out = np.stack([width - x, height - y], -1)
    else:
        out = np.stack([height - y, x], -1)
    return out.astype(np.float32)


def to_input_frame(points, angle, width, height):
    """Inverse of :func:`to_upright_frame`: points of the upright image back into the input
    image (``width`` x ``height`` are the *input* image's)."""
    p = np.asarray(points, np.float64)
    x, y = p[..., 0], p[..., 1]
    a = _check(angle)
    if a == 0:
        out = np.stack([x, y], -1)
    elif a == 90:
        out = np.stack([width - y, x], -1)
    elif a == 180:
        out = np.stack([width - x, height - y], -1)
    else:
        out = np.stack([y, height - x], -1)
    return out.astype(np.float32)


def detect_upright(detect, image, redetect=True):
    """Words of a page in any orientation, in the frame of the input image.

    ``detect(image) -> [(polygon, score), ...]`` is any word detector (a
    :class:`textseg.detector.Detector`). Its words on ``image`` and the ink give the
    orientation (:func:`detect_orientation`). A page turned sideways (90 or 270) is turned
    by 90 degrees and detected again (a detector's words on sideways text are fragments),
    and its sense (90 or 270) decided on those words; ``redetect``: a page found upside
    down (180, or 270 after that turn) is detected again once upright (the default model
    finds upside-down words less well: docbench-dev word hmean 0.971 against 0.985
    upright; ``False`` keeps them and saves the pass). Words are mapped back to the input
    frame and re-started at their top-left corner in their reading direction (an
    upside-down page gives words that start at their bottom-right corner on screen).
    Returns ``(words, (angle, skew, confidence))``.
    """
    from .analyze import reading_start

    h, w = np.asarray(image).shape[:2]
    words = detect(image)
    angle, skew, conf = detect_orientation(image, words)
    frame = 0  # the turn of the image the kept words were detected on
    if angle in (90, 270):
        turned = upright_image(image, 90)
        words = detect(turned)
        a2, skew, conf = detect_orientation(turned, words, use_ink_axis=False)
        angle, frame = (90 + (180 if a2 == 180 else 0)) % 360, 90
    if redetect and angle != frame:
        words, frame = detect(upright_image(image, angle)), angle
    if angle == 0:
        return words, (angle, skew, conf)
    t = np.radians(angle)
    u = np.array([np.cos(t), np.sin(t)])
    out = []
    for poly, score in words:
        p = to_input_frame(np.asarray(poly, np.float64).reshape(-1, 2), frame, w, h)
        out.append((reading_start(p, u), score))
    return out, (angle, skew, conf)


def ink_axis(image, max_side=800, max_skew=6.0, step=0.5):
    """Text axis and skew from the ink alone: ``(base, skew, sharpness_ratio)``.

    The page is binarised at a small size and turned by each small angle in
    ``[-max_skew, max_skew]``; text lines make the ink's row profile alternate sharply
    between lines and the gaps between them (mean squared difference of neighbouring
    rows), where the column profile stays smooth, and the other way round for a page
    turned by 90 degrees. The angle and axis of the sharpest profile win (a projection
    profile method, one warp per angle, never a loop over pixels); ``sharpness_ratio``
    (>= 1) is the best profile's sharpness over the best of the other axis.
    """
    import cv2

    gray = _gray(image)
    h, w = gray.shape
    s = min(1.0, max_side / max(h, w))
    small = cv2.resize(gray, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    # ink against an even background: local threshold (uneven light, tinted paper)
    ink = cv2.adaptiveThreshold(small, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV,
                                31, 15).astype(np.float32)
    sh, sw = ink.shape
    best = {0: (-1.0, 0.0), 90: (-1.0, 0.0)}

    def score(angles, bases):
        for a in angles:
            m = cv2.getRotationMatrix2D((sw / 2, sh / 2), float(a), 1.0)
            r = cv2.warpAffine(ink, m, (sw, sh), flags=cv2.INTER_LINEAR, borderValue=0)
            rows, cols = r.mean(axis=1), r.mean(axis=0)
            for base, prof in ((0, rows), (90, cols)):
                if base not in bases:
                    continue
                sharp = float(np.mean(np.diff(prof) ** 2))
                if sharp > best[base][0]:
                    # getRotationMatrix2D turns the content counter-clockwise on screen
                    # by a: lines at image angle a (y down) come out level
                    best[base] = (sharp, float(a))

    score(np.arange(-max_skew, max_skew + 1e-9, step), (0, 90))
    # refine the better axis around its best angle, at a fifth of the step
    top = 0 if best[0][0] >= best[90][0] else 90
    a0 = best[top][1]
    score(a0 + np.arange(-step, step + 1e-9, step / 5), (top,))
    base = 0 if best[0][0] >= best[90][0] else 90
    other = best[90 - base][0]
    return base, best[base][1], best[base][0] / max(other, 1e-12)
