"""``audit.log``: one JSON object a line, chained by SHA-256, so edits and removals show.

Each line carries ``prev``: the SHA-256 (hex) of the previous line's bytes (without its
newline); the first line's ``prev`` is 64 zeros. Lines hold no patient identifier: UIDs are
written as keyed hashes (HMAC-SHA256 with a library subkey), so the log can be shown to an
auditor without disclosing whom it is about.

A chain alone can be recomputed by whoever edits the file, and lines cut from its end leave
no trace. So the caller keeps the hash of every line it wrote somewhere the editor cannot
reach (Veil: the encrypted index), chains each new line onto the last one it wrote (not onto
what the file now says) and passes all of them to :func:`verify_log`.

Veil keeps the whole line in the index too: it composes the line
(:meth:`AuditLog.compose`), commits it there, and only then appends it to the file
(:func:`desktop.core.audit.mirror.catch_up`). A crash or a full disk between the two leaves
the file *behind* the index, which :func:`verify_log` tells from tampering when it is given
the lines' texts, and which the next catch-up repairs. :meth:`AuditLog.append` (file first)
stays for callers without an index.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from desktop.core.common import file_locks
from desktop.core.common.errors import AuditError
from desktop.core.common.portable import BINARY, account_id, read_at

GENESIS = "0" * 64


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def os_user() -> str:
    try:
        return getpass.getuser()
    except (ImportError, KeyError, OSError):  # no pwd module; a uid not in passwd (OSError from 3.13)
        return account_id()


class AuditLog:
    """Appends to one audit file; safe across threads and processes (an exclusive file lock)."""

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
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | BINARY, 0o600)
        try:
            file_locks.lock(fd)
            seq, prev, torn = _tail(fd)
            if after is not None:
                seq, prev = after
            if torn is not None:
                # A writer died mid-line: those bytes were never a record. Drop them, and
                # say so in the chain (with their hash), rather than leave the log unreadable.
                size = os.fstat(fd).st_size
                dropped = read_at(fd, size - torn, torn)
                os.ftruncate(fd, torn)
                seq, prev = self._write(fd, seq, prev, "audit.torn_line_dropped",
                                        {"bytes": len(dropped), "sha256": line_hash(dropped)})
            return self._write(fd, seq, prev, action, details)
        except OSError as exc:
            raise AuditError(f"The audit log cannot be written: {exc.strerror}") from None
        finally:
            os.close(fd)

    def compose(self, action: str, after: tuple[int, str], **details: object) -> tuple[int, bytes]:
        """(sequence number, text without its newline) of the line that follows ``after`` (the
        sequence number and hash of the last line recorded); writes nothing."""
        count, prev = after
        return count + 1, encode_line(count, prev, action, details)

    def _write(self, fd: int, count: int, prev: str, action: str, details: dict[str, object]) -> tuple[int, str]:
        line = encode_line(count, prev, action, details)
        os.write(fd, line + b"\n")
        os.fsync(fd)
        return count + 1, line_hash(line)


def encode_line(count: int, prev: str, action: str, details: dict[str, object]) -> bytes:
    """Line ``count + 1``: canonical JSON (sorted keys, no spaces, ASCII) carrying ``prev``."""
    record = {
        "seq": count + 1,
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "user": os_user(),
        "action": action,
        **details,
        "prev": prev,
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _tail(fd: int) -> tuple[int, str, int | None]:
    """(sequence number and hash of the last complete line, offset of a torn tail or None).

    Reads only the end of the file, growing the window until it holds one whole line.
    """
    size = os.fstat(fd).st_size
    block = min(size, 1 << 16)
    while size:
        data = read_at(fd, block, size - block)
        end = data.rfind(b"\n")
        start = data.rfind(b"\n", 0, end) + 1 if end > 0 else 0
        if (end == -1 or start == 0) and block < size:
            block = min(size, block * 2)
            continue
        if not data.endswith(b"\n"):
            tail = data[end + 1 :]
            if is_record(tail):  # a whole record whose newline is missing
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


def is_record(line: bytes) -> bool:
    """Whether ``line`` is a whole audit record (a JSON object with ``seq`` and ``prev``)."""
    try:
        record = json.loads(line)
        return isinstance(record, dict) and "seq" in record and "prev" in record
    except ValueError:
        return False


@dataclass(frozen=True)
class Verification:
    """The outcome of a check of the audit trail.

    ``pending``: lines the index holds that the file does not yet (a crash or a full disk
    stopped their append; Veil writes them at the next event or open): not tampering.
    ``rollback_checked``: the head was compared with the copy kept outside the home (the OS
    keyring); ``rolled_back``: the home is behind that copy.
    """

    ok: bool
    lines: int
    message: str
    first_bad_line: int | None = None
    pending: int = 0
    rollback_checked: bool = False
    rolled_back: bool = False


def verify_log(path: Path, anchors: dict[int, str] | None = None,
               texts: dict[int, bytes] | None = None) -> Verification:
    """Check the chain and the anchors; name the first line that was altered, removed or added.

    ``anchors`` maps each sequence number the library wrote to that line's hash. ``texts`` maps
    sequence numbers to the lines' texts, as the index keeps them (migration 0009): index lines
    missing from the end of the file, each with its text, and at most the start of the first
    of them after the file's last newline, are a file that fell behind, not lines removed.
    """
    anchors = anchors or {}
    texts = texts or {}
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        data = None
    if data is None and not texts:
        if anchors:
            return Verification(False, 0, f"audit.log is missing; the library wrote {len(anchors)} lines to it", 1)
        return Verification(True, 0, "audit.log is empty: nothing recorded yet")
    data = data or b""
    cut = data.rfind(b"\n") + 1
    lines = data[:cut].split(b"\n")[:-1] if cut else []
    torn = data[cut:]
    pending = _pending(len(lines), torn, anchors, texts)
    if torn and not pending:
        lines.append(torn)  # judged as a line (a whole record missing only its newline is one)
    problems = _chain_problems(lines) + _anchor_problems(lines, anchors, pending)
    if problems:
        first, message = min(problems)
        return Verification(False, len(lines), message, first)
    if not anchors and not lines:
        return Verification(True, 0, "audit.log is empty: nothing recorded yet")
    anchored = f", all {len(lines)} anchored in the library" if anchors else ""
    message = f"OK: {len(lines)} lines, hash chain intact{anchored}"
    if pending:
        message += (f"; the last {pending} event(s) are in the library but not yet in audit.log (a crash "
                    "or a full disk stopped their writing): Veil writes them at the next event or start")
    return Verification(True, len(lines), message, pending=pending)


def _pending(count: int, torn: bytes, anchors: dict[int, str], texts: dict[int, bytes]) -> int:
    """How many index lines after the file's ``count`` complete lines the file merely lacks."""
    last = max(anchors, default=0)
    if last <= count:
        return 0
    wanted = range(count + 1, last + 1)
    if any(s not in texts or line_hash(texts[s]) != anchors[s] for s in wanted):
        return 0
    return len(wanted) if (texts[count + 1] + b"\n").startswith(torn) else 0


def _chain_problems(lines: list[bytes]) -> list[tuple[int, str]]:
    prev = GENESIS
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
            seq, recorded_prev = record["seq"], record["prev"]
        except (ValueError, KeyError, TypeError):
            return [(number, f"line {number} is not a valid audit record (altered)")]
        if recorded_prev != prev or seq != number:
            if isinstance(seq, int) and seq > number:
                return [(number, f"{seq - number} line(s) before line {number} were removed")]
            culprit = max(1, number - 1)
            return [(culprit, f"line {culprit} was altered, or a line after it was removed "
                              f"(line {number} does not chain onto it)")]
        prev = line_hash(line)
    return []


def _anchor_problems(lines: list[bytes], anchors: dict[int, str], pending: int) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    for seq in sorted(anchors):
        if seq > len(lines):
            if not pending:
                problems.append((seq, f"line {seq} and after were removed (the library wrote {max(anchors)} lines)"))
            break
        if line_hash(lines[seq - 1]) != anchors[seq]:
            problems.append((seq, f"line {seq} was altered (it is not the line Veil wrote)"))
            break
    if anchors and len(lines) > max(anchors):
        extra = max(anchors) + 1
        problems.append((extra, f"line {extra} was not written by this library (added outside Veil, "
                                "or written by an older Veil just before a crash)"))
    return problems
