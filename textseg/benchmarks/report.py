"""The benchmark report: a machine description and one markdown section per suite.

``docs/benchmarks.md`` holds one section per suite (``models``, ``decode``, ``pages``,
``train``), each between two HTML comments::

    <!-- bench:decode -->
    ## Decoders
    ...
    <!-- /bench:decode -->

:func:`update_section` replaces one suite's section and keeps everything else in the file
(other suites, text written by hand around them), so suites can be run separately, on
different days or machines; each section says which machine and command produced it.
Files are written atomically. Torch-free (torch's version is read only if it is installed).
"""

import datetime
import json
import os
import platform
import re
import sys

from ..fileio import atomic_open

#: canonical order of the sections in the file (a new section goes to its place)
SUITES = ("models", "decode", "pages", "train", "ocr")

TITLE = "# textseg benchmarks"
INTRO = ("Produced by `python tools/bench.py SUITE`; each section below is rewritten by its "
         "own suite and says on which machine and with which command it was measured. "
         "Timings on a shared CPU are noisy: compare rows of one section only.")


def _begin(suite):
    return f"<!-- bench:{suite} -->"


def _end(suite):
    return f"<!-- /bench:{suite} -->"


def _section_re(suite):
    return re.compile(re.escape(_begin(suite)) + r".*?" + re.escape(_end(suite)) + r"\n?", re.S)


# ----------------------------------------------------------------------------- machine

def cpu_model(cpuinfo="/proc/cpuinfo"):
    """The CPU's model name (Linux ``/proc/cpuinfo``; elsewhere what ``platform`` knows)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                    return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _version(module):
    try:
        m = __import__(module)
    except Exception:  # not installed, or fails to load
        return None
    return getattr(m, "__version__", "?")


def _gpu_name(device):
    if not str(device).startswith("cuda"):
        return None
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(torch.device(device))
    except Exception:
        pass
    return None


def machine_info(threads, device="cpu"):
    """Facts about this machine and its software, as a dict of plain values."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 0
    try:
        load = round(os.getloadavg()[0], 1)
    except (AttributeError, OSError):
        load = None
    return {
        "cpu": cpu_model(), "cores": cores, "threads": int(threads), "device": str(device),
        "gpu": _gpu_name(device), "load": load, "python": platform.python_version(),
        "torch": _version("torch"), "onnxruntime": _version("onnxruntime"),
        "numpy": _version("numpy"), "opencv": _version("cv2"),
        "date": datetime.date.today().isoformat(),
    }


def describe_machine(info):
    """One markdown paragraph describing ``info`` (see :func:`machine_info`)."""
    soft = ", ".join(f"{name} {info[key]}" for name, key in (
        ("Python", "python"), ("torch", "torch"), ("onnxruntime", "onnxruntime"),
        ("numpy", "numpy"), ("OpenCV", "opencv")) if info.get(key))
    gpu = f"GPU {info['gpu']}" if info.get("gpu") else "no GPU used"
    load = f", load average {info['load']} at the start" if info.get("load") is not None else ""
    return (f"Machine: {info['cpu']}, {info['cores']} cores, {info['threads']} "
            f"thread{'s' if info['threads'] != 1 else ''} used, device {info['device']} "
            f"({gpu}){load}; {soft}; {info['date']}.")


# ----------------------------------------------------------------------------- markdown

def markdown_table(headers, rows, align=None):
    """A markdown table; ``rows`` are sequences of cells (None prints as ``-``).

    ``align``: one of ``"l"``/``"r"`` per column (default: left for the first column,
    right for the others)."""
    align = align or ["l"] + ["r"] * (len(headers) - 1)
    rule = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(rule) + "|"]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"markdown_table: row has {len(row)} cells, header {len(headers)}")
        lines.append("| " + " | ".join("-" if c is None else str(c) for c in row) + " |")
    return "\n".join(lines)


def render_section(suite, title, body, machine, command=None, notes=()):
    """The text of one suite's section, markers included (ends with a newline)."""
    parts = [_begin(suite), f"## {title}", "", describe_machine(machine)]
    if command:
        parts[-1] += f" Command: `{command}`."
    parts += ["", body.strip()]
    for note in notes:
        parts += ["", note.strip()]
    parts.append(_end(suite))
    return "\n".join(parts) + "\n"


def replace_section(text, suite, section):
    """``text`` with ``suite``'s section replaced by ``section`` (or inserted in the
    canonical order of :data:`SUITES`; text outside the sections is kept as it is)."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
    if not section.endswith("\n"):
        section += "\n"
    pattern = _section_re(suite)
    if pattern.search(text):
        return pattern.sub(lambda _m: section, text, count=1)
    if not text.strip():
        return f"{TITLE}\n\n{INTRO}\n\n{section}"
    i = SUITES.index(suite)
    for earlier in reversed(SUITES[:i]):  # right after the last earlier suite present
        m = _section_re(earlier).search(text)
        if m:
            head = text[:m.end()] if text[:m.end()].endswith("\n") else text[:m.end()] + "\n"
            return head + "\n" + section + text[m.end():]
    for later in SUITES[i + 1:]:  # else before the first later suite present
        pos = text.find(_begin(later))
        if pos >= 0:
            return text[:pos] + section + "\n" + text[pos:]
    return text.rstrip("\n") + "\n\n" + section


def update_section(path, suite, section):
    """Write ``section`` into the report file ``path`` (created if missing), atomically."""
    path = os.fspath(path)
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with atomic_open(path, "w") as f:
        f.write(replace_section(text, suite, section))
    return path


def text_table(columns, rows):
    """A fixed-width text table. ``columns``: (header, key, width) or (header, key, width,
    align) with align ``"<"`` or ``">"`` (default: left for the first column, right for
    the others); ``rows``: dicts, where None prints as ``-``."""
    cols = [(c[0], c[1], int(c[2]), c[3] if len(c) > 3 else ("<" if i == 0 else ">"))
            for i, c in enumerate(columns)]
    lines = [" ".join(f"{h:{a}{w}}" for h, _, w, a in cols)]
    for row in rows:
        lines.append(" ".join(f"{'-' if row.get(k) is None else str(row[k]):{a}{w}}"
                              for _, k, w, a in cols))
    return "\n".join(lines)


def print_table(columns, rows, records=None, notes=(), file=None):
    """What a ``decode_*`` benchmark prints: :func:`text_table` of ``rows``, the ``notes``
    lines, then one JSON line per record (default: the rows themselves)."""
    file = file or sys.stdout
    print(text_table(columns, rows), file=file)
    for note in notes:
        print(note, file=file)
    for record in rows if records is None else records:
        print(json.dumps(record), file=file)


def fmt(value, digits=1):
    """A number for a table cell: None -> '-', floats rounded to ``digits``."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
