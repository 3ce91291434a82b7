"""Synthetic pages v2: forms, receipts, faxes and copies, inverse/vertical/display text.

Small pages (60-90 DPI) keep these fast. Nothing here needs fonts beyond matplotlib's
DejaVu set: handwriting falls back to italic printed families with glyph jitter.
"""

import json

import cv2
import numpy as np
import pytest

from textseg.data import synth
from textseg.data.synth import degrade, extras, fonts, graphics
from textseg.data.synth.pages import draw_page
from textseg.data.synth.render import Canvas

SMALL = {"dpi_range": (60, 80)}


def _cfg(template, **kw):
    return {**SMALL, "templates": {template: 1.0}, **kw}


def _text_ink(cv):
    """Union of the text layers (what word boxes are measured on)."""
    out = np.zeros((cv.h, cv.w), np.uint8)
    for lay in cv.layers.values():
        np.maximum(out, lay, out=out)
    return out


def _check_labels(page):
    h, w = page.image.shape[:2]
    assert page.words
    for a in page.words + page.lines:
        p = a.polygon
        assert p[:, 0].min() >= 0 and p[:, 1].min() >= 0
        assert p[:, 0].max() <= w and p[:, 1].max() <= h


def test_fonts_are_listed_and_work_with_matplotlib_fonts_only():
    names = fonts.family_names()
    assert set(names) == {"serif", "sans", "mono", "hand"}
    assert all(names[k] for k in ("serif", "sans", "mono"))
    assert fonts.hand_families()  # handwriting-style fonts, or italic printed ones
    m = synth.manifest(None, 3, 1, "both")
    assert m["fonts"]["families"] == sum(len(v) for v in names.values()) > 0
    assert m["config"]["p_inverse"] == synth.SYNTH_DEFAULTS["p_inverse"]


def test_v2_pages_are_deterministic():
    for template in ("boxform", "receipt"):
        cfg = _cfg(template, p_photocopy=1.0, p_vertical=1.0, p_photo=0.5)
        a, b = synth.generate_page(4, cfg), synth.generate_page(4, cfg)
        assert np.array_equal(a.image, b.image) and a.meta == b.meta
        assert [(x.text, x.ignore) for x in a.words] == [(x.text, x.ignore) for x in b.words]
        assert all(np.array_equal(x.polygon, y.polygon) for x, y in zip(a.lines, b.lines))


@pytest.mark.parametrize("template", ["boxform", "receipt", "form", "article"])
def test_word_boxes_are_tight_to_their_ink(template):
    """On the canvas, every word box touches ink on all four sides (no slack), whatever
    the effect (handwriting, dots, letter spacing, vertical, knock-out)."""
    for seed in range(3):
        cv, _, _, _ = draw_page(seed, _cfg(template, p_vertical=1.0, p_inverse=1.0))
        ink = _text_ink(cv) > 0
        for wd in cv.words:
            x0, y0, x1, y1 = (int(round(v)) for v in wd.box)
            box = ink[y0:y1, x0:x1]
            assert box.size and box[0].any() and box[-1].any() and box[:, 0].any() and box[:, -1].any(), wd


def test_boxform_has_rules_entries_checkboxes_and_handwriting():
    cv, _, meta, _ = draw_page(2, _cfg("boxform", p_handwriting=1.0))
    assert meta["template"] == "boxform"
    hand = [w for w in cv.words if w.effect == "hand"]
    assert len(hand) >= 3
    page = synth.generate_page(2, _cfg("boxform", p_handwriting=1.0, effects=False))
    _check_labels(page)
    care = {a.text for a in page.words if not a.ignore}
    assert any(w.text in care for w in hand)  # handwritten words are labelled text
    # ruled boxes: long straight ink rows with no word on them
    rows = (cv.ink > 0).sum(axis=1)
    assert rows.max() > 0.5 * cv.w


def test_non_text_marks_carry_no_labels():
    rng = np.random.default_rng(0)
    cv = Canvas(300, 200, 100)
    graphics.signature(cv, (10, 10, 150, 60), rng)
    graphics.stamp(cv, (220, 100), 40, rng)
    extras.tick(cv, (20, 120, 40, 140), rng)
    extras.cross(cv, (60, 120, 80, 140), rng)
    assert cv.over.any() and cv.layer("pen").any()
    assert cv.words == []


def test_speckle_is_ink_but_not_labelled():
    base = _cfg("article", p_photocopy=1.0, p_speckle=0.0, min_contrast=0)
    a = synth.generate_page(5, base)
    b = synth.generate_page(5, {**base, "p_speckle": 1.0})
    assert a.meta["mode"] == "photocopy" and "speckle" in b.meta
    assert not np.array_equal(a.image, b.image)
    assert [(x.text, x.ignore) for x in a.words] == [(x.text, x.ignore) for x in b.words]
    g = np.full((200, 200), 255, np.uint8)
    assert (degrade.speckle(g, np.random.default_rng(1), 1e-3) < 128).any()


def test_photocopy_mode_is_low_dpi_grey():
    for seed in range(3):
        page = synth.generate_page(seed, {"templates": {"form": 1.0}, "p_photocopy": 1.0,
                                          "dpi_range": (100, 300), "max_side": 900})
        assert page.meta["mode"] == "photocopy" and 100 <= page.meta["dpi"] <= 200
        im = page.image
        assert np.array_equal(im[..., 0], im[..., 1]) and np.array_equal(im[..., 1], im[..., 2])
        _check_labels(page)


def test_receipts_are_narrow_with_unlabelled_rules():
    looks = set()
    for seed in range(8):
        cv, _, meta, _ = draw_page(seed, _cfg("receipt"))
        looks.add(meta["print"].split("+")[0])
        assert cv.h > 1.2 * cv.w
        # separator rules are not words (the corpus has the odd "--" of its own)
        assert not any(len(w.text) >= 4 and set(w.text) <= set("-=*._~") for w in cv.words)
    assert {"thermal"} <= looks


@pytest.mark.parametrize("look,key", [("dots", "p_dot_matrix"), ("spaced", "p_letter_spacing")])
def test_receipt_print_styles_keep_one_box_per_word(look, key):
    cfg = _cfg("receipt", **{"p_dot_matrix": 0.0, "p_letter_spacing": 0.0, key: 1.0})
    cv, _, meta, _ = draw_page(1, cfg)
    assert meta["print"].startswith(look)
    words = [w for w in cv.words if len(w.text) >= 4]
    assert words and all(" " not in w.text for w in cv.words)
    if look == "dots":
        assert any(w.effect == "dots" for w in cv.words)
    # a word box spans the whole (spaced or dotted) word, not one letter
    widths = np.array([(w.box[2] - w.box[0]) / len(w.text) for w in words])
    sizes = np.array([w.size for w in words])
    assert np.median(widths / sizes) > 0.3


def test_photographed_receipt():
    page = synth.generate_page(3, _cfg("receipt", p_photo=1.0, p_creases=1.0, p_shadow=1.0))
    assert page.meta["mode"] == "photo" and page.meta["perspective"]
    assert page.meta.get("creases") and page.meta.get("shadow")
    _check_labels(page)


def test_cropped_pages_mark_cut_words():
    page = synth.generate_page(2, _cfg("article", p_crop=1.0, p_photocopy=0.0))
    assert page.meta["cropped"]
    _check_labels(page)
    assert any(a.ignore for a in page.words)


def test_inverse_text_is_labelled_light_on_dark():
    cfg = {"dpi_range": (110, 130), "templates": {"report": 1.0}, "p_inverse": 1.0, "effects": False}
    found = 0
    for seed in range(6):
        cv, _, _, _ = draw_page(seed, cfg)
        knock = [w for w in cv.words if w.layer == "knock"]
        if not knock:
            continue
        page = synth.generate_page(seed, cfg)
        gray = cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        paper = np.median(gray)
        care = [a for a in page.words if not a.ignore]
        for w in knock:
            if not any(ch.isalnum() for ch in w.text) or w.box[3] - w.box[1] < 8:
                continue
            x0, y0, x1, y1 = (int(round(v)) for v in w.box)
            inside = gray[y0:y1, x0:x1]
            assert inside.mean() < paper - 40  # the bar behind the text is dark
            assert inside.max() > paper - 60    # the text itself is light
            assert any(a.text == w.text for a in care)
            found += 1
    assert found >= 2


def test_vertical_ids_are_tall_quads_and_own_lines():
    page = synth.generate_page(1, _cfg("article", p_vertical=1.0, effects=False))
    cv, _, _, _ = draw_page(1, _cfg("article", p_vertical=1.0, effects=False))
    vert = [w for w in cv.words if w.vertical]
    assert vert
    texts = {w.text for w in vert if len(w.text) >= 3}
    quads = [a for a in page.words if a.text in texts]
    assert quads
    for a in quads:
        wd, ht = np.ptp(a.polygon[:, 0]), np.ptp(a.polygon[:, 1])
        assert ht > wd
    run_text = " ".join(w.text for w in sorted(vert, key=lambda w: w.box[1]))
    assert any(ln.text in (run_text, " ".join(reversed(run_text.split()))) for ln in page.lines)


def test_display_text_and_mixed_sizes():
    heights = []
    for seed in range(4):
        cv, _, _, _ = draw_page(seed, {"dpi_range": (100, 120), "templates": {"article": 1.0},
                                       "p_display": 1.0})
        heights += [w.box[3] - w.box[1] for w in cv.words]
    assert max(heights) >= 30 and min(heights) < 15


def test_narrow_spaced_bold_words_stay_separate():
    rng = np.random.default_rng(3)
    cv = Canvas(800, 100, 150)
    from textseg.data.synth.blocks import Frame, page_style
    from textseg.data.synth.text import get_corpus

    ps = page_style(cv, rng, get_corpus())
    fr = Frame(5, 795, 5, 95)
    extras.narrow_line(cv, fr, ps, rng, words=["TOTAL", "AMOUNT", "DUE", "NOW"], pt=14)
    boxes = sorted(w.box for w in cv.words)
    assert len(boxes) == 4
    assert all(a[2] <= b[0] for a, b in zip(boxes, boxes[1:]))


def test_write_dataset_writes_a_manifest(tmp_path):
    synth.write_dataset(str(tmp_path), 1, seed=2, level="word", dpi_range=(50, 60), progress=False)
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["n"] == 1 and m["seed"] == 2 and m["fonts"]["families"] > 0
    assert m["config"]["dpi_range"] == [50, 60]


def test_lines_are_segments_split_at_wide_gaps():
    from textseg.data.synth.render import Word

    cfg = synth.merge_config(None)
    words = [Word((10, 10, 50, 30), "Total", 1, 20.0, 28.0, space=6.0),
             Word((56, 10, 90, 30), "due:", 1, 20.0, 28.0, space=6.0),       # normal space
             Word((150, 10, 190, 30), "12.50", 1, 20.0, 28.0, space=6.0),    # a column gap
             Word((300, 10, 310, 60), "ID", 2, 10.0, 300.0, vertical=True),  # vertical run
             Word((300, 70, 310, 120), "123", 2, 10.0, 300.0, vertical=True)]
    _, lines = synth.build_gt(words, np.eye(3), (200, 400, 3), cfg)
    assert sorted(ln.text for ln in lines) == ["ID 123", "Total due:", "12.50"] or \
        sorted(ln.text for ln in lines) == sorted(["ID 123", "Total due:", "12.50"])
    tall = [ln for ln in lines if ln.text == "ID 123"][0]
    assert np.ptp(tall.polygon[:, 1]) > 3 * np.ptp(tall.polygon[:, 0])


def test_text_stamps_are_labelled():
    rng = np.random.default_rng(2)
    cv = Canvas(600, 400, 150)
    from textseg.data.synth.blocks import page_style
    from textseg.data.synth.text import get_corpus

    ps = page_style(cv, rng, get_corpus())
    assert extras.text_stamp(cv, ps, rng, 50, 50)
    assert cv.words and any(w.text in extras._STAMP_WORDS for w in cv.words)
    assert all(w.layer == "accent" for w in cv.words)


@pytest.mark.parametrize("template", ["boxform", "form", "receipt", "article", "report"])
def test_words_do_not_overlap(template):
    """Layout never draws a word over another (stamps, notes and IDs go where there is room)."""
    cfg = {"dpi_range": (80, 100), "templates": {template: 1.0}, "p_vertical": 1.0,
           "p_text_stamp": 1.0, "p_hand_note": 1.0, "p_handwriting": 1.0}
    for seed in range(3):
        cv, _, _, _ = draw_page(seed, cfg)
        b = np.array([w.box for w in cv.words])
        x0 = np.maximum(b[:, None, 0], b[None, :, 0])
        y0 = np.maximum(b[:, None, 1], b[None, :, 1])
        x1 = np.minimum(b[:, None, 2], b[None, :, 2])
        y1 = np.minimum(b[:, None, 3], b[None, :, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        frac = inter / np.minimum(area[:, None], area[None, :]).clip(1)
        np.fill_diagonal(frac, 0)
        assert frac.max() < 0.3, (seed, template)


@pytest.mark.parametrize("key,meta_key,value", [("p_dither", "copy", "dither"),
                                                ("p_halftone", "copy", "halftone"),
                                                ("p_streaks", "streaks", True)])
def test_copy_effects(key, meta_key, value):
    cfg = _cfg("letter", p_photocopy=1.0, p_dither=0.0, p_halftone=0.0, p_streaks=0.0)
    cfg[key] = 1.0
    page = synth.generate_page(6, cfg)
    assert page.meta[meta_key] == value
    _check_labels(page)


def test_thermal_fading_and_fax_header():
    cv, _, meta, _ = draw_page(2, _cfg("receipt", p_thermal=1.0, p_dot_matrix=0.0))
    assert meta["print"].endswith("+faded")
    cv, _, meta, _ = draw_page(2, _cfg("letter", p_fax_header=1.0, dpi_range=(90, 100)))
    assert meta["fax_header"]
    top = [w for w in cv.words if w.box[3] < cv.h * 0.06]
    assert top and any(w.text.startswith("P.") for w in top)


def test_typewriter_pages():
    found = False
    for seed in range(10):
        cv, _, meta, _ = draw_page(seed, _cfg("form", p_typewriter=1.0))
        typed = [w for w in cv.words if w.effect == "type"]
        if typed:
            found = True
            assert all(" " not in w.text for w in typed)
            break
    assert found


def test_words_wiped_out_by_the_scan_are_dont_care():
    from textseg.data.synth.render import Word

    cfg = synth.merge_config(None)
    img = np.full((60, 200, 3), 240, np.uint8)
    img[12:28, 12:48] = 20  # "seen" has ink; "gone" left no trace
    words = [Word((10, 10, 50, 30), "seen", 1, 20.0, 28.0), Word((100, 10, 150, 30), "gone", 2, 20.0, 28.0)]
    anns, lines = synth.build_gt(words, np.eye(3), img.shape, cfg, img)
    assert {a.text: a.ignore for a in anns} == {"seen": False, "gone": True}
    assert {ln.text: ln.ignore for ln in lines} == {"seen": False, "gone": True}
    anns, _ = synth.build_gt(words, np.eye(3), img.shape, cfg)  # without the image: no check
    assert not any(a.ignore for a in anns)


def test_display_text_reaches_200_px():
    from textseg.data.synth.blocks import Frame, page_style
    from textseg.data.synth.text import get_corpus

    rng = np.random.default_rng(0)
    for px in (30, 90, 190):
        cv = Canvas(1500, 1000, 180)
        ps = page_style(cv, rng, get_corpus())
        extras.display_text(cv, Frame(20, 1480, 20, 980), ps, rng, px=px)
        tallest = max(w.box[3] - w.box[1] for w in cv.words)
        assert 0.8 * px <= tallest <= 1.8 * px
