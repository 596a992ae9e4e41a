"""Header parsing and the framing checks, on real files and on hostile ones."""

from __future__ import annotations

import os
import struct

import pytest

from desktop.core.dicom.header import InvalidInstance, parse_header
from tests.conftest import pydicom_data_files, pydicom_test_files

TF = pydicom_test_files()


def read(name: str) -> bytes:
    path = TF / name
    if not path.exists():
        path = pydicom_data_files() / name
    return path.read_bytes()


def test_ct_small_gives_what_the_browser_needs():
    h = parse_header(read("CT_small.dcm"))
    assert h.patient_name == "CompressedSamples^CT1"
    assert h.patient_id == "1CT1"
    assert h.modality == "CT"
    assert h.study_uid.startswith("1.3.6.1.4.1.5962")
    assert (h.rows, h.columns, h.number_of_frames) == (128, 128, 1)
    assert h.photometric == "MONOCHROME2"
    assert h.transfer_syntax_uid == "1.2.840.10008.1.2.1"
    assert h.sop_class_uid == "1.2.840.10008.5.1.4.1.1.2"
    assert h.manufacturer == "GE MEDICAL SYSTEMS"
    assert h.has_pixel_data


@pytest.mark.parametrize("name, syntax", [
    ("MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"),
    ("MR_small_implicit.dcm", "1.2.840.10008.1.2"),
    ("image_dfl.dcm", "1.2.840.10008.1.2.1.99"),
    ("JPEG2000.dcm", "1.2.840.10008.1.2.4.91"),
    ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5"),
    ("SC_rgb_jpeg.dcm", "1.2.840.10008.1.2.4.50"),
    ("emri_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"),
])
def test_every_encoding_clinics_send_is_read(name, syntax):
    h = parse_header(read(name))
    assert h.transfer_syntax_uid == syntax
    assert h.has_pixel_data


def test_multiframe_and_colour_attributes():
    us = parse_header(read("US1_J2KR.dcm"))
    assert us.photometric.startswith(("RGB", "YBR"))
    assert us.samples_per_pixel == 3
    multi = parse_header(read("emri_small.dcm"))
    assert multi.number_of_frames == 10


def test_pixel_values_play_no_part_in_the_header_parse():
    """Only the Pixel Data's framing is read: random pixel bytes give the same header."""
    data = read("CT_small.dcm")
    at = data.find(b"\xe0\x7f\x10\x00")  # (7FE0,0010)
    length = int.from_bytes(data[at + 8 : at + 12], "little")
    noisy = data[: at + 12] + os.urandom(length) + data[at + 12 + length :]
    assert noisy != data and len(noisy) == len(data)
    assert parse_header(noisy) == parse_header(data)


def test_header_parse_stops_before_pixel_data(monkeypatch):
    """The Pixel Data value is never read by pydicom: only its framing is checked."""
    import pydicom

    seen = {}
    real = pydicom.dcmread

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(pydicom, "dcmread", spy)
    parse_header(read("CT_small.dcm"))
    assert seen.get("stop_before_pixels") is True


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file"),
    (b"\0" * 128 + b"DICM" + os.urandom(4000), "DICM"),
    (os.urandom(3000), "not a DICOM file"),
    (b"\x1f\x8b\x08" + os.urandom(100), "gzip"),
])
def test_junk_is_rejected_with_a_reason(data, reason):
    with pytest.raises(InvalidInstance, match=reason):
        parse_header(data)


def test_truncated_pixel_data_is_rejected():
    data = read("CT_small.dcm")
    with pytest.raises(InvalidInstance, match="truncated: Pixel Data"):
        parse_header(data[: len(data) // 2 + 3000])


def test_truncated_header_is_rejected():
    data = read("CT_small.dcm")
    with pytest.raises(InvalidInstance, match="truncated"):
        parse_header(data[:1500])


def test_a_declared_length_past_the_end_of_file_is_rejected():
    data = bytearray(read("CT_small.dcm"))
    at = data.find(b"\x10\x00\x10\x00PN")  # (0010,0010) Patient's Name, explicit VR LE
    data[at + 6 : at + 8] = struct.pack("<H", 0xFFF0)
    cut = bytes(data[: at + 8 + 200])
    with pytest.raises(InvalidInstance, match=r"declares 65520 bytes"):
        parse_header(cut)


def test_a_cut_in_the_elements_after_the_pixel_data_is_rejected():
    """CT_small.dcm carries a padding element after its Pixel Data; cutting into it is a
    truncated file too, though every byte of the image is there."""
    data = read("CT_small.dcm")
    with pytest.raises(InvalidInstance, match=r"truncated: element \(FFFC,FFFC\) declares"):
        parse_header(data[:-100])
    assert parse_header(data + b"\0\0").has_pixel_data  # a little zero padding is harmless


def test_encapsulated_pixel_data_without_delimiter_is_rejected():
    with pytest.raises(InvalidInstance, match="without its delimiter"):
        parse_header(read("emri_small_jpeg_2k_lossless_too_short.dcm"))


def test_messages_never_carry_the_patient_name():
    data = read("CT_small.dcm")
    for cut in (700, 1500, 3000, len(data) // 2):
        try:
            parse_header(data[:cut])
        except InvalidInstance as exc:
            assert "CompressedSamples" not in str(exc)
            assert "1CT1" not in str(exc)


def _nested_sequences(levels: int) -> bytes:
    """Undefined-length sequences nested ``levels`` deep (explicit VR little endian)."""
    open_ = (struct.pack("<HH", 0x0009, 0x1010) + b"SQ\0\0" + struct.pack("<I", 0xFFFFFFFF)
             + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF))
    close = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    return open_ * levels + close * levels


def test_deeply_nested_sequences_are_rejected_not_a_crash():
    data = read("CT_small.dcm")
    assert parse_header(data + _nested_sequences(10)).has_pixel_data  # plausible nesting is fine
    with pytest.raises(InvalidInstance, match="nested more than"):
        parse_header(data + _nested_sequences(5000))


def test_a_deflate_bomb_is_refused_before_it_is_inflated(monkeypatch):
    """A deflated file whose dataset inflates past the limit (here lowered to 1 MiB, with a
    real 64 MiB bomb) is rejected without ever inflating it whole."""
    import io

    import pydicom

    import desktop.core.dicom.header as header

    ds = pydicom.dcmread(TF / "image_dfl.dcm")
    ds.PixelData = bytes(64 << 20)  # 64 MiB of zeros
    ds.Rows, ds.Columns = 8192, 8192
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    data = out.getvalue()
    assert len(data) < 1 << 20  # the bomb is small on disk
    monkeypatch.setattr(header, "MAX_INFLATED", 1 << 20)
    with pytest.raises(InvalidInstance, match="deflate bomb"):
        parse_header(data)
    assert parse_header(read("image_dfl.dcm")).has_pixel_data  # a normal deflated file is fine
