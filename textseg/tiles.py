"""Large pages as overlapping tiles: the grid, and the merge of the tiles' detections.

A page whose network input would be larger than the network's comfortable size is cut
into ``size`` x ``size`` tiles that overlap by ``overlap`` pixels (network-input pixels),
each tile runs through the network and the decoder on its own (memory stays that of one
tile), and the detections are merged (:func:`merge`) so that a word in an overlap comes out
once and a word crossing a seam comes out whole:

- a detection whose box comes within ``margin`` of a tile's *inner* edge (one that is not
  the page border) may be cut there: it "touches";
- two detections of two tiles are the same word when, inside the area the two tiles share,
  their boxes cover mostly the same pixels;
- of a same-word pair, a whole one (not touching) wins over a cut one, and of two whole
  ones the one farther from its tile's inner edges; two cut pieces (a word longer than
  the overlap, cut in both tiles) are joined into one box.

Only numpy and OpenCV: the decoder's polygons go in, polygons come out.
"""

from typing import List, Sequence, Tuple

import numpy as np

Rect = Tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)


def starts(length: int, size: int, overlap: int) -> List[int]:
    """Tile origins along one axis: tiles of ``size`` stepping ``size - overlap``, the last
    one flush with the end (so no tile sticks out and every pixel is covered)."""
    if length <= size:
        return [0]
    step = size - overlap
    n = -(-(length - size) // step) + 1
    # spread the tiles evenly: every overlap at least ``overlap``
    return [int(round(i * (length - size) / (n - 1))) for i in range(n)]


def grid(h: int, w: int, size: int, overlap: int) -> List[Rect]:
    """The tiles of an h x w image, row by row: (x0, y0, x1, y1)."""
    return [(x, y, min(x + size, w), min(y + size, h))
            for y in starts(h, size, overlap) for x in starts(w, size, overlap)]


#: the ``infer.tile`` defaults (the config loader uses these; torch- and yaml-free here)
TILE_DEFAULTS = {"enabled": "auto", "size": 1536, "overlap": 256}


def check(size: int, overlap: int) -> None:
    """Refuse an overlap that leaves no step between tiles."""
    from .errors import ConfigError

    if not 0 <= overlap < size:
        raise ConfigError(f"infer.tile.overlap: {overlap} is out of range for tiles of {size} "
                          f"px; expected 0 to {size - 1} (less than a tile)",
                          key="infer.tile.overlap")


def _boxes(polys) -> np.ndarray:
    if not polys:
        return np.zeros((0, 4), np.float64)
    return np.array([[p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()]
                     for p in polys], np.float64)


def _area(b) -> np.ndarray:
    return np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)


def _clip(b, r) -> np.ndarray:
    """Boxes ``b`` (..., 4) cut to the rectangle ``r`` (..., 4)."""
    return np.concatenate([np.maximum(b[..., :2], r[..., :2]),
                           np.minimum(b[..., 2:], r[..., 2:])], axis=-1)


def inner_edges(rect: Rect, hw) -> np.ndarray:
    """Which edges of a tile are inner (not the page border): left, top, right, bottom."""
    x0, y0, x1, y1 = rect
    return np.array([x0 > 0, y0 > 0, x1 < hw[1], y1 < hw[0]])


def merge(tile_dets: Sequence[Sequence], rects: Sequence[Rect], hw, margin: float = 8.0,
          same: float = 0.5) -> list:
    """One list of detections from the detections of every tile (already in page pixels).

    ``tile_dets[i]``: (polygon (N, 2), score) pairs of tile ``rects[i]``; ``hw``: the page
    size; ``margin``: how near an inner edge a box may come before it counts as cut;
    ``same``: the share of the smaller box (inside the two tiles' common area) two
    boxes must share to be one word. Detections keep their tile order (tiles row by row).
    """
    polys, scores, tile, touch, dist = [], [], [], [], []
    for t, (dets, rect) in enumerate(zip(tile_dets, rects)):
        inner = inner_edges(rect, hw)
        for poly, score in dets:
            p = np.asarray(poly, np.float32).reshape(-1, 2)
            polys.append(p)
            scores.append(float(score))
            tile.append(t)
            b = (p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max())
            gaps = np.array([b[0] - rect[0], b[1] - rect[1], rect[2] - b[2], rect[3] - b[3]])
            gaps = gaps[inner]
            d = float(gaps.min()) if gaps.size else np.inf
            dist.append(d)
            touch.append(d <= margin)
    n = len(polys)
    if n == 0:
        return []
    boxes = _boxes(polys)
    tile = np.array(tile)
    touch = np.array(touch)
    dist = np.array(dist)
    links = _links(boxes, tile, np.asarray(rects, np.float64), same)
    linked = [[] for _ in range(n)]
    for i, j in links:
        linked[i].append(j)
        linked[j].append(i)
    # whole words: the copy farthest from its tile's inner edges (ties: the first tile)
    keep = np.zeros(n, bool)
    for i in np.lexsort((np.arange(n), -dist)):
        if not touch[i] and not any(keep[j] for j in linked[i]):
            keep[i] = True
    # cut pieces: dropped where a tile has the word whole, else joined with the other
    # pieces of the word (a word longer than the overlap, or across several tiles)
    pieces = [i for i in range(n) if touch[i] and not any(not touch[j] for j in linked[i])]
    root = {i: i for i in pieces}

    def find(i):
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i in pieces:
        for j in linked[i]:
            if j in root:
                a, b = find(i), find(j)
                if a != b:
                    root[max(a, b)] = min(a, b)
    groups = {}
    for i in pieces:
        groups.setdefault(find(i), []).append(i)
    out = {int(i): (polys[i], scores[i]) for i in np.flatnonzero(keep)}
    for first, members in groups.items():
        if len(members) == 1:
            out[first] = (polys[first], scores[first])
        else:
            out[first] = (_join([polys[k] for k in members]), max(scores[k] for k in members))
    return [out[i] for i in sorted(out)]


def _links(boxes, tile, rects, same) -> list:
    """Pairs (i, j) of detections of two overlapping tiles that are one word: inside the
    area the two tiles share, their boxes overlap by ``same`` of the smaller one there."""
    out = []
    by_tile = [np.flatnonzero(tile == t) for t in range(len(rects))]
    for a in range(len(rects)):
        for b in range(a + 1, len(rects)):
            zone = _clip(rects[a], rects[b])
            if _area(zone) <= 0 or not len(by_tile[a]) or not len(by_tile[b]):
                continue
            ia, ib = by_tile[a], by_tile[b]
            ba = _clip(boxes[ia], zone[None])  # (na, 4): the boxes inside the shared area
            bb = _clip(boxes[ib], zone[None])
            sa, sb = _area(ba), _area(bb)
            inter = _area(_clip(ba[:, None], bb[None]))  # (na, nb)
            small = np.minimum(sa[:, None], sb[None])
            hit = (small > 0) & (inter >= same * np.where(small > 0, small, 1))
            out += [(int(ia[i]), int(ib[j])) for i, j in zip(*np.nonzero(hit))]
    return out


def _join(polys) -> np.ndarray:
    """One quadrilateral around several pieces of a word (their minimum-area rectangle),
    clockwise from the top-left point like the decoders' boxes."""
    import cv2

    pts = np.concatenate(polys).astype(np.float32)
    box = cv2.boxPoints(cv2.minAreaRect(pts)).astype(np.float32)
    s = box.sum(axis=1)
    start = int(np.argmin(s))
    box = np.roll(box, -start, axis=0)
    # clockwise in image coordinates (y down): positive shoelace sum
    area2 = float(np.sum(box[:, 0] * np.roll(box[:, 1], -1) - np.roll(box[:, 0], -1) * box[:, 1]))
    if area2 < 0:
        box = np.concatenate([box[:1], box[1:][::-1]])
    return box
