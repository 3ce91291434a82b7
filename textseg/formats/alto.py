"""ALTO 4.4 (``http://www.loc.gov/standards/alto/ns-v4#``) for a page layout.

``Layout/Page/PrintSpace`` > ``TextBlock`` > ``TextLine`` > ``String``, in reading order
(element order), with the block order also given explicitly in ``ReadingOrder``. Every
element has its bounding box (``HPOS``, ``VPOS``, ``WIDTH``, ``HEIGHT``, pixels) and its
rotated polygon (``Shape/Polygon``); lines carry ``BASELINE`` (two points), blocks not
reading left to right a ``ROTATION`` (counter-clockwise degrees; ALTO has none on lines:
a line's direction is its block's), the page its orientation and skew the same way. Word scores go to ``WC`` (0-1). Text is empty until it
is recognised: ``String/@CONTENT=""``. The file validates against the official schema.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..layout.page import Block, Line, PageLayout, Word
from ._common import bbox, box_polygon, parse_points, points_attr, rounded_direction, write_xml

__all__ = ["write_alto", "read_alto", "to_alto_tree", "ALTO_NS"]

ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = ALTO_NS + " http://www.loc.gov/alto/v4/alto-4-4.xsd"


def _q(tag):
    return f"{{{ALTO_NS}}}{tag}"


def _box_attrs(poly, attrs):
    x0, y0, x1, y1 = bbox(poly)
    attrs.update({"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(x1 - x0), "HEIGHT": str(y1 - y0)})
    return attrs


def _shape(parent, poly):
    shape = ET.SubElement(parent, _q("Shape"))
    ET.SubElement(shape, _q("Polygon"), {"POINTS": points_attr(poly)})


def _rotation(direction):
    a = rounded_direction(direction)
    return None if a == 0 else str((360 - a) % 360)


def to_alto_tree(layout, image_name=None):
    name = layout.image if image_name is None else image_name
    root = ET.Element(_q("alto"), {f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION,
                                   "SCHEMAVERSION": "4.4"})
    desc = ET.SubElement(root, _q("Description"))
    ET.SubElement(desc, _q("MeasurementUnit")).text = "pixel"
    src = ET.SubElement(desc, _q("sourceImageInformation"))
    ET.SubElement(src, _q("fileName")).text = str(name)
    proc = ET.SubElement(desc, _q("OCRProcessing"), {"ID": "OCR_0"})
    step = ET.SubElement(proc, _q("ocrProcessingStep"))
    ET.SubElement(step, _q("processingStepDescription")).text = (
        "text detection and layout analysis (textseg); text not recognised")
    sw = ET.SubElement(step, _q("processingSoftware"))
    ET.SubElement(sw, _q("softwareName")).text = "textseg"
    if layout.blocks:
        ro = ET.SubElement(root, _q("ReadingOrder"))
        group = ET.SubElement(ro, _q("OrderedGroup"), {"ID": "RO_0"})
        for b in layout.blocks:
            ET.SubElement(group, _q("ElementRef"), {"ID": f"RO_0_{b.order + 1}",
                                                    "REF": f"block_{b.order + 1}"})
    lay = ET.SubElement(root, _q("Layout"))
    page_attrs = {"ID": "page_1", "PHYSICAL_IMG_NR": "1", "WIDTH": str(int(layout.width)),
                  "HEIGHT": str(int(layout.height))}
    angle = -(layout.orientation + layout.skew)
    if angle % 360:
        page_attrs["ROTATION"] = f"{(angle + 180) % 360 - 180:.2f}"
    page = ET.SubElement(lay, _q("Page"), page_attrs)
    space = ET.SubElement(page, _q("PrintSpace"), {"HPOS": "0", "VPOS": "0",
                                                   "WIDTH": str(int(layout.width)),
                                                   "HEIGHT": str(int(layout.height))})
    for b in layout.blocks:
        attrs = _box_attrs(b.polygon, {"ID": f"block_{b.order + 1}"})
        if _rotation(b.direction):
            attrs["ROTATION"] = _rotation(b.direction)
        if b.kind == "table":
            attrs["TAGREFS"] = "TABLE"
        tb = ET.SubElement(space, _q("TextBlock"), {k: v for k, v in attrs.items()
                                                    if k != "TAGREFS"})
        _shape(tb, b.polygon)
        for line in b.lines:
            la = _box_attrs(line.polygon, {"ID": f"line_{line.order + 1}"})
            if line.baseline is not None:
                la["BASELINE"] = points_attr(line.baseline)
            tl = ET.SubElement(tb, _q("TextLine"), la)
            _shape(tl, line.polygon)
            for w in line.words:
                wa = _box_attrs(w.polygon, {"ID": f"word_{w.order + 1}"})
                wa["CONTENT"] = w.text or ""
                if w.score is not None:
                    wa["WC"] = f"{min(max(float(w.score), 0.0), 1.0):.4f}"
                s = ET.SubElement(tl, _q("String"), wa)
                _shape(s, w.polygon)
    return root


def write_alto(path, layout, image_name=None, overwrite=True):
    """Write ``layout`` as ALTO 4.4 (UTF-8, atomic)."""
    write_xml(path, to_alto_tree(layout, image_name), overwrite,
              namespaces=(("", ALTO_NS), ("xsi", XSI)))


def _poly(el):
    pg = el.find(f"{_q('Shape')}/{_q('Polygon')}")
    if pg is not None:
        return parse_points(pg.get("POINTS"))
    x0, y0 = float(el.get("HPOS", 0)), float(el.get("VPOS", 0))
    return box_polygon(x0, y0, x0 + float(el.get("WIDTH", 0)), y0 + float(el.get("HEIGHT", 0)))


def _direction(el):
    r = el.get("ROTATION")
    return 0.0 if r is None else float((360 - round(float(r))) % 360)


def read_alto(path):
    """Read an ALTO 4 file (first page) back into a :class:`PageLayout` (polygons from
    ``Shape/Polygon`` where present, else from the boxes)."""
    root = ET.parse(path).getroot()
    page = root.find(f"{_q('Layout')}/{_q('Page')}")
    if page is None:
        raise ValueError(f"{path}: no Layout/Page in this ALTO file")
    fn = root.find(f"{_q('Description')}/{_q('sourceImageInformation')}/{_q('fileName')}")
    layout = PageLayout(int(float(page.get("WIDTH", 0))), int(float(page.get("HEIGHT", 0))),
                        image="" if fn is None else (fn.text or ""))
    for tb in page.iter(_q("TextBlock")):
        block = Block(_poly(tb), direction=_direction(tb))
        for tl in tb.iter(_q("TextLine")):
            bl = tl.get("BASELINE")
            line = Line(_poly(tl), direction=block.direction,
                        baseline=parse_points(bl) if bl else None)
            for s in tl.iter(_q("String")):
                wc = s.get("WC")
                line.words.append(Word(_poly(s), None if wc is None else float(wc),
                                       line.direction, text=s.get("CONTENT", "")))
            block.lines.append(line)
        layout.blocks.append(block)
    return layout.renumber()
