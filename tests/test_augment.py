import cv2
import numpy as np
import pytest

from textseg.data import augment as A
from textseg.data.icdar import Annotation
from textseg.geometry import order_clockwise, polygon_area

NO_PHOTO = {"color_jitter": 0.0, "blur": 0.0, "noise": 0.0, "jpeg": 0.0}


def _quad(cx, cy, w, h, deg):
    a = np.deg2rad(deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    pts = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) @ rot.T
    return order_clockwise(pts + [cx, cy])


def _scene(w=260, h=220):
    """Black image with white filled quads and their annotations."""
    img = np.zeros((h, w, 3), np.uint8)
    anns = []
    for i, (cx, cy, qw, qh, deg) in enumerate([(60, 50, 70, 24, 0), (180, 60, 60, 30, 12),
                                               (90, 140, 90, 26, -8), (200, 170, 50, 40, 25)]):
        q = _quad(cx, cy, qw, qh, deg)
        cv2.fillPoly(img, [np.round(q).astype(np.int32)], (255, 255, 255))
        anns.append(Annotation(q, f"w{i}", False))
    return img, anns


def _iou_check(img, anns):
    """IoU between the white pixels and the rasterised care polygons."""
    ink = img[..., 0] > 127
    mask = np.zeros(img.shape[:2], np.uint8)
    for a in anns:
        cv2.fillPoly(mask, [np.round(a.polygon).astype(np.int32)], 1)
    inter = np.logical_and(ink, mask > 0).sum()
    union = np.logical_or(ink, mask > 0).sum()
    return inter / max(union, 1)


@pytest.mark.parametrize("name", ["scale", "rotate", "perspective", "crop", "train"])
def test_geometric_transforms_move_polygons_with_pixels(name):
    img, anns = _scene()
    for seed in range(3):
        rng = np.random.default_rng(seed)
        if name == "scale":
            out, moved = A.random_scale(img, anns, rng, 0.6, 1.8)
        elif name == "rotate":
            out, moved = A.random_rotate(img, anns, rng, 30.0)
        elif name == "perspective":
            out, moved = A.random_perspective(img, anns, rng, 0.08)
        elif name == "crop":
            out, moved = A.random_crop(img, anns, rng, 300)  # larger than the image: padded
            assert out.shape == (300, 300, 3)
        else:
            aug = A.TrainAugment(dict(NO_PHOTO, scale=[0.7, 1.5], rotate=10, perspective=0.03,
                                      crop_text_prob=1.0), 512)
            out, moved = aug(img, anns, rng)
            assert out.shape == (512, 512, 3) and out.dtype == np.uint8
        assert len(moved) == len(anns)
        assert not any(a.ignore for a in moved)
        assert _iou_check(out, moved) > 0.9
        for a in moved:
            assert polygon_area(a.polygon) > 0  # clockwise in image coordinates
            np.testing.assert_allclose(order_clockwise(a.polygon), a.polygon, atol=1e-4)


def test_crop_marks_cut_words_ignore_and_drops_outside():
    img = np.zeros((100, 200, 3), np.uint8)
    inside = Annotation(_quad(30, 30, 20, 10, 0), "in", False)
    cut = Annotation(_quad(95, 50, 30, 10, 0), "cut", False)      # straddles x = 100
    outside = Annotation(_quad(160, 50, 20, 10, 0), "out", False)
    H = np.eye(3)
    out, anns = A.warp(img, [inside, cut, outside], H, (100, 100))
    assert out.shape == (100, 100, 3)
    by_text = {a.text: a for a in anns}
    assert set(by_text) == {"in", "cut"}
    assert not by_text["in"].ignore
    assert by_text["cut"].ignore
    p = by_text["cut"].polygon
    assert p[:, 0].max() <= 100 and p[:, 0].min() == pytest.approx(80, abs=0.01)


def test_train_augment_cuts_at_crop_border_are_dont_care():
    img, anns = _scene(600, 600)
    aug = A.TrainAugment(dict(NO_PHOTO, scale=[1.0, 1.0], rotate=0, perspective=0,
                              crop_text_prob=1.0), 64)
    seen_cut = False
    for seed in range(20):
        out, moved = aug(img, anns, np.random.default_rng(seed))
        for a in moved:
            assert a.polygon[:, 0].min() >= 0 and a.polygon[:, 0].max() <= 64
            assert a.polygon[:, 1].min() >= 0 and a.polygon[:, 1].max() <= 64
        seen_cut |= any(a.ignore for a in moved)
    assert seen_cut  # 64 px crops of 60-90 px words must cut some


def test_text_preferring_crop_finds_the_only_word():
    img = np.zeros((1500, 1500, 3), np.uint8)
    q = _quad(1200, 300, 40, 16, 0)
    cv2.fillPoly(img, [np.round(q).astype(np.int32)], (255, 255, 255))
    aug = A.TrainAugment(dict(NO_PHOTO, scale=[1.0, 1.0], rotate=0, perspective=0,
                              crop_text_prob=1.0), 128)
    for seed in range(5):
        out, moved = aug(img, [Annotation(q, "x", False)], np.random.default_rng(seed))
        assert len(moved) == 1 and out.max() == 255


def test_train_augment_is_deterministic_for_a_generator_state():
    img, anns = _scene()
    aug = A.TrainAugment({}, 128)
    a1 = aug(img, anns, np.random.default_rng(7))
    a2 = aug(img, anns, np.random.default_rng(7))
    a3 = aug(img, anns, np.random.default_rng(8))
    assert np.array_equal(a1[0], a2[0])
    assert len(a1[1]) == len(a2[1])
    for x, y in zip(a1[1], a2[1]):
        assert np.array_equal(x.polygon, y.polygon) and x.ignore == y.ignore
    assert not np.array_equal(a1[0], a3[0])


def test_small_words_become_dont_care_after_downscaling():
    img, anns = _scene()
    aug = A.TrainAugment(dict(NO_PHOTO, scale=[0.08, 0.08], rotate=0, perspective=0), 64, min_height=4)
    _, moved = aug(img, anns, np.random.default_rng(0))
    assert moved and all(a.ignore for a in moved)


def test_photometric_ops_keep_shape_and_type():
    img, _ = _scene(64, 48)
    rng = np.random.default_rng(0)
    for f in (lambda x: A.color_jitter(x, rng, 0.4), lambda x: A.gaussian_blur(x, rng),
              lambda x: A.gaussian_noise(x, rng), lambda x: A.jpeg_compress(x, rng)):
        y = f(img)
        assert y.shape == img.shape and y.dtype == np.uint8


def test_pad_to_and_bad_config():
    img, anns = _scene(50, 40)
    out, same = A.pad_to(img, anns, 64)
    assert out.shape == (64, 64, 3) and np.array_equal(out[:40, :50], img)
    with pytest.raises(ValueError, match="unknown option"):
        A.TrainAugment({"rotation": 3}, 64)
    with pytest.raises(ValueError, match="scale"):
        A.TrainAugment({"scale": [2.0, 1.0]}, 64)
