"""Open Package never writes the patient in clear, and never expands an archive inside a package
(issue 15): each image is verified in memory and staged sealed; DICOMDIR and README are not
kept; a ZIP stored in a validly signed package is named and left out, never inflated."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pydicom
import pytest

from desktop.app.keys.identity import my_card, my_identity
from desktop.app.library.home import VeilHome
from desktop.app.share.receiving import open_received
from desktop.core.share.manifest import PackageDetails
from desktop.core.share.member_names import dicom_member_name
from desktop.core.share.writer import write_package
from tests.conftest import pydicom_test_files, write_series

MARKERS = (b"quisenberry", b"qx4471902")
DETAILS = PackageDetails("care", {"basis": "consent", "record": "C-1"}, {"profile": "identifiable"}, {})


@pytest.fixture
def homes(tmp_path):
    return VeilHome.open(tmp_path / "alice"), VeilHome.open(tmp_path / "bob")


def _package(tmp_path: Path, alice: VeilHome, bob: VeilHome, extra: list[tuple[str, Path]] = ()) -> Path:
    files = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "src", 3, "Quisenberry^Marguerite",
                         "QX4471902")
    members = [(dicom_member_name(n), path) for n, path in enumerate(files)] + list(extra)
    out = tmp_path / "care.veil"
    write_package(out, members, DETAILS, my_identity(alice), my_card(alice), recipients=[my_card(bob)])
    return out


def _clear_copies(*places: Path) -> list[str]:
    found = []
    for place in places:
        for path in (p for p in place.rglob("*") if p.is_file()):
            data = path.read_bytes().lower()
            if any(m in data for m in MARKERS):
                found.append(str(path))
    return found


def test_opening_writes_nothing_identifiable_in_clear(homes, tmp_path, monkeypatch):
    alice, bob = homes
    package = _package(tmp_path, alice, bob)
    temp = tmp_path / "systemp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    written: list[str] = []
    real_open = open

    def watching_open(file, mode="r", *args, **kwargs):  # noqa: ANN001, ANN202
        if any(flag in mode for flag in "wax+"):
            written.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", watching_open)
    received = open_received(bob, package)
    monkeypatch.setattr("builtins.open", real_open)
    assert received.imported.imported == 3
    assert _clear_copies(bob.path, temp) == []
    inside = [Path(w).relative_to(tmp_path) for w in written if Path(w).is_relative_to(tmp_path)]
    assert not [w for w in inside if any(part.startswith("open-") for part in w.parts)
                or w.name in ("DICOMDIR", "README.txt")]
    assert all(w.parts[:2] == ("bob", "tmp") for w in inside)  # only sealed temps of the object store
    assert [p.name for p in (bob.path / "tmp").iterdir()] == []


def test_an_archive_inside_a_signed_package_is_named_and_never_opened(homes, tmp_path, monkeypatch):
    alice, bob = homes
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.bin", b"\0" * (8 << 20))  # 8 MB of zeros in a few KB
    nested = tmp_path / "nested.zip"
    nested.write_bytes(inner.getvalue())
    # Veil's writer refuses a member that is not DICOM; an attacker signs with their own key and
    # writes what they like. Let the writer take the ZIP as if it were an image.
    from desktop.core.share import scan

    real_header = scan.read_header
    header = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm", stop_before_pixels=True)
    monkeypatch.setattr(scan, "read_header", lambda name, reader, first: header if name.endswith("99")
                        else real_header(name, reader, first))
    package = _package(tmp_path, alice, bob, [(dicom_member_name(99), nested)])
    monkeypatch.setattr(scan, "read_header", real_header)
    inflated: list[str] = []

    def never(self, name, *args, **kwargs):  # noqa: ANN001, ANN202
        inflated.append(str(name))
        raise AssertionError("an archive inside a package was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", never)
    received = open_received(bob, package)
    assert received.imported.imported == 3
    reasons = [r.reason for r in received.imported.rejected]
    assert len(reasons) == 1 and "ZIP archive inside the package" in reasons[0] and "never opens" in reasons[0]
    assert inflated == []


def test_a_tampered_member_leaves_no_sealed_temp_and_imports_nothing(homes, tmp_path):
    alice, bob = homes
    package = _package(tmp_path, alice, bob)
    data = bytearray(package.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside an age chunk: authentication fails mid-stream
    package.write_bytes(bytes(data))
    with pytest.raises(Exception) as caught:
        open_received(bob, package)
    assert "Traceback" not in str(caught.value)
    assert [p.name for p in (bob.path / "tmp").iterdir()] == []
    conn = bob.connect()
    try:
        assert conn.execute("SELECT count(*) FROM instances").fetchone()[0] == 0
    finally:
        conn.close()


def test_a_member_too_large_to_hold_in_memory_is_refused_before_reading(homes, tmp_path, monkeypatch):
    from desktop.core.share import reader

    alice, bob = homes
    package = _package(tmp_path, alice, bob)
    limits = reader.OpenLimits(max_member_bytes=1000)
    with pytest.raises(reader.PackageTooLargeError, match="more than one image may be"):
        reader.open_package(package, identities=[my_identity(bob)], limits=limits, keep=lambda *_: None)


def test_a_package_whose_receipt_was_lost_is_accounted_when_opened_again(homes, tmp_path):
    """A first open that filled the disk after the images went in recorded no receipt; opening
    the package again records it (once), though no image is new."""
    alice, bob = homes
    package = _package(tmp_path, alice, bob)
    open_received(bob, package)
    conn = bob.connect()
    try:
        conn.execute("DELETE FROM disclosure_items")
        conn.execute("DELETE FROM disclosures")  # as if the first open never got to it
    finally:
        conn.close()
    again = open_received(bob, package)
    assert again.imported.imported == 0
    open_received(bob, package)
    conn = bob.connect()
    try:
        rows = conn.execute("SELECT kind FROM disclosures").fetchall()
        items = conn.execute("SELECT instances FROM disclosure_items").fetchall()
    finally:
        conn.close()
    assert rows == [("share.received",)] and sum(n for (n,) in items) == 3
