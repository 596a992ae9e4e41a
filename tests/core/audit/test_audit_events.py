"""Reading the audit log back for reports: real lines written by AuditLog, filtered by time
and action; damage is reported by line number, never by content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from desktop.core.audit import AuditLog
from desktop.core.audit import log as log_module
from desktop.core.audit.events import AuditEvent, describe, read_events
from desktop.core.common.errors import AuditError

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """Make AuditLog stamp lines at T0, T0+1h, T0+2h, ..."""
    times = iter(T0 + timedelta(hours=i) for i in range(1000))

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return next(times)

    monkeypatch.setattr(log_module, "datetime", FakeDatetime)


@pytest.fixture
def log_path(tmp_path, clock):
    log = AuditLog(tmp_path / "audit.log", b"k" * 32)
    actions = ["import", "view", "export", "consent.add", "export", "view"]
    for i, action in enumerate(actions):
        log.append(action, files=i, study=log.pseudonym(f"1.2.3.{i}"))
    return log.path


def test_reads_every_event_with_aware_times_and_details(log_path):
    events = read_events(log_path)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e.action for e in events] == ["import", "view", "export", "consent.add", "export", "view"]
    assert events[0].time == T0 and events[0].time.tzinfo is not None
    assert events[2].details["files"] == 2
    assert set(events[2].details) == {"files", "study"}  # no seq/time/user/action/prev
    assert events[0].user


def test_date_range_is_inclusive_start_exclusive_end(log_path):
    events = read_events(log_path, start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=4))
    assert [e.seq for e in events] == [2, 3, 4]
    assert [e.seq for e in read_events(log_path, start=T0 + timedelta(hours=5))] == [6]
    assert [e.seq for e in read_events(log_path, end=T0 + timedelta(hours=1))] == [1]
    assert read_events(log_path, start=T0 + timedelta(hours=3), end=T0 + timedelta(hours=3)) == []


def test_range_in_another_time_zone_compares_instants(log_path):
    berlin = timezone(timedelta(hours=1))
    start = (T0 + timedelta(hours=2)).astimezone(berlin)
    assert [e.seq for e in read_events(log_path, start=start)] == [3, 4, 5, 6]


def test_naive_bounds_are_refused(log_path):
    with pytest.raises(ValueError, match="timezone-aware"):
        read_events(log_path, start=datetime(2026, 11, 1))


def test_action_filter(log_path):
    assert [e.seq for e in read_events(log_path, actions={"export"})] == [3, 5]
    assert [e.seq for e in read_events(log_path, actions=["view", "import"])] == [1, 2, 6]
    assert read_events(log_path, actions=()) == []
    both = read_events(log_path, start=T0 + timedelta(hours=3), actions={"export"})
    assert [e.seq for e in both] == [5]


def test_damaged_line_names_its_number_not_its_content(log_path):
    lines = log_path.read_bytes().splitlines(keepends=True)
    lines[3] = b'{"seq": 4, "patient": "DOE^JANE 12345", oops\n'
    log_path.write_bytes(b"".join(lines))
    with pytest.raises(AuditError) as caught:
        read_events(log_path, actions={"import"})  # the damage is found outside the filter too
    assert "Line 4" in str(caught.value)
    assert "DOE" not in str(caught.value) and "12345" not in str(caught.value)


@pytest.mark.parametrize("bad", [
    b"\n",  # blank line
    b"[1, 2]\n",  # not an object
    b'{"seq": 3, "user": "u", "action": "a", "prev": "0"}\n',  # no time
    b'{"seq": "3", "time": "2026-11-01T09:00:00+00:00", "user": "u", "action": "a"}\n',
    b'{"seq": 3, "time": "2026-11-01T09:00:00", "user": "u", "action": "a"}\n',  # naive
    b'{"seq": 3, "time": "yesterday", "user": "u", "action": "a"}\n',
    b"\xff\xfe{}\n",  # not UTF-8
])
def test_malformed_records_are_damage(log_path, bad):
    lines = log_path.read_bytes().splitlines(keepends=True)
    lines[2] = bad
    log_path.write_bytes(b"".join(lines))
    with pytest.raises(AuditError, match="Line 3 "):
        read_events(log_path)


def test_torn_last_line_is_skipped(log_path):
    with log_path.open("ab") as fh:
        fh.write(b'{"seq":7,"time":"2026-11-')
    assert [e.seq for e in read_events(log_path)] == [1, 2, 3, 4, 5, 6]


def test_missing_or_empty_log_gives_nothing(tmp_path):
    assert read_events(tmp_path / "nowhere.log") == []
    (tmp_path / "empty.log").write_bytes(b"")
    assert read_events(tmp_path / "empty.log") == []


def test_describe_is_sorted_short_and_without_hashes():
    event = AuditEvent(3, T0, "alice", "export", {
        "profile": "teaching", "files": 12, "outcome": "done",
        "sha256": "ab" * 32, "manifest_hash": "x", "study": "0123456789abcdef" * 2,
        "studies": ["0123456789abcdef" * 2, "fedcba9876543210" * 2],
        "justification": "Patient transferred to another hospital; the receiving team needs the prior CT",
        "withdrawn": False, "purposes": ["teaching", "journal"], "note": "two\nlines",
    })
    text = describe(event)
    assert text.startswith("files=12, justification=Patient transferred to another hos")
    assert "outcome=done" in text and "profile=teaching" in text
    assert "sha256" not in text and "manifest_hash" not in text and "abab" not in text
    assert "study=" not in text and "0123456789" not in text
    assert "studies=2 hashed" in text
    assert "withdrawn=no" in text and "purposes=[teaching, journal]" in text
    assert "note=two lines" in text and "\n" not in text
    justification = text.split("justification=")[1].split(", ")[0]
    assert len(justification) == 40 and justification.endswith("\u2026")
    keys = [part.split("=")[0] for part in text.split(", ") if "=" in part]
    assert keys == sorted(keys)


def test_describe_real_event(log_path):
    event = read_events(log_path)[0]
    assert describe(event) == "files=0"  # the pseudonymised study is a hash: left out
    assert describe(AuditEvent(1, T0, "u", "x", {})) == ""
