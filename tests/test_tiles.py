"""Large pages as overlapping tiles (textseg.tiles, Detector.detect_tiled, infer.tile): a
page cut into tiles gives the detections of the whole page, each seam word once and whole.

The network is a fake (a pixel-wise map: dark input pixels are text), so a tile sees
exactly what the whole page shows there and any difference comes from the cutting and
the merge, not from the network's context; the DBNet decoder runs for real."""

import numpy as np
import pytest

from textseg import tiles
from textseg.config import load_config
from textseg.detector import Detector
from textseg.errors import ConfigError


class DarkIsText:
    """A backend whose probability map is 0.9 where the input is dark (stride 1)."""

    name = "fake"
    static_hw = None

    def __init__(self):
        self.shapes = []

    def __call__(self, x):
        self.shapes.append(x.shape)
        return {"prob": (x[:, :1] < -1.0).astype(np.float32) * 0.9}


def detector(*overrides):
    cfg = load_config({"model": {"head": {"method": "db"}}},
                      ["infer.resize.upscale_to=0", *overrides])
    return Detector(cfg, DarkIsText(), name="fake")


def page(h, w, boxes):
    img = np.full((h, w, 3), 255, np.uint8)
    for x0, y0, x1, y1 in boxes:
        img[y0:y1, x0:x1] = 0
    return img


def bboxes(dets):
    return sorted(tuple(int(round(v)) for v in (p[:, 0].min(), p[:, 1].min(),
                                                 p[:, 0].max(), p[:, 1].max()))
                  for p, _ in dets)


def close(a, b, tol=2):
    return len(a) == len(b) and all(max(abs(u - v) for u, v in zip(p, q)) <= tol
                                    for p, q in zip(a, b))


#: words of a 300 x 1000 page: tiles of 256 overlapping by 64 start at x 0, 186, 372,
#: 558, 744 (and y 0, 44): words inside overlaps, across seams, one longer than the overlap
WORDS = [(20, 20, 80, 40), (190, 60, 240, 80),      # inside the first overlap (x 186-256)
         (150, 100, 300, 120),                        # across both edges of an overlap
         (330, 150, 470, 170),                        # longer than the overlap, across two
         (500, 200, 520, 215), (600, 30, 640, 50),
         (900, 260, 990, 280),                        # at the page's right border
         (100, 230, 900, 250)]                        # a long rule across every tile


def test_grid_covers_the_page_with_the_overlap():
    for length, size, overlap in [(1000, 256, 64), (256, 256, 64), (257, 256, 64),
                                  (20000, 1536, 256), (100, 256, 0)]:
        s = tiles.starts(length, size, overlap)
        assert s[0] == 0 and min(s[-1] + size, length) == length
        assert all(b - a <= size - overlap for a, b in zip(s, s[1:]))
    rects = tiles.grid(300, 1000, 256, 64)
    cover = np.zeros((300, 1000), int)
    for x0, y0, x1, y1 in rects:
        cover[y0:y1, x0:x1] += 1
        assert x1 - x0 <= 256 and y1 - y0 <= 256
    assert cover.min() >= 1


def test_tiled_page_gives_the_whole_pages_detections():
    img = page(300, 1000, WORDS)
    whole = detector("infer.tile.enabled=false", "infer.resize.max_side=1024")(img)
    det = detector("infer.tile.enabled=true", "infer.tile.size=256", "infer.tile.overlap=64")
    tiled = det(img)
    assert det.timings["tiles"] == 10  # 5 x 2 tiles, each through the network alone
    assert max(s[2] for s in det.backend.shapes) <= 256
    assert max(s[3] for s in det.backend.shapes) <= 256
    assert len(whole) == len(WORDS)
    assert close(bboxes(tiled), bboxes(whole)), (bboxes(tiled), bboxes(whole))
    for p, s in tiled:
        assert p.dtype == np.float32 and p.shape[1] == 2 and 0 < s <= 1


def test_line_level_groups_after_the_merge():
    img = page(300, 1000, WORDS[:4])
    whole = detector("infer.tile.enabled=false")(img, level="line")
    tiled = detector("infer.tile.enabled=true", "infer.tile.size=256",
                     "infer.tile.overlap=64")(img, level="line")
    assert close(bboxes(tiled), bboxes(whole))


def test_auto_tiles_only_where_the_cap_would_shrink_the_page():
    det = detector("infer.resize.max_side=512", "infer.tile.size=256", "infer.tile.overlap=64")
    assert det.tile_plan(300, 500) is None
    assert det.tile_plan(300, 2000) == (300, 2000)  # native scale, not 77 x 512
    strip = page(60, 3000, [(x, 20, x + 40, 35) for x in range(10, 2950, 70)])
    dets = det(strip)
    assert det.timings["tiles"] > 1
    assert close(bboxes(dets), bboxes(detector("infer.resize.max_side=3008",
                                               "infer.tile.enabled=false")(strip)))
    assert detector("infer.tile.enabled=false").tile_plan(300, 20000) is None


def test_a_batch_mixes_tiled_and_whole_pages_in_order():
    det = detector("infer.resize.max_side=512", "infer.tile.size=256", "infer.tile.overlap=64")
    small, big = page(100, 200, [(10, 10, 60, 30)]), page(100, 1500, WORDS[:1])
    out = det.batch([big, small, big])
    assert [len(d) for d in out] == [1, 1, 1]
    assert close(bboxes(out[0]), bboxes(out[2]))
    assert close(bboxes(out[1]), bboxes(det(small)))
    assert close(bboxes(out[0]), bboxes(det(big)))


def test_merge_keeps_the_whole_copy_and_joins_cut_pieces():
    rects = [(0, 0, 100, 50), (60, 0, 160, 50)]
    def box(x0, x1, y):
        return np.array([[x0, y], [x1, y], [x1, y + 8], [x0, y + 8]], np.float32)

    # a word inside the overlap (whole in both), a word cut in tile 0 and whole in tile 1,
    # a word cut in both (longer than the overlap) and a word only in tile 1
    t0 = [(box(62, 70, 2), 0.9), (box(85, 99.5, 12), 0.8), (box(40, 99.5, 22), 0.7)]
    t1 = [(box(62, 70, 2), 0.9), (box(85, 110, 12), 0.8), (box(60.5, 130, 22), 0.6),
          (box(140, 150, 32), 1.0)]
    out = tiles.merge([t0, t1], rects, (50, 160))
    assert bboxes(out) == [(40, 22, 130, 30), (62, 2, 70, 10), (85, 12, 110, 20),
                           (140, 32, 150, 40)]
    assert [s for _, s in out] == [0.9, 0.7, 0.8, 1.0]  # in tile order; a joined word: max
    assert tiles.merge([[], []], rects, (50, 160)) == []


def test_tile_settings_are_checked_by_the_config_loader():
    method = {"model": {"head": {"method": "db"}}}
    with pytest.raises(ConfigError, match="infer.tile.enabled"):
        load_config(method, ["infer.tile.enabled=sometimes"])
    with pytest.raises(ConfigError, match="infer.tile.size"):
        load_config(method, ["infer.tile.size=10"])
    with pytest.raises(ConfigError, match="infer.tile.overlap"):
        load_config(method, ["infer.tile.overlap=-1"])
    with pytest.raises(ConfigError, match="infer.tile.overlap"):
        detector("infer.tile.size=256", "infer.tile.overlap=256")
    det = detector()
    assert det.tile == {"enabled": "auto", "size": 1536, "overlap": 256}
    # a model whose stored config has no infer.tile gets the defaults
    cfg = load_config(method)
    del cfg["infer"]["tile"]
    assert Detector(cfg, DarkIsText()).tile["size"] == 1536


def test_auto_runs_a_capped_page_whole_when_its_text_stays_readable():
    """A 600-DPI receipt's large type reads fine at the cap: tiles would only cost time."""
    det = detector("infer.resize.max_side=512", "infer.tile.size=256", "infer.tile.overlap=64")
    big = page(2400, 1200, [(x, y, x + 60, y + 100) for y in range(100, 2300, 220)
                            for x in range(100, 1100, 200)])
    assert det.tile_plan(2400, 1200, image=big) is None          # 100 px glyphs -> 21 px
    det(big)
    assert det.timings["tiles"] == 0
    small = page(2400, 1200, [(x, y, x + 8, y + 10) for y in range(100, 2300, 40)
                              for x in range(100, 1100, 30)])
    assert det.tile_plan(2400, 1200, image=small) == (2400, 1200)  # 10 px glyphs: native
