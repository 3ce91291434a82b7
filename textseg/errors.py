"""The errors a user must fix: a bad option, config, file, folder or model.

Every one inherits :class:`TextsegError`, so a caller (the tools, an OCR system) tells a
user's mistake from a bug with one ``except TextsegError``; the message is one line that
names the file, key or option at fault. Each class also keeps the builtin base it had
before this module existed (``ConfigError`` is a ``ValueError``, ...), so code that
catches those still works. Torch-free, imports nothing.

The classes live here, in the lowest layer, and are re-exported by the modules that raise
them (``textseg.config.ConfigError`` is :class:`ConfigError`).
"""

import os

__all__ = ["CheckpointError", "ConfigError", "DataError", "EvaluationError", "ExportError",
           "GTFormatError", "ImageLoadError", "ModelError", "TextsegError", "TrainingError"]


class TextsegError(Exception):
    """Base of every error that is the user's to fix (reported in one line, no traceback)."""


class ConfigError(TextsegError, ValueError):
    """A bad config key or value; ``key`` is its dotted path (or None)."""

    def __init__(self, msg, key=None):
        super().__init__(msg)
        self.key = key


class CheckpointError(TextsegError):
    """A file that is not a usable textseg checkpoint (one-line message)."""


class ModelError(TextsegError):
    """A model file that cannot be used (one-line message naming the file)."""


class DataError(TextsegError):
    """A training data problem the user must fix (one line, names the folder)."""


class GTFormatError(TextsegError, ValueError):
    """A malformed ground-truth or result file; ``str()`` is one line ``path:line: reason``."""

    def __init__(self, path, line, msg):
        self.path, self.line, self.reason = os.fspath(path), int(line), str(msg)
        super().__init__(f"{self.path}:{self.line}: {self.reason}")


class ImageLoadError(TextsegError):
    """An input that cannot be read. ``str(e)`` is one line: ``path: reason``."""

    def __init__(self, path, reason):
        self.path = os.fspath(path)
        self.reason = " ".join(str(reason).split())  # one line whatever the cause says
        super().__init__(f"{self.path}: {self.reason}")


class EvaluationError(TextsegError, ValueError):
    """Input the protocol cannot score (one-line message naming the image)."""

    def __init__(self, msg, key=None):
        super().__init__(msg)
        self.key = key


class TrainingError(TextsegError):
    """A problem that stops training, with a message that says what to change."""


class ExportError(TextsegError):
    """The export failed or its graph disagrees with PyTorch (one-line message)."""
