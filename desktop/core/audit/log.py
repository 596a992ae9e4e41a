"""``audit.log``: one JSON object a line, chained by SHA-256, so edits and removals show.

Each line carries ``prev``: the SHA-256 (hex) of the previous line's bytes (without its
newline); the first line's ``prev`` is 64 zeros. Lines hold no patient identifier: UIDs are
written as keyed hashes (HMAC-SHA256 with a library subkey), so the log can be shown to an
auditor without disclosing whom it is about.

A chain alone can be recomputed by whoever edits the file, and lines cut from its end leave
no trace. So the caller keeps the hash of every line it wrote somewhere the editor cannot
reach (Veil: the encrypted index), passes the last one to :meth:`AuditLog.append` (the new
line chains onto what Veil wrote, not onto what the file now says) and all of them to
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

    def append(self, action: str, after: tuple[int, str] | None = None, **details: object) -> tuple[int, str]:
        """Write one event; returns (its sequence number, its hash).

        ``after`` is (sequence number, hash) of the last line the caller recorded; the new line
        chains onto it even if the file was altered since (the break then shows in
        :func:`verify_log`). Without it, the file's own last line is used.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            seq, prev, torn = _tail(fd)
            if after is not None:
                seq, prev = after
            if torn is not None:
                # A writer died mid-line: those bytes were never a record. Drop them, and
                # say so in the chain (with their hash), rather than leave the log unreadable.
                size = os.fstat(fd).st_size
                dropped = os.pread(fd, size - torn, torn)
                os.ftruncate(fd, torn)
                seq, prev = self._write(fd, seq, prev, "audit.torn_line_dropped",
                                        {"bytes": len(dropped), "sha256": line_hash(dropped)})
            return self._write(fd, seq, prev, action, details)
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
        if not data.endswith(b"\n"):
            tail = data[end + 1 :]
            if _is_record(tail):  # a whole record whose newline is missing
                os.write(fd, b"\n")
                return _tail(fd)
            torn = size - len(tail)
        else:
            torn = None
        if end == -1:
            return 0, GENESIS, 0
        last = data[start:end]
        try:
            seq = int(json.loads(last)["seq"])
        except (ValueError, KeyError, TypeError):
            raise AuditError("The last line of the audit log is damaged; run 'veil audit verify'.") from None
        return seq, line_hash(last), torn
    return 0, GENESIS, None


def _is_record(line: bytes) -> bool:
    try:
        record = json.loads(line)
        return isinstance(record, dict) and "seq" in record and "prev" in record
    except ValueError:
        return False


@dataclass(frozen=True)
class Verification:
    ok: bool
    lines: int
    message: str
    first_bad_line: int | None = None


def verify_log(path: Path, anchors: dict[int, str] | None = None) -> Verification:
    """Check the chain and the anchors; name the first line that was altered, removed or added.

    ``anchors`` maps each sequence number the library wrote to that line's hash.
    """
    anchors = anchors or {}
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        if anchors:
            return Verification(False, 0, f"audit.log is missing; the library wrote {len(anchors)} lines to it", 1)
        return Verification(True, 0, "audit.log is empty: nothing recorded yet")
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    problems: list[tuple[int, str]] = []
    prev = GENESIS
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
            seq, recorded_prev = record["seq"], record["prev"]
        except (ValueError, KeyError, TypeError):
            problems.append((number, f"line {number} is not a valid audit record (altered)"))
            break
        if recorded_prev != prev or seq != number:
            if isinstance(seq, int) and seq > number:
                problems.append((number, f"{seq - number} line(s) before line {number} were removed"))
            else:
                culprit = max(1, number - 1)
                problems.append((culprit, f"line {culprit} was altered, or a line after it was removed "
                                          f"(line {number} does not chain onto it)"))
            break
        prev = line_hash(line)
    for seq in sorted(anchors):
        if seq > len(lines):
            problems.append((seq, f"line {seq} and after were removed (the library wrote {max(anchors)} lines)"))
            break
        if line_hash(lines[seq - 1]) != anchors[seq]:
            problems.append((seq, f"line {seq} was altered (it is not the line Veil wrote)"))
            break
    if anchors and len(lines) > max(anchors):
        extra = max(anchors) + 1
        problems.append((extra, f"line {extra} was not written by this library (added outside Veil, "
                                "or written just before a crash)"))
    if problems:
        first, message = min(problems)
        return Verification(False, len(lines), message, first)
    anchored = f", all {len(anchors)} anchored in the library" if anchors else ""
    return Verification(True, len(lines), f"OK: {len(lines)} lines, hash chain intact{anchored}")
