"""textseg.scale: the resize policies, and the text-scale policy (infer.resize.glyph_px)
that sizes a page by its glyphs instead of its pixels."""

import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import sans_font
from textseg.scale import glyph_height, input_size, page_size

DOC = {"policy": "document", "max_side": 2048, "multiple": 32, "upscale_to": 2000}


def _page(w, h, size):
    """A white page with rows of black text ``size`` px (font size) high."""
    im = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(im)
    font = sans_font(size)
    for y in range(size, h - 2 * size, int(1.8 * size)):
        d.text((size, y), "lorem ipsum dolor sit amet 1234 consectetur", fill=0, font=font)
    return np.asarray(im.convert("RGB"))


def test_input_size_policies():
    assert input_size(1000, 750, DOC) == (2000, 1500)                  # small page: upscaled
    assert input_size(4000, 3000, DOC) == (2048, 1536)                 # large: capped
    assert input_size(1000, 750, {**DOC, "upscale_to": 0}) == (1000, 750)
    assert input_size(640, 480, {"policy": "fixed", "long_side": 320}) == (320, 240)
    # max_upscale: small pages come up to upscale_to by at most that factor
    capped = {**DOC, "max_upscale": 1.6}
    assert input_size(1000, 750, capped) == (1600, 1200)               # 1.6x, not 2x
    assert input_size(1500, 1000, capped) == (2000, 1333)              # 1.33x: under the cap
    assert input_size(4000, 3000, capped) == (2048, 1536)              # shrinking: unchanged
    assert input_size(1000, 750, {**DOC, "max_upscale": 0.5}) == (1000, 750)  # never shrinks


def test_glyph_policy_scales_by_the_text_not_the_page():
    big = _page(900, 1200, 48)           # a small photo of large type
    g = glyph_height(big)
    assert 25 < g < 50
    assert page_size(big, DOC) == input_size(1200, 900, DOC)           # off by default
    nh, nw = page_size(big, {**DOC, "glyph_px": 16, "min_long": 320})
    assert nh / 1200 == pytest.approx(16 / g, rel=0.1)                 # glyphs to 16 px
    assert nw / nh == pytest.approx(900 / 1200, rel=0.01)
    # never below min_long, never above the policy's own scale (small text: as before)
    assert max(page_size(big, {**DOC, "glyph_px": 16, "min_long": 1000})) == 1000
    small = _page(900, 1200, 9)
    assert page_size(small, {**DOC, "glyph_px": 16}) == input_size(1200, 900, DOC)
    # no glyphs to measure (a blank page): the policy's size
    blank = np.full((1200, 900, 3), 255, np.uint8)
    assert page_size(blank, {**DOC, "glyph_px": 16}) == input_size(1200, 900, DOC)
    # the fixed policy ignores glyph_px
    fixed = {"policy": "fixed", "long_side": 512, "glyph_px": 16}
    assert page_size(big, fixed) == input_size(1200, 900, fixed)


def test_glyph_px_is_range_checked():
    from textseg.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="glyph_px"):
        load_config(os.path.join(os.path.dirname(__file__), "..", "configs",
                                 "db_fpn_r18w50_scans.yaml"), ["infer.resize.glyph_px=-3"])


def _text_block(w, h, box, size=16, seed=0):
    """A white page (a little scan noise) with a block of text inside ``box`` (x0, y0, x1,
    y1) only; and the text's ink box (x0, y0, x1, y1), x1 and y1 exclusive."""
    rng = np.random.default_rng(seed)
    im = Image.new("L", (w, h), 250)
    d = ImageDraw.Draw(im)
    font = sans_font(size)
    x0, y0, x1, y1 = box
    step = font.getlength("lorem ipsum ")
    for y in range(y0, y1 - size, int(1.8 * size)):
        for x in np.arange(x0, x1 - step, step):  # the rows fill the box
            d.text((float(x), y), "lorem ipsum", fill=0, font=font)
    a = np.asarray(im).astype(np.int16)
    ys, xs = np.nonzero(a < 128)
    ink = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    a += rng.integers(-6, 7, (h, w)).astype(np.int16)  # flat grain
    specks = rng.integers(0, [h, w], (30, 2))  # lone dark specks, margins included
    a[specks[:, 0], specks[:, 1]] = 0
    return np.repeat(np.clip(a, 0, 255).astype(np.uint8)[..., None], 3, axis=2), ink


def test_content_box_keeps_the_text_and_drops_blank_margins():
    from textseg.scale import content_box

    page, (ix0, iy0, ix1, iy1) = _text_block(1200, 1600, (300, 400, 800, 900))
    box = content_box(page)
    assert box is not None
    x0, y0, x1, y1 = box
    assert x0 <= ix0 and y0 <= iy0 and ix1 <= x1 and iy1 <= y1  # all the text is inside
    pad = 0.02 * 1600
    assert x0 >= ix0 - pad - 8 and y0 >= iy0 - pad - 8  # padded, and the specks do not
    assert x1 <= ix1 + pad + 8 and y1 <= iy1 + pad + 8  # widen it
    # a full page, and a blank one, are not cropped
    assert content_box(_text_block(1200, 1600, (20, 20, 1180, 1580))[0]) is None
    assert content_box(np.full((600, 400, 3), 255, np.uint8)) is None


def test_crop_margins_gives_the_same_words_in_the_page_frame():
    from textseg.detector import Detector
    from textseg.geometry import polygon_iou

    from textseg.scale import content_box

    page, _ = _text_block(900, 1200, (250, 300, 700, 700), size=20)
    assert content_box(page) is not None  # a page with margins to crop
    det = Detector.load("default", threads=1)
    assert det.resize["crop_margins"] is True  # the shipped model crops
    on = det(page)
    off = Detector.load("default", threads=1).set_infer(
        overrides=["infer.resize.crop_margins=false"])(page)
    assert len(on) == len(off) >= 20
    for p, _ in on:  # same boxes, in the frame of the whole page
        assert max(polygon_iou(p, q) for q, _ in off) > 0.9
        assert p[:, 0].min() >= 240 and p[:, 1].min() >= 290
