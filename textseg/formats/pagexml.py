"""PAGE XML 2019-07-15 (``http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15``).

``Page`` > ``TextRegion`` (a block; ``type`` paragraph, or ``other`` with
``custom="structure {type:table;}"`` for tables) > ``TextLine`` (``Coords``, ``Baseline``)
> ``Word`` (``Coords``), with ``ReadingOrder`` listing the regions and ``index`` on lines.
Coordinates are integer points (clipped at 0, as the schema's pattern demands); the
detection score goes to ``Coords/@conf``; regions and lines that do not read left to
right get ``orientation`` (clockwise degrees that would correct them, as the schema
defines it) and ``readingDirection``. Text is empty until it is recognised: no
``TextEquiv`` (it is optional in PAGE). The file validates against the official schema.
"""

from __future__ import annotations

import datetime as _dt
import xml.etree.ElementTree as ET

from ..layout.page import Block, Line, PageLayout, Word
from ._common import parse_points, points_attr, rounded_direction, write_xml

__all__ = ["write_page_xml", "read_page_xml", "to_page_tree", "PAGE_NS"]

PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = PAGE_NS + " " + PAGE_NS + "/pagecontent.xsd"
_READING = {0: "left-to-right", 90: "top-to-bottom", 180: "right-to-left", 270: "bottom-to-top"}


def _q(tag):
    return f"{{{PAGE_NS}}}{tag}"


def _coords(parent, poly, score=None):
    attrs = {"points": points_attr(poly)}
    if score is not None:
        attrs["conf"] = f"{min(max(float(score), 0.0), 1.0):.4f}"
    ET.SubElement(parent, _q("Coords"), attrs)


def _orientation(direction):
    # the clockwise rotation that corrects a region of this reading direction: -direction
    a = -float(direction)
    return f"{(a + 180) % 360 - 180:.2f}"


def to_page_tree(layout, image_name=None, created=None):
    name = layout.image if image_name is None else image_name
    now = created or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    root = ET.Element(_q("PcGts"), {f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION})
    meta = ET.SubElement(root, _q("Metadata"))
    ET.SubElement(meta, _q("Creator")).text = "textseg"
    ET.SubElement(meta, _q("Created")).text = now
    ET.SubElement(meta, _q("LastChange")).text = now
    attrs = {"imageFilename": str(name), "imageWidth": str(int(layout.width)),
             "imageHeight": str(int(layout.height))}
    if (layout.orientation + layout.skew) % 360:
        attrs["orientation"] = _orientation(layout.orientation + layout.skew)
    page = ET.SubElement(root, _q("Page"), attrs)
    if layout.blocks:
        ro = ET.SubElement(page, _q("ReadingOrder"))
        group = ET.SubElement(ro, _q("OrderedGroup"), {"id": "ro_1"})
        for b in layout.blocks:
            ET.SubElement(group, _q("RegionRefIndexed"), {"index": str(b.order),
                                                          "regionRef": f"r_{b.order + 1}"})
    for b in layout.blocks:
        ra = {"id": f"r_{b.order + 1}"}
        if b.kind == "table":
            ra.update({"type": "other", "custom": "structure {type:table;}"})
        else:
            ra["type"] = "paragraph"
        a = rounded_direction(b.direction)
        if a:
            ra.update({"orientation": _orientation(b.direction), "readingDirection": _READING[a]})
        region = ET.SubElement(page, _q("TextRegion"), ra)
        _coords(region, b.polygon, b.score)
        for line in b.lines:
            la = {"id": f"l_{line.order + 1}", "index": str(line.order)}
            a = rounded_direction(line.direction)
            if a:
                la["readingDirection"] = _READING[a]
            tl = ET.SubElement(region, _q("TextLine"), la)
            _coords(tl, line.polygon, line.score)
            if line.baseline is not None:
                ET.SubElement(tl, _q("Baseline"), {"points": points_attr(line.baseline)})
            for w in line.words:
                wa = {"id": f"w_{w.order + 1}"}
                if a:
                    wa["readingDirection"] = _READING[a]
                we = ET.SubElement(tl, _q("Word"), wa)
                _coords(we, w.polygon, w.score)
                if w.text:
                    te = ET.SubElement(we, _q("TextEquiv"))
                    ET.SubElement(te, _q("Unicode")).text = w.text
            if line.text:
                te = ET.SubElement(tl, _q("TextEquiv"))
                ET.SubElement(te, _q("Unicode")).text = line.text
    return root


def write_page_xml(path, layout, image_name=None, overwrite=True):
    """Write ``layout`` as PAGE XML 2019-07-15 (UTF-8, atomic)."""
    write_xml(path, to_page_tree(layout, image_name), overwrite,
              namespaces=(("", PAGE_NS), ("xsi", XSI)))


def _direction(el):
    inv = {v: k for k, v in _READING.items()}
    return float(inv.get(el.get("readingDirection"), 0))


def _text(el):
    u = el.find(f"{_q('TextEquiv')}/{_q('Unicode')}")
    return "" if u is None or u.text is None else u.text


def _conf(coords):
    c = coords.get("conf")
    return None if c is None else float(c)


def read_page_xml(path):
    """Read a PAGE XML file back into a :class:`PageLayout` (regions in ``ReadingOrder``
    order where given, else document order)."""
    root = ET.parse(path).getroot()
    page = root.find(_q("Page"))
    if page is None:
        raise ValueError(f"{path}: no Page in this PAGE XML file")
    layout = PageLayout(int(page.get("imageWidth", 0)), int(page.get("imageHeight", 0)),
                        image=page.get("imageFilename", ""))
    regions = {}
    for r in page.iter(_q("TextRegion")):
        c = r.find(_q("Coords"))
        kind = "table" if "type:table" in (r.get("custom") or "") else "text"
        block = Block(parse_points(c.get("points")), score=_conf(c), direction=_direction(r),
                      kind=kind)
        for tl in r.findall(_q("TextLine")):
            lc = tl.find(_q("Coords"))
            bl = tl.find(_q("Baseline"))
            line = Line(parse_points(lc.get("points")), score=_conf(lc),
                        direction=_direction(tl), text=_text(tl),
                        baseline=None if bl is None else parse_points(bl.get("points")))
            for we in tl.findall(_q("Word")):
                wc = we.find(_q("Coords"))
                line.words.append(Word(parse_points(wc.get("points")), _conf(wc),
                                       _direction(we) if we.get("readingDirection") else line.direction,
                                       text=_text(we)))
            block.lines.append(line)
        regions[r.get("id")] = block
    refs = [(int(x.get("index")), x.get("regionRef")) for x in page.iter(_q("RegionRefIndexed"))]
    ordered = [regions[ref] for _, ref in sorted(refs) if ref in regions]
    rest = [b for rid, b in regions.items() if rid not in {ref for _, ref in refs}]
    layout.blocks = ordered + rest
    return layout.renumber()
