"""Text for synthetic pages: real prose from offline sources plus generated tokens.

Prose comes from the docstrings and comments of Python's standard library (parsed with
:mod:`ast` and a regular expression, never imported), code lines from the same files. Numbers,
dates, amounts, IDs, phone numbers, URLs and e-mail addresses are generated. Everything is
a pure function of the ``np.random.Generator`` passed in, so pages stay deterministic.
"""

from __future__ import annotations

import ast
import os
import re
import sysconfig

import numpy as np

__all__ = ["Corpus", "get_corpus", "STDLIB_MODULES"]

# A fixed, sorted list keeps the corpus identical between runs and processes.
STDLIB_MODULES = sorted([
    "argparse", "asyncio/events", "base64", "bisect", "calendar", "cmd", "codecs",
    "collections/__init__", "configparser", "contextlib", "copy", "csv", "dataclasses",
    "datetime", "decimal", "difflib", "email/message", "email/utils", "enum", "fileinput",
    "fnmatch", "fractions", "ftplib", "functools", "getopt", "gettext", "glob", "gzip",
    "heapq", "hmac", "html/parser", "http/client", "http/cookies", "imaplib", "inspect",
    "ipaddress", "json/__init__", "locale", "logging/__init__", "logging/handlers",
    "mailbox", "mimetypes", "netrc", "numbers", "optparse", "os", "pathlib", "pdb",
    "pickle", "pkgutil", "platform", "poplib", "pprint", "pydoc", "queue", "random",
    "re/__init__", "sched", "secrets", "selectors", "shelve", "shlex", "shutil", "smtplib",
    "socket", "socketserver", "statistics", "string", "subprocess", "tarfile", "tempfile",
    "textwrap", "threading", "timeit", "trace", "traceback", "typing", "unittest/case",
    "urllib/parse", "urllib/request", "uuid", "warnings", "wave", "weakref", "zipfile/__init__",
    "zipfile",
])

_WS = re.compile(r"\s+")
_COMMENT = re.compile(r"^[ \t]*#+[!:]?[ \t]*(.+)$", re.M)
_RST = re.compile(r":(?:func|class|meth|mod|attr|data|exc|const|term|ref|pep|rfc):")


def _clean_paragraph(text):
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith((">>>", "..."))]
    text = _RST.sub("", " ".join(lines)).replace("``", "").replace("`", "'")
    text = _WS.sub(" ", text).strip()
    return "".join(ch for ch in text if ch.isascii() or ch in "\u00a9\u00e9\u00e8\u00fc\u00f6\u00e4\u00df")


def _read_module(path):
    """(paragraphs, comments, code_lines, identifiers) of one source file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        src = f.read()
    paras, comments, idents = [], [], []
    try:
        tree = ast.parse(src)
    except (SyntaxError, ValueError):
        return [], [], [], []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                for block in re.split(r"\n\s*\n", doc):
                    p = _clean_paragraph(block)
                    if len(p.split()) >= 4:
                        paras.append(p)
            if not isinstance(node, ast.Module) and not node.name.startswith("__"):
                idents.append(node.name)
    for m in _COMMENT.finditer(src):
        c = _clean_paragraph(m.group(1))
        if len(c.split()) >= 4:
            comments.append(c)
    code = [ln.rstrip().replace("\t", "    ") for ln in src.splitlines()
            if ln.strip() and len(ln) < 100 and ln.isascii()]
    return paras, comments, code, idents


class Corpus:
    """Prose paragraphs, comment lines, code lines and identifiers for page text."""

    def __init__(self, paragraphs, comments, code, identifiers):
        if not paragraphs:
            paragraphs = [_FALLBACK]
        self.paragraphs = paragraphs
        self.comments = comments or paragraphs
        self.code = code or ["def main():", "    return 0"]
        self.identifiers = identifiers or ["main", "value", "result"]
        self.words = " ".join(paragraphs).split()
        self._vocab = sorted({w.strip(".,;:()'\"") for w in self.words
                              if w.isalpha() and 3 <= len(w) <= 12})

    # ---------------------------------------------------------------- prose
    def run(self, rng, n):
        """``n`` consecutive words of real text (a random place in the corpus)."""
        n = max(1, int(n))
        start = int(rng.integers(0, max(1, len(self.words) - n)))
        return self.words[start:start + n]

    def paragraph(self, rng, lo=20, hi=120):
        """A real paragraph, cut or extended to lo..hi words."""
        words = self.paragraphs[int(rng.integers(len(self.paragraphs)))].split()
        n = int(rng.integers(lo, hi + 1))
        if len(words) < n and rng.random() < 0.6:
            words = words + self.run(rng, n - len(words))
        return words[:n]

    def sentence(self, rng, lo=3, hi=10):
        return self.run(rng, int(rng.integers(lo, hi + 1)))

    def vocab_word(self, rng):
        return self._vocab[int(rng.integers(len(self._vocab)))] if self._vocab else "text"

    def title(self, rng, lo=1, hi=7):
        words = [w.strip(".,;:") for w in self.sentence(rng, lo, hi)]
        words = [w for w in words if w] or ["Summary"]
        style = rng.random()
        if style < 0.3:
            return [w.upper() for w in words]
        if style < 0.7:
            return [w[:1].upper() + w[1:] for w in words]
        return [words[0][:1].upper() + words[0][1:]] + words[1:]

    def name(self, rng):
        first = self.vocab_word(rng).capitalize()
        last = self.vocab_word(rng).capitalize()
        return [first, last] if rng.random() < 0.8 else [first[0] + ".", last]

    def code_line(self, rng):
        return self.code[int(rng.integers(len(self.code)))]

    def code_block(self, rng, n):
        start = int(rng.integers(0, max(1, len(self.code) - n)))
        return self.code[start:start + n]

    def identifier(self, rng):
        return self.identifiers[int(rng.integers(len(self.identifiers)))]

    def comment(self, rng):
        return self.comments[int(rng.integers(len(self.comments)))].split()

    # ---------------------------------------------------------------- generated tokens
    def token(self, rng, kind=None):
        """One generated token: a date, amount, phone number, ID, URL, e-mail, ..."""
        kinds = ("date", "amount", "phone", "id", "url", "email", "time", "percent",
                 "version", "int", "code")
        kind = kind or kinds[int(rng.integers(len(kinds)))]
        r = rng.integers
        if kind == "date":
            y, m, d = int(r(1975, 2031)), int(r(1, 13)), int(r(1, 29))
            fmt = int(r(5))
            return [f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{m}/{d}/{y % 100:02d}",
                    f"{d}.{m}.{y}", f"{d:02d}-{_MONTHS[m - 1][:3]}-{y}"][fmt]
        if kind == "amount":
            v = float(np.exp(rng.uniform(0, 11)))
            s = f"{v:,.2f}" if rng.random() < 0.7 else f"{v:.2f}"
            return rng.choice(["$", "", "", "EUR ", "-"]) + s if rng.random() < 0.5 else s
        if kind == "phone":
            return rng.choice([f"+{r(1, 99)} {r(10, 999)} {r(1000, 99999)} {r(100, 9999)}",
                               f"({r(200, 999)}) {r(200, 999)}-{r(1000, 9999)}",
                               f"0{r(10, 999)}/{r(100000, 9999999)}"])
        if kind == "id":
            letters = "".join(chr(65 + int(c)) for c in r(0, 26, size=int(r(1, 4))))
            return rng.choice([f"{letters}-{r(1000, 999999)}", f"#{r(100, 99999)}",
                               f"{letters}{r(10, 99)}/{r(1000, 9999)}", f"{r(10**7, 10**9)}"])
        if kind == "url":
            host = f"{self.vocab_word(rng).lower()}.{rng.choice(['org', 'com', 'net', 'io', 'de'])}"
            path = "/".join(self.vocab_word(rng).lower() for _ in range(int(r(0, 3))))
            return f"{rng.choice(['https://', 'http://', 'www.', ''])}{host}{'/' + path if path else ''}"
        if kind == "email":
            return f"{self.vocab_word(rng).lower()}{rng.choice(['.', '_', ''])}" \
                   f"{self.vocab_word(rng).lower()}@{self.vocab_word(rng).lower()}.org"
        if kind == "time":
            return f"{r(0, 24):02d}:{r(0, 60):02d}" + (f":{r(0, 60):02d}" if rng.random() < 0.3 else "")
        if kind == "percent":
            return f"{rng.uniform(0, 100):.{int(r(0, 3))}f}%"
        if kind == "version":
            return f"{r(0, 20)}.{r(0, 30)}" + (f".{r(0, 100)}" if rng.random() < 0.6 else "")
        if kind == "int":
            return str(int(np.exp(rng.uniform(0, 9))))
        return f"{r(0, 10**6):06d}"


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]

_FALLBACK = ("The quick brown fox jumps over the lazy dog while the committee reviews the "
             "annual report, the accounts and the minutes of the previous meeting.")

_CORPUS = None


def get_corpus():
    """The process-wide :class:`Corpus` (built once from the standard library sources)."""
    global _CORPUS
    if _CORPUS is None:
        root = sysconfig.get_paths()["stdlib"]
        paras, comments, code, idents = [], [], [], []
        for mod in STDLIB_MODULES:
            path = os.path.join(root, mod + ".py")
            if not os.path.isfile(path):
                continue
            p, c, k, i = _read_module(path)
            paras += p
            comments += c
            code += k
            idents += i
        _CORPUS = Corpus(paras, comments, code, idents)
    return _CORPUS
