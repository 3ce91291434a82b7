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
