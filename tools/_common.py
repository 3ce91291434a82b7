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


def user_errors():
    """Exception types that are the user's to fix: reported in one line, no traceback."""
    errors = [FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
              PermissionError]
    for mod, names in (
        ("textseg.config", ("ConfigError",)),
        ("textseg.checkpoint", ("CheckpointError",)),
        ("textseg.detector", ("ModelError",)),
        ("textseg.data.dataset", ("DataError",)),
        ("textseg.data.icdar", ("GTFormatError",)),
        ("textseg.evaluation", ("EvaluationError",)),
        ("textseg.data.images", ("ImageLoadError",)),
        ("textseg.training", ("TrainingError",)),
        ("textseg.fileio", ("OutputDirError",)),
        ("textseg.export", ("ExportError",)),
    ):
        try:
            m = __import__(mod, fromlist=list(names))
        except ImportError:  # torch-free environments lack the training modules
            continue
        errors += [getattr(m, n) for n in names if hasattr(m, n)]
    return tuple(errors)
