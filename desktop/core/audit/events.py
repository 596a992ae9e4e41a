"""Reading ``audit.log`` back as events, for reports (the audit report, the accounting of
disclosures). Checking the hash chain is :func:`desktop.core.audit.log.verify_log`'s job;
this module only parses, filters and summarises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from desktop.core.common.errors import AuditError

_CORE = ("seq", "time", "user", "action", "prev")
_HEX_HASH = re.compile(r"[0-9a-f]{32,}")
_HASH_KEY = re.compile(r"(^|_)(hash|sha\d*|digest|hmac|pseudonym)(_|$)|^prev$", re.IGNORECASE)
VALUE_LIMIT = 40


@dataclass(frozen=True)
class AuditEvent:
    """One line of the audit log: who did what when, and the free ``details``."""

    seq: int
    time: datetime  # timezone-aware (the log writes UTC)
    user: str
    action: str
    details: dict[str, object] = field(default_factory=dict)


def read_events(path: Path, start: datetime | None = None, end: datetime | None = None,
                actions: Collection[str] | None = None) -> list[AuditEvent]:
    """The events with ``start <= time < end`` and an action in ``actions`` (None: any).

    Reads the file a line at a time. Every line is parsed, also those outside the range: a
    damaged line raises :class:`AuditError` naming its number (never its content). A last
    line without its newline that is not a record is a write cut short by a crash, never a
    record (the next append drops it), and is skipped. A missing or empty file gives [].
    """
    for name, bound in (("start", start), ("end", end)):
        if bound is not None and bound.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    wanted = None if actions is None else frozenset(actions)
    return [event for event in _iter_events(Path(path))
            if (start is None or event.time >= start)
            and (end is None or event.time < end)
            and (wanted is None or event.action in wanted)]


def _iter_events(path: Path) -> Iterator[AuditEvent]:
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise AuditError(f"The audit log cannot be read: {exc.strerror}") from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            complete = raw.endswith(b"\n")
            event = _parse(raw.rstrip(b"\r\n"))
            if event is None:
                if not complete:
                    return  # a torn tail
                raise AuditError(f"Line {number} of the audit log is damaged; "
                                 "run 'veil audit verify' to see what changed.")
            yield event


def _parse(line: bytes) -> AuditEvent | None:
    """The event on one line, or None when the line is not a well-formed record."""
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict):
        return None
    seq, time, user, action = (record.get(k) for k in ("seq", "time", "user", "action"))
    if not (isinstance(seq, int) and not isinstance(seq, bool) and isinstance(time, str)
            and isinstance(user, str) and isinstance(action, str)):
        return None
    try:
        when = datetime.fromisoformat(time)
    except ValueError:
        return None
    if when.utcoffset() is None:
        return None
    details = {k: v for k, v in record.items() if k not in _CORE}
    return AuditEvent(seq, when, user, action, details)


def _is_hash(value: object) -> bool:
    return isinstance(value, str) and _HEX_HASH.fullmatch(value) is not None


def _shorten(text: str, limit: int = VALUE_LIMIT) -> str:
    text = " ".join(text.split())  # one line
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _show(value: object) -> str | None:
    """``value`` as a short text; None when it is a hash (or only hashes)."""
    if _is_hash(value):
        return None
    if isinstance(value, (list, tuple)):
        if value and all(_is_hash(v) for v in value):
            return f"{len(value)} hashed"
        text = ", ".join(str(v) for v in value if not _is_hash(v))
        return f"[{text}]"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, dict):
        value = json.dumps({k: v for k, v in value.items() if not _is_hash(v)},
                           ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(value)


def describe(event: AuditEvent) -> str:
    """A one-line summary of the details: ``key=value`` pairs sorted by key, values cut to 40
    characters, without hashes (keys named like ``sha256``/``*_hash``, hex digests, ``prev``).

    >>> describe(AuditEvent(1, datetime.now().astimezone(), "u", "export",
    ...                     {"profile": "teaching", "files": 12, "sha256": "ab" * 32}))
    'files=12, profile=teaching'
    """
    parts = []
    for key in sorted(event.details):
        if _HASH_KEY.search(key):
            continue
        shown = _show(event.details[key])
        if shown is not None:
            parts.append(f"{_shorten(str(key), VALUE_LIMIT)}={_shorten(shown)}")
    return ", ".join(parts)
