import os
import stat

import pytest

from textseg.fileio import OutputDirError, atomic_open, atomic_write, ensure_writable_dir


def _leftovers(folder):
    return [n for n in os.listdir(folder) if n.endswith(".tmp")]


def test_atomic_write_bytes_and_text(tmp_path):
    p = tmp_path / "a.bin"
    atomic_write(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    atomic_write(p, "héllo\n")  # replaces, UTF-8, no newline translation
    assert p.read_bytes() == "héllo\n".encode("utf-8")
    assert _leftovers(tmp_path) == []


def test_atomic_write_refuses_existing_without_overwrite(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    with pytest.raises(FileExistsError):
        atomic_write(p, "new", overwrite=False)
    assert p.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_failure_leaves_previous_file_and_no_temp(tmp_path):
    p = tmp_path / "model.pt"
    p.write_bytes(b"previous")
    with pytest.raises(RuntimeError):
        with atomic_open(p, "wb") as f:
            f.write(b"half of the new")
            raise RuntimeError("disk on fire")
    assert p.read_bytes() == b"previous"
    assert _leftovers(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["model.pt"]


def test_failure_on_new_file_leaves_nothing(tmp_path):
    with pytest.raises(ValueError):
        with atomic_open(tmp_path / "new.txt", "w") as f:
            f.write("x")
            raise ValueError
    assert os.listdir(tmp_path) == []


def test_atomic_open_text_and_permissions(tmp_path):
    p = tmp_path / "out.json"
    with atomic_open(p, "w") as f:
        f.write("{}\n")
    assert p.read_text() == "{}\n"
    mode = stat.S_IMODE(os.stat(p).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # not the 0600 of temporary files


def test_atomic_open_bad_mode(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(tmp_path / "x", "a"):
            pass


def test_ensure_writable_dir(tmp_path):
    d = tmp_path / "new" / "deeper"
    assert ensure_writable_dir(d) == str(d)
    assert d.is_dir()
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OutputDirError, match="not a directory") as e:
        ensure_writable_dir(f)
    assert str(f) in str(e.value)
    with pytest.raises(OutputDirError, match="does not exist"):
        ensure_writable_dir(tmp_path / "missing", create=False)
    with pytest.raises(OutputDirError, match="free"):
        ensure_writable_dir(tmp_path, min_free_bytes=1 << 62)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_ensure_writable_dir_read_only(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    try:
        with pytest.raises(OutputDirError, match="not writable"):
            ensure_writable_dir(d)
    finally:
        d.chmod(0o700)
