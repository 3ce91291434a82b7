"""hOCR 1.2 (the classes and properties Tesseract writes) for a page layout.

Structure: ``ocr_page`` > ``ocr_carea`` (a block) > ``ocr_par`` > ``ocr_line`` >
``ocrx_word``, in reading order (document order is hOCR's reading order). Properties
(``title``): ``bbox`` (integers, every element), ``baseline`` (slope and offset from the
bottom-left corner of the line's bbox, for lines), ``textangle`` (counter-clockwise
degrees, for lines not reading left to right), ``x_size``, ``x_wconf`` (0-100, for words),
``image`` and ``ppageno`` (the page) and, beyond what Tesseract writes but in the
specification, ``poly`` (the rotated polygon: the reader prefers it to ``bbox``). Words
are empty spans (``<span ...></span>``, never self-closed) until text is recognised.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np

from ..layout.page import Block, Line, PageLayout, Word
from ._common import bbox, box_polygon, int_points, rounded_direction, write_xml

__all__ = ["write_hocr", "read_hocr", "to_hocr_tree"]

XHTML = "http://www.w3.org/1999/xhtml"
DOCTYPE = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
           '    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">')
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf ocrp_poly"


def _bbox_prop(poly):
    return "bbox %d %d %d %d" % bbox(poly)


def _poly_prop(poly):
    return "poly " + " ".join(f"{x} {y}" for x, y in int_points(poly, None))


def _quote(name):
    return '"' + str(name).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _line_title(line):
    props = [_bbox_prop(line.polygon)]
    angle = rounded_direction(line.direction)
    x0, y0, x1, y1 = bbox(line.polygon)
    if line.baseline is not None and angle == 0:
        (bx0, by0), (bx1, by1) = np.asarray(line.baseline, np.float64)
        slope = (by1 - by0) / (bx1 - bx0) if abs(bx1 - bx0) > 1e-6 else 0.0
        offset = by0 + slope * (x0 - bx0) - y1  # baseline at x0, from the bbox bottom
        props.append(f"baseline {slope:.3f} {offset:.0f}")
    if angle:
        props.append(f"textangle {(360 - angle) % 360}")
    props.append(f"x_size {y1 - y0 if angle in (0, 180) else x1 - x0}")
    props.append(_poly_prop(line.polygon))
    return "; ".join(props)


def to_hocr_tree(layout, image_name=None):
    """The hOCR document of ``layout`` as an ElementTree root (``html``)."""
    name = layout.image if image_name is None else image_name
    html = ET.Element(f"{{{XHTML}}}html", {"xml:lang": "en", "lang": "en"})
    head = ET.SubElement(html, f"{{{XHTML}}}head")
    ET.SubElement(head, f"{{{XHTML}}}title").text = ""
    ET.SubElement(head, f"{{{XHTML}}}meta", {"http-equiv": "Content-Type",
                                             "content": "text/html;charset=utf-8"})
    ET.SubElement(head, f"{{{XHTML}}}meta", {"name": "ocr-system", "content": "textseg"})
    ET.SubElement(head, f"{{{XHTML}}}meta", {"name": "ocr-capabilities", "content": CAPABILITIES})
    body = ET.SubElement(html, f"{{{XHTML}}}body")
    page_title = (f"image {_quote(name)}; bbox 0 0 {int(layout.width)} {int(layout.height)}; "
                  f"ppageno 0")
    page = ET.SubElement(body, f"{{{XHTML}}}div", {"class": "ocr_page", "id": "page_1",
                                                   "title": page_title})
    nb = nl = nw = 0
    for block in layout.blocks:
        nb += 1
        carea = ET.SubElement(page, f"{{{XHTML}}}div", {
            "class": "ocr_carea", "id": f"block_1_{nb}",
            "title": _bbox_prop(block.polygon) + "; " + _poly_prop(block.polygon)})
        par = ET.SubElement(carea, f"{{{XHTML}}}p", {
            "class": "ocr_par", "id": f"par_1_{nb}", "lang": "eng",
            "title": _bbox_prop(block.polygon)})
        for line in block.lines:
            nl += 1
            ln = ET.SubElement(par, f"{{{XHTML}}}span", {
                "class": "ocr_line", "id": f"line_1_{nl}", "title": _line_title(line)})
            for w in line.words:
                nw += 1
                title = _bbox_prop(w.polygon)
                if w.score is not None:
                    title += f"; x_wconf {int(round(100 * min(max(w.score, 0.0), 1.0)))}"
                title += "; " + _poly_prop(w.polygon)
                ws = ET.SubElement(ln, f"{{{XHTML}}}span", {"class": "ocrx_word",
                                                            "id": f"word_1_{nw}", "title": title})
                ws.text = w.text or ""
    return html


def write_hocr(path, layout, image_name=None, overwrite=True):
    """Write ``layout`` as an hOCR file (XHTML, UTF-8, atomic). ``image_name``: the
    page's ``image`` property (default ``layout.image``)."""
    write_xml(path, to_hocr_tree(layout, image_name), overwrite, doctype=DOCTYPE,
              namespaces=(("", XHTML),), short_empty=False)


_PROP = re.compile(r"\s*([A-Za-z_]+)\s+([^;]*)")


def _props(title):
    out = {}
    for part in (title or "").split(";"):
        m = _PROP.match(part)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def _polygon(props):
    if "poly" in props:
        v = [float(x) for x in props["poly"].split()]
        return np.asarray(v, np.float32).reshape(-1, 2)
    x0, y0, x1, y1 = (float(x) for x in props["bbox"].split()[:4])
    return box_polygon(x0, y0, x1, y1)


def _classes(el):
    return set((el.get("class") or "").split())


def read_hocr(path):
    """Read an hOCR file (first page) back into a :class:`PageLayout`: polygons from
    ``poly`` where present, else from ``bbox``; scores from ``x_wconf``."""
    root = ET.parse(path).getroot()
    els = list(root.iter())
    page = next((e for e in els if "ocr_page" in _classes(e)), None)
    if page is None:
        raise ValueError(f"{path}: no ocr_page in this hOCR file")
    pp = _props(page.get("title"))
    _, _, w, h = (int(float(x)) for x in pp.get("bbox", "0 0 0 0").split()[:4])
    name = pp.get("image", "").strip('"')
    layout = PageLayout(w, h, image=name)
    for carea in (e for e in page.iter() if "ocr_carea" in _classes(e)):
        block = Block(_polygon(_props(carea.get("title"))))
        for ln in (e for e in carea.iter() if "ocr_line" in _classes(e)):
            lp = _props(ln.get("title"))
            angle = (360 - int(float(lp.get("textangle", 0)))) % 360
            line = Line(_polygon(lp), direction=float(angle))
            for we in (e for e in ln.iter() if "ocrx_word" in _classes(e)):
                wp = _props(we.get("title"))
                score = float(wp["x_wconf"]) / 100.0 if "x_wconf" in wp else None
                text = "".join(we.itertext())
                line.words.append(Word(_polygon(wp), score, float(angle), text=text))
            block.lines.append(line)
        layout.blocks.append(block)
    return layout.renumber()
