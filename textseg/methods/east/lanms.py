"""Locality-aware NMS for quadrangles in numpy (EAST, Zhou et al. 2017, section 4.2).

Same contract as ``merge_quadrangle_n9`` of the C++ package lanms-neo:

1. locality pass, in the order given: each box is compared with the last kept box (which
   may already be a merge); if their IoU exceeds the threshold they merge into the
   score-weighted average of the corners, with the scores summed;
2. standard NMS on the merged boxes, highest (summed) score first, suppressing boxes
   whose IoU with a kept one exceeds the threshold.

Returned rows are ordered by descending score, like the reference.

The locality pass is sequential by nature; it runs here in parallel over segments of the
input (cut where consecutive input boxes do not merge), taking many boxes of a segment
per vectorised step (see ``_locality_scan``), and then checks every cut exactly (a merged
box that does merge with the first box of the next segment joins the two segments, and
the pass runs again), so the result equals the sequential one. Polygon IoU is vectorised over all pairs: convex
quads by Green's theorem on their clipped edges, other quads split into two convex
pieces first.
"""

import numpy as np

# the vertex orders the reference tries when it merges two quads: identity, reversed,
# reversed starting at vertex 0 (matched against the running box with the order in
# _MATCH, an artefact of the reference kept on purpose so the results agree)
_REORDER = (np.array([0, 1, 2, 3]), np.array([3, 2, 1, 0]), np.array([0, 3, 2, 1]))
_MATCH = (np.array([0, 1, 2, 3]), np.array([3, 2, 1, 0]), np.array([1, 0, 3, 2]))


def signed_area(poly):
    """Shoelace area of (..., K, 2) polygons (positive when clockwise in image coordinates)."""
    x, y = poly[..., 0], poly[..., 1]
    return 0.5 * np.sum(x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y, axis=-1)


def _cross(u, v):
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def is_convex(quads):
    """(N,) bool: quads (N, 4, 2) turn one way at every vertex (degenerate ones count)."""
    d = np.roll(quads, -1, axis=1) - quads
    turn = _cross(d, np.roll(d, -1, axis=1))
    return np.all(turn >= 0, axis=1) | np.all(turn <= 0, axis=1)


def _boundary_integral(px, py, qx, qy, skip_same):
    """Sum of (x dy - y dx) / 2 over the edges of convex quads p inside convex quads q.

    Corner coordinates are (N, 4) arrays; both quads positively oriented. An edge lying
    exactly on an edge of q counts as inside, unless ``skip_same`` and the two run the
    same way (then the other quad's edge already counted it)."""
    dpx, dpy = np.roll(px, -1, axis=1) - px, np.roll(py, -1, axis=1) - py
    enter, leave = np.zeros_like(px), np.ones_like(px)
    empty = np.zeros(px.shape, dtype=bool)
    for j in range(4):  # clip every edge of p (Cyrus-Beck) by the half-plane of q's edge j
        x0, y0 = qx[:, j:j + 1], qy[:, j:j + 1]
        dx, dy = qx[:, (j + 1) % 4, None] - x0, qy[:, (j + 1) % 4, None] - y0
        # side of each corner of p (>= 0: inside); exactly 0 for a corner that is a corner
        # of the edge, which identical quads (common here) rely on
        s0 = dx * (py - y0) - dy * (px - x0)
        s1 = np.roll(s0, -1, axis=1)  # the far end of each edge
        if skip_same:
            same = (s0 == 0) & (s1 == 0) & (dpx * dx + dpy * dy > 0)
            s0, s1 = np.where(same, -1.0, s0), np.where(same, -1.0, s1)
        out0, out1 = s0 < 0, s1 < 0
        t = s0 / np.where(out0 != out1, s0 - s1, 1.0)
        enter = np.where(out0 & ~out1, np.maximum(enter, t), enter)
        leave = np.where(out1 & ~out0, np.minimum(leave, t), leave)
        empty |= out0 & out1
    empty |= enter >= leave
    ax, ay = px + enter * dpx, py + enter * dpy
    bx, by = px + leave * dpx, py + leave * dpy
    return 0.5 * np.where(empty, 0.0, ax * by - ay * bx).sum(axis=1)


def _convex_inter(a, b):
    """Intersection areas of convex quads a and b (N, 4, 2) by Green's theorem: the
    boundary of the intersection is the part of each boundary inside the other."""
    area_a, area_b = signed_area(a), signed_area(b)
    a = np.where((area_a < 0)[:, None, None], a[:, ::-1], a)
    b = np.where((area_b < 0)[:, None, None], b[:, ::-1], b)
    origin = a[:, :1]  # a local origin keeps the sums well conditioned
    ax, ay = a[..., 0] - origin[..., 0], a[..., 1] - origin[..., 1]
    bx, by = b[..., 0] - origin[..., 0], b[..., 1] - origin[..., 1]
    inter = _boundary_integral(ax, ay, bx, by, False) + _boundary_integral(bx, by, ax, ay, True)
    return np.where((area_a == 0) | (area_b == 0), 0.0, np.clip(inter, 0.0, None))


def _pieces(quads):
    """Two convex pieces (N, 2, 4, 2) with disjoint interiors that make up each quad (its
    even-odd region, as the reference fills polygons). Triangles repeat a corner.

    Convex: split along the diagonal 0-2. Concave: along the diagonal from the reflex
    corner (the one turning against the others). Self-intersecting (bow-tie): its two
    lobes, triangles meeting where the crossing edges meet."""
    q = quads
    n = len(q)
    d = np.roll(q, -1, axis=1) - q
    turn = _cross(np.roll(d, 1, axis=1), d)  # at each corner
    pos, neg = (turn > 0).sum(axis=1), (turn < 0).sum(axis=1)
    minority = np.where((pos <= neg)[:, None], turn > 0, turn < 0)
    start = np.where((pos == 0) | (neg == 0), 0, np.argmax(minority, axis=1))
    idx = (start[:, None] + np.arange(4)) % 4
    r = np.take_along_axis(q, idx[:, :, None], axis=1)
    out = np.stack([r[:, [0, 1, 2, 2]], r[:, [0, 2, 3, 3]]], axis=1)
    bowtie = (pos == 2) & (neg == 2)
    if bowtie.any():
        b = q[bowtie]
        # do edges 0-1 and 2-3 cross? (else edges 1-2 and 3-0 do)
        e01, e23 = b[:, 1] - b[:, 0], b[:, 3] - b[:, 2]
        den = _cross(e01, e23)
        safe = np.where(den != 0, den, 1.0)
        t = _cross(b[:, 2] - b[:, 0], e23) / safe
        u = _cross(b[:, 2] - b[:, 0], e01) / safe
        first = (den != 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
        # rotate the second kind by one corner so that edges 0-1 and 2-3 cross
        b = np.where(first[:, None, None], b, np.roll(b, -1, axis=1))
        e01, e23 = b[:, 1] - b[:, 0], b[:, 3] - b[:, 2]
        den = _cross(e01, e23)
        t = _cross(b[:, 2] - b[:, 0], e23) / np.where(den != 0, den, 1.0)
        x = b[:, 0] + t[:, None] * e01
        out[bowtie] = np.stack([np.stack([b[:, 1], b[:, 2], x, x], axis=1),
                                np.stack([b[:, 3], b[:, 0], x, x], axis=1)], axis=1)
    return out.reshape(n, 2, 4, 2)


def quad_iou(a, b):
    """Element-wise IoU of quads a and b, both (N, 4, 2), as polygon regions (even-odd)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4, 2)
    inter = np.zeros(len(a))
    area_a, area_b = np.abs(signed_area(a)), np.abs(signed_area(b))
    lo_a, hi_a, lo_b, hi_b = a.min(axis=1), a.max(axis=1), b.min(axis=1), b.max(axis=1)
    touch = np.all((lo_a <= hi_b) & (lo_b <= hi_a), axis=1)  # bounding boxes overlap
    conv_a, conv_b = is_convex(a), is_convex(b)
    fast = touch & conv_a & conv_b
    if fast.any():
        inter[fast] = _convex_inter(a[fast], b[fast])
    slow = touch & ~(conv_a & conv_b)
    if slow.any():  # split both into convex pieces, add up the pieces' intersections
        pa, pb = _pieces(a[slow]), _pieces(b[slow])
        k = int(slow.sum())
        pairs = _convex_inter(np.concatenate([pa[:, i] for i in (0, 0, 1, 1)]),
                              np.concatenate([pb[:, j] for j in (0, 1, 0, 1)]))
        inter[slow] = pairs.reshape(4, k).sum(axis=0)
    odd_a, odd_b = ~conv_a, ~conv_b  # non-convex: the area of the pieces
    if odd_a.any():
        area_a[odd_a] = np.abs(signed_area(_pieces(a[odd_a]))).sum(axis=1)
    if odd_b.any():
        area_b[odd_b] = np.abs(signed_area(_pieces(b[odd_b]))).sum(axis=1)
    union = area_a + area_b - inter
    return inter / np.maximum(union, 1e-8)


def _reorder_pick(state, new):
    """Which of _REORDER the reference applies to ``new`` before merging it into ``state``."""
    dist = np.stack([((state - new[:, m]) ** 2).sum(axis=(1, 2)) for m in _MATCH], axis=1)
    return np.argmin(dist, axis=1)  # the first minimum wins, as in the reference


def _merge(state, state_score, new, new_score):
    """Score-weighted merge of quads, with the reference's vertex re-ordering."""
    reordered = np.stack(_REORDER)[_reorder_pick(state, new)]
    new = np.take_along_axis(new, reordered[:, :, None], axis=1)
    total = state_score + new_score
    w = np.where(total > 0, total, 1e-8)
    merged = (state * state_score[:, None, None] + new * new_score[:, None, None]) / w[:, None, None]
    return merged, total


def _locality_scan(quads, scores, starts, iou_threshold, window=16):
    """Run the sequential locality merge inside each segment [starts[i], starts[i+1]).

    All segments advance together. Each step looks at the next ``window`` boxes of every
    segment and assumes they all merge (the running box is then a prefix sum); the first
    box that does not merge, or that the reference would re-order, is handled exactly and
    the segment goes on after it. A segment's window doubles after each step without such
    an event, so long runs take few steps.

    Returns (first input index of each merged box, quads, scores, index of its segment)."""
    n = len(quads)
    ends = np.append(starts[1:], n)
    weighted = quads * scores[:, None, None]
    state, state_score = quads[starts].copy(), scores[starts].copy()
    run_start, pos = starts.copy(), starts + 1
    width = np.full(len(starts), window)
    out_first, out_quad, out_score, out_seg = [], [], [], []
    active = np.nonzero(pos < ends)[0]
    while len(active):
        length = np.minimum(ends[active] - pos[active], width[active])
        group = np.repeat(np.arange(len(active)), length)
        head = np.cumsum(length) - length  # flat index of each group's first box
        offset = np.arange(len(group)) - head[group]
        idx = pos[active][group] + offset
        # sums over the boxes before each one inside its group (exclusive prefix sums)
        cw, cs = np.cumsum(weighted[idx], axis=0), np.cumsum(scores[idx])
        ew, es = cw - weighted[idx], cs - scores[idx]
        ew -= ew[head][group]
        es -= es[head][group]
        s0, b0 = state_score[active], state[active]
        total = s0[group] + es
        before = (b0[group] * s0[group, None, None] + ew) / np.where(total > 0, total, 1e-8)[:, None, None]
        merges = quad_iou(quads[idx], before) > iou_threshold
        plain = merges & (_reorder_pick(before, quads[idx]) == 0)
        stop = np.minimum.reduceat(np.where(plain, length[group], offset), head)
        full = stop == length
        # groups whose whole window merged plainly
        last = head[full] + length[full] - 1
        a = active[full]
        state_score[a] = total[last] + scores[idx[last]]
        state[a] = (before[last] * total[last, None, None] + weighted[idx[last]]) \
            / np.where(state_score[a] > 0, state_score[a], 1e-8)[:, None, None]
        pos[a] += length[full]
        width[a] = np.minimum(width[a] * 2, 4096)
        # groups with an event: merge everything before it, then handle it exactly
        ev = head[~full] + stop[~full]
        a, k = active[~full], idx[ev]
        cur, cur_score = before[ev], total[ev]
        m = merges[ev]
        if m.any():  # merges, but the reference re-orders the corners first
            state[a[m]], state_score[a[m]] = _merge(cur[m], cur_score[m], quads[k[m]], scores[k[m]])
        b = ~m
        if b.any():  # the run ends: emit it, the box starts a new one
            out_first.append(run_start[a[b]])
            out_quad.append(cur[b])
            out_score.append(cur_score[b])
            out_seg.append(a[b])
            state[a[b]], state_score[a[b]], run_start[a[b]] = quads[k[b]], scores[k[b]], k[b]
        pos[a] = k + 1
        width[a] = window
        active = active[pos[active] < ends[active]]
    seg = np.arange(len(starts))
    first = np.concatenate(out_first + [run_start])
    order = np.argsort(first, kind="stable")
    return (first[order], np.concatenate(out_quad + [state])[order],
            np.concatenate(out_score + [state_score])[order],
            np.concatenate(out_seg + [seg])[order])


def locality_merge(quads, scores, iou_threshold):
    """The locality pass: merged quads (M, 4, 2) and summed scores (M,), in input order."""
    n = len(quads)
    if n == 0:
        return quads[:0], scores[:0]
    cut = np.ones(n, dtype=bool)
    if n > 1:
        cut[1:] = quad_iou(quads[1:], quads[:-1]) <= iou_threshold
    while True:
        starts = np.nonzero(cut)[0]
        first, merged, merged_score, seg = _locality_scan(quads, scores, starts, iou_threshold)
        # the last merged box of each segment against the first box of the next one
        last = np.nonzero(np.diff(np.append(seg, len(starts))) != 0)[0]
        last = last[seg[last] < len(starts) - 1]
        joins = np.zeros(len(last), dtype=bool)
        if len(last):
            nxt = starts[seg[last] + 1]
            joins = quad_iou(quads[nxt], merged[last]) > iou_threshold
        if not joins.any():
            return merged, merged_score
        cut[starts[seg[last[joins]] + 1]] = False


def overlap_pairs(quads):
    """Index pairs (i, j), i < j, of quads whose axis-aligned bounding boxes overlap."""
    lo, hi = quads.min(axis=1), quads.max(axis=1)
    axis = int(np.median(hi[:, 0] - lo[:, 0]) > np.median(hi[:, 1] - lo[:, 1]))
    order = np.argsort(lo[:, axis], kind="stable")
    lo_s, hi_s = lo[order], hi[order]
    stop = np.searchsorted(lo_s[:, axis], hi_s[:, axis], side="right")
    counts = np.maximum(stop - np.arange(len(order)) - 1, 0)
    i = np.repeat(np.arange(len(order)), counts)
    offset = np.arange(len(i)) - np.repeat(np.cumsum(counts) - counts, counts)
    j = i + 1 + offset
    other = 1 - axis
    keep = (lo_s[j, other] <= hi_s[i, other]) & (lo_s[i, other] <= hi_s[j, other])
    a, b = order[i[keep]], order[j[keep]]
    return np.minimum(a, b), np.maximum(a, b)


def standard_nms(quads, scores, iou_threshold):
    """Greedy NMS; returns the kept indices, highest score first."""
    n = len(quads)
    order = np.argsort(-scores, kind="stable")
    if n < 2:
        return order
    q = quads[order]  # rank space: lower rank = higher score
    a, b = overlap_pairs(q)
    hit = quad_iou(q[a], q[b]) > iou_threshold
    a, b = a[hit], b[hit]
    suppressed = np.zeros(n, dtype=bool)
    if len(a):
        srt = np.argsort(a, kind="stable")
        a, b = a[srt], b[srt]
        heads, first = np.unique(a, return_index=True)
        bounds = np.append(first, len(a))
        for k, h in enumerate(heads.tolist()):
            if not suppressed[h]:
                suppressed[b[bounds[k]:bounds[k + 1]]] = True
    return order[~suppressed]


def lanms(boxes, iou_threshold=0.3):
    """Locality-aware NMS of boxes (N, 9) float32 ``x1,y1,...,x4,y4,score`` -> (M, 9).

    Same contract as lanms-neo's ``merge_quadrangle_n9(boxes, iou_threshold)``: boxes
    are merged in the order given (EAST passes them in row-major pixel order), merged
    scores are the sums of their members' scores, and the result is sorted by score.
    """
    boxes = np.asarray(boxes, dtype=np.float32)
    if boxes.ndim != 2 or boxes.shape[1] != 9:
        raise ValueError(f"lanms: boxes must have shape (N, 9), got {boxes.shape}")
    if len(boxes) == 0:
        return np.zeros((0, 9), dtype=np.float32)
    quads = boxes[:, :8].astype(np.float64).reshape(-1, 4, 2)
    scores = boxes[:, 8].astype(np.float64)
    merged, merged_score = locality_merge(quads, scores, iou_threshold)
    keep = standard_nms(merged, merged_score, iou_threshold)
    out = np.concatenate([merged[keep].reshape(-1, 8), merged_score[keep, None]], axis=1)
    return out.astype(np.float32)
