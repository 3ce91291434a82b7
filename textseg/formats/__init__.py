"""Page-layout file formats for a :class:`textseg.layout.PageLayout`: hOCR 1.2
(:mod:`.hocr`), ALTO 4.4 (:mod:`.alto`) and PAGE XML 2019-07-15 (:mod:`.pagexml`), each
with a writer (atomic, :func:`textseg.fileio.atomic_open`) and a reader back to a layout.

    from textseg.formats import write_hocr, write_alto, write_page_xml, read_layout
    write_alto("page.xml", layout, image_name="scan.png")
    back = read_layout("page.xml")          # format from the content
    back.detections("word")                 # [(polygon, score), ...] in reading order

Text is empty until a recogniser fills ``Word.text`` / ``Line.text``, in each format's own
way: hOCR words are empty spans, ALTO ``String/@CONTENT`` is "", PAGE elements carry no
``TextEquiv``. Standard library XML only (lxml is used by the tests to validate).
"""

from .alto import read_alto, write_alto
from .hocr import read_hocr, write_hocr
from .pagexml import read_page_xml, write_page_xml

__all__ = ["write_hocr", "read_hocr", "write_alto", "read_alto", "write_page_xml",
           "read_page_xml", "read_layout", "write_layout", "FORMATS"]

#: format name -> (writer, reader, file extension)
FORMATS = {
    "hocr": (write_hocr, read_hocr, ".hocr"),
    "alto": (write_alto, read_alto, ".alto.xml"),
    "page": (write_page_xml, read_page_xml, ".page.xml"),
}


def write_layout(path, layout, fmt, image_name=None, overwrite=True):
    """Write ``layout`` to ``path`` in format ``fmt`` (``hocr``, ``alto`` or ``page``)."""
    try:
        writer = FORMATS[fmt][0]
    except KeyError:
        raise ValueError(f"unknown layout format {fmt!r} (choose from {', '.join(FORMATS)})") from None
    writer(path, layout, image_name=image_name, overwrite=overwrite)


def read_layout(path):
    """Read an hOCR, ALTO or PAGE file (told apart by its root element)."""
    with open(path, "rb") as f:
        head = f.read(4096).decode("utf-8", "replace")
    if "<alto" in head:
        return read_alto(path)
    if "<PcGts" in head:
        return read_page_xml(path)
    return read_hocr(path)
