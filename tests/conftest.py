"""Shared fixtures: an in-memory keyring (never the user's), a fresh VEIL_HOME, real DICOM."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import keyring
import keyring.backend
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring backend that lives only in this process."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    """Every test gets its own empty keyring; no test touches the real one."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    monkeypatch.delenv("VEIL_PASSPHRASE_FILE", raising=False)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def veil_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty VEIL_HOME for this test (set in the environment too)."""
    home = tmp_path / "veil-home"
    monkeypatch.setenv("VEIL_HOME", str(home))
    return home


#: The passphrase of every test home that asks for one, and of the CLI's passphrase file.
PASSPHRASE = "correct horse battery"


@pytest.fixture
def home(veil_home: Path):  # noqa: ANN201 - a VeilHome, imported when used
    """A new, empty, opened Veil home at ``veil_home`` (the in-memory keyring holds its key)."""
    from desktop.app.library.home import VeilHome

    return VeilHome.open(veil_home)


@pytest.fixture
def passphrase_home(veil_home: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - VeilHome
    """An opened Veil home whose key is sealed by :data:`PASSPHRASE`, no keyring at all (so
    unlocking it asks for the passphrase)."""
    from desktop.app.library.home import VeilHome
    from desktop.core.keys import keystore

    monkeypatch.setattr(keystore, "keyring_available", lambda: False)
    return VeilHome.open(veil_home, prompt=lambda _creating: PASSPHRASE)


def instance_count(home) -> int:  # noqa: ANN001 - a VeilHome
    """How many images the library of ``home`` holds."""
    conn = home.connect()
    try:
        return int(conn.execute("SELECT COUNT(*) FROM instances").fetchone()[0])
    finally:
        conn.close()


def pydicom_test_files() -> Path:
    import pydicom

    return Path(pydicom.__file__).parent / "data" / "test_files"


def pydicom_data_files() -> Path:
    import data_store

    return Path(data_store.__file__).parent / "data"


@pytest.fixture
def veil_cli(tmp_path: Path):
    """Run ``veil ARGS`` as a script or CI does, in a process of its own: its own VEIL_HOME,
    HOME and TMPDIR (so every file it leaves anywhere can be looked at), the passphrase from
    VEIL_PASSPHRASE_FILE, no keyring, no terminal."""
    import subprocess
    import sys

    for name in ("home", "user", "tmp"):
        (tmp_path / name).mkdir()
    passfile = tmp_path / "pass"
    passfile.write_text(PASSPHRASE + "\n")
    env = dict(os.environ, VEIL_HOME=str(tmp_path / "home"), VEIL_PASSPHRASE_FILE=str(passfile),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", HOME=str(tmp_path / "user"),
               TMPDIR=str(tmp_path / "tmp"), XDG_CACHE_HOME=str(tmp_path / "user" / ".cache"))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "desktop", *args], env=env, capture_output=True, text=True,
                              timeout=300, stdin=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1])

    run.env = env  # type: ignore[attr-defined] - for a command a test starts in the background
    return run


@pytest.fixture
def few_dicoms(tmp_path: Path) -> Path:
    """A folder with a handful of real, small DICOM files (CT, MR, US, RGB) in sub-folders."""
    folder = tmp_path / "incoming"
    src = pydicom_test_files()
    for sub, name in [("ct", "CT_small.dcm"), ("mr", "MR_small.dcm"), ("us", "US1_J2KR.dcm"),
                      ("rgb", "SC_rgb_small_odd.dcm"), ("mono1", "MR-SIEMENS-DICOM-WithOverlays.dcm")]:
        path = src / name
        if not path.exists():
            path = pydicom_data_files() / name
        (folder / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / sub / name)
    return folder


# The synthetic-series generator is shared with the benchmarks.
import sys as _sys  # noqa: E402

_sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.synthetic import write_series  # noqa: E402,F401


def teaching(home):  # noqa: ANN001, ANN201 - VeilHome -> ExportPurpose
    """The purpose of a de-identified teaching export, allowed in ``home`` by a site-wide
    "not required" policy (recorded once): what a site that de-identifies its teaching files
    under a written policy records (issue 6)."""
    from datetime import date

    from desktop.app.consent.consenting import add_consent, consents_of
    from desktop.app.consent.export_consent import ExportPurpose
    from desktop.core.consent import EVERY_PATIENT, Basis, ConsentRecord, Purpose, Scope

    policy = "Teaching files, de-identified (test policy)"
    if not any(r.policy == policy for r in consents_of(home)):
        add_consent(home, ConsentRecord(basis=Basis.NOT_REQUIRED, scope=Scope(EVERY_PATIENT),
                                        purposes=frozenset({Purpose.TEACHING}), obtained_on=date(2020, 1, 1),
                                        recorded_by="tests", policy=policy))
    return ExportPurpose(Purpose.TEACHING, "Teaching file")


#: The longest single tests (the bundle's build and run, about 90 s on one worker): started first,
#: so that the other worker's share of the suite runs beside them instead of one worker finishing
#: the run alone on them (pytest-xdist hands tests out in collection order).
LONGEST_FIRST = ("tests/packaging/test_bundle.py",)


def pytest_collection_modifyitems(config, items):  # noqa: ANN001, ANN201, ARG001 - pytest's hook
    items.sort(key=lambda item: 0 if item.nodeid.startswith(LONGEST_FIRST) else 1)  # stable
