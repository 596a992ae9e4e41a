"""The streaming ZIP writer and reader: standard tools read what Veil writes, Veil reads
standard ZIPs, and refuses inconsistent ones."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile

import pytest

from desktop.core.share.errors import PackageContentError, PackageTooLargeError, UnsafePackageError
from desktop.core.share.zip_reader import ZipStreamReader
from desktop.core.share.zip_writer import ZipStreamWriter

from .conftest import RawEntry, raw_zip

ENTRIES = {"manifest.json": b"{}\n", "DICOM/D000/IM000000": os.urandom(300_000),
           "previews/ü.png": b"", "README.txt": b"hello\n" * 1000}


def write(force_zip64: bool = False) -> bytes:
    out = io.BytesIO()
    archive = ZipStreamWriter(out, force_zip64=force_zip64)
    for name, data in ENTRIES.items():
        archive.add_bytes(name, data)
    archive.close()
    return out.getvalue()


def read_all(data: bytes, max_ratio: int = 100) -> dict[str, bytes]:
    reader = ZipStreamReader(io.BytesIO(data), max_ratio)
    out = {}
    while (entry := reader.next_entry()) is not None:
        out[entry.name] = b"".join(reader.read_data())
    reader.finish()
    return out


@pytest.mark.parametrize("force_zip64", [False, True])
def test_written_zip_reads_back_everywhere(force_zip64, tmp_path):
    data = write(force_zip64)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert {i.filename: archive.read(i) for i in archive.infolist()} == ENTRIES
    assert read_all(data) == ENTRIES
    if shutil.which("unzip"):
        (tmp_path / "a.zip").write_bytes(data)
        done = subprocess.run(["unzip", "-t", str(tmp_path / "a.zip")], capture_output=True)
        assert done.returncode == 0, done.stdout


def test_reader_accepts_stdlib_zips_stored_and_deflated():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", b"a" * 5000, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("b/c.bin", os.urandom(1000), compress_type=zipfile.ZIP_STORED)
    assert read_all(buffer.getvalue())["a.txt"] == b"a" * 5000


def test_changed_entry_is_caught_by_the_writer():
    archive = ZipStreamWriter(io.BytesIO())
    archive.start_entry("x", 3, 0)
    archive.write(b"abc")
    with pytest.raises(Exception, match="changed while it was being packaged"):
        archive.end_entry()


def test_bomb_by_ratio_is_refused_before_inflating():
    bomb = raw_zip([RawEntry("previews/zeros.bin", bytes(8 << 20), deflate=True)])
    with pytest.raises(PackageTooLargeError, match="zip bomb"):
        read_all(bomb)


def test_entry_inflating_past_its_declared_size_is_refused():
    liar = raw_zip([RawEntry("previews/z.bin", bytes(200_000), deflate=True, size=1000)])
    with pytest.raises(PackageTooLargeError, match="declared size"):
        read_all(liar)


@pytest.mark.parametrize("zip_bytes, error", [
    (raw_zip([RawEntry("a", b"data")], extra_central=[RawEntry("hidden", b"x")]),
     UnsafePackageError),
    (raw_zip([RawEntry("a", b"data")])[:-10], UnsafePackageError),
    (raw_zip([RawEntry("a", b"data")]) + b"trailing", UnsafePackageError),
    (b"PK\x05\x06" + bytes(18), UnsafePackageError),
])
def test_inconsistent_zips_are_refused(zip_bytes, error):
    with pytest.raises(error):
        read_all(zip_bytes)


def test_crc_mismatch_and_central_directory_lies():
    good = raw_zip([RawEntry("a", b"data")])
    corrupt = good.replace(b"data", b"dat4", 1)
    with pytest.raises(PackageContentError, match="CRC"):
        read_all(corrupt)
    central = good.rindex(b"PK\x01\x02")
    lying = good[:central + 24] + (9).to_bytes(4, "little") + good[central + 28:]  # size
    with pytest.raises(UnsafePackageError, match="central directory"):
        read_all(lying)
    streamed = bytearray(good)
    streamed[6] |= 0x08  # data-descriptor flag in the local header
    with pytest.raises(UnsafePackageError, match="streamed"):
        read_all(bytes(streamed))
