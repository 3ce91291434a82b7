"""Safe file writing: atomic replacement and output-folder checks.

Every file textseg writes (results, overlays, checkpoints) goes through :func:`atomic_open`:
the data lands in a temporary file next to the target and is moved over it with
:func:`os.replace` only once it is complete, so a crash, a full disk or an exception in the
middle of writing never leaves a half-written file, and a previous file stays untouched.

    with atomic_open("model.pt", "wb") as f:
        torch.save(state, f)

This module is torch-free.
"""

import contextlib
import os
import secrets
import shutil
import tempfile

from .errors import TextsegError

__all__ = ["atomic_open", "atomic_write", "ensure_writable_dir", "OutputDirError"]


_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


class OutputDirError(TextsegError, OSError):
    """An output folder that cannot be used (one-line message naming it)."""


@contextlib.contextmanager
def atomic_open(path, mode="wb", encoding=None, newline=None):
    """Open a temporary file next to ``path``; on clean exit it replaces ``path``.

    ``mode`` is a write mode: ``"w"``/``"wb"`` (``"x"``/``"xb"`` additionally refuse an
    existing target, checked when the file is put in place). Text mode defaults to UTF-8.
    On an exception inside the ``with`` block the temporary file is deleted and ``path``
    (if it existed) is left as it was. The new file gets the usual permissions (umask), not
    the 0600 that temporary files get.
    """
    if mode not in ("w", "wb", "x", "xb", "wt", "xt"):
        raise ValueError(f"atomic_open: mode must be 'w', 'wb', 'x' or 'xb', got {mode!r}")
    path = os.fspath(path)
    exclusive = mode.startswith("x")
    binary = "b" in mode
    folder = os.path.dirname(os.path.abspath(path))
    if exclusive and os.path.lexists(path):
        raise FileExistsError(17, "file exists", path)
    prefix = os.path.join(folder, "." + os.path.basename(path)[:100] + ".")
    tmp = None
    try:
        # the name is known before the file exists, so an interrupt (Ctrl-C, SIGTERM) at
        # any point after this still finds it to delete (tempfile.mkstemp returns it only
        # once the file is made, and a signal landing in between would leave it behind)
        while True:
            tmp = prefix + secrets.token_hex(6) + ".tmp"
            try:
                fd = os.open(tmp, _CREATE_NEW, 0o600)
                break
            except FileExistsError:  # another writer's name: never ours to delete
                tmp = None
        if binary:
            f = os.fdopen(fd, "wb")
        else:
            f = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline=newline)
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _chmod_default(tmp)
        if exclusive:
            # link() fails if the target exists: no window where another writer is clobbered
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(17, "file exists", path) from None
            except OSError:  # file systems without hard links
                if os.path.lexists(path):
                    raise FileExistsError(17, "file exists", path) from None
                os.replace(tmp, path)
            else:
                os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


def _chmod_default(path):
    umask = os.umask(0)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o666 & ~umask)


def atomic_write(path, data, overwrite=True):
    """Write ``data`` (bytes, or str written as UTF-8) to ``path`` atomically.

    With ``overwrite=False`` an existing ``path`` raises :class:`FileExistsError`.
    """
    binary = isinstance(data, (bytes, bytearray, memoryview))
    if not binary and not isinstance(data, str):
        raise TypeError(f"atomic_write: data must be bytes or str, got {type(data).__name__}")
    mode = ("w" if overwrite else "x") + ("b" if binary else "")
    with atomic_open(path, mode, newline="" if not binary else None) as f:
        f.write(data)


def ensure_writable_dir(path, create=True, min_free_bytes=0):
    """Make sure ``path`` is a folder we can write into; return its absolute path.

    Creates it (with parents) when ``create`` is true. Raises :class:`OutputDirError` with a
    one-line message naming the folder when it is a file, cannot be created, is not
    writable, or has less than ``min_free_bytes`` free.
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputDirError(f"{path}: not a directory")
    if not os.path.exists(path):
        if not create:
            raise OutputDirError(f"{path}: directory does not exist")
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as e:
            raise OutputDirError(f"{path}: cannot create directory ({e.strerror or e})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputDirError(f"{path}: directory is not writable")
    # os.access can lie (root, ACLs, read-only mounts): try to create a file
    try:
        fd, probe = tempfile.mkstemp(prefix=".textseg-probe.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputDirError(f"{path}: directory is not writable ({e.strerror or e})") from None
    if min_free_bytes:
        free = shutil.disk_usage(path).free
        if free < min_free_bytes:
            raise OutputDirError(f"{path}: only {free / 1e6:.1f} MB free, "
                                 f"need at least {min_free_bytes / 1e6:.1f} MB")
    return path
