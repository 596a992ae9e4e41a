"""What a restart does with work a crash interrupted (issue 15), step by step in one process; the
kill -9 trials in test_crash_points.py do the same through real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from desktop.app.durability import write_ahead
from desktop.app.library.home import VeilHome
from desktop.app.startup.recovery import recover, sweep
from desktop.core.library.disclosures import DisclosedItem, Disclosure, add_disclosure


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def _orphan(home: VeilHome, intent: int) -> None:
    """Make ``intent`` look like the work of a process that was killed."""
    conn = home.connect()
    try:
        conn.execute("UPDATE write_intents SET pid = ?, owner = ? WHERE id = ?",
                     (_dead_pid(), f"{_dead_pid()}x00dead00", intent))
    finally:
        conn.close()


def _disclosure(destination: str) -> Disclosure:
    return Disclosure("2026-12-07T10:00:00+00:00", "tester", "share.package", "teaching", "Dr Bob", destination,
                      "teaching", items=(DisclosedItem("pk", "1.2.3", (), 3, ()),))


def _rows(home: VeilHome, sql: str) -> list[tuple]:
    conn = home.connect()
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _actions(home: VeilHome) -> list[dict]:
    return [json.loads(line) for line in home.audit_path.read_text().splitlines()]


def test_a_package_written_before_the_crash_is_accounted_for_on_restart(veil_home, tmp_path):
    home = VeilHome.open()
    out = tmp_path / "case.veil"
    intent = write_ahead.begin(home, "share.package", out)
    write_ahead.expect(home, intent, disclosure=_disclosure(str(out)))
    out.write_bytes(b"age-encryption.org/v1 ...")  # renamed into place; then the process died
    _orphan(home, intent)

    result = recover(home)
    assert result.recovered == 1 and result.abandoned == 0
    assert _rows(home, "SELECT destination FROM disclosures") == [(str(out),)]
    assert _rows(home, f"SELECT state FROM write_intents WHERE id = {intent}") == [("recovered",)]
    line = [a for a in _actions(home) if a["action"] == "disclosure"][-1]
    assert line["recovered"] is True and line["instances"] == 3
    assert recover(home).anything is False  # settled once, not twice
    assert home.verify_audit().ok


def test_a_folder_only_partly_renamed_is_removed_not_half_kept(veil_home, tmp_path):
    home = VeilHome.open()
    out = tmp_path / "out"
    (out / "TEACH-0001").mkdir(parents=True)
    intent = write_ahead.begin(home, "folder", out)
    finals = [f"TEACH-0001/IM{n}.dcm" for n in range(4)]
    write_ahead.expect(home, intent, finals, _disclosure(str(out)), ("deid.export", {"written": 4}))
    for name in finals[:2]:
        (out / name).write_bytes(b"DICM")
    (out / ".veil-partial-0123456789abcdef").write_bytes(b"staged")
    _orphan(home, intent)

    result = recover(home)
    assert result.abandoned == 1 and result.recovered == 0
    assert [p for p in out.rglob("*") if p.is_file()] == []
    assert _rows(home, "SELECT count(*) FROM disclosures") == [(0,)]
    assert [a for a in _actions(home) if a["action"] == "export.abandoned"]
    assert home.verify_audit().ok


def test_an_export_of_a_live_process_is_left_alone(veil_home, tmp_path):
    home = VeilHome.open()
    out = tmp_path / "out"
    out.mkdir()
    (out / ".veil-partial-0123456789abcdef").write_bytes(b"staged")
    write_ahead.begin(home, "folder", out)  # this process: alive
    assert recover(home).abandoned == 0
    assert (out / ".veil-partial-0123456789abcdef").exists()


def test_a_disclosure_stored_without_its_audit_line_gets_one(veil_home, tmp_path):
    home = VeilHome.open()
    conn = home.connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        add_disclosure(conn, _disclosure(str(tmp_path / "x.veil")))
        conn.execute("COMMIT")
    finally:
        conn.close()
    assert recover(home).audited == 1
    assert _rows(home, "SELECT audit_seq IS NOT NULL FROM disclosures") == [(1,)]
    assert [a for a in _actions(home) if a["action"] == "disclosure" and a.get("recovered")]


def test_staging_of_gone_processes_is_swept_and_of_live_ones_kept(veil_home):
    home = VeilHome.open()
    tmp = home.path / "tmp"
    dead = tmp / f"share-{_dead_pid()}-00aa"
    live = tmp / f"share-{os.getpid()}-00bb"
    legacy = tmp / "open-0123456789abcdef"  # older versions extracted packages here, in clear
    for folder in (dead, live, legacy):
        folder.mkdir(parents=True)
        (folder / "f").write_bytes(b"x")
    removed = sweep(home)
    assert sorted(removed) == sorted([str(dead), str(legacy)])
    assert live.exists() and not dead.exists() and not legacy.exists()


def test_a_target_replaced_by_a_symlink_is_not_cleaned_through_it(veil_home, tmp_path):
    home = VeilHome.open()
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    (elsewhere / "TEACH-0001").mkdir(parents=True)
    keep = elsewhere / "TEACH-0001" / "IM0.dcm"
    keep.write_bytes(b"someone else's file")
    (elsewhere / ".veil-partial-0123456789abcdef").write_bytes(b"not ours")
    out.mkdir()
    intent = write_ahead.begin(home, "folder", out)
    write_ahead.expect(home, intent, ["TEACH-0001/IM0.dcm", "TEACH-0001/IM1.dcm", "../escape.dcm"],
                       None, ("deid.export", {"written": 3}))
    out.rmdir()
    out.symlink_to(elsewhere)  # after the crash, the folder became a link to another place
    _orphan(home, intent)
    assert recover(home).abandoned == 1
    assert keep.exists() and (elsewhere / ".veil-partial-0123456789abcdef").exists()


def test_files_of_an_earlier_export_to_the_same_folder_are_never_removed(veil_home, tmp_path):
    home = VeilHome.open()
    out = tmp_path / "out"
    (out / "TEACH-0001").mkdir(parents=True)
    earlier = out / "TEACH-0001" / "IM0.dcm"
    earlier.write_bytes(b"accounted for by an earlier export")
    intent = write_ahead.begin(home, "folder", out)
    write_ahead.expect(home, intent, ["TEACH-0001/IM0.dcm", "TEACH-0001/IM1.dcm"], _disclosure(str(out)),
                       ("deid.export", {"written": 2}))
    earlier.write_bytes(b"the killed run renamed its copy over it")  # then it died, IM1 never came
    (out / "TEACH-0001" / ".veil-partial-00112233445566778899aabb").write_bytes(b"staged")
    _orphan(home, intent)
    result = recover(home)
    assert result.abandoned == 1 and result.recovered == 0
    assert earlier.exists()  # there before the killed run began: not its to remove
    assert not (out / "TEACH-0001" / ".veil-partial-00112233445566778899aabb").exists()


def test_a_live_export_s_temps_in_the_same_folder_are_left_alone(veil_home, tmp_path):
    home = VeilHome.open()
    out = tmp_path / "out"
    out.mkdir()
    live_temp = out / ".veil-partial-live0000000000000000"
    live_temp.write_bytes(b"a zip being written by a running export")
    live = write_ahead.begin(home, "slides", out / "s.zip", live_temp)  # this process: alive
    dead = write_ahead.begin(home, "folder", out)
    dead_temp = out / ".veil-partial-dead0000000000000000"
    dead_temp.write_bytes(b"staged by the killed export")
    _orphan(home, dead)
    assert recover(home).abandoned == 0  # not while the live one writes in the same folder
    assert live_temp.exists() and dead_temp.exists()
    live_temp.unlink()  # the live export finished
    write_ahead.settle(home, live)
    assert recover(home).abandoned == 1  # the next start cleans up after the killed one
    assert not dead_temp.exists()


def test_a_reused_pid_does_not_hide_an_output_from_the_accounting(veil_home, tmp_path):
    home = VeilHome.open()
    out = tmp_path / "case.veil"
    intent = write_ahead.begin(home, "share.package", out)
    write_ahead.expect(home, intent, disclosure=_disclosure(str(out)))
    out.write_bytes(b"age-encryption.org/v1 ...")
    conn = home.connect()
    try:  # the process died; its pid now belongs to another one (here: this test's own)
        conn.execute("UPDATE write_intents SET pid = ?, owner = ? WHERE id = ?", (os.getpid(), "1x00dead00", intent))
    finally:
        conn.close()
    assert recover(home).recovered == 1
    assert _rows(home, "SELECT count(*) FROM disclosures") == [(1,)]


def test_two_recoveries_at_once_account_for_an_output_once(veil_home, tmp_path):
    from desktop.app.consent.disclosing import store_recovered

    home = VeilHome.open()
    out = tmp_path / "case.veil"
    intent = write_ahead.begin(home, "share.package", out)
    assert store_recovered(home, intent, _disclosure(str(out)), None) is True
    assert store_recovered(home, intent, _disclosure(str(out)), None) is False  # the other one, a moment later
    assert _rows(home, "SELECT count(*) FROM disclosures") == [(1,)]


def test_a_subfolder_that_became_a_link_is_not_cleaned_through(veil_home, tmp_path):
    home = VeilHome.open()
    out, victim = tmp_path / "out", tmp_path / "victim"
    (out / "TEACH-0001").mkdir(parents=True)
    intent = write_ahead.begin(home, "folder", out)
    write_ahead.expect(home, intent, ["TEACH-0001/IM0.dcm", "TEACH-0001/IM1.dcm"], None,
                       ("deid.export", {"written": 2}))
    (out / "TEACH-0001").rmdir()
    victim.mkdir()
    (victim / "IM0.dcm").write_bytes(b"someone else's")  # written after the intent began
    (victim / ".veil-partial-0123456789abcdef").write_bytes(b"not ours either")
    (out / "TEACH-0001").symlink_to(victim)
    _orphan(home, intent)
    assert recover(home).abandoned == 1
    assert (victim / "IM0.dcm").exists() and (victim / ".veil-partial-0123456789abcdef").exists()
