import json
import os

import numpy as np
import pytest
from PIL import Image

from textseg.data.images import Page, load_image
from textseg.output import (OutputExistsError, draw_overlay, output_paths, to_json_dict,
                            write_icdar_txt, write_json, write_overlay, write_page)

QUAD = np.array([[10.123, 5.456], [50.5, 5.0], [50.0, 20.7], [10.0, 20.0]], np.float32)
POLY6 = np.array([[60, 30], [80, 30], [90, 40], [80, 50], [60, 50], [55, 40]], np.float32)
DETS = [(QUAD, 0.98765), (POLY6, 0.5)]


def _page(name="scan.pdf", index=1, n=3):
    return Page(name, index, n, np.full((64, 96, 3), 255, np.uint8))


def test_to_json_dict_from_page_and_path():
    rec = to_json_dict(_page(), DETS, level="line", model="east_fpn")
    assert rec["image"] == "scan.pdf" and rec["page"] == 2 and rec["pages"] == 3
    assert (rec["width"], rec["height"], rec["level"], rec["model"]) == (96, 64, "line", "east_fpn")
    assert rec["detections"][0] == {"polygon": [[10.12, 5.46], [50.5, 5.0], [50.0, 20.7], [10.0, 20.0]],
                                    "score": 0.9877}
    assert len(rec["detections"][1]["polygon"]) == 6
    rec2 = to_json_dict("a.png", [QUAD], width=5, height=7)
    assert rec2["page"] == 1 and rec2["detections"][0]["score"] is None
    with pytest.raises(ValueError):
        to_json_dict("a.png", DETS)


def test_write_json_roundtrip_and_overwrite(tmp_path):
    rec = to_json_dict(_page("dôc.pdf"), DETS)
    p = tmp_path / "r.json"
    write_json(p, rec)
    assert json.loads(p.read_text("utf-8")) == rec
    with pytest.raises(OutputExistsError) as e:
        write_json(p, to_json_dict(_page(), []))
    assert str(p) in str(e.value) and isinstance(e.value, FileExistsError)
    assert json.loads(p.read_text("utf-8")) == rec  # untouched
    empty = to_json_dict(_page(), [])
    write_json(p, empty, overwrite=True)
    assert json.loads(p.read_text("utf-8")) == empty


def test_write_icdar_txt(tmp_path):
    p = tmp_path / "res_img_1.txt"
    write_icdar_txt(p, DETS)
    lines = p.read_text().splitlines()
    assert lines[0] == "10,5,50,5,50,20,10,20"  # truncated, as the ICDAR script reads floats
    assert lines[1] == "60,30,80,30,90,40,80,50,60,50,55,40"
    with pytest.raises(OutputExistsError):
        write_icdar_txt(p, [])
    write_icdar_txt(p, DETS[:1], with_score=True, overwrite=True)
    assert p.read_text() == "10,5,50,5,50,20,10,20,0.98765\n"


def test_draw_overlay():
    img = np.full((64, 96, 3), 255, np.uint8)
    out = draw_overlay(img, DETS, color=(0, 0, 255), thickness=1)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert (img == 255).all()  # input untouched
    assert out[5, 30, 2] > 200 and out[5, 30, 0] < 100  # blue top edge of the quad
    assert (out[35:45, 0:40] == 255).all()  # nothing drawn away from the polygons
    gray = draw_overlay(img[:, :, 0], [QUAD])
    assert gray.shape == (64, 96, 3)
    with pytest.raises(ValueError):
        draw_overlay(img.astype(np.float32), DETS)


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_write_overlay(tmp_path, ext):
    img = np.full((64, 96, 3), 255, np.uint8)
    p = tmp_path / f"o{ext}"
    write_overlay(p, img, DETS, color=(255, 0, 0), thickness=2)
    back = load_image(p)
    assert back.shape == img.shape
    assert back[5, 30, 0] > 200 and back[5, 30, 1] < 90  # red in RGB: channels not swapped
    with pytest.raises(OutputExistsError):
        write_overlay(p, img, [])
    with pytest.raises(ValueError, match="gif"):
        write_overlay(tmp_path / "o.gif", img, DETS)


def test_write_page_names_and_no_partial_overwrite(tmp_path):
    page = _page("/somewhere/../scan.pdf", 1, 3)
    paths = write_page(str(tmp_path), page, DETS, model="m")
    assert {k: os.path.basename(v) for k, v in paths.items()} == {
        "json": "scan_p2.json", "txt": "res_scan_p2.txt", "overlay": "scan_p2_overlay.jpg"}
    assert all(os.path.isfile(v) for v in paths.values())
    os.remove(paths["json"])
    with pytest.raises(OutputExistsError):
        write_page(str(tmp_path), page, DETS)
    assert not os.path.exists(paths["json"])  # nothing written when any output exists
    write_page(str(tmp_path), page, DETS[:1], overwrite=True, formats=("txt",))
    assert open(paths["txt"]).read().count("\n") == 1
    assert output_paths("o", "x", ("json",)) == {"json": os.path.join("o", "x.json")}
    with pytest.raises(ValueError, match="unknown output format"):
        output_paths("o", "x", ("xml",))
    assert Image.open(paths["overlay"]).size == (96, 64)
