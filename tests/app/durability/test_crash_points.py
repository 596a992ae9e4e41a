"""kill -9 at every step boundary that matters, and at random moments; then a restart (issue 15).

Each trial copies a prepared pair of homes (Alice, who holds a planted patient, a teaching
policy, a care consent naming Bob and Bob's key card; Bob, who receives), runs one ``veil``
command in a process of its own with ``VEIL_FAULT`` armed at one point (the process SIGKILLs
itself there: :mod:`desktop.core.common.faults`) or kills it after a random delay, then restarts
(``veil check``) and checks what a person, an auditor and an attacker would:

- no plaintext identity anywhere under either VEIL_HOME, the output folder or the temp dir;
- nothing left behind: no staging folder, no ``*.partial``, no ``.veil-partial-*``;
- every visible output accounted for: a package file or a de-identified folder exists exactly
  when the accounting of disclosures lists it (a partial folder is removed, not half kept);
- no worker process outlives the killed command;
- ``veil check`` and ``veil audit verify`` pass.

The trials and their outcome are summarised in docs/RELIABILITY.md.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest

from benchmarks.synthetic import write_series
from tests.conftest import pydicom_test_files

REPO = Path(__file__).resolve().parents[3]
NAME, PATIENT_ID = "Quisenberry^Marguerite", "QX4471902"
MARKERS = (b"quisenberry", b"qx4471902", b"marguerite")
BOB = "Bob Receiver"


def _env(root: Path, home: Path, fault: str = "") -> dict[str, str]:
    env = dict(os.environ, VEIL_HOME=str(home), VEIL_PASSPHRASE_FILE=str(root / "pass"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", HOME=str(root / "user"),
               TMPDIR=str(root / "tmp"), XDG_CACHE_HOME=str(root / "user" / ".cache"))
    env.pop("VEIL_FAULT", None)
    if fault:
        env["VEIL_FAULT"] = fault
    return env


def _veil(root: Path, home: Path, *args: str, fault: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop", *args], env=_env(root, home, fault), capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL, cwd=REPO)


def _ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Alice's and Bob's homes, a care package Alice made for Bob, a consent form, the sources."""
    root = tmp_path_factory.mktemp("crash-base")
    for name in ("user", "tmp"):
        (root / name).mkdir()
    (root / "pass").write_text("correct horse battery\n")
    paths = write_series(pydicom_test_files() / "CT_small.dcm", root / "src", 6, NAME, PATIENT_ID)
    write_series(pydicom_test_files() / "CT_small.dcm", root / "more", 40, "Quisenberry^Odalys", "QX4471902-B")
    (root / "form.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"signed by Marguerite Quisenberry QX4471902")
    alice, bob = root / "alice", root / "bob"
    _ok(_veil(root, bob, "keys", "set", "--name", BOB, "--institution", "City Clinic"))
    _ok(_veil(root, bob, "keys", "export-card", "-o", str(root / "bob.card")))
    _ok(_veil(root, alice, "import", str(root / "src")))
    _ok(_veil(root, alice, "contacts", "add", str(root / "bob.card"), "--name", BOB, "--verified"))
    _ok(_veil(root, alice, "consent", "add", "--site-wide", "--not-required", "Teaching policy",
              "--purpose", "teaching"))
    _ok(_veil(root, alice, "consent", "add", "--patient", PATIENT_ID, "--consent", "written", "--purpose", "care",
              "--colleague", BOB, "--obtained-by", "Dr Alice"))
    (root / "study").write_text(pydicom.dcmread(paths[0]).StudyInstanceUID)
    keys = [a for p in paths[:2] for a in ("--key", str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID))]
    _ok(_veil(root, alice, "case", "new", "--study", (root / "study").read_text(), "--title", "Pneumothorax",
              "--history", "Stab wound", "--diagnosis", "Pneumothorax", *keys))
    _ok(_veil(root, alice, *_export_args(root, root / "care.veil")))
    return root


def _export_args(root: Path, output: Path) -> list[str]:
    return ["export", "--study", (root / "study").read_text(), "--purpose", "care", "--recipient", BOB,
            "--profile", "identifiable", "--to", BOB, "-o", str(output)]


def _trial(prepared: Path, tmp_path: Path) -> Path:
    root = tmp_path / "t"
    shutil.copytree(prepared, root, symlinks=True)
    shutil.rmtree(root / "tmp")
    (root / "tmp").mkdir()
    return root


#: What each command writes, and where its output goes (relative to the trial's root).
COMMANDS = {
    "import": (lambda root: ["import", "--workers", "2", str(root / "more")], "alice", None),
    "deid": (lambda root: ["deid", "--study", (root / "study").read_text(), "--purpose", "teaching",
                           str(root / "out")], "alice", "out"),
    "deid-folder": (lambda root: ["deid", "--purpose", "teaching", "--workers", "2", str(root / "more"),
                                  str(root / "out")], "alice", "out"),
    "export": (lambda root: _export_args(root, root / "out.veil"), "alice", "out.veil"),
    "open": (lambda root: ["open", str(root / "care.veil")], "bob", None),
    "redact": (lambda root: ["redact", "--templates", str(root / "more"), str(root / "redacted")], "alice", None),
    "slides": (lambda root: ["slides", "--study", (root / "study").read_text(), "--purpose", "teaching",
                             str(root / "out")], "alice", "out"),
    "slides-zip": (lambda root: ["slides", "--study", (root / "study").read_text(), "--purpose", "teaching",
                                 "--zip", str(root / "out.zip")], "alice", "out.zip"),
    "case-deck": (lambda root: ["case", "export", "1", "--purpose", "teaching", "--pptx", str(root / "out.pptx")],
                  "alice", "out.pptx"),
    "case-slides": (lambda root: ["case", "export", "1", "--purpose", "teaching", "--slides", str(root / "out")],
                    "alice", "out"),
    "case-zip": (lambda root: ["case", "export", "1", "--purpose", "teaching", "--unencrypted",
                               str(root / "out.zip")], "alice", "out.zip"),
    "consent": (lambda root: ["consent", "add", "--patient", PATIENT_ID, "--consent", "written", "--purpose",
                              "publication", "--obtained-by", "Dr Alice", "--form", str(root / "form.png")],
                "alice", None),
}

#: (command, fault point): every step boundary where a crash could leave something behind.
POINTS = [
    ("import", "import.staged"), ("import", "import.committed"), ("import", "import.indexed"),
    ("deid", "deid.staged"), ("deid", "deid.renaming"), ("deid", "deid.renamed"), ("deid", "disclosure.stored"),
    ("export", "package.written-partial"), ("export", "share.written"), ("export", "disclosure.stored"),
    ("open", "open.member-staged"), ("open", "open.indexed"),
    ("slides", "slides.committed"), ("slides-zip", "slides.committed"), ("slides", "disclosure.stored"),
    ("consent", "consent.form-sealed"), ("consent", "consent.stored"),
    ("redact", "redact.written"), ("redact", "redact.written@20"),
    ("case-deck", "case.written"), ("case-deck", "disclosure.stored"), ("case-slides", "case.written"),
    ("case-slides", "disclosure.stored"), ("case-zip", "share.written"), ("case-zip", "disclosure.stored"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("command", "point"), POINTS, ids=[f"{c}-{p}" for c, p in POINTS])
def test_killed_at_a_step_boundary_then_restarted(prepared, tmp_path, command, point):
    root = _trial(prepared, tmp_path)
    args, home, _ = COMMANDS[command]
    done = _veil(root, root / home, *args(root), fault=point)
    assert done.returncode == -signal.SIGKILL, f"the fault point {point} was never reached:\n{done.stdout}{done.stderr}"
    _after_restart(root, command)


TRIALS = [(command, seed) for command in ("import", "deid", "deid-folder", "export", "open", "redact")
          for seed in range(2)] + [("case-deck", 0), ("case-slides", 0)]


@pytest.mark.slow
@pytest.mark.parametrize(("command", "seed"), TRIALS, ids=[f"{c}-{s}" for c, s in TRIALS])
def test_killed_at_a_random_moment_then_restarted(prepared, tmp_path, command, seed):
    """Only the main process is killed: its workers must go with it."""
    root = _trial(prepared, tmp_path)
    args, home, _ = COMMANDS[command]
    proc = subprocess.Popen([sys.executable, "-m", "desktop", *args(root)], env=_env(root, root / home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=REPO,
                            start_new_session=True)
    time.sleep(random.Random(f"{command}-{seed}").uniform(0.8, 4.0))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while _processes_of(root / home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _processes_of(root / home), "worker processes outlived the killed command"
    _after_restart(root, command)


def _processes_of(home: Path) -> list[int]:
    """Processes running with this VEIL_HOME (the killed command's workers, if any survived)."""
    wanted = f"VEIL_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _after_restart(root: Path, command: str) -> None:
    _, home, output = COMMANDS[command]
    checked = _veil(root, root / home, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Traceback" not in checked.stderr
    verified = _veil(root, root / home, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for other in ("alice", "bob"):
        _ok(_veil(root, root / other, "audit", "verify"))
    _no_plaintext(root, output)
    _nothing_left(root)
    if output is not None:
        _accounted(root, root / output, command)
    if command == "redact":  # identifiable by design, so not scanned for plaintext: whole or gone
        written = [p for p in (root / "redacted").rglob("*.dcm")] if (root / "redacted").exists() else []
        assert len(written) in (0, 40), f"{len(written)} of 40 redacted copies left by a killed run"


def _no_plaintext(root: Path, output: str | None) -> None:
    places = [root / "alice", root / "bob", root / "tmp"] + ([root / output] if output else [])
    for place in places:
        files = [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()] if place.exists() else []
        for path in files:
            data = path.read_bytes().lower()
            found = [m.decode() for m in MARKERS if m in data]
            assert not found, f"{path.relative_to(root)} holds {found} in clear"


def _nothing_left(root: Path) -> None:
    for home in ("alice", "bob"):
        left = [p.name for p in (root / home / "tmp").iterdir()] if (root / home / "tmp").exists() else []
        assert left == [], f"{home}'s temp folder still holds {left}"
    partial = [p for p in root.rglob("*") if p.name.endswith(".partial") or p.name.startswith(".veil-partial-")]
    assert partial == [], f"partial files left: {partial}"
    stray = [p for p in (root / "tmp").rglob("*") if p.is_file() and not p.parent.name.startswith("pymp-")]
    assert stray == [], f"files left in the temp dir: {stray}"


#: How many files a whole folder output of each command holds.
WHOLE = {"deid": 6, "deid-folder": 40, "slides": 6, "case-slides": 2}


def _accounted(root: Path, output: Path, command: str) -> None:
    """The output exists, whole, exactly when the accounting of disclosures lists it."""
    listed = _disclosed_destinations(root)
    if output.suffix in (".veil", ".zip", ".pptx"):
        assert output.exists() == (str(output) in listed), (output.exists(), listed)
    else:
        files = [p for p in output.rglob("*") if p.is_file()] if output.exists() else []
        assert bool(files) == (str(output) in listed), (len(files), listed)
        if files:  # whole, never half
            assert len(files) == WHOLE[command]


def _disclosed_destinations(root: Path) -> set[str]:
    script = ("from desktop.app.library.home import VeilHome\n"
              "home = VeilHome.open()\nconn = home.connect()\n"
              "print('\\n'.join(r[0] for r in conn.execute('SELECT destination FROM disclosures')))\n")
    done = subprocess.run([sys.executable, "-c", script], env=_env(root, root / "alice"), capture_output=True,
                          text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split("\n")) - {""}
