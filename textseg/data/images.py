"""Input loading: files, folders and globs -> pages -> RGB uint8 arrays.

    from textseg.data.images import iter_inputs, iter_pages, ImageLoadError

    for path in iter_inputs(["scans/", "extra/*.pdf", "one.png"]):
        try:
            for page in iter_pages(path, dpi=200):
                ...  # page.image is RGB uint8 (H, W, 3); page.stem names its outputs
        except ImageLoadError as e:
            print(e)  # "scans/bad.jpg: image file is truncated"

Formats: JPEG, PNG, BMP, TIFF (every page), WebP and PNM through Pillow, PDF through
pypdfium2 (rendered at ``dpi``). The format is found from the content, not the name. EXIF
orientation is applied; grayscale, 16-bit, alpha (composited on white), CMYK and palette
images become RGB uint8. Images above ``max_pixels`` are refused from their header,
before any pixel is decoded. Every problem raises :class:`ImageLoadError` with a one-line
``path: reason`` message.

This module is torch-free.
"""

import glob
import math
import os
import re
import threading
import unicodedata
import warnings
from typing import Iterator, NamedTuple

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from ..errors import ImageLoadError

__all__ = [
    "ImageLoadError", "PageSelectionError", "Page", "expand_inputs", "iter_inputs", "iter_pages", "load_image", "parse_pages",
    "normalize", "to_rgb", "safe_output_stem", "natural_key",
    "IMAGENET_MEAN", "IMAGENET_STD", "IMAGE_EXTENSIONS", "PDF_EXTENSIONS", "INPUT_EXTENSIONS",
    "DEFAULT_MAX_PIXELS", "MIN_SIZE",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".tif", ".tiff",
                    ".webp", ".pbm", ".pgm", ".ppm", ".pnm")
PDF_EXTENSIONS = (".pdf",)
INPUT_EXTENSIONS = IMAGE_EXTENSIONS + PDF_EXTENSIONS
#: Pillow format names we decode (others, e.g. GIF or ICO, are refused as unsupported)
PIL_FORMATS = ("JPEG", "PNG", "BMP", "DIB", "TIFF", "WEBP", "PPM")

#: default cap on decoded pixels per page (about 11000 x 11000); raise it with max_pixels
DEFAULT_MAX_PIXELS = 120_000_000
#: smallest width and height accepted (a smaller image cannot hold a readable word)
MIN_SIZE = 8

_PIL_LOCK = threading.Lock()


class PageSelectionError(ImageLoadError):
    """A document that has none of the pages a selection (``pages='4'``) asks for: a batch
    skips it (the selection applies to the documents that have those pages)."""


class Page(NamedTuple):
    """One page of an input: ``image`` is RGB uint8 (H, W, 3)."""

    source: str          # the input file
    index: int           # 0-based page number inside the file
    n_pages: int | None  # pages in the file (1 for a plain image)
    image: np.ndarray

    @property
    def stem(self) -> str:
        """Output file stem: ``name`` or ``name_p3`` for page 3 of a multi-page file."""
        return safe_output_stem(self.source, self.index, self.n_pages)


# ----------------------------------------------------------------------------- inputs

def natural_key(s: str):
    """Sort key ordering ``img_2`` before ``img_10`` (case-insensitive)."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.casefold())
            for t in re.split(r"(\d+)", s) if t]


def _is_input_file(path):
    return os.path.splitext(path)[1].lower() in INPUT_EXTENSIONS and os.path.isfile(path)


def iter_inputs(inputs, recursive=False) -> list[str]:
    """Expand files, folders and glob patterns into a list of input files.

    * a file is kept as given (its content is checked when it is loaded);
    * a folder gives its image and PDF files (by extension, hidden files skipped), in
      natural order; with ``recursive`` its sub-folders too. A folder without any is an error;
    * a pattern (``*``, ``?``, ``[``; ``**`` with ``recursive``) gives the matching image and
      PDF files in natural order; a pattern matching none is an error;
    * a path that does not exist is an error.

    The arguments keep their order; a file reached twice (also through a symbolic link or
    a link loop that a recursive glob follows) is listed once: files are compared by their
    real path. Raises :class:`ImageLoadError` naming the argument.
    """
    return [path for path, _ in expand_inputs(inputs, recursive=recursive)]


def expand_inputs(inputs, recursive=False, on_error=None) -> list[tuple[str, str | None]]:
    """:func:`iter_inputs` with where each file was found: ``(path, relative)`` pairs, where
    ``relative`` is the file's path relative to the folder argument (or to the folder part of
    the glob pattern) it was found in, and None for a file named as an argument.

    ``on_error``: called with the :class:`ImageLoadError` of an argument that gives no file
    (missing, an empty folder, a pattern matching none); that argument is then skipped and
    the others are still expanded. Without it the error is raised.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    out, seen = [], set()
    for arg in inputs:
        arg = os.fspath(arg)
        try:
            found = _expand_one(arg, recursive)
        except ImageLoadError as e:
            if on_error is None:
                raise
            on_error(e)
            continue
        for p, rel in found:
            key = os.path.normcase(os.path.realpath(p))
            if key not in seen:
                seen.add(key)
                out.append((p, rel))
    return out


def _expand_one(arg, recursive):
    if os.path.isdir(arg):
        found = _scan_dir(arg, recursive)
        if not found:
            raise ImageLoadError(arg, "folder holds no image or PDF file "
                                      f"({', '.join(e[1:] for e in INPUT_EXTENSIONS)})")
        return [(p, os.path.relpath(p, arg)) for p in found]
    if os.path.exists(arg):
        return [(arg, None)]
    if glob.has_magic(arg):
        found = sorted((p for p in glob.glob(arg, recursive=recursive) if _is_input_file(p)),
                       key=natural_key)
        if not found:
            raise ImageLoadError(arg, "no image or PDF file matches this pattern")
        base = _glob_base(arg)
        return [(p, os.path.relpath(p, base)) for p in found]
    raise ImageLoadError(arg, "no such file or directory")


def _glob_base(pattern):
    """The folder part of a glob pattern before its first wildcard (``.`` when none)."""
    parts = re.split(r"[\\/]", pattern)
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    if not fixed:
        return "."
    return os.sep.join(fixed) or os.sep  # [""]: a pattern such as "/*.png"


def _scan_dir(folder, recursive):
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        found += [os.path.join(root, f) for f in files
                  if not f.startswith(".") and _is_input_file(os.path.join(root, f))]
    return sorted(found, key=natural_key)


def parse_pages(spec, n_pages) -> list[int]:
    """``'1-3,5,8-'`` -> 0-based page indices present in a document of ``n_pages`` pages.

    Pages are 1-based in ``spec``; ``a-`` runs to the end, ``-b`` starts at 1. ``None`` or
    ``''`` selects every page. Pages past the end are skipped (so one spec can serve a batch
    of documents); a malformed spec raises :class:`ValueError`.
    """
    if spec is None or str(spec).strip() == "":
        return list(range(n_pages))
    chosen = set()
    for part in str(spec).split(","):
        m = re.fullmatch(r"\s*(\d*)\s*(-?)\s*(\d*)\s*", part)
        if not m or not (m.group(1) or m.group(3)) or (not m.group(2) and not m.group(1)):
            raise ValueError(f"bad page range {part.strip()!r} in {spec!r} "
                             "(expected e.g. '1-3,5' with pages counted from 1)")
        a = int(m.group(1)) if m.group(1) else 1
        b = (int(m.group(3)) if m.group(3) else max(n_pages, a)) if m.group(2) else a
        if a < 1 or b < a:
            raise ValueError(f"bad page range {part.strip()!r} in {spec!r} "
                             "(pages count from 1, ranges go upwards)")
        chosen.update(range(a - 1, min(b, n_pages)))
    return sorted(chosen)


# ----------------------------------------------------------------------------- pages

def iter_pages(path, dpi=200, pages=None, max_pixels=DEFAULT_MAX_PIXELS, password=None,
               min_size=MIN_SIZE) -> Iterator[Page]:
    """Yield the pages of one input file as :class:`Page` records (RGB uint8 images).

    ``dpi`` is the resolution PDFs are rendered at; ``pages`` a page selection such as
    ``'1-3,5'`` (see :func:`parse_pages`); ``max_pixels`` the largest page accepted (checked
    before decoding or rendering); ``password`` opens an encrypted PDF; pages smaller than
    ``min_size`` pixels on a side are refused. Raises :class:`ImageLoadError`.
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(1024)
    except FileNotFoundError:
        raise ImageLoadError(path, "no such file") from None
    except IsADirectoryError:
        raise ImageLoadError(path, "is a directory, not a file") from None
    except OSError as e:
        raise ImageLoadError(path, f"cannot read file ({e.strerror or e})") from None
    if size == 0:
        raise ImageLoadError(path, "empty file (0 bytes)")
    if b"%PDF-" in head:
        yield from _pdf_pages(path, dpi, pages, max_pixels, password, min_size)
    else:
        yield from _pil_pages(path, head, pages, max_pixels, min_size)


def load_image(path, max_pixels=DEFAULT_MAX_PIXELS, dpi=200) -> np.ndarray:
    """The first page of ``path`` as RGB uint8 (H, W, 3). Raises :class:`ImageLoadError`."""
    try:
        for page in iter_pages(path, dpi=dpi, pages="1", max_pixels=max_pixels):
            return page.image
    except ImageLoadError as e:  # training, evaluation, the API: no --max-pixels to raise
        if _RAISE_HINT not in e.reason:
            raise
        raise ImageLoadError(e.path, e.reason.replace(_RAISE_HINT, _LOAD_HINT)) from None
    raise ImageLoadError(path, "no page")  # pragma: no cover - every input has a page 1


#: what a page above max_pixels suggests: tools/detect.py's option, and in load_image (read
#: by training, evaluation and the Python API, which have no such option) what to do instead
_RAISE_HINT = "raise it with --max-pixels"
_LOAD_HINT = "a guard against decompression bombs: downscale the image, or raise max_pixels"


def _check_size(path, w, h, max_pixels, min_size, what="image", hint=""):
    if w * h > max_pixels:
        raise ImageLoadError(path, f"{what} is {w}x{h} = {w * h:,} pixels, above the limit "
                                   f"of {int(max_pixels):,} ({_RAISE_HINT}{hint})")
    if w < min_size or h < min_size:
        raise ImageLoadError(path, f"{what} is {w}x{h} pixels, too small to hold text "
                                   f"(minimum {min_size}x{min_size})")


def _open_pil(path, head):
    """Open lazily (header only), without Pillow's own pixel limit: we check it ourselves."""
    with _PIL_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(path, formats=None)
        except UnidentifiedImageError:
            ext = os.path.splitext(path)[1].lower()
            if ext in PDF_EXTENSIONS:
                raise ImageLoadError(path, f"not a PDF (no %PDF header): {_describe(head)}") from None
            if ext and ext not in INPUT_EXTENSIONS:
                raise ImageLoadError(path, f"unsupported format '{ext}' (supported: "
                                           f"{', '.join(e[1:] for e in INPUT_EXTENSIONS)})") from None
            raise ImageLoadError(path, f"not an image: {_describe(head)}") from None
        except (OSError, SyntaxError, ValueError) as e:
            raise ImageLoadError(path, f"corrupt image header ({e})") from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _describe(head):
    """Say what unrecognised content looks like."""
    sample = head[:256]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        return f"the file holds text ({text.strip()[:24]!r}...), not image data"
    return f"unrecognised data (starts with {head[:8].hex(' ')})"


def _pil_pages(path, head, pages, max_pixels, min_size):
    img = _open_pil(path, head)
    with img:
        if img.format not in PIL_FORMATS:
            raise ImageLoadError(path, f"unsupported format {img.format} (supported: JPEG, PNG, "
                                       "BMP, TIFF, WebP, PNM, PDF)")
        n = getattr(img, "n_frames", 1) if img.format == "TIFF" else 1
        try:
            indices = parse_pages(pages, n)
        except ValueError as e:
            raise ImageLoadError(path, str(e)) from None
        if not indices:
            raise PageSelectionError(path, f"no page selected by {pages!r} (the file has {n} "
                                           "page(s))")
        for i in indices:
            what = f"page {i + 1}" if n > 1 else "image"
            try:
                if n > 1:
                    img.seek(i)
                _check_size(path, img.width, img.height, max_pixels, min_size, what)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                    truncated, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
                    try:
                        img.load()
                    finally:
                        ImageFile.LOAD_TRUNCATED_IMAGES = truncated
                orientation = _orientation(img)
                rgb = to_rgb(img)
            except ImageLoadError:
                raise
            except MemoryError:
                raise ImageLoadError(path, f"{what}: out of memory while decoding "
                                           f"{img.width}x{img.height} pixels") from None
            except Exception as e:  # any decoder failure (OSError, SyntaxError, zlib.error...)
                where = f"page {i + 1}: " if n > 1 else ""
                raise ImageLoadError(path, f"{where}cannot decode {img.format} data: "
                                           f"{_pil_reason(e)}") from None
            yield Page(path, i, n, _apply_orientation(rgb, orientation))


def _orientation(img):
    """The EXIF orientation tag (1 when absent or unreadable: bad metadata is no reason to
    refuse the pixels)."""
    try:
        value = img.getexif().get(0x0112, 1)
        return int(value) if value in range(1, 9) else 1
    except Exception:
        return 1


def _pil_reason(e):
    msg = str(e) or type(e).__name__
    if isinstance(e, EOFError) and "truncated" not in msg:
        return f"file is truncated ({msg})"
    return msg


def to_rgb(img) -> np.ndarray:
    """A loaded PIL image in any mode -> RGB uint8 (H, W, 3).

    16-bit and 32-bit integer images are scaled to 8 bits (65535 -> 255); float images in
    [0, 1] are scaled by 255; transparency (alpha channel or a palette/colour key) is
    composited on white; CMYK, YCbCr, LAB, HSV, palette and 1-bit images are converted.
    """
    mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        a = np.asarray(img.convert("RGBA"))
        alpha = a[..., 3:4].astype(np.uint16)
        out = (a[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255
        return np.ascontiguousarray(out.astype(np.uint8))
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _gray_to_rgb(_to_uint8(np.asarray(img), mode))
    if mode in ("L", "1"):
        return _gray_to_rgb(np.asarray(img.convert("L")))
    if mode != "RGB":
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img))


def _to_uint8(a, mode):
    a = a.astype(np.float64) if mode == "F" else a.astype(np.int64)
    if mode.startswith("I;16"):
        return ((a * 255 + 32767) // 65535).astype(np.uint8)
    finite = a[np.isfinite(a)] if mode == "F" else a
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if mode == "F" and lo >= 0 and hi <= 1:  # float in [0, 1]
        scaled = a * 255
    elif lo >= 0 and hi <= 255:              # 8-bit values in a wide type
        scaled = a
    elif lo >= 0 and hi <= 65535:            # 16-bit values
        scaled = a * (255 / 65535)
    else:                                    # anything else: stretch to the full range
        scaled = (a - lo) * (255 / max(hi - lo, 1e-12))
    return np.clip(np.nan_to_num(np.rint(scaled)), 0, 255).astype(np.uint8)


def _gray_to_rgb(g):
    return np.repeat(g[:, :, None], 3, axis=2)


def _apply_orientation(a, orientation):
    """Apply an EXIF orientation tag (1-8) to an (H, W, C) array, as exif_transpose does."""
    ops = {
        2: lambda x: x[:, ::-1],
        3: lambda x: x[::-1, ::-1],
        4: lambda x: x[::-1],
        5: lambda x: x.swapaxes(0, 1),
        6: lambda x: np.rot90(x, -1),
        7: lambda x: x[::-1, ::-1].swapaxes(0, 1),
        8: lambda x: np.rot90(x, 1),
    }
    op = ops.get(orientation)
    return a if op is None else np.ascontiguousarray(op(a))


def _pdf_pages(path, dpi, pages, max_pixels, password, min_size):
    try:
        import pypdfium2 as pdfium  # deferred: only PDFs need it
    except ImportError:
        raise ImageLoadError(path, "reading PDFs needs pypdfium2, which is not installed: "
                                   "pip install pypdfium2") from None

    if not dpi or dpi <= 0:
        raise ImageLoadError(path, f"bad dpi {dpi!r} (must be positive)")
    # pdfium renders ceil(points * scale) pixels; the tiny margin keeps float noise in the
    # page size (stored as float32) from adding a pixel: 8.5 in at 200 dpi is 1700 px, not 1701
    scale = dpi / 72.0 * (1 - 1e-6)
    with open(path, "rb") as f:
        try:
            doc = pdfium.PdfDocument(f, password=password)
        except pdfium.PdfiumError as e:
            code = getattr(e, "err_code", None)
            if code == 4:  # FPDF_ERR_PASSWORD
                reason = ("encrypted PDF: wrong password" if password else
                          "encrypted PDF: a password is needed (give it with --password)")
            elif code == 5:
                reason = "PDF uses an unsupported security handler"
            else:
                reason = f"corrupt or unreadable PDF ({e})"
            raise ImageLoadError(path, reason) from None
        try:
            n = len(doc)
            if n == 0:
                raise ImageLoadError(path, "PDF has no pages")
            try:
                indices = parse_pages(pages, n)
            except ValueError as e:
                raise ImageLoadError(path, str(e)) from None
            if not indices:
                raise PageSelectionError(path, f"no page selected by {pages!r} "
                                               f"(the PDF has {n} page(s))")
            for i in indices:
                yield Page(path, i, n, _render_pdf_page(path, doc, i, n, scale, dpi,
                                                        max_pixels, min_size, pdfium))
        finally:
            doc.close()


def _render_pdf_page(path, doc, i, n, scale, dpi, max_pixels, min_size, pdfium):
    try:
        page = doc[i]
    except (pdfium.PdfiumError, IndexError) as e:
        raise ImageLoadError(path, f"page {i + 1}: cannot load ({e})") from None
    try:
        wpt, hpt = page.get_size()
        w, h = math.ceil(wpt * scale), math.ceil(hpt * scale)
        if page.get_rotation() in (90, 270):
            w, h = h, w
        _check_size(path, w, h, max_pixels, min_size, f"page {i + 1} at {dpi:g} dpi",
                    " or lower --dpi")
        try:
            bitmap = page.render(scale=scale, rev_byteorder=True, fill_color=(255, 255, 255, 255))
            img = np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True)
            bitmap.close()
        except (pdfium.PdfiumError, MemoryError, ValueError) as e:
            raise ImageLoadError(path, f"page {i + 1}: cannot render ({e})") from None
    finally:
        page.close()
    if img.ndim == 2:
        img = _gray_to_rgb(img)
    return np.ascontiguousarray(img[..., :3])


# ----------------------------------------------------------------------------- names

_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                     *(f"lpt{i}" for i in range(10))}


def safe_output_stem(source, index=0, n_pages=1, max_len=150) -> str:
    """Stem for the output files of one page: ``name`` or ``name_p{index+1}``.

    Multi-page inputs (``n_pages`` > 1 or unknown) get the page suffix so that outputs never
    collide. The result is a plain file name whatever ``source`` is: directories, ``..``,
    control characters and characters Windows refuses are dropped or replaced by ``_``;
    unicode letters are kept.
    """
    base = re.split(r"[\\/]", os.fspath(source))[-1]
    stem, ext = os.path.splitext(base)
    if not stem:  # ".hidden" style names
        stem = ext
    stem = unicodedata.normalize("NFC", stem)
    stem = "".join("_" if unicodedata.category(c)[0] == "C" or c in '<>:"|?*' else c
                   for c in stem)
    stem = re.sub(r"_{2,}", "_", stem).strip(" ._")
    if not stem:
        stem = "image"
    if stem.split(".")[0].casefold() in _WINDOWS_RESERVED:
        stem = "_" + stem
    while len(stem.encode("utf-8")) > max_len:
        stem = stem[:-1]
    if n_pages is None or n_pages > 1:
        stem = f"{stem}_p{index + 1}"
    return stem


# ----------------------------------------------------------------------------- tensors

_SCALE = (1.0 / (255.0 * np.asarray(IMAGENET_STD, np.float64))).astype(np.float32)
_SHIFT = (np.asarray(IMAGENET_MEAN, np.float64) / np.asarray(IMAGENET_STD, np.float64)).astype(np.float32)


def _tables():
    """Per channel, the normalised float32 value of each uint8 level (numpy's arithmetic)."""
    v = np.arange(256, dtype=np.uint8)
    out = []
    for c in range(3):
        t = np.empty(256, np.float32)
        np.multiply(v, _SCALE[c], out=t, casting="unsafe")
        t -= _SHIFT[c]
        out.append(t)
    return tuple(out)


_LUTS = _tables()


def normalize(img, out=None) -> np.ndarray:
    """RGB uint8 (H, W, 3) (or grayscale (H, W)) -> float32 (3, H, W), ImageNet mean/std.

    ``out``: a float32 array (3, >= H, >= W), for instance one image of a padded batch,
    to write into (its top-left H x W); returned. One OpenCV table look-up per channel
    (``cv2.LUT`` on a 256-entry float32 table of x * scale - shift, computed as numpy
    computes it, so the values are bit-identical to numpy's multiply and subtract, which
    take twice as long)."""
    import cv2

    img = np.asarray(img)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError(f"normalize: expected an (H, W, 3) image, got shape {img.shape}")
    h, w = img.shape[:2]
    if out is None:
        out = np.empty((3, h, w), np.float32)
    elif (out.dtype != np.float32 or out.ndim != 3 or out.shape[0] != 3
          or out.shape[1] < h or out.shape[2] < w):
        raise ValueError(f"normalize: out must be float32 (3, >= {h}, >= {w}), "
                         f"got {out.dtype} {out.shape}")
    if img.dtype != np.uint8 or not img.size or out.strides[-1] != out.itemsize:
        # float or wider pixels, an empty image, or an ``out`` whose rows OpenCV cannot
        # write: numpy, in float32
        for c in range(3):
            dst = out[c, :h, :w]
            np.multiply(img[:, :, c if img.shape[2] >= 3 else 0], _SCALE[c], out=dst,
                        casting="unsafe")
            dst -= _SHIFT[c]
        return out
    chans = cv2.split(np.ascontiguousarray(img)) if img.shape[2] > 1 else [img[:, :, 0]] * 3
    for c in range(3):
        src = np.ascontiguousarray(chans[c])
        dst = out[c, :h, :w]
        res = cv2.LUT(src, _LUTS[c], dst=dst)
        if res is not dst and not np.shares_memory(res, dst):  # OpenCV made its own array
            dst[...] = res
    return out
