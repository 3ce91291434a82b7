"""Progress bars that degrade gracefully: tqdm when it is installed, else plain lines.

tqdm is optional (the torch-free install for OCR systems leaves it out), so nothing may
import it directly. ``progress_bar(total, desc, unit)`` returns a tqdm bar, or without
tqdm a :class:`PlainProgress` with the same few methods (``update``, ``set_postfix``,
``write``, ``close``) that prints ``desc: n/total unit`` to stderr at most every
``every_s`` seconds and once at the end. Torch-free, imports nothing heavy.
"""

import sys
import time

__all__ = ["PlainProgress", "progress_bar", "write"]


class PlainProgress:
    """A tqdm stand-in: a status line now and then, and at the end."""

    def __init__(self, total=None, desc="", unit="it", initial=0, file=None, every_s=10.0):
        self.total, self.desc, self.unit = total, desc, unit
        self.n = int(initial)
        self.file = file or sys.stderr
        self.every_s = float(every_s)
        self.postfix = ""
        self._last = time.monotonic()
        self._closed = False

    def _line(self):
        of = f"/{self.total}" if self.total is not None else ""
        return f"{self.desc}: {self.n}{of} {self.unit}{self.postfix}"

    def update(self, n=1):
        self.n += n
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            print(self._line(), file=self.file, flush=True)

    def set_postfix(self, values=None, **kw):
        items = {**(values or {}), **kw}
        self.postfix = "".join(f", {k}={v}" for k, v in items.items())

    def write(self, msg):
        print(msg, file=self.file, flush=True)

    def close(self):
        if not self._closed:
            self._closed = True
            print(self._line(), file=self.file, flush=True)


def progress_bar(total=None, desc="", unit="it", initial=0, file=None, **tqdm_options):
    """A tqdm bar when tqdm can be imported, else a :class:`PlainProgress`."""
    file = file or sys.stderr
    try:
        from tqdm import tqdm
    except ImportError:
        return PlainProgress(total, desc, unit, initial, file)
    return tqdm(total=total, desc=desc, unit=unit, initial=initial, file=file, **tqdm_options)


def write(msg, file=None):
    """Print ``msg`` without breaking a tqdm bar on the same stream (plain print without
    tqdm)."""
    file = file or sys.stderr
    try:
        from tqdm import tqdm
    except ImportError:
        print(msg, file=file, flush=True)
        return
    tqdm.write(msg, file=file)
