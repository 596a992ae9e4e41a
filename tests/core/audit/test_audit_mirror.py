"""audit.log as a copy of the index (issue 15): a file left behind by a crash or a full disk is
brought level and verifies; a file that says something the index does not is named, never
"repaired"; the head kept in the keyring names a rolled-back chain."""

from __future__ import annotations

import json

import pytest

from desktop.core.audit import AuditLog, verify_log
from desktop.core.audit import head as audit_head
from desktop.core.audit.log import GENESIS, line_hash
from desktop.core.audit.mirror import IndexLine, catch_up, locked


class Index:
    """What the library's index keeps of each line: its hash and its text."""

    def __init__(self, path):
        self.log = AuditLog(path, b"k" * 32)
        self.rows: list[IndexLine] = []

    def commit(self, action="view", **details) -> bytes:
        last = (self.rows[-1].seq, self.rows[-1].hash) if self.rows else (0, GENESIS)
        seq, line = self.log.compose(action, last, **details)
        self.rows.append(IndexLine(seq, line_hash(line), line))
        return line

    def lines_from(self, seq):
        return [r for r in self.rows if r.seq >= seq]

    def catch_up(self):
        with locked(self.log.path) as fd:
            return catch_up(fd, self.lines_from)

    def verify(self):
        return verify_log(self.log.path, {r.seq: r.hash for r in self.rows},
                          {r.seq: r.text for r in self.rows if r.text is not None})

    def file_lines(self):
        return self.log.path.read_bytes().splitlines()


@pytest.fixture
def idx(tmp_path):
    idx = Index(tmp_path / "audit.log")
    for i in range(3):
        idx.commit(n=i)
    idx.catch_up()
    return idx


def test_the_file_is_written_from_the_index_line_for_line(idx):
    assert idx.file_lines() == [r.text for r in idx.rows]
    result = idx.verify()
    assert result.ok and result.lines == 3 and result.pending == 0
    assert idx.catch_up().written == 0  # level: nothing more to write


def test_a_file_left_behind_verifies_as_pending_and_catches_up(idx):
    idx.commit(n=3)
    idx.commit(n=4)  # committed in the index; the process died before appending them
    result = idx.verify()
    assert result.ok and result.pending == 2 and "not yet in audit.log" in result.message
    assert idx.catch_up().written == 2
    assert idx.file_lines() == [r.text for r in idx.rows]
    assert idx.verify().ok and idx.verify().pending == 0


def test_a_line_cut_short_by_a_full_disk_is_completed_not_dropped(idx):
    line = idx.commit(n=3)
    with open(idx.log.path, "ab") as fh:
        fh.write(line[:17])  # the write stopped part way
    assert idx.verify().ok  # the start of a line the index holds: behind, not altered
    done = idx.catch_up()
    assert done.written == 1 and done.dropped is None
    assert idx.file_lines() == [r.text for r in idx.rows]
    assert "torn" not in idx.log.path.read_text()


def test_a_whole_line_missing_only_its_newline_is_completed(idx):
    line = idx.commit(n=3)
    with open(idx.log.path, "ab") as fh:
        fh.write(line)
    idx.catch_up()
    assert idx.log.path.read_bytes().endswith(line + b"\n")
    assert len(idx.file_lines()) == 4 and idx.verify().ok


def test_an_empty_or_deleted_file_is_rewritten_whole(idx):
    idx.log.path.unlink()
    assert idx.verify().ok and idx.verify().pending == 3
    assert idx.catch_up().written == 3
    assert idx.file_lines() == [r.text for r in idx.rows]


def test_bytes_after_the_last_newline_that_veil_never_wrote_are_cut_and_reported(idx):
    with open(idx.log.path, "ab") as fh:
        fh.write(b'{"action":"imp')  # an older Veil died mid-line
    done = idx.catch_up()
    assert done.dropped == b'{"action":"imp'
    assert idx.file_lines() == [r.text for r in idx.rows]


def test_a_forged_last_line_is_left_for_verify_to_name(idx):
    forged = json.dumps({"action": "view", "prev": idx.rows[-1].hash, "seq": 4, "time": "x", "user": "mallory"},
                        sort_keys=True, separators=(",", ":")).encode()
    with open(idx.log.path, "ab") as fh:
        fh.write(forged + b"\n")
    assert idx.catch_up().diverged
    assert forged in idx.file_lines()  # evidence kept
    idx.commit(n=3)  # Veil's own line 4
    done = idx.catch_up()
    assert done.diverged and done.written == 0  # the file claims a line 4: nothing written over it
    result = idx.verify()
    assert not result.ok and result.first_bad_line == 4 and "not the line Veil wrote" in result.message


def test_an_altered_last_line_is_not_repaired(idx):
    lines = idx.file_lines()
    lines[-1] = lines[-1].replace(b'"n":2', b'"n":9')
    idx.log.path.write_bytes(b"\n".join(lines) + b"\n")
    assert idx.catch_up().diverged
    assert b'"n":9' in idx.log.path.read_bytes()
    result = idx.verify()
    assert not result.ok and result.first_bad_line == 3


def test_lines_the_index_kept_only_as_hashes_cannot_be_rewritten_and_stay_named(tmp_path):
    idx = Index(tmp_path / "audit.log")
    for i in range(3):
        idx.commit(n=i)
    idx.rows = [IndexLine(r.seq, r.hash, None) for r in idx.rows]  # written before migration 0009
    done = idx.catch_up()
    assert done.unrecoverable and done.written == 0
    result = idx.verify()
    assert not result.ok and "removed" in result.message


# -- the head kept in the keyring -------------------------------------------------------------
def _chain(n):
    hashes, prev = {}, GENESIS
    for seq in range(1, n + 1):
        prev = line_hash(f"{seq}{prev}".encode())
        hashes[seq] = prev
    return hashes


def test_the_kept_head_only_moves_forward_along_its_chain(memory_keyring):
    store = audit_head.KeyringHead("veil", "home-1")
    chain = _chain(5)
    assert audit_head.advance(store, audit_head.Head(3, chain[3]), chain.get)
    assert memory_keyring.secrets[("veil", "audit-head:home-1")] == f"3:{chain[3]}"
    assert not audit_head.advance(store, audit_head.Head(2, chain[2]), chain.get)  # never back
    assert audit_head.advance(store, audit_head.Head(5, chain[5]), chain.get)
    other = _chain(6)  # a rolled-back home that went on: another line 5
    other[5] = "f" * 64
    assert not audit_head.advance(store, audit_head.Head(6, other[6]), other.get)
    assert store.read() == audit_head.Head(5, chain[5])


def test_a_chain_behind_the_kept_head_is_named_rolled_back():
    chain = _chain(5)
    stored = audit_head.Head(5, chain[5])
    message = audit_head.rollback(stored, audit_head.Head(3, chain[3]), chain.get)
    assert message.startswith("The library was rolled back: the keyring's record says 5 events ending in "
                              f"{chain[5][:12]}, the library has 3. Events after 3 are missing")
    assert audit_head.rollback(stored, audit_head.Head(5, chain[5]), chain.get) is None
    assert audit_head.rollback(None, audit_head.Head(5, chain[5]), chain.get) is None


def test_the_same_count_with_another_last_line_is_named_rolled_back():
    chain, other = _chain(5), _chain(5)
    other[5] = "e" * 64
    message = audit_head.rollback(audit_head.Head(5, chain[5]), audit_head.Head(5, other[5]), other.get)
    assert message and "rolled back" in message and "event 5 is another one" in message


def test_a_damaged_record_in_the_keyring_is_said_to_be_unusable(memory_keyring):
    memory_keyring.secrets[("veil", "audit-head:h")] = "seven"
    with pytest.raises(audit_head.HeadUnavailable, match="damaged"):
        audit_head.KeyringHead("veil", "h").read()
