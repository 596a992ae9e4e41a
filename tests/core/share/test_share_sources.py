"""Packages from sources that are not plaintext files: sealed objects, given hashes, streams."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import zlib
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from desktop.core.common.errors import Cancelled
from desktop.core.library.object_store import ObjectStore
from desktop.core.share.errors import ExportError, PackageContentError
from desktop.core.share.reader import open_package
from desktop.core.share.scan import BUFFER
from desktop.core.share.sources import ChunkReader, ChunkSource, PathSource, StreamSource
from desktop.core.share.writer import write_package


@pytest.fixture
def store(tmp_path) -> ObjectStore:
    return ObjectStore(tmp_path / "objects", tmp_path / "store-tmp", os.urandom(32),
                       os.urandom(32))


def _seal(store: ObjectStore, name: str, data: bytes, *, crc: bool = False) -> ChunkSource:
    sha = hashlib.sha256(data).hexdigest()
    store.put_bytes(data, sha)
    return ChunkSource(name, len(data), lambda: store.iter_chunks(sha), sha256=sha,
                       crc32=zlib.crc32(data) if crc else None)


def _stream(store: ObjectStore, name: str, data: bytes) -> StreamSource:
    """A sealed object as the app gives it: both hashes, a stream, and a peek."""
    sha = hashlib.sha256(data).hexdigest()
    store.put_bytes(data, sha)
    return StreamSource(name, len(data), lambda: store.open(sha), sha256=sha,
                        crc32=zlib.crc32(data), peek=lambda size: store.peek(sha, size))


class Counting:
    """A source that counts how often it is opened and the bytes read from it."""

    def __init__(self, inner: ChunkSource | PathSource | StreamSource) -> None:
        self.inner, self.read_bytes, self.opens, self.peeked = inner, 0, 0, 0
        self.name, self.sha256, self.crc32 = inner.name, inner.sha256, inner.crc32

    def peek(self, size: int) -> bytes | None:
        peeked = getattr(self.inner, "peek", lambda size: None)(size)
        self.peeked += len(peeked or b"")
        return peeked

    @property
    def size(self) -> int:
        return self.inner.size

    def open(self) -> io.RawIOBase:
        self.opens += 1
        stream, counter = self.inner.open(), self

        class Stream(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def read(self, size: int = -1) -> bytes:
                data = stream.read(size)
                counter.read_bytes += len(data)
                return data

            def close(self) -> None:
                stream.close()
                super().close()

        return Stream()


def _big_dicom(tmp_path: Path, frames: int) -> bytes:
    """A multi-frame ultrasound of a few MB (its pixel data after a short header)."""
    ds = pydicom.dcmread(get_testdata_file("US1_UNCR.dcm"))
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.NumberOfFrames, ds.FrameIncrementPointer, ds.FrameTime = frames, 0x00181063, 40
    ds.PixelData = ds.PixelData * frames
    path = tmp_path / "big.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path.read_bytes()


def test_sealed_sources_round_trip(tmp_path, store, alice, bob, dicom_files, details):
    originals = {name: path.read_bytes() for name, path in dicom_files}
    preview = os.urandom(3 * BUFFER + 5)
    sources = [_seal(store, name, data) for name, data in originals.items()]
    sources.append(_seal(store, "previews/p.bin", preview))
    out = tmp_path / "sealed.veil"
    written = write_package(out, sources, details, alice.identity, alice.card,
                            recipients=[bob.card])
    opened = open_package(out, tmp_path / "stage", identities=[bob.identity])
    for name, data in [*originals.items(), ("previews/p.bin", preview)]:
        assert opened.files[name].read_bytes() == data
    assert len(pydicom.dcmread(opened.files["DICOMDIR"]).DirectoryRecordSequence) >= 3
    listed = {r.path: r.sha256 for r in written.manifest.files}
    assert listed["previews/p.bin"] == hashlib.sha256(preview).hexdigest()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_given_hashes_spare_the_first_pass(tmp_path, store, alice, bob, details):
    dicom = _big_dicom(tmp_path, 60)  # several MB
    assert len(dicom) > 3 * BUFFER
    preview = os.urandom(2 * BUFFER)
    sources = [Counting(_seal(store, "DICOM/IM1", dicom, crc=True)),
               Counting(_seal(store, "previews/p.bin", preview, crc=True)),
               Counting(_seal(store, "DICOM/IM2", _big_dicom(tmp_path, 2)))]
    write_package(tmp_path / "a.veil", sources, details, alice.identity, alice.card,
                  recipients=[bob.card])
    image, picture, hashed = sources
    assert image.read_bytes <= len(dicom) + BUFFER  # pass 1 read the header's block only
    assert (picture.opens, picture.read_bytes) == (1, len(preview))  # pass 2 only
    assert hashed.opens == 2 and hashed.read_bytes == 2 * hashed.size  # CRC-32 computed
    assert open_package(tmp_path / "a.veil", tmp_path / "stage", identities=[bob.identity])


def test_a_peeked_header_spares_reading_the_first_chunk(tmp_path, store, alice, bob, details,
                                                        dicom_files):
    dicom = _big_dicom(tmp_path, 60)
    sources = [Counting(_stream(store, "DICOM/IM1", dicom))]
    sources += [Counting(_stream(store, name, path.read_bytes())) for name, path in dicom_files]
    written = write_package(tmp_path / "a.veil", sources, details, alice.identity, alice.card,
                            recipients=[bob.card])
    for source in sources:  # pass 1 peeked at 16 KiB at most; pass 2 read it once, whole
        assert 0 < source.peeked <= 16 << 10
        assert (source.opens, source.read_bytes) == (1, source.size)
    opened = open_package(tmp_path / "a.veil", tmp_path / "stage", identities=[bob.identity])
    assert opened.files["DICOM/IM1"].read_bytes() == dicom
    records = pydicom.dcmread(opened.files["DICOMDIR"]).DirectoryRecordSequence
    assert {r.ReferencedSOPInstanceUIDInFile for r in records
            if "ReferencedSOPInstanceUIDInFile" in r} == {
        pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID
        for name, f in opened.files.items() if name.startswith("DICOM/")}
    assert written.manifest.files


def test_a_header_that_differs_from_what_was_peeked_fails_the_export(tmp_path, store, alice,
                                                                       bob, dicom_files,
                                                                       details):
    """Pass 1 reads the header unauthenticated; pass 2 must stream exactly those bytes."""
    name, path = dicom_files[0]
    data = path.read_bytes()
    real = _stream(store, name, data)
    other = bytearray(data)
    other[200] ^= 1  # what a changed or forged first chunk would have shown pass 1
    forged = StreamSource(name, real.size, real.open, sha256=real.sha256, crc32=real.crc32,
                          peek=lambda size: bytes(other[:size]))
    with pytest.raises(ExportError, match="changed while it was being packaged"):
        write_package(tmp_path / "a.veil", [forged], details, alice.identity, alice.card,
                      recipients=[bob.card])
    assert list(tmp_path.glob("*.veil*")) == []


def test_a_wrong_given_hash_makes_a_package_every_reader_refuses(tmp_path, alice, bob,
                                                                  dicom_files, details):
    name, path = dicom_files[0]
    wrong = PathSource(name, path, sha256="0" * 64)
    write_package(tmp_path / "a.veil", [wrong], details, alice.identity, alice.card,
                  recipients=[bob.card])
    with pytest.raises(PackageContentError, match="does not match its SHA-256"):
        open_package(tmp_path / "a.veil", tmp_path / "stage", identities=[bob.identity])


def test_a_source_shorter_or_longer_than_it_says_fails(tmp_path, store, alice, bob,
                                                       dicom_files, details):
    name, path = dicom_files[0]
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    store.put_bytes(data, sha)
    for size in (len(data) - 1, len(data) + 1):
        for crc in (None, zlib.crc32(data)):  # caught in pass 1, or in pass 2
            source = ChunkSource(name, size, lambda: store.iter_chunks(sha), sha256=sha,
                                 crc32=crc)
            with pytest.raises(ExportError, match="changed while it was being packaged"):
                write_package(tmp_path / "a.veil", [source], details, alice.identity,
                              alice.card, recipients=[bob.card])
            assert list(tmp_path.glob("*.veil*")) == []


def test_a_tampered_sealed_object_fails_without_naming_a_path(tmp_path, store, alice, bob,
                                                              dicom_files, details):
    name, path = dicom_files[0]
    source = _seal(store, name, path.read_bytes())
    sealed = store.path_for(source.sha256)
    sealed.chmod(0o600)
    blob = bytearray(sealed.read_bytes())
    blob[-5] ^= 1
    sealed.write_bytes(bytes(blob))
    with pytest.raises(ExportError, match=f"source of {name} cannot be read") as caught:
        write_package(tmp_path / "a.veil", [source], details, alice.identity, alice.card,
                      recipients=[bob.card])
    assert str(tmp_path) not in str(caught.value)
    assert list(tmp_path.glob("*.veil*")) == []


def test_a_missing_file_is_reported_by_its_member_name(tmp_path, alice, bob, details):
    source = PathSource("DICOM/IM1", tmp_path / "Doe^John" / "x.dcm")
    with pytest.raises(ExportError, match="source of DICOM/IM1 cannot be read") as caught:
        write_package(tmp_path / "a.veil", [source], details, alice.identity, alice.card,
                      recipients=[bob.card])
    assert "Doe^John" not in str(caught.value)


def test_chunk_reader_serves_any_read_size_and_closes_its_iterator():
    closed = []

    def chunks():
        try:
            yield b"abc"
            yield b""
            yield b"defgh"
        finally:
            closed.append(True)

    reader = ChunkReader(chunks())
    assert [reader.read(2), reader.read(5), reader.read(3), reader.read(9)] == [
        b"ab", b"c", b"def", b"gh"]
    assert reader.read(1) == b""
    reader.close()
    assert closed == [True]
    whole = ChunkReader(iter([b"x" * 10, b"y"]))
    first = whole.read(100)
    assert first == b"x" * 10 and whole.read() == b"y"


@pytest.mark.parametrize("stop_after", [1, 3, 6])  # in pass 1, early and late in pass 2
def test_no_thread_outlives_a_cancelled_export(tmp_path, store, alice, bob, dicom_files,
                                                details, stop_after):
    sources = [_seal(store, name, path.read_bytes()) for name, path in dicom_files]
    sources.append(_seal(store, "previews/p.bin", os.urandom(6 * BUFFER)))
    calls = []
    with pytest.raises(Cancelled):
        write_package(tmp_path / "a.veil", sources, details, alice.identity, alice.card,
                      recipients=[bob.card],
                      cancelled=lambda: calls.append(1) or len(calls) >= stop_after)
    assert [t.name for t in threading.enumerate() if t.name.startswith("veil-")] == []
    assert list(tmp_path.glob("*.veil*")) == []
