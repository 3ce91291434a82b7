"""Shared bits of the command-line tools: import path and one-line error reporting."""

import contextlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, ROOT)

from textseg.errors import TextsegError  # noqa: E402  (after the path is set; torch-free)


def fail(msg, code=2):
    """Print ``error: msg`` (one line) and exit."""
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(code)


#: builtin errors that are the user's to fix too (a missing or unwritable path)
BUILTIN_USER_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError,
                       NotADirectoryError, PermissionError)


def is_user_error(exc):
    """True for errors a user must fix (bad file, bad option), false for bugs: every
    :class:`textseg.errors.TextsegError` and the builtin path errors."""
    return isinstance(exc, (TextsegError, *BUILTIN_USER_ERRORS))


def message(exc):
    """The first line of an exception's message (its type name if it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def user_errors():
    """``with user_errors():`` the body's user errors (see :func:`is_user_error`) and Ctrl-C
    end the tool with one ``error:`` line (exit 2, 130); any other exception is a bug and
    keeps its traceback."""
    try:
        yield
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as e:  # noqa: BLE001 - user errors in one line
        if not is_user_error(e):
            raise
        fail(message(e))
