"""A compressed frame that claims to be far larger than its image is refused before any decoder
allocates for it (issue 15, red team: an 8 KB JPEG 2000 file whose codestream says 20000 x 20000
cost 2 GB in de-identification and redaction)."""

from __future__ import annotations

import struct

import pydicom
import pydicom.encaps
import pytest
from pydicom.data import get_testdata_file

from desktop.core.dicom.codestream_size import CodestreamTooLarge, check_frames, declared_size
from desktop.core.imaging.frames import DecodeError, decode_frame


@pytest.mark.parametrize(("name", "rows", "columns"), [
    ("JPEG2000.dcm", 1024, 256), ("SC_rgb_jpeg_dcmtk.dcm", 100, 100), ("JPEG-LL.dcm", 1024, 256),
    ("JPEGLSNearLossless_16.dcm", 50, 10), ("MR_small_jp2klossless.dcm", 64, 64)])
def test_the_size_a_real_codestream_declares_is_its_image_s(name, rows, columns):
    ds = pydicom.dcmread(get_testdata_file(name))
    frame = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=int(ds.get("NumberOfFrames") or 1)))
    assert declared_size(frame) == (rows, columns) == (ds.Rows, ds.Columns)
    check_frames(ds)  # no false alarm


def _j2k_bomb() -> pydicom.Dataset:
    ds = pydicom.dcmread(get_testdata_file("MR_small_jp2klossless.dcm"))
    frame = bytearray(next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1)))
    siz = frame.find(b"\xff\x4f\xff\x51")
    struct.pack_into(">II", frame, siz + 8, 20000, 20000)  # Xsiz, Ysiz: 20000 x 20000 samples
    ds.PixelData = pydicom.encaps.encapsulate([bytes(frame)])
    return ds


def test_a_frame_that_claims_20000_by_20000_is_refused_before_decoding(monkeypatch):
    ds = _j2k_bomb()
    with pytest.raises(CodestreamTooLarge, match="says it is 20000 x 20000, but the image is 64 x 64"):
        check_frames(ds)

    def never(*_args, **_kwargs):  # noqa: ANN202
        raise AssertionError("the decoder was handed the bomb")

    monkeypatch.setattr(pydicom.pixels, "pixel_array", never)
    with pytest.raises(DecodeError, match="compressed data says it is 20000 x 20000"):
        decode_frame(ds, 0)


def test_de_identification_refuses_the_bomb_with_its_reason(tmp_path):
    from desktop.core.deid.engine import PatientPlan, deidentify, make_settings
    from desktop.core.deid.profiles import preset

    path = tmp_path / "bomb.dcm"
    bomb = _j2k_bomb()
    bomb.BitsStored, bomb.HighBit = 12, 11  # so the engine decodes it to look above High Bit
    bomb.save_as(path)
    settings = make_settings(preset("teaching"), b"k" * 32, tmp_path / "cache")
    with pytest.raises(Exception, match="20000 x 20000"):
        deidentify(path.read_bytes(), settings, lambda _key: PatientPlan("TEACH-0001", -400))


def _jpeg_padded_bomb() -> bytes:
    """A JPEG whose frame header (20000 x 20000) comes after 128 KB of APP1 padding."""
    ds = pydicom.dcmread(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"))
    frame = bytearray(next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1)))
    sof = next(i for i in range(2, len(frame)) if frame[i] == 0xFF and frame[i + 1] in (0xC0, 0xC1, 0xC2))
    struct.pack_into(">HH", frame, sof + 5, 20000, 20000)
    padding = (b"\xff\xe1" + struct.pack(">H", 0xFFFF) + b"\0" * 0xFFFD) * 2
    return bytes(frame[:2]) + padding + bytes(frame[2:])


def _jp2_with_decoy() -> bytes:
    """A JP2 file: a small decoy SOC/SIZ (64 x 64) in an XML box, then the real codestream
    that claims 20000 x 20000."""
    ds = pydicom.dcmread(get_testdata_file("MR_small_jp2klossless.dcm"))
    code = bytearray(next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1)))
    decoy = bytes(code[:60])
    struct.pack_into(">II", code, 8, 20000, 20000)

    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body

    return (b"\x00\x00\x00\x0cjP  \r\n\x87\n" + box(b"ftyp", b"jp2 \0\0\0\0jp2 ") + box(b"xml ", decoy)
            + box(b"jp2c", bytes(code)))


@pytest.mark.parametrize("make", [_jpeg_padded_bomb, _jp2_with_decoy], ids=["jpeg-padded", "jp2-decoy"])
def test_padding_or_a_decoy_does_not_hide_the_size_a_frame_claims(make):
    assert declared_size(make()) == (20000, 20000)
