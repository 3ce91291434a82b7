"""Shared bits of the command-line tools: import path and one-line error reporting."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, ROOT)


def fail(msg, code=2):
    """Print ``error: msg`` (one line) and exit."""
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(code)


#: exception classes (by name, so checking needs no import of torch) that are the user's
#: to fix: reported in one line, no traceback
USER_ERROR_NAMES = {
    "ConfigError", "CheckpointError", "ModelError", "DataError", "GTFormatError",
    "EvaluationError", "ImageLoadError", "TrainingError", "OutputDirError", "OutputExistsError",
    "ExportError", "PretrainedError",
}
BUILTIN_USER_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError,
                       NotADirectoryError, PermissionError)


def is_user_error(exc):
    """True for errors a user must fix (bad file, bad option), false for bugs."""
    if isinstance(exc, BUILTIN_USER_ERRORS):
        return True
    return any(cls.__name__ in USER_ERROR_NAMES and cls.__module__.startswith("textseg")
               for cls in type(exc).__mro__)


def message(exc):
    """The first line of an exception's message (its type name if it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
