"""``audit.log``: one JSON object a line, chained by SHA-256, so edits and removals show.

Each line carries ``prev``: the SHA-256 (hex) of the previous line's bytes (without its
newline); the first line's ``prev`` is 64 zeros. Lines hold no patient identifier: UIDs are
written as keyed hashes (HMAC-SHA256 with a library subkey), so the log can be shown to an
auditor without disclosing whom it is about.

Removing lines from the end cannot be seen from the chain alone, so the caller keeps the
count and hash of the last line elsewhere (the encrypted index) and passes them to
:func:`verify_log`.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from desktop.core.errors import AuditError

GENESIS = "0" * 64


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return f"uid:{os.getuid()}"


class AuditLog:
    """Appends to one audit file; safe across threads and processes (an exclusive flock)."""

    def __init__(self, path: Path, identifier_key: bytes) -> None:
        self.path = Path(path)
        self._key = identifier_key

    def pseudonym(self, identifier: str) -> str:
        """A stable keyed hash of an identifier (a UID), safe to write in the log."""
        return hmac.new(self._key, identifier.encode(), hashlib.sha256).hexdigest()[:32]

    def append(self, action: str, **details: object) -> tuple[int, str]:
        """Write one event; returns (line count, hash of the new line)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            count, prev, torn = _tail(fd)
            if torn:
                # An earlier writer died mid-line. That line was never complete; drop it
                # and say so in the chain, rather than leave the log unverifiable.
                os.ftruncate(fd, torn)
                count, prev = self._write(fd, count, prev, "audit.torn_line_dropped", {})
            count, digest = self._write(fd, count, prev, action, details)
            return count, digest
        except OSError as exc:
            raise AuditError(f"The audit log cannot be written: {exc.strerror}") from None
        finally:
            os.close(fd)

    def _write(self, fd: int, count: int, prev: str, action: str, details: dict) -> tuple[int, str]:
        record = {
            "seq": count + 1,
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "user": os_user(),
            "action": action,
            **details,
            "prev": prev,
        }
        line = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
        os.write(fd, line + b"\n")
        os.fsync(fd)
        return count + 1, line_hash(line)


def _tail(fd: int) -> tuple[int, str, int | None]:
    """(sequence number and hash of the last complete line, offset of a torn tail or None).

    Reads only the end of the file, growing the window until it holds one whole line.
    """
    size = os.fstat(fd).st_size
    block = min(size, 1 << 16)
    while size:
        data = os.pread(fd, block, size - block)
        end = data.rfind(b"\n")
        start = data.rfind(b"\n", 0, end) + 1 if end > 0 else 0
        if (end == -1 or start == 0) and block < size:
            block = min(size, block * 2)
            continue
        torn = None if data.endswith(b"\n") else size - (len(data) - end - 1)
        if end == -1:
            return 0, GENESIS, 0
        last = data[start:end]
        try:
            seq = int(json.loads(last)["seq"])
        except (ValueError, KeyError, TypeError):
            raise AuditError("The last line of the audit log is damaged; run 'veil audit verify'.") from None
        return seq, line_hash(last), torn
    return 0, GENESIS, None


@dataclass(frozen=True)
class Verification:
    ok: bool
    lines: int
    message: str
    first_bad_line: int | None = None


def verify_log(path: Path, expected_head: tuple[int, str] | None = None) -> Verification:
    """Check the chain; name the first line that was altered or removed.

    ``expected_head`` is (line count, hash of last line) as recorded at the last append; a log
    with fewer lines, or a different line at that position, was cut or altered at its end.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        if expected_head and expected_head[0] > 0:
            return Verification(False, 0, "audit.log is missing, but the library recorded entries in it", 1)
        return Verification(True, 0, "audit.log is empty: nothing recorded yet")
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    prev = GENESIS
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
            seq, recorded_prev = record["seq"], record["prev"]
        except (ValueError, KeyError, TypeError):
            return Verification(False, number - 1, f"line {number} is not a valid audit record (altered)", number)
        if recorded_prev != prev:
            return Verification(
                False, number - 1,
                f"line {number - 1 if number > 1 else 1} was altered, or a line before line {number} was removed "
                f"(line {number} does not carry the hash of the line before it)",
                max(1, number - 1),
            )
        if seq != number:
            return Verification(False, number - 1, f"line {number} was altered or lines were removed (sequence number {seq})", number)
        prev = line_hash(line)
    if expected_head:
        count, last = expected_head
        if len(lines) < count:
            return Verification(
                False, len(lines),
                f"the last {count - len(lines)} line(s) were removed (the library recorded {count} lines)",
                len(lines) + 1,
            )
        if count and line_hash(lines[count - 1]) != last:
            return Verification(False, count - 1, f"line {count} was altered", count)
    return Verification(True, len(lines), f"OK: {len(lines)} lines, hash chain intact")
