"""The audit trail of a home under crashes, full disks and rollback (issue 15).

A crash or a full disk at any point leaves either the event in the index (and audit.log
catches up at the next open or event) or no event at all, with a clear error: never a state
`verify` calls tampering. A home put back from an older copy is named as rolled back where a
keyring keeps the head of the chain."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.app.library.home import VeilHome
from desktop.core.audit import mirror
from desktop.core.common.disk_full import DiskFullError


def record(home: VeilHome, action: str = "view", **details: object) -> int:
    conn = home.connect()
    try:
        return home.record(conn, action, **details)
    finally:
        conn.close()


def actions(home: VeilHome) -> list[str]:
    return [json.loads(line)["action"] for line in home.audit_path.read_text().splitlines()]


def index_rows(home: VeilHome) -> int:
    conn = home.connect()
    try:
        return conn.execute("SELECT count(*) FROM audit_lines").fetchone()[0]
    finally:
        conn.close()


class Crash(BaseException):
    """Stands for the process dying at a chosen point (nothing after it runs)."""


def test_a_crash_between_the_commit_and_the_file_heals_at_the_next_open(veil_home, monkeypatch):
    home = VeilHome.open()
    record(home, "one")

    def die(name: str) -> None:
        raise Crash(name)

    monkeypatch.setattr("desktop.app.library.home.fault_point", die)
    with pytest.raises(Crash):
        record(home, "two")
    monkeypatch.undo()
    assert actions(home) == ["one"] and index_rows(home) == 2  # committed, not yet in the file
    reopened = VeilHome.open(veil_home)
    assert actions(reopened) == ["one", "two"]  # written from the index, nothing else recorded
    assert reopened.verify_audit().ok
    record(reopened, "three")
    result = reopened.verify_audit()
    assert result.ok and result.lines == 3, result.message


def test_a_full_disk_on_the_file_keeps_the_event_and_never_raises_a_false_alarm(veil_home, monkeypatch):
    home = VeilHome.open()
    record(home, "one")
    real_write = os.write

    def full(fd: int, data) -> int:  # writes half of what it is given, then the disk is full
        if len(data) > 4 and not getattr(full, "done", False):
            full.done = True
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mirror.os, "write", full)
    assert record(home, "two") == 2  # the caller's operation goes on: the event is in the index
    result = home.verify_audit()  # the disk is still full: the file is behind, not altered
    assert result.ok and result.pending == 1, result.message
    monkeypatch.undo()
    record(home, "three")  # room again: the file catches up, in order
    assert actions(home) == ["one", "two", "three"]
    result = home.verify_audit()
    assert result.ok and result.lines == 3 and result.pending == 0, result.message


class FullOnCommit:
    """A connection whose COMMIT fails as SQLite does when the disk is full."""

    def __init__(self, conn) -> None:
        self._conn = conn

    def execute(self, sql: str, *args):
        if sql == "COMMIT":
            from desktop.core.library.database import sqlcipher

            raise sqlcipher.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


def test_a_full_disk_on_the_index_records_nothing_and_says_so(veil_home):
    home = VeilHome.open()
    record(home, "one")
    conn = home.connect()
    try:
        with pytest.raises(DiskFullError, match="is full, so an audit event could not be recorded"):
            home.record(FullOnCommit(conn), "two")
        assert not conn.in_transaction
    finally:
        conn.close()
    assert actions(home) == ["one"] and index_rows(home) == 1
    assert record(home, "three") == 2  # the chain goes on from the last event recorded
    assert home.verify_audit().ok


def test_a_veil_killed_after_committing_an_event_leaves_a_home_that_verifies(tmp_path, monkeypatch):
    """kill -9 (VEIL_FAULT) right after the first audit commit of `veil consent add`."""
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery\n")
    home_dir = tmp_path / "home"
    env = dict(os.environ, VEIL_HOME=str(home_dir), VEIL_PASSPHRASE_FILE=str(passfile),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", VEIL_FAULT="audit.committed")
    done = subprocess.run([sys.executable, "-m", "desktop", "consent", "add", "--site-wide", "--not-required",
                           "Teaching file policy v3", "--purpose", "teaching"], env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL,
                          cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == -9, done.stderr
    assert not (home_dir / "audit.log").exists() or (home_dir / "audit.log").read_text() == ""
    monkeypatch.setenv("VEIL_PASSPHRASE_FILE", str(passfile))
    home = VeilHome.open(home_dir)
    assert actions(home) == ["consent.add"]
    result = home.verify_audit()
    assert result.ok, result.message
    # A passphrase home on a machine with a keyring (this process's) is held to it too.
    assert result.rollback_checked and "no rollback" in result.message
    record(home, "next")
    assert home.verify_audit().ok


def test_events_recorded_at_once_by_several_writers_land_once_each_in_order(veil_home):
    import threading

    home = VeilHome.open()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(8):
                record(home, "view", writer=n, i=i)
        except BaseException as exc:  # noqa: BLE001 - any failure in a writer is reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = [json.loads(line)["seq"] for line in home.audit_path.read_text().splitlines()]
    assert seqs == list(range(1, 33))
    result = home.verify_audit()
    assert result.ok and result.lines == 32 and "no rollback" in result.message, result.message


# -- rollback ---------------------------------------------------------------------------------
def _copy_home_files(src: Path, dst: Path) -> None:
    dst.mkdir(exist_ok=True)
    for name in ("library.sqlite", "library.sqlite-wal", "library.sqlite-shm", "audit.log"):
        target = dst / name
        if target.exists():
            target.unlink()
        if (src / name).exists():
            shutil.copy2(src / name, target)


def test_a_home_put_back_from_an_older_copy_is_named_rolled_back(veil_home, tmp_path):
    home = VeilHome.open()
    assert home.keys.method == "keyring"
    for i in range(3):
        record(home, "view", n=i)
    assert "no rollback" in home.verify_audit().message
    _copy_home_files(veil_home, tmp_path / "older")  # every connection is closed
    record(home, "share.export")
    record(home, "consent.withdraw")
    _copy_home_files(tmp_path / "older", veil_home)

    rolled = VeilHome.open(veil_home)
    result = rolled.verify_audit()
    assert not result.ok and result.rolled_back and result.first_bad_line == 4
    assert result.message.startswith("The library was rolled back: the keyring's record says 5 events ending in ")
    assert "the library has 3. Events after 3 are missing" in result.message
    # Going on with the rolled-back home never launders it: the keyring's head stays.
    record(rolled, "view")
    record(rolled, "view")
    result = rolled.verify_audit()
    assert not result.ok and result.rolled_back and "event 5 is another one" in result.message
    record(rolled, "view")
    assert rolled.verify_audit().rolled_back


def test_moving_the_key_to_a_passphrase_does_not_dodge_the_rollback_check(veil_home, tmp_path, memory_keyring):
    """The red team's way round: roll the home back, then keep its key with a passphrase
    instead of the keyring. The keyring still remembers how far the trail reached."""
    home = VeilHome.open()
    for i in range(3):
        record(home, "view", n=i)
    _copy_home_files(veil_home, tmp_path / "older")
    record(home, "share.export")
    _copy_home_files(tmp_path / "older", veil_home)
    rolled = VeilHome.open(veil_home)
    object.__setattr__(rolled.keys, "method", "passphrase")  # as if keystore.json now wrapped the key
    result = rolled.verify_audit()
    assert not result.ok and result.rolled_back


def test_where_the_keyring_cannot_be_read_rollback_is_said_to_be_unchecked(veil_home, memory_keyring, monkeypatch):
    home = VeilHome.open()
    record(home)
    import keyring.errors

    def locked(service: str, username: str):
        if username.startswith("audit-head:"):
            raise keyring.errors.KeyringLocked("locked")
        return memory_keyring.secrets.get((service, username))

    monkeypatch.setattr(memory_keyring, "get_password", locked)
    record(home)  # the event is recorded all the same
    result = home.verify_audit()
    assert result.ok and not result.rollback_checked
    assert "Rollback cannot be checked on this machine. The system keyring is locked" in result.message


def test_a_home_from_before_line_texts_keeps_verifying(veil_home):
    """Lines recorded before migration 0009 have only their hash in the index."""
    home = VeilHome.open()
    for i in range(3):
        record(home, "view", n=i)
    conn = home.connect()
    conn.execute("UPDATE audit_lines SET line = NULL")
    conn.close()
    reopened = VeilHome.open(veil_home)
    assert reopened.verify_audit().ok
    record(reopened, "view", n=3)
    assert reopened.verify_audit().ok and actions(reopened) == ["view"] * 4
    lines = reopened.audit_path.read_text().splitlines()
    reopened.audit_path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")  # an old line removed
    result = reopened.verify_audit()
    assert not result.ok and result.first_bad_line == 2


def test_veil_audit_verify_names_a_rolled_back_home_and_exits_non_zero(tmp_path, veil_cli):
    """The CLI with a keyring (a file-backed test backend in the subprocess), then without."""
    home_dir = tmp_path / "kr-home"
    env = dict(os.environ, VEIL_HOME=str(home_dir), VEIL_TEST_KEYRING=str(tmp_path / "keyring.json"),
               PYTHON_KEYRING_BACKEND="tests.app.file_keyring.FileKeyring")
    env.pop("VEIL_PASSPHRASE_FILE", None)

    def veil(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "desktop", *args], env=env, capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[3])

    def consent(policy: str) -> None:
        done = veil("consent", "add", "--site-wide", "--not-required", policy, "--purpose", "teaching")
        assert done.returncode == 0, done.stdout + done.stderr

    consent("Teaching file policy v1")
    ok = veil("audit", "verify")
    assert ok.returncode == 0 and "no rollback" in ok.stdout, ok.stdout + ok.stderr
    _copy_home_files(home_dir, tmp_path / "older")
    consent("Teaching file policy v2")
    _copy_home_files(tmp_path / "older", home_dir)
    rolled = veil("audit", "verify")
    assert rolled.returncode == 1
    assert rolled.stdout.startswith("The library was rolled back: the keyring's record says 2 events")
    assert "the library has 1. Events after 1 are missing" in rolled.stdout

    # Without a keyring (passphrase): verifies, and says rollback cannot be checked here.
    assert veil_cli("consent", "add", "--site-wide", "--not-required", "Policy",
                    "--purpose", "teaching").returncode == 0
    plain = veil_cli("audit", "verify")
    assert plain.returncode == 0 and "Rollback cannot be checked on this machine" in plain.stdout
