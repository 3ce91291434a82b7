import hashlib
import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from textseg.data.images import (IMAGENET_MEAN, IMAGENET_STD, ImageLoadError, iter_inputs,
                                 iter_pages, load_image, natural_key, normalize, parse_pages,
                                 safe_output_stem)

RNG = np.random.default_rng(0)
PIXELS = RNG.integers(0, 256, (40, 56, 3), dtype=np.uint8)


def _save(path, img=None, fmt=None, **kw):
    (img if img is not None else Image.fromarray(PIXELS)).save(path, fmt, **kw)
    return str(path)


def _bytes(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _error(path, *reasons, **kw):
    with pytest.raises(ImageLoadError) as e:
        list(iter_pages(path, **kw))
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(str(path) + ": ")
    assert e.value.path == str(path)
    for r in reasons:
        assert r in msg, msg
    return msg


# ----------------------------------------------------------------------------- bad inputs

def test_empty_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    _error(p, "empty file")


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("PNG", "png")])
def test_truncated(tmp_path, fmt, ext):
    data = _bytes(Image.fromarray(PIXELS), fmt)
    p = tmp_path / f"cut.{ext}"
    p.write_bytes(data[: len(data) // 2])
    _error(p, "truncated", fmt)


def test_text_named_jpg(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("these are my notes, not a picture\n")
    _error(p, "not an image", "text")


def test_unsupported(tmp_path):
    p = tmp_path / "blob.xyz"
    p.write_bytes(bytes(RNG.integers(0, 256, 200, dtype=np.uint8)))
    _error(p, "unsupported format", ".xyz")
    g = tmp_path / "anim.gif"
    g.write_bytes(_bytes(Image.fromarray(PIXELS), "GIF"))
    _error(g, "unsupported format GIF")


def test_tiny_image(tmp_path):
    p = _save(tmp_path / "dot.png", Image.new("RGB", (1, 1)))
    _error(p, "1x1", "too small")


def _png_header_only(w, h):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


def test_huge_declared_size_refused_before_decoding(tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_only(100000, 100000))
    _error(p, "100000x100000", "10,000,000,000 pixels", "--max-pixels")
    # a lower cap refuses normal images too; a raised one lets a big header through to decoding
    small = _save(tmp_path / "ok.png")
    _error(small, "above the limit of 1,000", max_pixels=1000)


def test_corrupt_pdf(tmp_path):
    p = tmp_path / "broken.pdf"
    p.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage\n")
    _error(p, "PDF")
    fake = tmp_path / "fake.pdf"
    fake.write_text("just some text\n")
    _error(fake, "not a PDF")


# a minimal PDF encrypted with the standard security handler (RC4 40-bit, revision 2):
# the owner (O) and user (U) entries computed as in the PDF reference, algorithms 3.2-3.4
_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key, data):
    s, j = list(range(256)), 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) & 255
        s[i], s[j] = s[j], s[i]
    i = j = 0
    out = bytearray()
    for b in data:
        i = (i + 1) & 255
        j = (j + s[i]) & 255
        s[i], s[j] = s[j], s[i]
        out.append(b ^ s[(s[i] + s[j]) & 255])
    return bytes(out)


def _encrypted_pdf(user=b"secret", owner=b"owner"):
    fid, perms = b"0123456789abcdef", -4
    o = _rc4(hashlib.md5((owner + _PAD)[:32]).digest()[:5], (user + _PAD)[:32])
    key = hashlib.md5((user + _PAD)[:32] + o + struct.pack("<i", perms) + fid).digest()[:5]
    u = _rc4(key, _PAD)
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 36] >>",
            b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>" % (o.hex().encode(),
                                                                        u.hex().encode(), perms)]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [<%s> <%s>] >>\n"
            b"startxref\n%d\n%%%%EOF\n" % (len(objs) + 1, fid.hex().encode(), fid.hex().encode(), xref))
    return bytes(out)


def test_encrypted_pdf(tmp_path):
    p = tmp_path / "locked.pdf"
    p.write_bytes(_encrypted_pdf())
    _error(p, "encrypted PDF", "password")
    _error(p, "wrong password", password="nope")
    pages = list(iter_pages(p, password="secret", dpi=144))
    assert len(pages) == 1 and pages[0].image.shape == (72, 144, 3)


def test_missing_file_and_bad_page_spec(tmp_path):
    _error(tmp_path / "nope.png", "no such file")
    p = _save(tmp_path / "a.png")
    _error(p, "bad page range", pages="3-1")
    _error(p, "no page selected", pages="2")


# ----------------------------------------------------------------------------- conversions

def _one(path, **kw):
    pages = list(iter_pages(path, **kw))
    assert len(pages) == 1
    img = pages[0].image
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.flags.c_contiguous
    return img


def test_rgb_png_and_jpeg_roundtrip(tmp_path):
    assert np.array_equal(_one(_save(tmp_path / "a.png")), PIXELS)
    p = _save(tmp_path / "a.jpg", quality=95)
    assert np.array_equal(_one(p), np.asarray(Image.open(p).convert("RGB")))


def test_grayscale(tmp_path):
    g = PIXELS[:, :, 0]
    img = _one(_save(tmp_path / "g.png", Image.fromarray(g)))
    assert np.array_equal(img[:, :, 0], g) and np.array_equal(img[:, :, 2], g)


def test_16bit_png_is_scaled_not_clipped(tmp_path):
    a = np.linspace(0, 65535, 40 * 56).reshape(40, 56).astype(np.uint16)
    p = _save(tmp_path / "deep.png", Image.fromarray(a))
    assert Image.open(p).mode.startswith("I")
    img = _one(p)
    expected = np.rint(a / 257.0).astype(np.uint8)
    assert np.abs(img[:, :, 0].astype(int) - expected).max() <= 1
    assert img.max() == 255 and img.min() == 0


def test_rgba_composited_on_white(tmp_path):
    a = np.zeros((16, 16, 4), np.uint8)
    a[..., 0] = 200
    a[:8, :, 3] = 0      # transparent half -> white
    a[8:, :, 3] = 255    # opaque half -> the colour
    img = _one(_save(tmp_path / "t.png", Image.fromarray(a, "RGBA")))
    assert (img[:8] == 255).all()
    assert (img[8:] == [200, 0, 0]).all()
    la = _one(_save(tmp_path / "la.png", Image.fromarray(a, "RGBA").convert("LA")))
    assert (la[:8] == 255).all()


def test_cmyk_jpeg(tmp_path):
    src = Image.new("RGB", (24, 24), (255, 0, 0))
    img = _one(_save(tmp_path / "c.jpg", src.convert("CMYK"), quality=95))
    assert np.abs(img.astype(int) - [255, 0, 0]).max() < 40


def test_palette_png(tmp_path):
    src = Image.fromarray(PIXELS).quantize(16)
    img = _one(_save(tmp_path / "p.png", src))
    assert np.array_equal(img, np.asarray(src.convert("RGB")))


def test_exif_rotated_jpeg(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img = _one(_save(tmp_path / "phone.jpg", exif=exif))
    assert img.shape == (56, 40, 3)  # width and height swapped
    ref = np.rot90(np.asarray(Image.open(tmp_path / "phone.jpg").convert("RGB")), -1)
    assert np.array_equal(img, ref)


def test_multipage_tiff(tmp_path):
    frames = [Image.new("RGB", (30 + 8 * i, 20), (60 * i, 0, 0)) for i in range(3)]
    p = str(tmp_path / "scan.tif")
    frames[0].save(p, save_all=True, append_images=frames[1:])
    pages = list(iter_pages(p))
    assert [(pg.index, pg.n_pages, pg.image.shape[1]) for pg in pages] == [(0, 3, 30), (1, 3, 38), (2, 3, 46)]
    assert [pg.stem for pg in pages] == ["scan_p1", "scan_p2", "scan_p3"]
    assert pages[2].image[0, 0, 0] == 120
    assert [pg.index for pg in iter_pages(p, pages="2-")] == [1, 2]


def test_pdf_rendered_at_dpi(tmp_path):
    frames = [Image.new("RGB", (100, 50), "white"), Image.new("RGB", (60, 80), "black")]
    p = str(tmp_path / "doc.pdf")
    frames[0].save(p, save_all=True, append_images=frames[1:], resolution=100.0)
    pages = list(iter_pages(p, dpi=200))  # 100 px at 100 dpi = 1 inch -> 200 px
    assert [pg.image.shape for pg in pages] == [(100, 200, 3), (160, 120, 3)]
    assert pages[0].image.mean() > 250 and pages[1].image.mean() < 5
    assert [pg.stem for pg in pages] == ["doc_p1", "doc_p2"]
    assert [pg.index for pg in iter_pages(p, dpi=50, pages="2")] == [1]
    _error(p, "page 1 at 200 dpi is 200x100", "lower --dpi", dpi=200, max_pixels=10000)


def test_non_ascii_path_with_spaces(tmp_path):
    d = tmp_path / "scans été 图"
    d.mkdir()
    p = _save(d / "page un ü.png")
    assert np.array_equal(load_image(p), PIXELS)
    frames = [Image.new("RGB", (72, 72), "white")]
    pdf = str(d / "dôc ü.pdf")
    frames[0].save(pdf, resolution=72.0)
    assert load_image(pdf, dpi=72).shape == (72, 72, 3)
    assert iter_inputs([str(d)]) == [pdf, p] or iter_inputs([str(d)]) == [p, pdf]


def test_format_from_content_not_name(tmp_path):
    p = tmp_path / "really_png.jpg"
    p.write_bytes(_bytes(Image.fromarray(PIXELS), "PNG"))
    assert np.array_equal(load_image(p), PIXELS)


# ----------------------------------------------------------------------------- inputs

def test_iter_inputs(tmp_path):
    for name in ["img_10.png", "img_2.png", "img_1.jpg", "notes.txt", ".hidden.png"]:
        (tmp_path / name).write_bytes(b"x")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "deep.pdf").write_bytes(b"x")
    names = [os.path.basename(p) for p in iter_inputs([str(tmp_path)])]
    assert names == ["img_1.jpg", "img_2.png", "img_10.png"]
    names = [os.path.basename(p) for p in iter_inputs([str(tmp_path)], recursive=True)]
    assert names == ["img_1.jpg", "img_2.png", "img_10.png", "deep.pdf"]
    # globs keep image files only; arguments keep their order; duplicates dropped
    got = iter_inputs([str(sub / "deep.pdf"), str(tmp_path / "img_*"), str(tmp_path / "img_2.png")])
    assert [os.path.basename(p) for p in got] == ["deep.pdf", "img_1.jpg", "img_2.png", "img_10.png"]


def test_iter_inputs_errors(tmp_path):
    with pytest.raises(ImageLoadError, match="no such file") as e:
        iter_inputs([str(tmp_path / "missing.png")])
    assert "missing.png" in str(e.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    with pytest.raises(ImageLoadError, match="no image or PDF") as e:
        iter_inputs([str(empty)])
    assert str(empty) in str(e.value)
    with pytest.raises(ImageLoadError, match="matches"):
        iter_inputs([str(tmp_path / "*.tiff")])


def test_parse_pages_and_natural_key():
    assert parse_pages("1-3,5", 10) == [0, 1, 2, 4]
    assert parse_pages("8-", 10) == [7, 8, 9]
    assert parse_pages("-2, 9, 12", 10) == [0, 1, 8]
    assert parse_pages(None, 3) == [0, 1, 2]
    assert parse_pages("5-", 3) == [] and parse_pages("2-,9", 3) == [1, 2]  # past the end
    for bad in ("0", "a", "3-1", "1--2", "-"):
        with pytest.raises(ValueError):
            parse_pages(bad, 5)
    assert sorted(["img_10", "img_2", "IMG_1"], key=natural_key) == ["IMG_1", "img_2", "img_10"]


def test_safe_output_stem():
    assert safe_output_stem("/data/scans/page.jpg") == "page"
    assert safe_output_stem("doc.pdf", 2, 5) == "doc_p3"
    assert safe_output_stem("doc.pdf", 0, None) == "doc_p1"
    assert safe_output_stem("../../etc/passwd") == "passwd"
    assert safe_output_stem("C:\\Users\\x\\scan.tif", 0, 2) == "scan_p1"
    assert safe_output_stem("..") == "image"
    assert safe_output_stem("a\x00b\x1fc.png") == "a_b_c"
    assert safe_output_stem("Straße 图片.png") == "Straße 图片"
    assert safe_output_stem("CON.png") == "_CON"
    for s in [safe_output_stem(x) for x in ["/a/b/../c.png", "x/..png", "?*<>.jpg"]]:
        assert s and "/" not in s and "\\" not in s and s not in (".", "..")


def test_normalize():
    img = np.zeros((2, 3, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 0, 128, 255
    x = normalize(img)
    assert x.shape == (3, 2, 3) and x.dtype == np.float32
    for c, v in enumerate((0, 128, 255)):
        assert np.allclose(x[c], (v / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c], atol=1e-5)
    assert np.allclose(normalize(img[..., 1]), normalize(np.repeat(img[..., 1:2], 3, 2)))
    with pytest.raises(ValueError):
        normalize(np.zeros((2, 3, 2), np.uint8))


def test_normalize_writes_into_a_padded_batch():
    from textseg.data.images import _SCALE, _SHIFT, normalize

    rng = np.random.default_rng(5)
    for shape in ((37, 51, 3), (37, 51), (37, 51, 4)):
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        x = img if img.ndim == 3 else img[:, :, None]
        ref = np.stack([x[:, :, c if x.shape[2] >= 3 else 0] * _SCALE[c] - _SHIFT[c]
                        for c in range(3)]).astype(np.float32)
        assert np.array_equal(normalize(img), ref)  # as numpy computes it, bit for bit
        batch = np.full((2, 3, 64, 64), 7.0, np.float32)
        normalize(img, out=batch[1])
        assert np.array_equal(batch[1, :, :37, :51], ref)
        assert (batch[1, :, 37:] == 7).all() and (batch[1, :, :, 51:] == 7).all()
        assert (batch[0] == 7).all()
    with pytest.raises(ValueError, match="out must be"):
        normalize(np.zeros((40, 40, 3), np.uint8), out=np.zeros((3, 32, 64), np.float32))
