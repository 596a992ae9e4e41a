"""The audit chain, and the anchors (kept by the library in its encrypted index) that catch
what a recomputed chain would hide. Each attack here was shown to pass unanchored checks."""

from __future__ import annotations

import hashlib
import json

import pytest

from desktop.core.audit import AuditLog, verify_log
from desktop.core.audit.log import GENESIS, line_hash


class Library:
    """What the index does for the log: remember each line's hash, chain onto the last."""

    def __init__(self, path):
        self.log = AuditLog(path, b"k" * 32)
        self.anchors: dict[int, str] = {}

    def record(self, action="import", **details):
        last = max(self.anchors) if self.anchors else 0
        seq, digest = self.log.append(action, after=(last, self.anchors.get(last, GENESIS)), **details)
        self.anchors[seq] = digest

    def verify(self):
        return verify_log(self.log.path, self.anchors)


@pytest.fixture
def lib(tmp_path):
    lib = Library(tmp_path / "audit.log")
    for i in range(5):
        lib.record(imported=i, studies=[lib.log.pseudonym(f"1.2.3.{i}")])
    return lib


def _lines(lib):
    return lib.log.path.read_text().splitlines()


def _write(lib, lines):
    lib.log.path.write_text("\n".join(lines) + ("\n" if lines else ""))


def _rechain(lines):
    """What an editor who knows the format does: recompute every prev."""
    out, prev = [], GENESIS
    for i, line in enumerate(lines, start=1):
        record = json.loads(line)
        record["prev"], record["seq"] = prev, i
        text = json.dumps(record, sort_keys=True, separators=(",", ":"))
        out.append(text)
        prev = hashlib.sha256(text.encode()).hexdigest()
    return out


def test_each_line_carries_the_hash_of_the_one_before_and_verifies(lib):
    lines = _lines(lib)
    records = [json.loads(x) for x in lines]
    assert records[0]["prev"] == GENESIS
    for before, record in zip(lines, records[1:]):
        assert record["prev"] == line_hash(before.encode())
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["user"] and records[0]["action"] == "import"
    result = lib.verify()
    assert result.ok and result.lines == 5 and "all 5 anchored" in result.message


def test_identifiers_are_pseudonymised(lib):
    assert "1.2.3." not in lib.log.path.read_text()


def test_an_altered_line_is_named(lib):
    lines = _lines(lib)
    lines[2] = lines[2].replace('"imported":2', '"imported":7')
    _write(lib, lines)
    result = lib.verify()
    assert not result.ok and result.first_bad_line == 3 and "line 3 was altered" in result.message


def test_an_altered_line_with_the_chain_recomputed_is_still_named(lib):
    lines = _lines(lib)
    lines[0] = lines[0].replace('"imported":0', '"imported":999')
    _write(lib, _rechain(lines))
    assert verify_log(lib.log.path).ok  # the chain alone is fooled...
    result = lib.verify()  # ...the anchors are not
    assert not result.ok and result.first_bad_line == 1


def test_appending_after_tampering_does_not_launder_it(lib):
    lines = _lines(lib)
    lines[0] = lines[0].replace('"imported":0', '"imported":999')
    _write(lib, _rechain(lines))
    lib.record(imported=1)
    result = lib.verify()
    assert not result.ok and result.first_bad_line == 1


def test_a_removed_line_is_named(lib):
    lines = _lines(lib)
    del lines[1]
    _write(lib, lines)
    result = lib.verify()
    assert not result.ok and result.first_bad_line == 2 and "removed" in result.message


def test_two_lines_swapped_are_named_even_with_the_chain_recomputed(lib):
    lines = _lines(lib)
    lines[1], lines[2] = lines[2], lines[1]
    _write(lib, lines)
    result = lib.verify()
    assert not result.ok and result.first_bad_line in (1, 2)
    _write(lib, _rechain(lines))  # an editor who recomputes seq and prev after reordering
    result = lib.verify()
    assert not result.ok and result.first_bad_line == 2 and "altered" in result.message


def test_lines_cut_from_the_end_are_named(lib):
    _write(lib, _lines(lib)[:3])
    assert verify_log(lib.log.path).ok  # the chain alone cannot tell
    result = lib.verify()
    assert not result.ok and result.first_bad_line == 4 and "removed" in result.message


def test_a_deleted_log_then_a_new_import_is_still_caught(lib):
    lib.log.path.unlink()
    assert not lib.verify().ok
    lib.record(imported=1)
    result = lib.verify()
    assert not result.ok and result.first_bad_line == 1 and "removed" in result.message


def test_a_forged_line_appended_with_a_valid_chain_is_named(lib):
    lines = _lines(lib)
    forged = json.dumps({"action": "import", "imported": 0, "prev": line_hash(lines[-1].encode()),
                         "seq": 6, "time": "x", "user": "mallory"}, sort_keys=True, separators=(",", ":"))
    _write(lib, lines + [forged])
    assert verify_log(lib.log.path).ok
    result = lib.verify()
    assert not result.ok and result.first_bad_line == 6 and "not written by this library" in result.message


def test_a_torn_last_line_from_a_crash_is_dropped_and_recorded(lib):
    with open(lib.log.path, "ab") as fh:
        fh.write(b'{"action":"imp')
    lib.record(imported=1)
    records = [json.loads(x) for x in _lines(lib)]
    assert [r["action"] for r in records][-2:] == ["audit.torn_line_dropped", "import"]
    assert records[-2]["bytes"] == 14
    assert lib.verify().ok


def test_a_whole_record_missing_only_its_newline_is_kept(lib):
    text = lib.log.path.read_text()
    lib.log.path.write_text(text.rstrip("\n"))
    lib.record(imported=1)
    assert [json.loads(x)["action"] for x in _lines(lib)].count("audit.torn_line_dropped") == 0
    assert lib.verify().ok
