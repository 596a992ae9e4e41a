"""desktop.core.common.file_locks: an exclusive lock held across processes, dropped when its
holder ends however it ends; and the Windows branch, run here against a fake msvcrt."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop.core.common import file_locks

ROOT = Path(__file__).resolve().parents[3]

#: A process that takes the lock of argv[1], says "locked", then obeys its stdin: "unlock"
#: (and says "unlocked"), or end of input (exits, closing the file).
_HOLDER = """
import os, sys
from desktop.core.common import file_locks
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
file_locks.lock(fd)
print("locked", flush=True)
for line in sys.stdin:
    if line.strip() == "unlock":
        file_locks.unlock(fd)
        print("unlocked", flush=True)
"""

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and flock: POSIX")


class Holder:
    """Another process holding the lock of ``path``."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], cwd=ROOT, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._said() == "locked"

    def _said(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def unlock(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("unlock\n")
        self.process.stdin.flush()
        assert self._said() == "unlocked"

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def lock_file(tmp_path: Path) -> Iterator[int]:
    fd = os.open(tmp_path / "the.lock", os.O_RDWR | os.O_CREAT, 0o600)
    yield fd
    os.close(fd)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Holder]:
    held = Holder(tmp_path / "the.lock")
    yield held
    held.end()


def test_a_free_lock_is_taken_and_given_back(lock_file: int, tmp_path: Path) -> None:
    assert file_locks.lock(lock_file, blocking=False)
    other = os.open(tmp_path / "the.lock", os.O_RDWR)
    try:
        assert not file_locks.lock(other, blocking=False)  # another open file: another holder
        file_locks.unlock(lock_file)
        assert file_locks.lock(other, blocking=False)
    finally:
        os.close(other)
    assert file_locks.lock(lock_file, blocking=False)  # closing the holder's file gave it back


def test_another_process_holding_it_makes_a_non_blocking_lock_fail(holder: Holder, lock_file: int) -> None:
    assert file_locks.lock(lock_file, blocking=False) is False
    assert file_locks.lock(lock_file, blocking=False) is False
    holder.unlock()
    assert file_locks.lock(lock_file, blocking=False) is True


@posix_only
def test_a_holder_killed_with_sigkill_gives_it_back(holder: Holder, lock_file: int) -> None:
    assert not file_locks.lock(lock_file, blocking=False)
    os.kill(holder.process.pid, signal.SIGKILL)
    holder.process.wait(10)
    assert holder.process.returncode == -signal.SIGKILL
    assert file_locks.lock(lock_file, blocking=False)


def test_a_blocking_lock_waits_for_the_holder(holder: Holder, lock_file: int) -> None:
    taken = threading.Event()
    waiter = threading.Thread(target=lambda: (file_locks.lock(lock_file), taken.set()), daemon=True)
    waiter.start()
    assert not taken.wait(0.5)  # still held: the waiter waits
    holder.unlock()
    assert taken.wait(10)
    waiter.join(10)


# -- Windows, with a fake msvcrt -------------------------------------------------------------------
class FakeMsvcrt:
    """msvcrt.locking as the C runtime behaves: a byte range from the file's current position;
    LK_NBLCK on a range another handle holds fails with EACCES (PermissionError)."""

    LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4

    def __init__(self, busy_tries: int) -> None:
        self.busy_tries = busy_tries  # how many LK_NBLCK calls find it held by someone else
        self.calls: list[tuple[int, int, int, int]] = []  # (fd, mode, bytes, position)

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        self.calls.append((fd, mode, nbytes, os.lseek(fd, 0, os.SEEK_CUR)))
        if mode == self.LK_LOCK:
            raise AssertionError("LK_LOCK gives up after 10 s: never used")
        if mode == self.LK_NBLCK and self.busy_tries > 0:
            self.busy_tries -= 1
            raise PermissionError(errno.EACCES, "Permission denied")


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], FakeMsvcrt]:
    """sys.platform says win32 and fcntl cannot be imported; the test's call puts a fake msvcrt
    whose first ``busy_tries`` LK_NBLCK calls find the byte held."""
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "fcntl", None)  # importing it raises ImportError
    monkeypatch.setattr(file_locks, "RETRY_INTERVAL", 0.001)

    def install(busy_tries: int) -> FakeMsvcrt:
        fake = FakeMsvcrt(busy_tries)
        monkeypatch.setitem(sys.modules, "msvcrt", fake)
        return fake

    return install


def test_windows_locks_one_byte_past_the_data_without_waiting(windows: Callable[[int], FakeMsvcrt],
                                                              lock_file: int) -> None:
    """Not byte 0: a Windows lock is mandatory, and others must read the start of audit.log
    while a writer holds it."""
    os.write(lock_file, b"some bytes")  # the position is 10: the lock seeks to its byte and back
    fake = windows(0)
    assert file_locks.lock(lock_file) is True
    assert file_locks.LOCK_OFFSET == 0x40000000
    assert fake.calls == [(lock_file, FakeMsvcrt.LK_NBLCK, 1, file_locks.LOCK_OFFSET)]
    assert os.lseek(lock_file, 0, os.SEEK_CUR) == 10
    assert os.fstat(lock_file).st_size == 10  # seeking past the end does not grow the file
    file_locks.unlock(lock_file)
    assert fake.calls[1:] == [(lock_file, FakeMsvcrt.LK_UNLCK, 1, file_locks.LOCK_OFFSET)]
    assert os.lseek(lock_file, 0, os.SEEK_CUR) == 10


def test_windows_non_blocking_says_false_while_held(windows: Callable[[int], FakeMsvcrt], lock_file: int) -> None:
    fake = windows(1)
    assert file_locks.lock(lock_file, blocking=False) is False
    assert fake.calls == [(lock_file, FakeMsvcrt.LK_NBLCK, 1, file_locks.LOCK_OFFSET)]  # one try, no wait
    assert file_locks.lock(lock_file, blocking=False) is True


def test_windows_blocking_retries_until_free(windows: Callable[[int], FakeMsvcrt], lock_file: int) -> None:
    fake = windows(25)
    started = time.monotonic()
    assert file_locks.lock(lock_file) is True
    assert time.monotonic() - started < 5
    assert fake.calls == [(lock_file, FakeMsvcrt.LK_NBLCK, 1, file_locks.LOCK_OFFSET)] * 26
    assert fake.busy_tries == 0


def test_windows_other_errors_are_raised(windows: Callable[[int], FakeMsvcrt], lock_file: int) -> None:
    fake = windows(0)

    def bad_descriptor(fd: int, mode: int, nbytes: int) -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")

    fake.locking = bad_descriptor  # type: ignore[method-assign]
    with pytest.raises(OSError, match="Bad file descriptor"):
        file_locks.lock(lock_file)
