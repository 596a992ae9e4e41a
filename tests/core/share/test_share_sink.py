"""The package file's sink: the same bytes with O_DIRECT, through the page cache, or falling
back from one to the other; errors surface; nothing is left on failure."""

from __future__ import annotations

import errno
import os
import random

import pytest

from desktop.core.share import file_sink
from desktop.core.share.errors import ExportError
from desktop.core.share.file_sink import MAX_RESERVE, PartialFile


def _fill(target: PartialFile, seed: int = 1) -> bytes:
    """Writes and reservations of awkward sizes, across the 4 MiB blocks."""
    rng = random.Random(seed)
    expected = bytearray()
    while len(expected) < (9 << 20) + 12345:
        size = rng.choice([1, 7, 4095, 4096, 65552, MAX_RESERVE, 200_001])
        data = rng.randbytes(size)
        if size <= MAX_RESERVE and rng.random() < 0.5:
            target.sink.reserve(size)[:] = data
            target.sink.commit(size)
        else:
            target.sink.write(data)
        expected += data
    return bytes(expected)


@pytest.mark.parametrize("direct", [True, False])
def test_the_file_holds_exactly_what_was_written(tmp_path, monkeypatch, direct):
    if not direct:
        monkeypatch.setattr(file_sink, "_O_DIRECT", 0)
    out = tmp_path / "a.veil"
    with PartialFile(out) as target:
        assert target.sink._direct is (direct and bool(getattr(os, "O_DIRECT", 0)))
        expected = _fill(target)
    assert out.read_bytes() == expected
    assert not file_sink.partial_path(out).exists()


def test_a_file_system_refusing_o_direct_is_written_through_the_page_cache(tmp_path,
                                                                           monkeypatch):
    if not getattr(os, "O_DIRECT", 0):
        pytest.skip("no O_DIRECT here")
    real_open = os.open

    def open_(path, flags, mode=0o777):
        if flags & os.O_DIRECT:  # as some file systems answer
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", open_)
    out = tmp_path / "a.veil"
    with PartialFile(out) as target:
        assert target.sink._direct is False
        expected = _fill(target, seed=2)
    assert out.read_bytes() == expected


def test_a_refused_direct_write_falls_back_to_the_page_cache(tmp_path, monkeypatch):
    real_write, refused = os.write, []

    def write(fd: int, data) -> int:
        if not refused:
            refused.append(True)
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    out = tmp_path / "a.veil"
    with PartialFile(out) as target:
        expected = _fill(target, seed=3)
    assert refused and out.read_bytes() == expected


def test_a_write_error_fails_the_export_and_removes_the_partial(tmp_path, monkeypatch):
    def full(fd: int, data) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    out = tmp_path / "a.veil"
    with pytest.raises(ExportError, match="No space left on device"):
        with PartialFile(out) as target:
            _fill(target)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_of_the_caller_removes_the_partial(tmp_path):
    out = tmp_path / "a.veil"
    with pytest.raises(RuntimeError):
        with PartialFile(out) as target:
            _fill(target)
            raise RuntimeError("cancelled")
    assert list(tmp_path.iterdir()) == []
