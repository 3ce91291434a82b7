"""The recogniser interface: an image and line polygons in, text per line and per word out.

numpy only at import time: an engine's own package is imported when the engine is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["RecognizerError", "Word", "Line", "Recognizer"]

from ..errors import TextsegError


class RecognizerError(TextsegError, ValueError):
    """A recogniser cannot run: its package or language data is missing, or it was given
    options it does not know. The message is one line and says how to install what is
    missing."""


@dataclass
class Word:
    """One recognised word.

    ``polygon``: (4, 2) float32 in page pixels, clockwise, its top edge along the reading
    direction. ``confidence``: 0..1. ``source``: "recognizer" when the box is the engine's
    own split of the line, "detector" when it is the detector's word box that the engine's
    word fell in (``detection`` is then that word's index in the ``words`` passed in)."""

    text: str
    confidence: float
    polygon: np.ndarray
    source: str = "recognizer"
    detection: int | None = None


@dataclass
class Line:
    """The recognition of one input line polygon (same order as the input).

    ``text``: the words joined by single spaces ("" when nothing was read);
    ``confidence``: 0..1, the mean of the words' (0 when empty); ``score``: the detection
    score that came with the polygon (None when the line was given as a bare polygon);
    ``angle``: the clockwise rotation (0, 90, 270) applied to read the line, after its
    own slope was taken out; ``baseline``: (2, 2) float32, the engine's baseline of the text
    (start and end point in page pixels, along the reading direction) or None."""

    polygon: np.ndarray
    text: str
    confidence: float
    words: list[Word] = field(default_factory=list)
    score: float | None = None
    angle: int = 0
    baseline: np.ndarray | None = None


class Recognizer:
    """Base class: ``recognize(image, lines, words=None) -> [Line, ...]``.

    ``image``: an RGB or grey uint8 array (H, W[, 3]). ``lines``: polygons or
    ``(polygon, score)`` pairs (what :func:`textseg.layout.group_lines` returns).
    ``words``: the word detections the lines were grouped from, optional; an engine may use
    them for the word boxes. The result has one :class:`Line` per input line, in order.
    """

    name = "recognizer"

    def recognize(self, image, lines, words=None):  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, image, lines, words=None):
        return self.recognize(image, lines, words)

    def version(self):
        """The engine and its version, for metadata."""
        return self.name

    def close(self):
        """Free the engine's resources (the object cannot be used afterwards)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
