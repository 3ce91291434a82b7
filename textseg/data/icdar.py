"""Read and write ICDAR-style text files: ground truth, detection results, folder layouts.

Ground truth (:func:`read_gt`), one text instance per line:

* ICDAR 2015 ``x1,y1,x2,y2,x3,y3,x4,y4,transcription`` (the transcription may contain
  commas; ``###`` marks a "don't care" region -> ``ignore=True``),
* ICDAR 2013 ``xmin,ymin,xmax,ymax,"text"`` (comma- or space-separated),
* ICDAR 2017 MLT ``x1,...,y4,script,transcription`` (script Latin, Arabic, ...),
* polygons ``x1,y1,...,xn,yn,text`` with n >= 4 points (Total-Text / CTW-like).

Files are UTF-8 with or without BOM, CRLF or LF; blank lines are skipped; a transcription
wrapped in double quotes is unquoted (``\\"`` and ``\\\\`` unescaped) as the official
RRC scripts do. A malformed line raises :class:`GTFormatError` (``path:line: reason``);
``lenient=True`` skips it with one warning instead.

Polygons come back in the library convention: float32 (N, 2), clockwise in image
coordinates; quads start at the top-left point (:func:`textseg.geometry.order_clockwise`,
which also untangles a quad given in a self-intersecting order).

Detection results (:func:`write_results` / :func:`read_results`) are ICDAR 2015
submission files ``res_img_N.txt``: ``x1,y1,...,x4,y4[,score]``.

:func:`scan_dataset` / :func:`find_pairs` pair images with their ground-truth files in the
common folder layouts. Numpy only (no torch).
"""

import math
import os
import re
import warnings
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ..errors import GTFormatError
from ..fileio import atomic_open
from ..geometry import order_clockwise, polygon_area, split_detection, to_shapely
from ..types import Annotations, Detection
from .docsets import GTPath

__all__ = [
    "Annotation", "GTFormatError", "DatasetReport", "read_gt", "parse_gt_text", "write_gt",
    "write_results", "read_results", "find_pairs", "scan_dataset", "find_gt_files",
    "IMAGE_EXTENSIONS", "MLT_SCRIPTS",
]

FORMATS = ("auto", "icdar2015", "icdar2013", "mlt", "polygon")
MLT_SCRIPTS = frozenset({"Latin", "Arabic", "Chinese", "Japanese", "Korean", "Bangla",
                         "Hindi", "Symbols", "Mixed", "None"})
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DONT_CARE = "###"


class Annotation(NamedTuple):
    """One ground-truth text instance."""

    polygon: np.ndarray  # float32 (N, 2)
    text: str
    ignore: bool


# ---------------------------------------------------------------------------- reading GT

#: the largest coordinate magnitude accepted (px): far beyond any page, and still exact in
#: the float32 the polygons are stored in (1e300 would overflow it to inf)
MAX_COORD = 1e7


def _check_coords(vals):
    """ValueError naming the first coordinate beyond :data:`MAX_COORD`."""
    for v in vals:
        if abs(v) > MAX_COORD:
            raise ValueError(f"coordinate {v:g} is out of range (|x|, |y| <= {MAX_COORD:g} px)")


def _number(tok):
    """float of a coordinate token, or None when it is not a finite number."""
    try:
        v = float(tok)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _numeric_prefix(fields):
    n = 0
    for f in fields:
        if _number(f) is None:
            break
        n += 1
    return n


def quote_text(text):
    """A transcription as the last field of an ICDAR line: as it is, or in double quotes
    (``\\`` and ``\\"`` escaped, what :func:`read_gt` and the RRC scripts strip) where
    it would otherwise read as coordinates or a score ("1250", "1,250") or starts with a
    quote. Line breaks become spaces."""
    text = " ".join((text or "").split())
    if text.startswith('"') or _number(text.split(",")[0]) is not None:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _unquote(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1].replace('\\\\', '\\').replace('\\"', '"')
    return text


_SPACE_BOX = re.compile(r'^\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$')


def _parse_box(line):
    """ICDAR 2013 ``xmin,ymin,xmax,ymax,"text"`` or the same separated by spaces."""
    fields = line.split(",")
    if len(fields) >= 4 and _numeric_prefix(fields[:4]) == 4:
        coords, text = fields[:4], ",".join(fields[4:])
    else:
        m = _SPACE_BOX.match(line)
        if not m:
            raise ValueError(f"expected 'xmin,ymin,xmax,ymax,text', got {len(fields)} fields")
        coords, text = list(m.groups()[:4]), m.group(5) or ""
    vals = [_number(c) for c in coords]
    for i, v in enumerate(vals):
        if v is None:
            raise ValueError(f"non-numeric coordinate {coords[i].strip()!r} in field {i + 1}")
    _check_coords(vals)
    x0, y0, x1, y1 = vals
    if x1 < x0 or y1 < y0:
        raise ValueError(f"box with xmax < xmin or ymax < ymin ({x0:g},{y0:g},{x1:g},{y1:g})")
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], text


def _line_kind(fields):
    """Auto-detect one comma-split line: 'icdar2015', 'mlt', 'polygon' or 'icdar2013'."""
    n = _numeric_prefix(fields)
    if n == 4 and (len(fields) == 5 or fields[4].lstrip().startswith('"')):
        return "icdar2013"  # 4 numbers then one text field (quoted, as ICDAR 2013 writes it)
    if n == 0:
        m = _SPACE_BOX.match(fields[0])
        if m and _numeric_prefix(m.groups()[:4]) == 4:
            return "icdar2013"
    if n == 8 and len(fields) >= 10 and fields[8].strip() in MLT_SCRIPTS:
        return "mlt"
    nc = n - (n == len(fields))  # an all-numeric line still ends with its transcription
    nc -= nc % 2
    if nc >= 10 and _plausible_polygon([float(f) for f in fields[:nc]]):
        return "polygon"
    return "icdar2015"


def _plausible_polygon(vals):
    """Do the numbers after the first 8 look like more vertices of the same polygon (near
    the first four points) rather than a transcription that starts with numbers
    (``...,y4,15, 2004, through``)? They must lie within the first four points' bounding
    box grown by its larger side on every side."""
    v = np.asarray(vals, dtype=np.float64).reshape(-1, 2)
    lo, hi = v[:4].min(0), v[:4].max(0)
    pad = max(float((hi - lo).max()), 1.0)
    extra = v[4:]
    return bool(np.all((extra >= lo - pad) & (extra <= hi + pad)))


def _parse_line(line, fmt):
    """-> (points (N,2) list, text) or raise ValueError(reason)."""
    if fmt == "icdar2013":
        return _parse_box(line)
    fields = line.split(",")
    n = _numeric_prefix(fields)
    if fmt in ("icdar2015", "mlt"):
        if len(fields) < 8 or n < 8:
            if len(fields) >= 8:
                raise ValueError(f"expected 8 coordinates, found {n} (field {n + 1} "
                                 f"{fields[n].strip()!r} is not a number)")
            raise ValueError(f"expected 8 coordinates and a transcription, got {len(fields)} fields")
        coords, rest = fields[:8], fields[8:]
        if fmt == "mlt":
            if len(rest) < 2:
                raise ValueError("expected 'x1,...,y4,script,transcription' (10 fields), "
                                 f"got {len(fields)} fields")
            rest = rest[1:]
        text = ",".join(rest)
    else:  # polygon: the longest even numeric prefix; the last field is text if all numeric
        ncoord = n
        if n == len(fields) and n % 2 == 1:
            ncoord = n - 1  # e.g. "x1,...,yn,2015": the numeric transcription
        elif n < len(fields) and n % 2 == 1 and n >= 9:
            ncoord = n - 1
        if ncoord % 2:
            raise ValueError(f"odd number of coordinates ({ncoord})")
        if ncoord < 6:
            if n < len(fields) and len(fields) > 6:
                raise ValueError(f"non-numeric coordinate {fields[n].strip()!r} in field {n + 1}")
            raise ValueError(f"expected at least 3 points (6 coordinates), got {ncoord}")
        coords, text = fields[:ncoord], ",".join(fields[ncoord:])
    vals = [_number(c) for c in coords]
    _check_coords(vals)
    return np.asarray(vals, dtype=np.float64).reshape(-1, 2), text


def _check_polygon(p):
    """Reason a (N > 4, 2) polygon is degenerate, or None; and the clockwise polygon."""
    if len(np.unique(p, axis=0)) < 3:
        return "degenerate polygon (fewer than 3 distinct points)", None
    area = polygon_area(p)
    if area == 0 and to_shapely(p).area == 0:
        return "degenerate polygon (zero area)", None
    return None, (p[::-1] if area < 0 else p).astype(np.float32)


def _normalise_quads(quads):
    """Vectorised checks and ordering of (M, 4, 2) quads -> (ordered float32, reasons)."""
    q = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2)
    eq = np.all(q[:, :, None, :] == q[:, None, :, :], axis=-1)       # (M, 4, 4)
    dup = np.any(np.tril(eq, -1), axis=2)                            # equals an earlier point
    distinct = 4 - dup.sum(axis=1)
    ordered = order_clockwise(q) if len(q) else np.zeros((0, 4, 2), np.float32)
    area = polygon_area(ordered.astype(np.float64)) if len(q) else np.zeros(0)
    reasons = np.where(distinct < 3, "degenerate polygon (fewer than 3 distinct points)",
                       np.where(area <= 0, "degenerate polygon (zero area)", ""))
    return ordered, reasons


def parse_gt_text(text: str, path: str = "<string>", fmt: str = "auto", lenient: bool = False,
                  stats: Optional[dict] = None) -> List[Annotation]:
    """Parse ground-truth file contents (a str); see :func:`read_gt`."""
    if fmt not in FORMATS:
        raise ValueError(f"read_gt: unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = [(i, raw.strip().lstrip("\ufeff")) for i, raw in enumerate(text.splitlines(), 1)]
    lines = [(i, line) for i, line in lines if line]
    if fmt == "auto":
        kinds = [_line_kind(line.split(",")) for _, line in lines]
    else:
        kinds = [fmt] * len(lines)
    items, problems = [], []  # items: [lineno, points, text]; problems: (lineno, reason)
    for (lineno, line), kind in zip(lines, kinds):
        try:
            points, txt = _parse_line(line, kind)
        except ValueError as e:
            problems.append((lineno, str(e)))
            continue
        items.append([lineno, points, txt])
    quads = [i for i, it in enumerate(items) if len(it[1]) == 4]
    ordered, reasons = _normalise_quads([items[i][1] for i in quads])
    bad = set()
    for j, i in enumerate(quads):
        items[i][1] = ordered[j]
        if reasons[j]:
            problems.append((items[i][0], str(reasons[j])))
            bad.add(i)
    for i, it in enumerate(items):
        if len(it[1]) != 4:
            reason, it[1] = _check_polygon(it[1])
            if reason:
                problems.append((it[0], reason))
                bad.add(i)
    problems.sort()
    if problems and not lenient:
        raise GTFormatError(path, *problems[0])
    for lineno, reason in problems:
        warnings.warn(f"{path}:{lineno}: {reason}; line skipped", stacklevel=3)
    out = []
    for i, (_, poly, txt) in enumerate(items):
        if i not in bad:
            txt = _unquote(txt)
            out.append(Annotation(poly, txt, txt == DONT_CARE))
    if stats is not None:
        stats["annotations"] = stats.get("annotations", 0) + len(out)
        stats["skipped"] = stats.get("skipped", 0) + len(problems)
    return out


def read_gt(path: str, fmt: str = "auto", lenient: bool = False,
            stats: Optional[dict] = None) -> List[Annotation]:
    """Read a ground-truth file into a list of :class:`Annotation`.

    ``fmt``: "auto" (per line: 4 numbers -> ICDAR 2013 box; 8 numbers then a script name
    and a transcription -> MLT; 10 or more numbers whose extra points lie near the first
    four -> polygon; otherwise ICDAR 2015 quad: a quad whose transcription starts with
    numbers, ``...,y4,15, 2004, through``, stays a quad unless those numbers fall near the
    box), or one of "icdar2015", "icdar2013", "mlt", "polygon" to force it. ``lenient=True`` skips malformed lines with one warning each instead of
    raising :class:`GTFormatError`. Pass a dict as ``stats`` to get the counts:
    ``stats["skipped"]`` (lines skipped) and ``stats["annotations"]`` are *added to*, so
    one dict can total a whole data set.
    """
    if os.fspath(path).lower().endswith(".json"):  # FUNSD / CORD annotations
        from .docsets import read_json_gt

        anns = read_json_gt(path)
        if stats is not None:
            stats["annotations"] = stats.get("annotations", 0) + len(anns)
        return anns
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        lineno = data[:e.start].count(b"\n") + 1
        if not lenient:
            raise GTFormatError(path, lineno, f"not UTF-8 text (byte 0x{data[e.start]:02x})") from None
        warnings.warn(f"{path}:{lineno}: not UTF-8 text; undecodable bytes replaced", stacklevel=2)
        text = data.decode("utf-8-sig", errors="replace")
    return parse_gt_text(text, os.fspath(path), fmt, lenient, stats)


# ---------------------------------------------------------------------------- writing

def _points_str(poly):
    p = np.rint(np.asarray(poly, dtype=np.float64).reshape(-1, 2)).astype(np.int64)
    return ",".join(str(v) for v in p.reshape(-1))


def _result_points_str(poly):
    """A detection's points as the ICDAR 2015 script reads float coordinates: truncated
    toward zero (``int()``), so that a result file scores as its float polygons do (as
    :func:`textseg.evaluation.evaluate` scores them in memory); ground truth is rounded."""
    p = np.trunc(np.asarray(poly, dtype=np.float64).reshape(-1, 2)).astype(np.int64)
    return ",".join(str(v) for v in p.reshape(-1))


def write_gt(path: str, annotations: Annotations) -> None:
    """Write annotations as ICDAR 2015 lines (integer-rounded points, ``###`` for ignore).
    Polygons with more than 4 points keep all their points. Written atomically."""
    lines = []
    for a in annotations:
        text = DONT_CARE if a.ignore else " ".join(str(a.text).splitlines())
        lines.append(f"{_points_str(a.polygon)},{text}\n")
    with atomic_open(path, "w", newline="\n") as f:
        f.writelines(lines)


def write_results(path: str, detections: Sequence[Detection], with_score: bool = False) -> None:
    """Write a submission file ``res_img_N.txt``: one ``x1,y1,...,xn,yn[,score]`` line per
    detection (a polygon or a ``(polygon, score)`` pair), integer coordinates truncated
    as the ICDAR 2015 script truncates float ones (:func:`_result_points_str`). Atomic."""
    lines = []
    for det in detections:
        poly, score = split_detection(det)
        s = _result_points_str(poly)
        if with_score:
            s += f",{(1.0 if score is None else score):.6g}"
        lines.append(s + "\n")
    with atomic_open(path, "w", newline="\n") as f:
        f.writelines(lines)


def read_results(path: str) -> List[Tuple[np.ndarray, Optional[float]]]:
    """Read a result file -> list of ``(polygon float32 (N, 2), score or None)``.

    A line holds an even number of coordinates, optionally followed by a score (an odd
    count); a trailing non-numeric field (a transcription, quoted by :func:`quote_text`
    when it is a number) is ignored."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise GTFormatError(path, data[:e.start].count(b"\n") + 1, "not UTF-8 text") from None
    out = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        fields = line.split(",")
        n = _numeric_prefix(fields)
        vals = [_number(f) for f in fields[:n]]
        score = None
        if n % 2 == 1:
            score = vals.pop()
        if len(vals) < 6:
            bad = f" (non-numeric field {fields[n].strip()!r})" if n < len(fields) else ""
            raise GTFormatError(path, lineno, f"expected at least 8 coordinates, got {len(vals)}{bad}")
        try:
            _check_coords(vals)
        except ValueError as e:
            raise GTFormatError(path, lineno, str(e)) from None
        out.append((np.asarray(vals, dtype=np.float32).reshape(-1, 2), score))
    return out


# ---------------------------------------------------------------------------- folder layouts

class DatasetReport(NamedTuple):
    """What :func:`scan_dataset` found."""

    pairs: list          # sorted [(image_path, gt_path or None)]
    image_dir: str
    gt_dir: str | None
    missing_gt: list     # images without a GT file
    orphan_gt: list      # GT files without an image


_WORD_DIRS = ("words", "gt", "labels", "annotations", "ground_truth", "json")
_LINE_DIRS = ("lines", "box")  # box/: SROIE's text segments
_JSON_DIRS = ("annotations", "json")  # FUNSD, CORD: one file holds both levels
_IMAGE_DIRS = ("images", "imgs", "img", "image")
_SPLITS = {"train": ("train", "training"), "training": ("train", "training"),
           "test": ("test", "testing"), "testing": ("test", "testing"),
           "val": ("val", "valid", "validation"), "validation": ("val", "valid", "validation")}


def _natural(s):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


def _subdirs(root):
    return sorted(e.name for e in os.scandir(root) if e.is_dir())


def _files(folder, exts):
    return sorted((e.name for e in os.scandir(folder)
                   if e.is_file() and os.path.splitext(e.name)[1].lower() in exts), key=_natural)


def _tokens(name):
    return set(re.split(r"[^a-z0-9]+", name.lower()))


def _pick(root, names):
    lower = {d.lower(): d for d in _subdirs(root)}
    for n in names:
        if n in lower:
            return os.path.join(root, lower[n])
    return None


def _official_dirs(root, split):
    """``ch4_training_images`` / ``..._localization_transcription_gt``-style names."""
    subs = _subdirs(root)
    imgs = [d for d in subs if "images" in d.lower() or d.lower().endswith("_img")]
    if split:
        want = set(_SPLITS.get(split.lower(), (split.lower(),)))
        imgs = [d for d in imgs if _tokens(d) & want]
    if not imgs:
        return None, None
    if len(imgs) > 1:
        raise FileNotFoundError(f"{root}: several image folders ({', '.join(imgs)}); "
                                "choose one with split='train' or split='test'")
    img = imgs[0]
    side = _tokens(img) & {"train", "training", "test", "testing", "val", "validation"}
    gt_words = {"gt", "gts", "localization", "groundtruth", "annotations", "labels"}
    gts = [d for d in subs if d != img and (gt_words & _tokens(d) or d.lower().endswith("gt"))]
    gts.sort(key=lambda d: (not (_tokens(d) & side), d))
    return os.path.join(root, img), (os.path.join(root, gts[0]) if gts else None)


def scan_dataset(root: str, split: Optional[str] = None, level: str = "word") -> "DatasetReport":
    """Find images and their ground truth under ``root``; returns a :class:`DatasetReport`.

    Layouts: ``images/`` + ``words/`` (or ``gt/``, ``labels/``; ``lines/`` with
    ``level="line"``); the official ``ch4_training_images`` +
    ``ch4_training_localization_transcription_gt`` (and test variants, chosen with
    ``split``); ``root/<split>/...``; a flat folder of ``img_N.jpg`` next to
    ``gt_img_N.txt``. ``img_N.jpg`` pairs with ``gt_img_N.txt``, ``name.jpg`` with
    ``gt_name.txt`` or ``name.txt``. Raises FileNotFoundError naming the folder when
    ``root`` (or the requested level's folder) does not exist.
    """
    root = os.fspath(root)
    if level not in ("word", "line"):
        raise ValueError(f"level must be 'word' or 'line', got {level!r}")
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root}: data folder not found")
    if split:
        sub = _pick(root, _SPLITS.get(split.lower(), (split.lower(),)))
        if sub:
            return scan_dataset(sub, None, level)
    image_dir = _pick(root, _IMAGE_DIRS)
    gt_dir = None
    if image_dir is None:
        image_dir, gt_dir = _official_dirs(root, split)
        if image_dir is None:
            if split:
                raise FileNotFoundError(f"{root}: no folder for split {split!r}")
            image_dir = root  # flat layout
    if level == "line":
        gt_dir = _pick(root, _LINE_DIRS) or _pick(root, _JSON_DIRS)
        if gt_dir is None and image_dir == root and _files(root, (".txt",)):
            gt_dir = root  # flat SROIE-style folder: NAME.jpg + NAME.txt segments
        if gt_dir is None:
            raise FileNotFoundError(f"{root}: no lines/ folder for line-level ground truth")
    elif gt_dir is None:
        gt_dir = _pick(root, _WORD_DIRS)
    lookup_dir = gt_dir or image_dir
    images = _files(image_dir, IMAGE_EXTENSIONS)
    gts = {n.lower(): n for n in _files(lookup_dir, (".txt", ".json"))}
    used, pairs, missing = set(), [], []
    for name in images:
        stem = os.path.splitext(name)[0].lower()
        cands = (f"gt_{stem}.txt", f"{stem}.txt", f"{name.lower()}.txt",  # img.jpg.txt too
                 f"{stem}.json")  # FUNSD / CORD
        hit = next((gts[c] for c in cands if c in gts), None)
        if hit is None:
            missing.append(os.path.join(image_dir, name))
        else:
            used.add(hit)
        gt_path = os.path.join(lookup_dir, hit) if hit else None
        if gt_path and hit.lower().endswith(".json"):
            gt_path = GTPath(gt_path, level)  # read_gt takes the level from it
        pairs.append((os.path.join(image_dir, name), gt_path))
    orphans = [os.path.join(lookup_dir, n) for n in sorted(gts.values(), key=_natural)
               if n not in used and (gt_dir is not None or n.lower().startswith("gt_"))]
    return DatasetReport(pairs, image_dir, gt_dir, missing, orphans)


def find_pairs(root: str, split: Optional[str] = None,
               level: str = "word") -> List[Tuple[str, Optional[str]]]:
    """Sorted ``[(image_path, gt_path or None)]`` for a data folder (see :func:`scan_dataset`,
    which also reports GT files that have no image)."""
    return scan_dataset(root, split, level).pairs


def find_gt_files(root: str, split: Optional[str] = None, level: str = "word") -> Dict[str, str]:
    """``{key: gt_path}`` where ``key`` is the image name without extension (``img_12``).

    Works for any :func:`scan_dataset` layout and also for a folder holding only
    ``gt_*.txt`` files (no images): then the key is the file name without ``gt_`` and
    ``.txt``."""
    rep = scan_dataset(root, split, level)
    out = {os.path.splitext(os.path.basename(img))[0]: gt for img, gt in rep.pairs if gt}
    for gt in rep.orphan_gt:
        stem = os.path.splitext(os.path.basename(gt))[0]
        key = stem[3:] if stem.lower().startswith("gt_") else stem
        out.setdefault(key, gt)
    return out
