from __future__ import annotations

import json

from desktop.core.audit import AuditLog, verify_log
from desktop.core.audit.log import GENESIS, line_hash


def _log(tmp_path, n=5):
    log = AuditLog(tmp_path / "audit.log", b"k" * 32)
    head = None
    for i in range(n):
        head = log.append("import", imported=i, studies=[log.pseudonym(f"1.2.3.{i}")])
    return log, head


def test_each_line_carries_the_hash_of_the_one_before(tmp_path):
    log, head = _log(tmp_path)
    lines = log.path.read_bytes().splitlines()
    records = [json.loads(x) for x in lines]
    assert records[0]["prev"] == GENESIS
    for before, record in zip(lines, records[1:]):
        assert record["prev"] == line_hash(before)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert head == (5, line_hash(lines[-1]))
    assert records[0]["user"] and records[0]["action"] == "import"
    result = verify_log(log.path, head)
    assert result.ok and result.lines == 5


def test_identifiers_are_pseudonymised(tmp_path):
    log, _ = _log(tmp_path)
    text = log.path.read_text()
    assert "1.2.3." not in text


def test_an_altered_line_is_named(tmp_path):
    log, head = _log(tmp_path)
    lines = log.path.read_text().splitlines()
    lines[2] = lines[2].replace('"imported":2', '"imported":7')
    log.path.write_text("\n".join(lines) + "\n")
    result = verify_log(log.path, head)
    assert not result.ok and result.first_bad_line == 3
    assert "line 3 was altered" in result.message


def test_a_removed_line_is_named(tmp_path):
    log, head = _log(tmp_path)
    lines = log.path.read_text().splitlines()
    del lines[1]
    log.path.write_text("\n".join(lines) + "\n")
    result = verify_log(log.path, head)
    assert not result.ok and result.first_bad_line == 1
    assert "removed" in result.message


def test_lines_cut_from_the_end_are_seen_through_the_recorded_head(tmp_path):
    log, head = _log(tmp_path)
    lines = log.path.read_text().splitlines()
    log.path.write_text("\n".join(lines[:3]) + "\n")
    assert verify_log(log.path).ok  # the chain alone cannot tell
    result = verify_log(log.path, head)
    assert not result.ok and "last 2 line(s) were removed" in result.message


def test_an_altered_last_line_is_seen_through_the_recorded_head(tmp_path):
    log, head = _log(tmp_path)
    text = log.path.read_text().replace('"imported":4', '"imported":9')
    log.path.write_text(text)
    result = verify_log(log.path, head)
    assert not result.ok and result.first_bad_line == 5


def test_a_torn_last_line_from_a_crash_is_dropped_and_recorded(tmp_path):
    log, _ = _log(tmp_path, 2)
    with open(log.path, "ab") as fh:
        fh.write(b'{"action":"imp')
    count, digest = log.append("import", imported=1)
    records = [json.loads(x) for x in log.path.read_text().splitlines()]
    assert [r["action"] for r in records] == ["import", "import", "audit.torn_line_dropped", "import"]
    assert verify_log(log.path, (count, digest)).ok
