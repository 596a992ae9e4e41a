"""Attack the network exit (issue 18): ``veil send`` to a real Orthanc killed with SIGKILL at
each step boundary and at random moments, onto a full disk, and two sends at once.

Each crash trial copies a prepared home (a planted patient's images in two studies, a teaching
policy, the node "Teaching PACS" = the module's Orthanc), empties Orthanc, runs ``veil send`` in
a process of its own with ``VEIL_FAULT`` armed (:mod:`desktop.core.common.faults`) or kills it
after a random delay, reads what Orthanc holds, restarts (``veil check``: the recovery every
start runs) and checks:

- an image that may have reached the node is always accounted for: Orthanc holds something ->
  the accounting of disclosures has a row naming the node, for every image the send was for;
- nothing reached it (killed before the first object was transmitted) -> no disclosure, the
  intent settled abandoned;
- no intent left pending, no staging folder or sealed temp left in the home, nothing stray in
  TMPDIR, no worker outliving the command; the audit log verifies;
- no plaintext identity of the planted patient in any file under the home, HOME or TMPDIR, nor
  in what Orthanc stored.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from desktop.core.network import store
from tests.app.durability.test_crash_points import REPO, _env, _ok, _processes_of
from tests.app.durability.test_full_disk import _fill, _mount
from tests.conftest import pydicom_test_files
from tests.orthanc import DICOMWEB_PLUGIN, DICOMWEB_SKIP, ORTHANC, SKIP_REASON, Orthanc, running_orthanc
from tests.planting import PATIENT
from tests.planting.pixels import plant_file

pytestmark = pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON)

NODE, WEB = "Teaching PACS", "Teaching Web"  # the module's Orthanc, by C-STORE and by STOW-RS
#: Forms of the planted identity long and rare enough that a match is never chance.
MARKERS = tuple(m.lower().encode() for m in (PATIENT.family, PATIENT.given, PATIENT.middle, PATIENT.patient_id,
                                             PATIENT.id_digits, PATIENT.accession, PATIENT.other_id))
FIRST, SECOND = 5, 3  # images in the planted patient's two studies
#: C-STORE associations a send holds at once: killed after the n-th object, the others may be on the node too.
AT_ONCE = int(getattr(store, "ASSOCIATIONS", 1))


def _veil(root: Path, home: Path, *args: str, fault: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop", *args], env=_env(root, home, fault), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=REPO)


def _plant_library(folder: Path) -> tuple[str, str]:
    """The planted patient in two studies (FIRST and SECOND images); their Study Instance UIDs."""
    planted = plant_file(pydicom_test_files() / "CT_small.dcm", folder / "planted", hidden_bits=False,
                         comments=False)
    studies = []
    for study, count in (("a", FIRST), ("b", SECOND)):
        ds = pydicom.dcmread(planted.path)
        ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
        for n in range(count):
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.InstanceNumber = n + 1
            (folder / "in" / study).mkdir(parents=True, exist_ok=True)
            ds.save_as(folder / "in" / study / f"{n}.dcm")
        studies.append(str(ds.StudyInstanceUID))
    shutil.rmtree(folder / "planted")
    return studies[0], studies[1]


def _make_home(root: Path, home: Path, orthanc: Orthanc) -> tuple[str, str]:
    for name in ("user", "tmp"):
        (root / name).mkdir(exist_ok=True)
    (root / "pass").write_text("correct horse battery\n")
    first, second = _plant_library(root / "src")
    _ok(_veil(root, home, "import", str(root / "src" / "in")))
    shutil.rmtree(root / "src")  # the plaintext sources: only the library holds the patient now
    _ok(_veil(root, home, "consent", "add", "--site-wide", "--not-required", "Teaching policy",
              "--purpose", "teaching"))
    _ok(_veil(root, home, "nodes", "add", NODE, "--aet", orthanc.aet, "--host", "127.0.0.1",
              "--port", str(orthanc.dicom_port)))
    if DICOMWEB_PLUGIN.exists():
        _ok(_veil(root, home, "nodes", "add", WEB, "--dicomweb", orthanc.dicomweb))
    return first, second


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    with running_orthanc(tmp_path_factory.mktemp("send-orthanc") / "orthanc",
                         dicomweb=DICOMWEB_PLUGIN.exists()) as server:
        yield server


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory, orthanc: Orthanc) -> Path:
    root = tmp_path_factory.mktemp("send-base")
    first, second = _make_home(root, root / "home", orthanc)
    (root / "studies").write_text(f"{first}\n{second}")
    return root


def _empty(orthanc: Orthanc) -> None:
    patients = orthanc.rest("GET", "/patients")
    assert isinstance(patients, list)
    for patient in patients:
        orthanc.rest("DELETE", f"/patients/{patient}")
    assert _instances(orthanc) == 0


def _trial(prepared: Path, tmp_path: Path, orthanc: Orthanc) -> tuple[Path, str, str]:
    _empty(orthanc)
    root = tmp_path / "t"
    shutil.copytree(prepared, root, symlinks=True)
    shutil.rmtree(root / "tmp")
    (root / "tmp").mkdir()
    first, second = (root / "studies").read_text().split("\n")
    return root, first, second


def _send_args(study: str, node: str = NODE) -> list[str]:
    return ["send", "--to", node, "--study", study, "--purpose", "teaching"]


def _instances(orthanc: Orthanc) -> int:
    ids = orthanc.rest("GET", "/instances")
    assert isinstance(ids, list)
    return len(ids)


def _settled(orthanc: Orthanc) -> int:
    """What Orthanc holds once an object that was in flight at the kill is stored (or dropped)."""
    seen = _instances(orthanc)
    for _ in range(50):
        time.sleep(0.3)
        now = _instances(orthanc)
        if now == seen:
            return now
        seen = now
    return seen


def _query(root: Path) -> dict:
    """The home's disclosures (recipient, kind, instances) and its intents' states, as a restart finds them."""
    script = ("import json\nfrom desktop.app.library.home import VeilHome\n"
              "from desktop.core.library.disclosures import load_disclosures\n"
              "home = VeilHome.open()\nconn = home.connect()\n"
              "ids = [r[0] for r in conn.execute('SELECT id FROM disclosures ORDER BY id')]\n"
              "print(json.dumps({'disclosures': [[d.recipient, d.kind, sum(i.instances for i in d.items)] "
              "for d in load_disclosures(conn, ids)], 'intents': [[r[0], r[1]] for r in "
              "conn.execute('SELECT kind, state FROM write_intents ORDER BY id')]}))\n")
    done = subprocess.run([sys.executable, "-c", script], env=_env(root, root / "home"), capture_output=True,
                          text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _audit_lines(home: Path) -> list[dict]:
    return [json.loads(line) for line in (home / "audit.log").read_text().splitlines()]


def _restarted(root: Path, orthanc: Orthanc, reached: int, *, before_leaving: bool | None,
               node: str = NODE) -> dict:
    """Restart, then check what the module docstring lists; ``reached``: what Orthanc held after
    the kill; ``before_leaving``: killed before (True) or after (False) the first object could
    leave, None when not known (a random moment). What the home's index says."""
    checked = _veil(root, root / "home", "check")
    assert checked.returncode == 0 and "Traceback" not in checked.stderr, checked.stdout + checked.stderr
    _ok(_veil(root, root / "home", "audit", "verify"))
    assert _instances(orthanc) == reached  # nothing arrives late
    found = _query(root)
    disclosures, intents = found["disclosures"], found["intents"]
    assert not [i for i in intents if i[1] == "pending"], intents
    named = [d for d in disclosures if d[0].startswith(f"{node} (") and ("DICOM node" in d[0]) == (node == NODE)]
    if reached:  # something is on the node: accounted for, for every image the send was for
        assert named and disclosures == named, disclosures
        assert named[0][1] == "network.send" and named[0][2] == FIRST, named
    if before_leaving:
        assert reached == 0 and disclosures == [], disclosures
        assert intents == [["network.send", "abandoned"]], intents
        assert [a for a in _audit_lines(root / "home") if a["action"] == "export.abandoned"]
    elif before_leaving is False:
        assert reached and len(disclosures) == 1, (reached, disclosures)
    _nothing_left(root)
    _no_plaintext(root, orthanc)
    return found


def _nothing_left(root: Path) -> None:
    left = [p.name for p in (root / "home" / "tmp").iterdir()] if (root / "home" / "tmp").exists() else []
    assert left == [], f"the home's temp folder still holds {left}"
    partial = [p for p in root.rglob("*") if p.name.endswith(".partial") or p.name.startswith(".veil-partial-")]
    assert partial == [], f"partial files left: {partial}"
    stray = [p for p in (root / "tmp").rglob("*") if p.is_file() and not p.parent.name.startswith("pymp-")]
    assert stray == [], f"files left in the temp dir: {stray}"


def _no_plaintext(root: Path, orthanc: Orthanc) -> None:
    for place in (root / "home", root / "user", root / "tmp"):
        for path in (p for p in place.rglob("*") if p.is_file()):
            data = path.read_bytes().lower()
            found = [m.decode() for m in MARKERS if m in data]
            assert not found, f"{path.relative_to(root)} holds {found} in clear"
    for stored in orthanc.stored():
        found = [m.decode() for m in MARKERS if m in stored.lower()]
        assert not found, f"Orthanc stored {found}"


def _workers_gone(home: Path) -> None:
    deadline = time.monotonic() + 15
    while _processes_of(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_of(home), "worker processes outlived the killed send"


#: (fault point, killed before the first object could leave, at least the images then on the node)
POINTS = [
    ("deid.staged", True, 0),  # de-identified into sealed staging, nothing expected yet
    ("deid.renamed", True, 0),  # staged copies in place, before the write-ahead expects the disclosure
    ("network.expected", True, 0),  # the disclosure expected, nothing transmitted
    ("network.object-sent@1", False, 1),  # the first object stored by the node
    ("network.object-sent@3", False, 3),
    ("network.sent", False, FIRST),  # all sent, the disclosure not yet recorded
    ("disclosure.stored", False, FIRST),  # recorded, its audit line not yet written
]


@pytest.mark.slow
@pytest.mark.parametrize(("point", "before", "least"), POINTS, ids=[p for p, _b, _r in POINTS])
def test_a_send_killed_at_a_step_boundary_is_accounted_for_after_a_restart(prepared, tmp_path, orthanc, point,
                                                                            before, least):
    root, study, _second = _trial(prepared, tmp_path, orthanc)
    done = _veil(root, root / "home", *_send_args(study), fault=point)
    assert done.returncode == -signal.SIGKILL, f"{point} was never reached:\n{done.stdout}{done.stderr}"
    _workers_gone(root / "home")
    reached = _settled(orthanc)
    assert least <= reached <= (least and min(FIRST, least + AT_ONCE - 1)), (reached, done.stdout, done.stderr)
    found = _restarted(root, orthanc, reached, before_leaving=before)
    if not before:
        recovered = [a for a in _audit_lines(root / "home") if a["action"] == "disclosure"]
        assert len(recovered) == 1 and recovered[0]["recovered"] is True, recovered
        assert recovered[0]["recipient"] == found["disclosures"][0][0]


@pytest.mark.slow
@pytest.mark.skipif(not DICOMWEB_PLUGIN.exists(), reason=DICOMWEB_SKIP)
@pytest.mark.parametrize(("point", "before"), [("network.expected", True), ("network.object-sent@1", False)])
def test_a_stow_rs_send_killed_is_accounted_for_exactly_when_it_may_have_left(prepared, tmp_path, orthanc, point,
                                                                             before):
    """STOW-RS posts the five images in one request: killed before it, nothing is on the server
    and nothing is accounted for; after it, all five are, and so is the disclosure naming it."""
    root, study, _second = _trial(prepared, tmp_path, orthanc)
    done = _veil(root, root / "home", *_send_args(study, WEB), fault=point)
    assert done.returncode == -signal.SIGKILL, f"{point} was never reached:\n{done.stdout}{done.stderr}"
    reached = _settled(orthanc)
    assert reached == (0 if before else FIRST)
    found = _restarted(root, orthanc, reached, before_leaving=before, node=WEB)
    assert before or found["disclosures"][0][0].startswith(f"{WEB} (DICOMweb {orthanc.dicomweb}"), found


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_a_send_killed_at_a_random_moment_is_accounted_for_after_a_restart(prepared, tmp_path, orthanc, seed):
    """Only the main process is killed: its workers must go with it. Even seeds die at a random
    moment of the whole command (a send takes about 2.5 s here: the gate, de-identification,
    sending); odd ones at a random moment of the transfer (up to 0.3 s after the first object
    reached Orthanc, which takes about as long to get the rest)."""
    root, study, _second = _trial(prepared, tmp_path, orthanc)
    chance = random.Random(f"send-{seed}")
    proc = subprocess.Popen([sys.executable, "-m", "desktop", *_send_args(study)], env=_env(root, root / "home"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=REPO,
                            start_new_session=True)
    if seed % 2 == 0:
        time.sleep(chance.uniform(0.8, 2.8))
    else:
        deadline = time.monotonic() + 60
        while not _instances(orthanc) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(chance.uniform(0.0, 0.3))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _workers_gone(root / "home")
    _restarted(root, orthanc, _settled(orthanc), before_leaving=None)


# -- two sends at once ---------------------------------------------------------------------------
@pytest.mark.slow
def test_two_sends_at_once_to_the_same_node_both_complete_and_both_are_accounted_for(prepared, tmp_path, orthanc):
    root, first, second = _trial(prepared, tmp_path, orthanc)
    procs = [subprocess.Popen([sys.executable, "-m", "desktop", *_send_args(study)], env=_env(root, root / "home"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                              cwd=REPO) for study in (first, second)]
    for proc, count in zip(procs, (FIRST, SECOND), strict=True):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, out + err
        assert f"Sent {count} de-identified image(s) to {NODE}." in out, out + err
    assert _instances(orthanc) == FIRST + SECOND
    found = _query(root)
    assert sorted(d[2] for d in found["disclosures"]) == [SECOND, FIRST]
    assert all(NODE in d[0] for d in found["disclosures"])
    assert found["intents"] == [["network.send", "done"]] * 2
    _ok(_veil(root, root / "home", "audit", "verify"))
    sends = [a for a in _audit_lines(root / "home") if a["action"] == "network.send"]
    assert sorted(a["sent"] for a in sends) == [SECOND, FIRST] and {a["outcome"] for a in sends} == {"completed"}
    _nothing_left(root)
    _no_plaintext(root, orthanc)


# -- a full disk -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_send_onto_a_full_disk_names_it_sends_nothing_then_works_with_room(tmp_path, orthanc):
    """The home on a small tmpfs, filled but 64 KB: de-identifying into the sealed staging fails."""
    disk = tmp_path / "small"
    disk.mkdir()
    _mount(disk, "32m")
    try:
        _empty(orthanc)
        root, home = tmp_path / "t", disk / "home"
        root.mkdir()
        study, _second = _make_home(root, home, orthanc)
        filler = _fill(disk, 64 * 1024)
        done = _veil(root, home, *_send_args(study))
        said = done.stdout + done.stderr
        assert done.returncode == 1, said
        assert f"Send to {NODE} stopped: the disk holding the Veil library ({home}) is full" in said, said
        assert "Nothing was sent; free some space and send again." in said and "send-" not in said, said
        assert "unexpected error" not in said and "Traceback" not in said, said
        assert _instances(orthanc) == 0
        assert list((home / "tmp").iterdir()) == []  # no staging left
        actions = _audit_lines(home)
        assert not [a for a in actions if a["action"] == "disclosure"]
        assert [a["outcome"] for a in actions if a["action"] == "network.send"] == ["failed-disk-full"]
        filler.unlink()
        again = _veil(root, home, *_send_args(study))
        assert again.returncode == 0, again.stdout + again.stderr
        assert _instances(orthanc) == FIRST
        actions = _audit_lines(home)
        assert [a["outcome"] for a in actions if a["action"] == "network.send"] == ["failed-disk-full", "completed"]
        assert len([a for a in actions if a["action"] == "disclosure"]) == 1
        _ok(_veil(root, home, "check"))
        _ok(_veil(root, home, "audit", "verify"))
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_send_intent_is_accounted_for_only_once_an_object_may_have_left():
    """The write-ahead rule the trials above rely on; an intent from before ``leaving`` was kept
    may have sent something, so it is accounted for."""
    from dataclasses import replace

    from desktop.app.durability.write_ahead import NETWORK_SEND, PendingIntent, output_complete

    begun = PendingIntent(1, NETWORK_SEND, Path("/nowhere"), "", 0, "", {}, 0.0)
    assert not output_complete(begun)  # not even expected
    assert not output_complete(replace(begun, payload={"disclosure": {}, "leaving": False}))
    assert output_complete(replace(begun, payload={"disclosure": {}, "leaving": True}))
    assert output_complete(replace(begun, payload={"disclosure": {}}))
