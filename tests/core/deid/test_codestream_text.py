"""Text planted inside compressed Pixel Data (PS3.5 A.4): JPEG COM / APPn segments (ISO/IEC
10918-1 B.2.4.5-6), the same in JPEG-LS (ISO/IEC 14495-1), JPEG 2000 COM in the main and
tile-part headers (ISO/IEC 15444-1 A.9.2, A.4.2), JP2 boxes (Annex I) and bytes after the end
marker. Real files from pydicom's test data, rebuilt with pydicom.encaps.encapsulate, must come
out without the text, with identical decoded pixels, even fragments and a consistent offset
table; clean files must give ``None``; malformed data must never raise."""

from __future__ import annotations

import copy
import io
import random
import struct
from pathlib import Path

import libjpeg
import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_fragments, generate_frames

from desktop.core.deid.codestream_text import StrippedPixelData, strip_codestream_text
from tests.conftest import pydicom_data_files, pydicom_test_files

pytestmark = pytest.mark.filterwarnings("ignore:Expected explicit VR")  # SC_rgb_jpeg.dcm's own header

NAME, MRN, BIRTH = b"Quisenberry", b"MRN44710093", b"19470312"
MARK = NAME + b" " + MRN
DELIMITER = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"

JPEG_FILES = ["SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_jpeg.dcm", "JPGLosslessP14SV1_1s_1f_8b.dcm", "JPEG-LL.dcm",
              "SC_rgb_jpeg_gdcm.dcm", "MR_small_jpeg_ls_lossless.dcm", "emri_small_jpeg_ls_lossless.dcm",
              "SC_rgb_jls_lossy_line.dcm", "JPEGLSNearLossless_16.dcm", "examples_ybr_color.dcm"]
J2K_FILES = ["MR_small_jp2klossless.dcm", "emri_small_jpeg_2k_lossless.dcm", "US1_J2KI.dcm",
             "693_J2KI.dcm", "SC_rgb_gdcm_KY.dcm", "MR2_J2KR.dcm"]


# -- helpers --------------------------------------------------------------------------------------
def _path(name: str) -> Path:
    here = pydicom_test_files() / name
    return here if here.exists() else pydicom_data_files() / name


def _load(name: str) -> tuple[Dataset, list[bytes]]:
    ds = pydicom.dcmread(_path(name))
    count = int(ds.get("NumberOfFrames", 1) or 1)
    return ds, list(generate_frames(ds.PixelData, number_of_frames=count))


def _element(frames: list[bytes], *, bot: bool = True, per_frame: int = 1, implicit: bool = False) -> bytes:
    value = encapsulate(frames, fragments_per_frame=per_frame, has_bot=bot)
    header = struct.pack("<HH", 0x7FE0, 0x0010) + (b"" if implicit else b"OB\x00\x00") + b"\xff\xff\xff\xff"
    return header + value + DELIMITER


def _value(element: bytes, implicit: bool = False) -> bytes:
    assert element.endswith(DELIMITER)
    return element[8 if implicit else 12:-8]


def _pixels(ds: Dataset, value: bytes) -> np.ndarray:
    view = copy.deepcopy(ds)
    view.PixelData = value
    return view.pixel_array


def _segment(code: int, payload: bytes) -> bytes:
    return bytes([0xFF, code]) + struct.pack(">H", len(payload) + 2) + payload


def _eoi(cs: bytes) -> int:
    return cs.rindex(b"\xff\xd9")


def _plant_jpeg(cs: bytes) -> bytes:
    """COM and APP1 Exif after SOI, COM (with fill bytes) before EOI, text after EOI."""
    end = _eoi(cs)
    exif = b"Exif\x00\x00MM\x00*" + NAME + b"\x00" + BIRTH
    return (cs[:2] + _segment(0xFE, MARK) + _segment(0xE1, exif) + cs[2:end]
            + b"\xff\xff" + _segment(0xFE, b"DOB " + BIRTH) + b"\xff\xd9" + b"tail " + MARK)


def _j2k_main_end(cs: bytes) -> int:
    pos = 2
    while cs[pos + 1] != 0x90:
        pos += 2 + struct.unpack_from(">H", cs, pos + 2)[0]
    return pos


def _plant_j2k(cs: bytes, psot_zero: bool = False) -> bytes:
    """COM in the main header after SIZ and in the first tile-part header (Psot fixed), text
    after EOC."""
    cs = cs[:_eoi(cs) + 2]
    siz_end = 4 + struct.unpack_from(">H", cs, 4)[0]
    cs = cs[:siz_end] + _segment(0x64, b"\x00\x01" + MARK) + cs[siz_end:]
    sot = _j2k_main_end(cs)
    com = _segment(0x64, b"\x00\x01" + NAME + b" " + BIRTH)
    psot = struct.unpack_from(">I", cs, sot + 6)[0]
    new_psot = 0 if psot_zero else psot + len(com)
    cs = cs[:sot + 6] + struct.pack(">I", new_psot) + cs[sot + 10:sot + 12] + com + cs[sot + 12:]
    return cs + MRN + b" after EOC"


def _assert_clean(result: StrippedPixelData | None) -> bytes:
    assert result is not None
    for text in (NAME, MRN, BIRTH, b"Exif"):
        assert text not in result.pixel_element
    value = _value(result.pixel_element)
    assert all(len(f) % 2 == 0 for f in generate_fragments(value))
    return value


# -- JPEG family ----------------------------------------------------------------------------------
@pytest.mark.parametrize("bot", [True, False])
@pytest.mark.parametrize("name", JPEG_FILES)
def test_jpeg_family_text_removed_pixels_identical(name: str, bot: bool) -> None:
    ds, frames = _load(name)
    planted = [_plant_jpeg(f) for f in frames]
    element = _element(planted, bot=bot)  # (libjpeg refuses a COM after a sequential scan)
    result = strip_codestream_text(element, implicit=False, little=True)
    value = _assert_clean(result)
    expected = {"JPEG COM": 2 * len(frames), "JPEG APP1": len(frames), "JPEG data after EOI": len(frames)}
    if name == "JPGLosslessP14SV1_1s_1f_8b.dcm":  # its own APP0 "LJIF" goes; its encoder's COM stays
        expected.update({"JPEG APP0": 1})
    assert result.removed == expected
    assert result.fragments_changed == len(frames)
    assert result.offset_table_recomputed is bot
    assert result.stale_attributes == ("ExtendedOffsetTable", "ExtendedOffsetTableLengths")
    new_frames = list(generate_frames(value, number_of_frames=len(frames)))
    assert len(new_frames) == len(frames)
    for new, old in zip(new_frames, frames):  # the codestream as it was before the plant
        if old.startswith(b"\xff\xd8\xff\xe0\x00\x0fLJIF"):  # its own APP0 goes too
            old = old[:2] + old[2 + 17:]
        assert new[:_eoi(new) + 2] == old[:_eoi(old) + 2]
    assert np.array_equal(_pixels(ds, value), ds.pixel_array)
    assert strip_codestream_text(result.pixel_element, False, True) is None  # nothing left


def test_colour_transform_segments_are_kept() -> None:
    """APP14 Adobe, APP0 JFIF, APP8 SPIFF + mrfx decide colour: kept, and the pixels agree."""
    for name, needed in [("SC_rgb_jpeg.dcm", b"\xff\xee\x00\x0cAdobe"), ("SC_rgb_jpeg_dcmtk.dcm", b"JFIF\x00"),
                         ("SC_rgb_jls_lossy_line.dcm", b"SPIFF\x00")]:
        ds, frames = _load(name)
        result = strip_codestream_text(_element([_plant_jpeg(f) for f in frames]), False, True)
        value = _assert_clean(result)
        assert needed in value
        assert np.array_equal(_pixels(ds, value), ds.pixel_array)
    ds, frames = _load("SC_rgb_jls_lossy_line.dcm")
    assert b"\xff\xe8\x00\x08\x00\x00\x00\x01\xff\xd8" in frames[0]  # SPIFF end of directory
    assert strip_codestream_text(_element(frames), False, True) is None


def test_other_app_segments_dropped() -> None:
    ds, frames = _load("MR_small_jpeg_ls_lossless.dcm")
    cs = frames[0]
    extra = b"".join(_segment(0xE0 + n, b"XMPx" + MARK) for n in (0, 2, 3, 7, 8, 9, 13, 14, 15))
    result = strip_codestream_text(_element([cs[:2] + extra + cs[2:]]), False, True)
    value = _assert_clean(result)
    assert sum(result.removed.values()) == 9 == result.segments
    assert np.array_equal(_pixels(ds, value), ds.pixel_array)


def test_progressive_jpeg_com_between_scans() -> None:
    """Segments after the first scan (ISO/IEC 10918-1 B.2.4, G.1) are found and dropped."""
    arr = (np.add.outer(np.arange(64), np.arange(96)) % 256).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.stack([arr, arr[::-1], 255 - arr], -1)).save(buffer, "JPEG", progressive=True)
    cs = buffer.getvalue()
    scans = [i for i in range(len(cs)) if cs.startswith(b"\xff\xda", i)]
    assert len(scans) > 3
    at = scans[2]
    planted = cs[:at] + _segment(0xFE, MARK) + _segment(0xE1, b"Exif\x00\x00" + BIRTH) + cs[at:]
    assert np.array_equal(libjpeg.decode(planted), libjpeg.decode(cs))
    result = strip_codestream_text(_element([planted, planted]), False, True)
    value = _assert_clean(result)
    assert result.removed == {"JPEG COM": 2, "JPEG APP1": 2}
    for frame in generate_frames(value, number_of_frames=2):
        assert frame.rstrip(b"\x00") == cs.rstrip(b"\x00")


# -- JPEG 2000 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("bot", [True, False])
@pytest.mark.parametrize("name", J2K_FILES)
def test_j2k_text_removed_pixels_identical(name: str, bot: bool) -> None:
    ds, frames = _load(name)
    planted = [_plant_j2k(f) for f in frames]
    element = _element(planted, bot=bot)
    assert np.array_equal(_pixels(ds, _value(element)), ds.pixel_array)

    result = strip_codestream_text(element, False, True)
    value = _assert_clean(result)
    # the real files' encoder banners ("Kakadu-2.2", "Created by GDCM/OpenJPEG version 2.0") stay;
    # a binary COM of their own (MR2_J2KR) goes with the planted ones
    own = strip_codestream_text(_element(frames, bot=bot), False, True)
    extra = own.removed.get("JPEG 2000 COM", 0) if own is not None else 0
    assert result.removed == {"JPEG 2000 COM": 2 * len(frames) + extra, "JPEG 2000 data after EOC": len(frames)}
    new_frames = list(generate_frames(value, number_of_frames=len(frames)))
    assert len(new_frames) == len(frames)
    for frame in new_frames:
        sot = _j2k_main_end(frame)
        psot = struct.unpack_from(">I", frame, sot + 6)[0]
        assert frame[sot + psot:sot + psot + 2] == b"\xff\xd9"  # Psot fixed
    assert np.array_equal(_pixels(ds, value), ds.pixel_array)
    assert strip_codestream_text(result.pixel_element, False, True) is None


def test_j2k_psot_zero_and_tlm() -> None:
    """Last tile-part with Psot 0 (A.4.2) runs to EOC; a TLM entry (A.7.1) is rewritten."""
    ds, frames = _load("MR_small_jp2klossless.dcm")
    planted = _plant_j2k(frames[0], psot_zero=True)
    result = strip_codestream_text(_element([planted]), False, True)
    value = _assert_clean(result)
    frame = next(generate_frames(value, number_of_frames=1))
    assert struct.unpack_from(">I", frame, _j2k_main_end(frame) + 6)[0] == 0
    assert np.array_equal(_pixels(ds, value), ds.pixel_array)

    planted = _plant_j2k(frames[0])
    sot = _j2k_main_end(planted)
    psot = struct.unpack_from(">I", planted, sot + 6)[0]
    tlm = _segment(0x55, b"\x00\x50\x00" + struct.pack(">I", psot))  # Ttlm 1 byte, Ptlm 32 bits
    planted = planted[:sot] + tlm + planted[sot:]
    assert np.array_equal(_pixels(ds, _value(_element([planted]))), ds.pixel_array)
    value = _assert_clean(strip_codestream_text(_element([planted]), False, True))
    frame = next(generate_frames(value, number_of_frames=1))
    at = frame.index(b"\xff\x55")
    sot = _j2k_main_end(frame)
    assert struct.unpack_from(">I", frame, at + 7)[0] == struct.unpack_from(">I", frame, sot + 6)[0]
    assert np.array_equal(_pixels(ds, value), ds.pixel_array)


def test_jp2_boxes() -> None:
    """Only 'jP  ', 'ftyp', 'jp2h', 'jp2c' stay (ISO/IEC 15444-1 Annex I); jp2c is cleaned."""
    ds, frames = _load("GDCMJ2K_TextGBR.dcm")
    jp2 = frames[0]
    pos, boxes = 0, {}
    while pos + 8 <= len(jp2):
        length, kind = struct.unpack_from(">I4s", jp2, pos)
        boxes[kind] = (pos, length)
        pos += length
    at, length = boxes[b"jp2c"]
    codestream = _plant_j2k(jp2[at + 8:at + length])
    xml = b"<patient>" + MARK + b"</patient>"
    planted = (jp2[:at] + struct.pack(">I4s", 8 + len(xml), b"xml ") + xml
               + struct.pack(">I4s", 8 + len(codestream), b"jp2c") + codestream)
    assert np.array_equal(_pixels(ds, _value(_element([planted]))), ds.pixel_array)
    result = strip_codestream_text(_element([planted]), False, True)
    value = _assert_clean(result)
    assert result.removed["JP2 xml box"] == 1 and result.removed["JP2 uuid box"] == 4
    assert np.array_equal(_pixels(ds, value), ds.pixel_array)
    frame = next(generate_frames(value, number_of_frames=1))
    pos, kinds = 0, []
    while pos + 8 <= len(frame):
        length, kind = struct.unpack_from(">I4s", frame, pos)
        kinds.append(kind)
        pos += length
    assert kinds == [b"jP  ", b"ftyp", b"jp2h", b"jp2c"] and frame[pos:] in (b"", b"\x00")

    for box in (struct.pack(">I4sQ", 1, b"jp2c", 16 + len(codestream)),  # XLBox (I.4)
                struct.pack(">I4s", 0, b"jp2c")):                         # to the end
        planted = jp2[:at] + box + codestream
        value = _assert_clean(strip_codestream_text(_element([planted]), False, True))
        frame = next(generate_frames(value, number_of_frames=1))
        if len(box) == 16:
            box_at = frame.index(b"\x00\x00\x00\x01jp2c")
            assert struct.unpack_from(">Q", frame, box_at + 8)[0] == len(frame.rstrip(b"\x00")) - box_at
        assert np.array_equal(_pixels(ds, value), ds.pixel_array)


# -- fragments, offset tables, encodings ----------------------------------------------------------
@pytest.mark.parametrize("name", ["emri_small_jpeg_ls_lossless.dcm", "emri_small_jpeg_2k_lossless.dcm", "JPEG-LL.dcm"])
@pytest.mark.parametrize("bot", [True, False])
def test_frames_over_several_fragments(name: str, bot: bool) -> None:
    """A frame over three fragments is cleaned whole and cut again at even offsets."""
    ds, frames = _load(name)
    plant = _plant_j2k if frames[0].startswith(b"\xff\x4f") else _plant_jpeg
    element = _element([plant(f) for f in frames], bot=bot, per_frame=3)
    result = strip_codestream_text(element, False, True)
    value = _assert_clean(result)
    assert result.fragments_changed == 3 * len(frames)
    assert result.offset_table_recomputed is bot
    fragments = list(generate_fragments(value))[1:]
    assert 2 * len(frames) < len(fragments) <= 3 * len(frames)
    new_frames = list(generate_frames(value, number_of_frames=len(frames)))
    assert len(new_frames) == len(frames)
    assert np.array_equal(_pixels(ds, value), ds.pixel_array)


def test_offset_table_points_at_frames() -> None:
    ds, frames = _load("emri_small_jpeg_ls_lossless.dcm")
    planted = list(frames)
    planted[3] = _plant_jpeg(planted[3])  # only frame 4 changes
    result = strip_codestream_text(_element(planted), False, True)
    value = _assert_clean(result)
    assert result.fragments_changed == 1 and result.offset_table_recomputed
    items = list(generate_fragments(value))
    offsets = struct.unpack(f"<{len(frames)}I", items[0])
    expected = np.cumsum([0] + [8 + len(f) for f in items[1:-1]]).tolist()
    assert list(offsets) == expected
    assert [f.rstrip(b"\x00") for f in generate_frames(value, number_of_frames=10)] == \
        [f.rstrip(b"\x00") for f in frames]
    assert np.array_equal(_pixels(ds, value), ds.pixel_array)


def test_implicit_and_memoryview() -> None:
    ds, frames = _load("SC_rgb_jpeg_dcmtk.dcm")
    planted = [_plant_jpeg(f) for f in frames]
    explicit = strip_codestream_text(_element(planted), False, True)
    implicit = strip_codestream_text(_element(planted, implicit=True), True, True)
    viewed = strip_codestream_text(memoryview(_element(planted)), False, True)
    assert explicit is not None and implicit is not None and viewed is not None
    assert implicit.pixel_element[:8] == b"\xe0\x7f\x10\x00\xff\xff\xff\xff"
    assert _value(implicit.pixel_element, implicit=True) == _value(explicit.pixel_element)
    assert viewed.pixel_element == explicit.pixel_element
    assert "JPEG COM" in explicit.describe() and NAME.decode() not in explicit.describe()


# -- clean files: None, and the byte-identical path ---------------------------------------------
@pytest.mark.parametrize("name", [n for n in JPEG_FILES if "MITRA" not in n and "P14" not in n] + [
    "JPEG-lossy.dcm", "color3d_jpeg_baseline.dcm", "SC_rgb_small_odd_jpeg.dcm",
                                               "OBXXXX1A_rle_2frame.dcm", "emri_small_RLE.dcm"])
def test_clean_files_give_none(name: str) -> None:
    ds = pydicom.dcmread(_path(name))
    element = b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff" + ds.PixelData + DELIMITER
    assert strip_codestream_text(element, False, True) is None


def test_not_encapsulated_gives_none() -> None:
    native = b"\xe0\x7f\x10\x00OW\x00\x00" + struct.pack("<I", 8) + MARK[:8]
    assert strip_codestream_text(native, False, True) is None
    assert strip_codestream_text(b"\xe0\x7f\x10\x00" + struct.pack("<I", 8) + MARK[:8], True, True) is None
    assert strip_codestream_text(b"", False, True) is None
    assert strip_codestream_text(b"\x10\x00\x10\x00OB\x00\x00\xff\xff\xff\xff" + DELIMITER, False, True) is None


# -- hostile data ---------------------------------------------------------------------------------
def _frame_element(*fragments: bytes) -> bytes:
    items = b"".join(struct.pack("<HHI", 0xFFFE, 0xE000, len(f)) + f for f in (b"", *fragments))
    return b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff" + items + DELIMITER


def test_malformed_codestreams_left_alone() -> None:
    com = _segment(0xFE, MARK)
    cases = [
        b"\xff\xd8" + com[:3] + b"\x99\x99" + MARK,                 # COM length past the fragment
        b"\xff\xd8" + com + b"\xff\xc0\x00",                         # truncated segment length
        b"\xff\xd8" + com + _segment(0xC4, b"\x00" * 10) + b"\x00\x00",  # no SOS, no EOI
        b"\xff\xd8" + com + _segment(0xDA, b"\x01\x00") + b"\x12\x34" * 8,  # scan without EOI
        b"\xff\xd8" + com + b"\xff" * 64,                            # fill to the end
        b"\xff\xd8" + b"\xff\x01" * 8 + com[:1],                     # standalone markers, cut
        b"\xff\x4f\xff\x51\x00\x05\x00" + MARK,                      # SIZ past the end
        b"\xff\x4f\xff\x51\x00\x04\x00\x00" + com.replace(b"\xfe", b"\x64", 1) + b"\xff\x90\x00\x0a"
        + b"\x00\x00\xff\xff\xff\xff\x00\x01" + b"\x00" * 8,         # Psot past the end
        b"\x00\x00\x00\x0cjP  \r\n\x87\n\xff\xff\xff\xf0xml " + MARK,  # box past the end
        b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x01jp2c" + MARK,  # XLBox cut
    ]
    for case in cases:
        fragment = case + b"\x00" * (len(case) % 2)
        assert strip_codestream_text(_frame_element(fragment), False, True) is None


def test_bad_items_and_offset_tables_give_none() -> None:
    ds, frames = _load("emri_small_jpeg_ls_lossless.dcm")
    element = _element([_plant_jpeg(f) for f in frames])
    assert strip_codestream_text(element[:-8], False, True) is None             # no delimiter
    assert strip_codestream_text(element[:-9] + DELIMITER, False, True) is None  # item past the end
    broken_bot = element[:20] + struct.pack("<I", 2) + element[24:]             # entry 0 not 0
    assert strip_codestream_text(broken_bot, False, True) is None
    broken_bot = element[:24] + struct.pack("<I", 7) + element[28:]             # between items
    assert strip_codestream_text(broken_bot, False, True) is None


def test_hostile_sizes_are_bounded() -> None:
    """Millions of tiny segments or tile-parts: the step budget gives up (its speed is measured in
    benchmarks, never asserted here)."""
    tile_part = b"\xff\x90\x00\x0a\x00\x00" + struct.pack(">I", 18) + b"\x00\x01\xff\x64\x00\x02\xff\x93"
    for fragment in (b"\xff\xd8" + b"\xff\xfe\x00\x02" * 1_000_000 + b"\xff\xd9",
                     b"\xff\xd8" + b"\xff\xda\x00\x02\xff\xc4\x00\x02" * 500_000 + b"\xff\xd9",
                     b"\xff\x4f\xff\x51\x00\x29" + b"\x00" * 39 + tile_part * 200_000 + b"\xff\xd9"):
        assert strip_codestream_text(_frame_element(fragment), False, True) is None
    fill = b"\xff\xd8" + b"\xff" * 1_000_000 + b"\xfe\x00\x06" + MRN[:4] + b"\xff\xd9"
    assert _assert_clean(strip_codestream_text(_frame_element(fill), False, True)) is not None


def test_random_damage_never_raises() -> None:
    rng = random.Random(20240521)
    sources = []
    for name, plant in [("emri_small_jpeg_ls_lossless.dcm", _plant_jpeg), ("SC_rgb_jpeg.dcm", _plant_jpeg),
                        ("MR_small_jp2klossless.dcm", _plant_j2k)]:
        _, frames = _load(name)
        sources.append(_element([plant(f) for f in frames[:3]], per_frame=rng.choice([1, 2])))
    for _ in range(600):
        data = bytearray(rng.choice(sources))
        how = rng.randrange(4)
        if how == 0:
            data = data[:rng.randrange(len(data))]
        elif how == 1:
            for _ in range(rng.randrange(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == 2:
            at = rng.randrange(12, len(data))
            data[at:at] = bytes([0xFF, rng.choice([0xFE, 0xE1, 0x64, 0x90, 0xD9, 0xDA])])
        else:
            at = rng.randrange(12, len(data) - 4)
            data[at:at + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\xff\xd9\xff\xd8"])
        result = strip_codestream_text(bytes(data), False, True)
        if result is not None and result.pixel_element.endswith(DELIMITER):  # (bytes after it stay)
            assert all(len(f) % 2 == 0 for f in generate_fragments(_value(result.pixel_element)))


def test_an_encoders_own_banner_stays_and_anything_added_to_it_goes() -> None:
    ds, frames = _load("JPEG2000.dcm")  # Kakadu-2.2 in its main header
    assert strip_codestream_text(_element(frames), False, True) is None  # byte for byte
    com = b"Kakadu-2.2 for Quisenberry"
    frame = frames[0]
    assert frame[:4] == b"\xff\x4f\xff\x51"
    siz_end = 4 + struct.unpack_from(">H", frame, 4)[0]  # after SOC and SIZ
    planted = frame[:siz_end] + b"\xff\x64" + struct.pack(">HH", len(com) + 4, 1) + com + frame[siz_end:]
    result = strip_codestream_text(_element([planted]), False, True)
    assert result is not None and result.removed == {"JPEG 2000 COM": 1}
    assert b"Quisenberry" not in result.pixel_element and b"Kakadu-2.2" in result.pixel_element
