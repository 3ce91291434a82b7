"""Fonts for synthetic pages: discovery, families, glyph coverage, cached loading.

Fonts come from matplotlib's bundled set (DejaVu Sans/Serif/Mono, STIX, Computer Modern)
and from ``/usr/share/fonts`` when present (``tools/install_fonts.sh`` installs the Debian
font packages the project uses); nothing is downloaded. Files are grouped into families
with up to four styles (regular, bold, italic, bolditalic) and a kind (serif, sans, mono,
hand: handwriting-style fonts). Fonts without basic Latin letters and digits, hairline
cuts and symbol fonts are left out. A character a font cannot show is removed from the
text before rendering, so the ground truth never describes a ``.notdef`` box.

:func:`family_names` lists what was found (written into a data set's manifest).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field

from PIL import ImageFont

__all__ = ["Family", "families", "family_names", "hand_families", "typewriter_families", "load_font",
           "supported_text", "STYLES", "KINDS"]

STYLES = ("regular", "bold", "italic", "bolditalic")
KINDS = ("serif", "sans", "mono", "hand")
SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")

# not text fonts (math symbols, display cuts, fallback glyph font)
_EXCLUDE = re.compile(r"(cmex|D050000L|Dingbat|cmmi|cmsy|STIXNonUni|STIXSiz|LastResort|Math|Display|Symbol|"
                      r"Emoji|Dingbat|ExtraLight|Wingding|Hairline|Thin|UltraLight|Light|Awesome|Icons|"
                      r"Emoji|3270.*Condensed|3270.*Semi|Nerd|Braille|dseg|Ornament|Oldania)", re.I)
# handwriting-style families (by file name)
_HAND = re.compile(r"(comic|dancing|humor|dkg|breip|kristi|femke|rufscript|ecolier|bwht|kaushan|"
                   r"tomson|handwrit|script|marker|felt|becausewe)", re.I)
# Linux Libertine/Biolinum file suffixes: R regular, RB bold, RI italic, RBI bold italic
_LIBERTINE = {"r": "regular", "rb": "bold", "ri": "italic", "rbi": "bolditalic"}
_LATIN = set("aeAEzZ09")
# Computer Modern text fonts in matplotlib use the TeX OT1 layout: these ASCII codes hold
# other glyphs (<> are inverted !?, \ is a quote, {|} are dashes, ...)
_OT1_BAD = set('<>\\_{|}"`^~')
_STYLE_SUFFIX = re.compile(r"[-_ ]?(BoldItalic|BoldOblique|BolIta|Bold|Bol|Italic|Oblique|Ita|"
                           r"Regular|Roman|Book|Medium|Semibold|SemiBold|DemiBold|ExtraBold|Black|"
                           r"Heavy|VariableFont.*|Variable)$|[-_ ](It|Rg|Bd|BdIt|R|B|I|BI|Z|RI|BO|O)$")


@dataclass
class Family:
    """A typeface: ``kind`` serif/sans/mono and ``paths`` style -> font file."""

    name: str
    kind: str
    paths: dict = field(default_factory=dict)

    def path(self, style):
        """The file for ``style``, falling back to the closest style the family has."""
        for s in (style, "bold" if "bold" in style else "italic" if "italic" in style else "regular",
                  "regular"):
            if s in self.paths:
                return self.paths[s]
        return next(iter(self.paths.values()))


def _classify(path):
    """(family name, style, kind) of a font file from its name."""
    base = os.path.splitext(os.path.basename(path))[0]
    low = base.lower()
    if low.startswith("cm"):  # Computer Modern: cmr10, cmb10, cmti10, cmss10, cmtt10
        fam = {"cmr": "cmr", "cmb": "cmr", "cmt": "cmtt" if low.startswith("cmtt") else "cmr",
               "cms": "cmss"}.get(low[:3], low)
        style = "bold" if low.startswith("cmb") else "italic" if low.startswith("cmti") else "regular"
        kind = {"cmr": "serif", "cmss": "sans", "cmtt": "mono"}.get(fam, "serif")
        return fam, style, kind
    if low.startswith(("linlibertine_", "linbiolinum_")):
        fam, suf = base.split("_", 1)
        if suf.lower() == "m":
            return fam + "Mono", "regular", "mono"
        style = _LIBERTINE.get(suf.lower())
        return (fam, style, "serif" if "libertine" in low else "sans") if style else (None, None, None)
    m = re.match(r"pt([cfmnsz])(\d\d)f$", low)  # ParaType: PT Sans/Serif/Mono, 55 = regular
    if m:
        fam = {"s": "PTSans", "c": "PTSansCaption", "n": "PTSansNarrow", "f": "PTSerif",
               "z": "PTSerifCaption", "m": "PTMono"}[m.group(1)]
        style = {"55": "regular", "56": "italic", "75": "bold", "76": "bolditalic", "57": "regular",
                 "77": "bold"}.get(m.group(2), "regular")
        return fam, style, "mono" if fam == "PTMono" else "serif" if "Serif" in fam else "sans"
    if low.startswith("dkg"):
        style = {"dkgbi": "bolditalic", "dkgbd": "bold", "dkgit": "italic"}.get(low, "regular")
        return "dkg", style, "hand"
    bold = bool(re.search(r"bold|bol(?!d)|black|heavy|-bd|-b$|-bi$|-b-", low))
    italic = bool(re.search(r"italic|oblique|ita$|bolita|-it$|bdit$|-i$|-bi$", low))
    style = "bolditalic" if bold and italic else "bold" if bold else "italic" if italic else "regular"
    fam = base
    while True:
        new = _STYLE_SUFFIX.sub("", fam)
        if new == fam:
            break
        fam = new
    if _HAND.search(low):
        kind = "hand"
    elif re.search(r"mono|courier|typewriter|consol|(?<!juni)code|fixed|3270|hack|inconsolata|hermit|"
                   r"agave|fantasque|mononoki|anonymous|prime|cousine|monof\d", low):
        kind = "mono"
    elif re.search(r"serif|stix|times|roman|bookman|palatino|schoolbook|georgia|garamond|"
                   r"c059|p052|nimbusrom|tinos|cambria|libertine|charter|caladea|charis|gentium|"
                   r"junicode|lindenhill|bookman|accanthis|baskervald|berenis|ikarius|irianis|oldania|"
                   r"romande|tribun|vollkorn|goudy|fanwood|prociono|oldstandard", low) \
            and "sans" not in low.replace("dejavusans", "sans"):
        kind = "serif"
    else:
        kind = "sans"
    if "dejavusans" in low and "mono" not in low:
        kind = "sans"
    return fam, style, kind


def _font_files():
    import matplotlib

    roots = [os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf")]
    roots += [d for d in SYSTEM_FONT_DIRS if os.path.isdir(d)]
    seen, out = set(), []
    for root in roots:
        for dirpath, _, names in sorted(os.walk(root)):
            for n in sorted(names):
                if not n.lower().endswith((".ttf", ".otf")) or _EXCLUDE.search(n) or "[" in n:
                    continue
                if n in seen:  # the same file bundled twice (matplotlib and the system)
                    continue
                seen.add(n)
                out.append(os.path.join(dirpath, n))
    return out


@functools.lru_cache(maxsize=1)
def families():
    """All usable families, sorted by name: ``{kind: [Family, ...]}``."""
    fams = {}
    for path in _font_files():
        name, style, kind = _classify(path)
        if name is None or not _LATIN <= _coverage(path):
            continue
        fam = fams.setdefault(name, Family(name, kind))
        # a plain "Bold" beats Black/Heavy/SemiBold for the bold slot
        plain = not re.search(r"black|heavy|semi|demi|extra|medium", os.path.basename(path), re.I)
        if style not in fam.paths or (plain and re.search(r"black|heavy|semi|demi|extra|medium",
                                                          os.path.basename(fam.paths[style]), re.I)):
            fam.paths[style] = path
    out = {k: [] for k in KINDS}
    for name in sorted(fams):
        if "regular" in fams[name].paths:
            out[fams[name].kind].append(fams[name])
    if not any(out.values()):
        raise RuntimeError("synthetic pages: no usable TrueType font found (matplotlib's "
                           "bundled fonts are missing)")
    for k in ("serif", "sans", "mono"):  # every printed kind gets something
        if not out[k]:
            out[k] = [f for kk in KINDS for f in out[kk]][:1]
    return out


def hand_families():
    """Families for handwriting: the handwriting-style ones, else italic printed ones (the
    stroke jitter of :mod:`.handwriting` does the rest)."""
    fams = families()
    if fams["hand"]:
        return fams["hand"]
    return [f for k in ("sans", "serif") for f in fams[k] if "italic" in f.paths] or fams["sans"]


_TYPEWRITER = re.compile(r"courier|typewriter|nimbusmono|freemono|liberationmono|cousine|cmtt|"
                         r"anonymous|dejavusansmono", re.I)


def typewriter_families():
    """Mono families that look typed (Courier-like and typewriter faces), else all mono."""
    mono = families()["mono"]
    return [f for f in mono if _TYPEWRITER.search(f.name)] or mono


def family_names():
    """``{kind: [family name, ...]}`` of the families found (for data-set manifests)."""
    return {k: [f.name for f in v] for k, v in families().items()}


@functools.lru_cache(maxsize=512)
def load_font(path, size_px):
    """An ImageFont for ``path`` at ``size_px`` pixels per em (basic layout: fast)."""
    return ImageFont.truetype(path, int(size_px), layout_engine=ImageFont.Layout.BASIC)


@functools.lru_cache(maxsize=64)
def _coverage(path):
    import logging

    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools").setLevel(logging.ERROR)

    try:
        cmap = set(TTFont(path, lazy=True, fontNumber=0).getBestCmap() or ())
    except Exception:  # an unreadable font: allow ASCII only
        cmap = set(range(32, 127))
    chars = {chr(c) for c in cmap}
    if os.path.basename(path).lower().startswith("cm") and not \
            os.path.basename(path).lower().startswith("cmtt"):
        chars -= _OT1_BAD
    return frozenset(chars)


def supported_text(path, text):
    """``text`` without the characters the font at ``path`` has no glyph for."""
    cov = _coverage(path)
    if all(ch in cov for ch in text):
        return text
    return "".join(ch for ch in text if ch in cov)
