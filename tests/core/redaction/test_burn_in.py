"""The burn-in on every decodable image of pydicom's test files and pydicom-data: masked pixels
take the darkest displayable value, every other pixel decodes exactly as before, and the new
instance's pixel attributes, transfer syntax and compression history agree with its pixels.
Each result is written with ``dcmwrite`` and read back by pydicom before it is checked. An image
pydicom cannot decode is refused with a :class:`BurnInError` saying why."""

from __future__ import annotations

import copy
import io
import tracemalloc
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pydicom
import pydicom.pixels
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from desktop.core.imaging.display import display_params, render
from desktop.core.redaction.burn_in import (
    BurnInError,
    burn_in,
    darkest_stored_value,
    record_clean_pixel_data,
)
from tests.conftest import pydicom_data_files, pydicom_test_files

NEW_UID = "2.25.123456789012345678901234567890"
LOSSLESS_SYNTAXES = {RLELossless, JPEGLSLossless, JPEG2000Lossless, JPEGLSNearLossless}
UNCOMPRESSED = {ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian}
_SKIP_SUFFIXES = (".py", ".pyc", ".json", ".txt", ".md", ".gz", ".bz2", ".zip", ".icc", ".dump")


def _images() -> list[Path]:
    """Every file of the two corpora with Pixel Data (header read only, values deferred)."""
    found = []
    for root in (pydicom_test_files(), pydicom_data_files()):
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.name.endswith(_SKIP_SUFFIXES) or path.name == "README":
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ds = pydicom.dcmread(path, force=True, defer_size=256)
            except Exception:  # noqa: BLE001 - not DICOM at all; pydicom may raise anything on it
                continue
            if "PixelData" in ds:
                found.append(path)
    return found


IMAGES = _images()


def find(name: str) -> Path:
    for root in (pydicom_test_files(), pydicom_data_files()):
        if (root / name).exists():
            return root / name
    raise FileNotFoundError(name)


def load(path: Path | str) -> pydicom.Dataset:
    """As Veil reads an original (a syntax implied for files without File Meta Information)."""
    from desktop.core.imaging.frames import read_image

    return read_image((path if isinstance(path, Path) else find(path)).read_bytes())


@lru_cache(maxsize=4)
def decoded(path: Path) -> tuple[pydicom.Dataset, np.ndarray | None]:
    """The original and its decoded pixels (frames first); ``None`` when pydicom cannot decode
    them (a missing decoder, damaged pixel data or pixel attributes)."""
    ds = load(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = pydicom.pixels.pixel_array(ds)
    except Exception:  # noqa: BLE001 - any decoder failure
        return ds, None
    frames = pydicom.pixels.utils.get_nr_frames(ds, warn=False)
    return ds, (arr if frames > 1 else arr[np.newaxis])


def middle(rows: int, columns: int) -> np.ndarray:
    mask = np.zeros((rows, columns), dtype=bool)
    mask[rows // 3: max(rows // 3 + 1, 2 * rows // 3), columns // 3: max(columns // 3 + 1, 2 * columns // 3)] = True
    return mask


def roundtrip(ds: Dataset) -> pydicom.Dataset:
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds)
    return pydicom.dcmread(io.BytesIO(buffer.getvalue()))


def pixels(ds: pydicom.Dataset) -> np.ndarray:
    arr = pydicom.pixels.pixel_array(ds)
    frames = pydicom.pixels.utils.get_nr_frames(ds, warn=False)
    return arr if frames > 1 else arr[np.newaxis]


def syntax_of(ds: pydicom.Dataset) -> UID:
    return UID(ds.file_meta.TransferSyntaxUID)


def source_is_lossy(ds: pydicom.Dataset) -> bool:
    """The test's own view: a "01" header, or a lossy syntax (every JPEG-LS near-lossless and
    JPEG 2000 file of the corpus is lossy; the reversible cases are tested on their own)."""
    if str(ds.get("LossyImageCompression", "")).strip() == "01":
        return True
    return syntax_of(ds) in (JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLSNearLossless, JPEG2000)


def expected_darkest(ds: pydicom.Dataset, out: pydicom.Dataset) -> object:
    """An oracle independent of the module: pydicom's own Modality LUT / palette lookups."""
    photometric = str(ds.PhotometricInterpretation).strip()
    if int(ds.get("SamplesPerPixel", 1)) == 3:
        return (0, 0, 0)
    bits, signed = int(ds.BitsStored), int(ds.PixelRepresentation) == 1
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if photometric == "PALETTE COLOR":
        descriptor = out.RedPaletteColorLookupTableDescriptor
        first, entries = int(descriptor[1]), int(descriptor[0]) or 65536
        index = np.arange(max(first, lo), min(first + entries - 1, hi) + 1)
        rgb = pydicom.pixels.apply_color_lut(index.astype(np.uint16), out)[..., :3].astype(float)
        return int(index[np.argmin(rgb @ [0.299, 0.587, 0.114])])
    candidates = np.arange(lo, hi + 1) if hi - lo < 1 << 17 else np.array([lo, hi])
    values = pydicom.pixels.apply_modality_lut(candidates.astype(np.int64), ds)
    pick = np.argmax if photometric == "MONOCHROME1" else np.argmin
    return int(candidates[pick(values)])


def walk(ds: Dataset):
    yield ds
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                yield from walk(item)


def check_instance(ds: pydicom.Dataset, out: pydicom.Dataset, result) -> None:  # noqa: ANN001
    """What every redacted instance must be, whatever its source."""
    source, written = syntax_of(ds), syntax_of(out)
    assert written == result.transfer_syntax
    assert out.SOPInstanceUID == NEW_UID == out.file_meta.MediaStorageSOPInstanceUID
    assert out.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
    assert out.BurnedInAnnotation == "NO"
    for item in walk(out):
        assert not any(0x6000 <= tag.group <= 0x60FF for tag in item.keys())
        assert "IconImageSequence" not in item
    # Transfer syntax: never lossy-encoded; lossless in its own syntax or uncompressed.
    assert written == source or written in UNCOMPRESSED
    if written.is_encapsulated:
        assert written in LOSSLESS_SYNTAXES and not source_is_lossy(ds)
    if source_is_lossy(ds):
        assert not written.is_encapsulated
        assert out.LossyImageCompression == "01"
        for keyword in ("LossyImageCompressionMethod", "LossyImageCompressionRatio"):
            before = ds.get(keyword)
            if before is not None:
                before = list(before) if isinstance(before, (list, pydicom.multival.MultiValue)) else [before]
                after = out.get(keyword)
                after = list(after) if isinstance(after, (list, pydicom.multival.MultiValue)) else [after]
                assert after[: len(before)] == before
    else:
        assert out.get("LossyImageCompression") == ds.get("LossyImageCompression")
    # Pixel attributes agree with the pixels.
    samples = int(ds.get("SamplesPerPixel", 1))
    assert int(out.SamplesPerPixel) == samples
    assert (out.BitsAllocated, out.BitsStored, out.HighBit) == (ds.BitsAllocated, ds.BitsStored, ds.BitsStored - 1)
    assert out.PixelRepresentation == ds.PixelRepresentation
    if samples == 3:
        allowed = {"RGB", "YBR_RCT"} if written == JPEG2000Lossless else {"RGB"}
        assert out.PhotometricInterpretation in allowed
        assert out.PlanarConfiguration == (1 if written == RLELossless else 0)
    else:
        assert out.PhotometricInterpretation == ds.PhotometricInterpretation
        assert "PlanarConfiguration" not in out


@pytest.mark.slow
@pytest.mark.parametrize("path", IMAGES, ids=lambda p: p.name)
def test_every_frame_burned_every_other_pixel_unchanged(path: Path):
    ds, original = decoded(path)
    if original is None:  # what pydicom cannot decode, burn_in refuses, saying why (never a crash)
        with pytest.raises(BurnInError, match="cannot be decoded|pixel attributes"):
            burn_in(ds, lambda _i: middle(int(ds.Rows), int(ds.Columns)), NEW_UID)
        return
    pixel_data_before, uid_before = ds.PixelData, ds.SOPInstanceUID
    mask = middle(int(ds.Rows), int(ds.Columns))
    calls: list[int] = []

    result = burn_in(ds, lambda i: calls.append(i) or mask, NEW_UID)
    out = roundtrip(result.dataset)

    frames = len(original)
    assert calls == list(range(frames)) and result.frames_redacted == list(range(frames))
    assert ds.PixelData is pixel_data_before and ds.SOPInstanceUID == uid_before  # caller's copy untouched
    check_instance(ds, out, result)
    after = pixels(out)
    assert after.shape == original.shape
    darkest = expected_darkest(ds, out)
    assert darkest_stored_value(out) == darkest
    assert np.all(after[:, mask] == np.asarray(darkest))
    # Outside the mask: the original decode, bit for bit (lossy sources too: written uncompressed).
    assert np.array_equal(after[:, ~mask], original[:, ~mask])


MULTI_FRAME = [p for p in IMAGES if p.name in {
    "emri_small.dcm", "emri_small_RLE.dcm", "emri_small_big_endian.dcm", "emri_small_jpeg_2k_lossless.dcm",
    "emri_small_jpeg_ls_lossless.dcm", "SC_rgb_rle_2frame.dcm", "SC_rgb_2frame.dcm", "SC_rgb_expb_16bit_2frame.dcm",
    "SC_rgb_rle_32bit_2frame.dcm", "OBXXXX1A_rle_2frame.dcm", "OBXXXX1A_expb_2frame.dcm", "rtdose.dcm",
    "rtdose_rle.dcm", "liver.dcm", "liver_expb.dcm", "eCT_Supplemental.dcm", "examples_ybr_color.dcm",
    "color3d_jpeg_baseline.dcm"}]


def test_the_corpus_is_the_real_one():
    assert len(IMAGES) > 150
    assert len(MULTI_FRAME) == 18


@pytest.mark.slow
@pytest.mark.parametrize("path", MULTI_FRAME, ids=lambda p: p.name)
def test_mask_on_frame_zero_only_leaves_the_other_frames_alone(path: Path):
    ds, original = decoded(path)
    assert original is not None, "pydicom cannot decode it"
    mask = middle(int(ds.Rows), int(ds.Columns))

    result = burn_in(ds, lambda i: mask if i == 0 else None, NEW_UID)
    out = roundtrip(result.dataset)

    assert result.frames_redacted == [0]
    check_instance(ds, out, result)
    after = pixels(out)
    assert np.all(after[0][mask] == np.asarray(expected_darkest(ds, out)))
    assert np.array_equal(after[0][~mask], original[0][~mask])
    assert np.array_equal(after[1:], original[1:])


# -- the transfer syntax chosen, per source -----------------------------------------------------------
@pytest.mark.parametrize(("name", "expected"), [
    ("MR_small_RLE.dcm", RLELossless),
    ("SC_rgb_rle_16bit_2frame.dcm", RLELossless),
    ("OBXXXX1A_rle.dcm", RLELossless),
    ("SC_rgb_rle_32bit.dcm", ExplicitVRLittleEndian),  # 32-bit RGB is outside RLE's PS3.5 profile
    ("MR_small_jpeg_ls_lossless.dcm", JPEGLSLossless),
    ("emri_small_jpeg_ls_lossless.dcm", JPEGLSLossless),
    ("MR_small_jp2klossless.dcm", JPEG2000Lossless),
    ("US1_J2KR.dcm", JPEG2000Lossless),
    ("JPEG-LL.dcm", ExplicitVRLittleEndian),  # no JPEG Lossless encoder in pydicom
    ("MR_small_bigendian.dcm", ExplicitVRLittleEndian),
    ("MR_small_implicit.dcm", ImplicitVRLittleEndian),
    ("image_dfl.dcm", DeflatedExplicitVRLittleEndian),
    ("OT-PAL-8-face.dcm", ImplicitVRLittleEndian),  # no File Meta: read as implicit little endian
    ("SC_rgb_jpeg.dcm", ExplicitVRLittleEndian),
    ("JPGExtended.dcm", ExplicitVRLittleEndian),
    ("693_J2KI.dcm", ExplicitVRLittleEndian),
    ("JPEGLSNearLossless_08.dcm", ExplicitVRLittleEndian),
    ("color3d_jpeg_baseline.dcm", ExplicitVRLittleEndian),
])
def test_transfer_syntax_follows_the_source(name: str, expected: UID):
    result = burn_in(load(name), lambda i: None, NEW_UID)
    assert result.transfer_syntax == expected
    assert roundtrip(result.dataset).file_meta.TransferSyntaxUID == expected
    assert result.note


def test_lossy_codestream_without_a_header_record_gets_its_history():
    ds = load("JPEGLSNearLossless_08.dcm")  # NEAR > 0, but no Lossy Image Compression in the header
    assert "LossyImageCompression" not in ds
    out = roundtrip(burn_in(ds, lambda i: None, NEW_UID).dataset)
    assert out.LossyImageCompression == "01"
    assert out.LossyImageCompressionMethod == "ISO_14495_1"
    assert float(out.LossyImageCompressionRatio) > 1


def test_lossy_history_already_recorded_is_kept_as_it_is():
    ds = load("693_J2KI.dcm")
    out = roundtrip(burn_in(ds, lambda i: None, NEW_UID).dataset)
    for keyword in ("LossyImageCompression", "LossyImageCompressionRatio", "LossyImageCompressionMethod"):
        assert out.get(keyword) == ds.get(keyword)


def _recoded(name: str, syntax: UID, **options) -> pydicom.Dataset:  # noqa: ANN003
    ds = load(name)
    ds.compress(syntax, encoding_plugin="", generate_instance_uid=False, **options)
    return roundtrip(ds)


def test_jpeg_ls_near_lossless_with_near_zero_is_lossless_and_stays_so():
    ds = _recoded("MR_small.dcm", JPEGLSNearLossless, jls_error=0)
    original = pixels(ds)
    result = burn_in(ds, lambda i: None, NEW_UID)
    out = roundtrip(result.dataset)
    assert result.transfer_syntax == JPEGLSNearLossless and "LossyImageCompression" not in out
    assert np.array_equal(pixels(out), original)


def test_jpeg_ls_near_lossless_with_an_error_is_lossy():
    ds = _recoded("MR_small.dcm", JPEGLSNearLossless, jls_error=3)
    out = roundtrip(burn_in(ds, lambda i: None, NEW_UID).dataset)
    assert syntax_of(out) == ExplicitVRLittleEndian
    assert (out.LossyImageCompression, out.LossyImageCompressionMethod) == ("01", "ISO_14495_1")


def test_reversible_jpeg2000_under_the_lossy_capable_syntax_is_not_called_lossy():
    ds = load("MR_small_jp2klossless.dcm")
    ds.file_meta.TransferSyntaxUID = JPEG2000  # the same reversible 5/3 codestream
    out = roundtrip(burn_in(ds, lambda i: None, NEW_UID).dataset)
    assert syntax_of(out) == ExplicitVRLittleEndian  # pydicom cannot encode JPEG 2000 (.91) losslessly
    assert "LossyImageCompression" not in out


# -- darkest values ---------------------------------------------------------------------------------
def assert_nothing_displays_darker(out: pydicom.Dataset, mask: np.ndarray) -> None:
    """Through Veil's own display pipeline (modality, window, MONOCHROME1 inversion), the
    masked pixels are as dark as any stored value could be shown with this header."""
    bits, signed = int(out.BitsStored), int(out.PixelRepresentation) == 1
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    params = display_params(out)
    every_value = render(np.arange(lo, hi + 1, dtype=np.int32)[np.newaxis], params)
    shown = render(out.pixel_array, params)
    assert shown[mask].max() == every_value.min()
    assert shown[~mask].max() > shown[mask].max()


def _burn_middle(ds: pydicom.Dataset) -> tuple[pydicom.Dataset, np.ndarray]:
    mask = middle(int(ds.Rows), int(ds.Columns))
    return roundtrip(burn_in(ds, lambda i: mask, NEW_UID).dataset), mask


def test_monochrome1_takes_its_highest_value_and_shows_black():
    ds = load("RG3_UNCR.dcm")  # MONOCHROME1, 10 bits stored
    assert darkest_stored_value(ds) == 1023
    out, mask = _burn_middle(ds)
    assert np.all(out.pixel_array[mask] == 1023)
    assert_nothing_displays_darker(out, mask)


@pytest.mark.parametrize(("name", "bits"), [("693_UNCR.dcm", 14), ("J2K_pixelrep_mismatch.dcm", 13),
                                           ("explicit_VR-UN.dcm", 16)])
def test_signed_ct_takes_the_most_negative_stored_value(name: str, bits: int):
    ds = load(name)
    assert ds.PixelRepresentation == 1 and ds.pixel_array.min() < 0
    assert darkest_stored_value(ds) == -(1 << (bits - 1))
    out, mask = _burn_middle(ds)
    hu = pydicom.pixels.apply_modality_lut(out.pixel_array, out)
    assert np.all(out.pixel_array[mask] == -(1 << (bits - 1)))
    assert hu[mask].max() < hu[~mask].min()
    assert_nothing_displays_darker(out, mask)


def test_a_negative_rescale_slope_takes_the_highest_stored_value():
    ds = load("CT_small.dcm")
    ds.RescaleSlope = -1
    assert darkest_stored_value(ds) == 32767
    out, mask = _burn_middle(ds)
    values = pydicom.pixels.apply_modality_lut(out.pixel_array, out)
    assert np.all(out.pixel_array[mask] == 32767)
    assert values[mask].max() <= values.min()
    assert_nothing_displays_darker(out, mask)


def test_monochrome1_with_a_negative_slope_takes_the_lowest():
    ds = load("RG3_UNCR.dcm")
    ds.RescaleSlope, ds.RescaleIntercept = -1, 0
    assert darkest_stored_value(ds) == 0


def test_a_modality_lut_decides_the_darkest():
    ds = load("mlut_18.dcm")
    assert "ModalityLUTSequence" in ds
    darkest = darkest_stored_value(ds)
    lo, hi = -(1 << 11), (1 << 11) - 1
    everything = pydicom.pixels.apply_modality_lut(np.arange(lo, hi + 1), ds)
    assert pydicom.pixels.apply_modality_lut(np.array([darkest]), ds)[0] == everything.min()


def test_per_frame_rescale_of_an_enhanced_image_is_used():
    ds = load("eCT_Supplemental.dcm")  # enhanced CT, 2 frames, 16 bits unsigned
    item = Dataset()
    item.RescaleSlope, item.RescaleIntercept, item.RescaleType = -1, 0, "US"
    ds.PerFrameFunctionalGroupsSequence[1].PixelValueTransformationSequence = Sequence([item])
    assert darkest_stored_value(ds, 0) == 0
    assert darkest_stored_value(ds, 1) == 65535
    mask = middle(int(ds.Rows), int(ds.Columns))
    after = pixels(roundtrip(burn_in(ds, lambda i: mask, NEW_UID).dataset))
    assert np.all(after[0][mask] == 0) and np.all(after[1][mask] == 65535)


@pytest.mark.parametrize(("name", "twin"), [
    ("OBXXXX1A.dcm", None), ("OBXXXX1A_expb.dcm", "OBXXXX1A.dcm"), ("OBXXXX1A_rle.dcm", "OBXXXX1A.dcm"),
    ("gdcm-US-ALOKA-16.dcm", None), ("gdcm-US-ALOKA-16_big.dcm", "gdcm-US-ALOKA-16.dcm"),
    ("OT-PAL-8-face.dcm", None),
])
def test_palette_colour_takes_the_darkest_palette_entry_and_keeps_its_colours(name: str, twin: str | None):
    ds = load(name)
    out, mask = _burn_middle(ds)
    index = darkest_stored_value(out)
    first = int(out.RedPaletteColorLookupTableDescriptor[1])
    entries = int(out.RedPaletteColorLookupTableDescriptor[0]) or 65536
    assert first <= index < first + entries  # an index the palette maps
    colours = pydicom.pixels.apply_color_lut(np.arange(first, first + entries, dtype=np.uint16), out)
    luma = colours[..., :3].astype(float) @ [0.299, 0.587, 0.114]
    assert luma[index - first] == luma.min()
    assert np.all(out.pixel_array[mask] == index)
    # The palette itself survives (big-endian palettes are turned round, not garbled).
    reference = load(twin or name)
    shown = pydicom.pixels.apply_color_lut(out.pixel_array, out)
    expected = pydicom.pixels.apply_color_lut(reference.pixel_array, reference)
    assert np.array_equal(shown[~mask], expected[~mask])


# -- planar configuration, overlays, icons -------------------------------------------------------------
def test_planar_configuration_one_is_read_as_planes_and_written_interleaved():
    ds = load("color-pl.dcm")
    assert ds.PlanarConfiguration == 1
    out, mask = _burn_middle(ds)
    assert out.PlanarConfiguration == 0
    raw = np.frombuffer(out.PixelData, dtype=np.uint8)[: 120 * 256 * 3].reshape(120, 256, 3)
    interleaved = load("color-px.dcm").pixel_array
    assert np.all(raw[mask] == 0) and np.array_equal(raw[~mask], interleaved[~mask])


def test_big_endian_planar_rgb():
    ds = load("ExplVR_BigEnd.dcm")
    assert ds.PlanarConfiguration == 1 and ds.PhotometricInterpretation == "RGB"
    original = ds.pixel_array
    out, mask = _burn_middle(ds)
    assert np.all(out.pixel_array[mask] == 0) and np.array_equal(out.pixel_array[~mask], original[~mask])


def test_rle_rgb_is_written_colour_by_plane():
    out, mask = _burn_middle(load("SC_rgb_rle.dcm"))
    assert syntax_of(out) == RLELossless and out.PlanarConfiguration == 1  # PS3.5 G.2
    assert np.array_equal(out.pixel_array[~mask], load("SC_rgb.dcm").pixel_array[~mask])


def _with_high_bits(name: str) -> tuple[pydicom.Dataset, np.ndarray]:
    """A real image with a 'text' pattern written into the bits above Bits Stored."""
    ds = load(name)
    signed = ds.PixelRepresentation == 1
    raw = np.frombuffer(ds.PixelData, dtype="<u2").copy().reshape(ds.Rows, ds.Columns)
    stored = raw & ((1 << ds.BitsStored) - 1)
    banner = np.zeros_like(raw)
    banner[5:15, 5:60] = 0xFFFF << ds.BitsStored & 0xFFFF  # every unused bit set
    ds.PixelData = (stored | banner).tobytes()
    value = stored.astype(np.int64)
    if signed:
        value = np.where(value >= 1 << (ds.BitsStored - 1), value - (1 << ds.BitsStored), value)
    return roundtrip(ds), value


@pytest.mark.parametrize("name", ["MR-SIEMENS-DICOM-WithOverlays.dcm", "693_UNCR.dcm"])
def test_overlay_bits_above_bits_stored_are_cleared_on_every_pixel(name: str):
    ds, value = _with_high_bits(name)
    out = roundtrip(burn_in(ds, lambda i: None, NEW_UID).dataset)
    raw = np.frombuffer(out.PixelData, dtype="<u2").reshape(ds.Rows, ds.Columns).astype(np.int64)
    high = raw >> ds.BitsStored
    if ds.PixelRepresentation == 1:  # the unused bits repeat the sign (PS3.5 8.1.1)
        assert np.array_equal(high, np.where(value < 0, (1 << (16 - ds.BitsStored)) - 1, 0))
    else:
        assert not high.any()
    assert np.array_equal(out.pixel_array, value)


def test_overlay_groups_and_icons_are_removed_at_every_level():
    ds = load("MR-SIEMENS-DICOM-WithOverlays.dcm")
    assert any(tag.group == 0x6000 for tag in ds.keys())
    icon = Dataset()
    icon.Rows = icon.Columns = 2
    icon.SamplesPerPixel, icon.PhotometricInterpretation = 1, "MONOCHROME2"
    icon.BitsAllocated = icon.BitsStored = 8
    icon.HighBit, icon.PixelRepresentation = 7, 0
    icon.PixelData = b"NAME"
    ds.IconImageSequence = Sequence([icon])
    referenced = Dataset()
    referenced.IconImageSequence = Sequence([copy.deepcopy(icon)])
    referenced.add_new(0x60000010, "US", 2)
    ds.ReferencedImageSequence = Sequence([referenced])
    out = roundtrip(burn_in(ds, lambda i: None, NEW_UID).dataset)
    for item in walk(out):
        assert "IconImageSequence" not in item
        assert not any(0x6000 <= tag.group <= 0x60FF for tag in item.keys())
    assert "ReferencedImageSequence" in out and "IconImageSequence" in ds  # the original keeps its own


# -- records, errors, memory --------------------------------------------------------------------------
def test_clean_pixel_data_is_recorded_once():
    ds = load("CT_small.dcm")
    existing = Dataset()
    existing.CodeValue, existing.CodingSchemeDesignator = "113100", "DCM"
    existing.CodeMeaning = "Basic Application Confidentiality Profile"
    ds.DeidentificationMethodCodeSequence = Sequence([existing])
    record_clean_pixel_data(ds)
    record_clean_pixel_data(ds)
    codes = [(i.CodeValue, i.CodingSchemeDesignator) for i in roundtrip(ds).DeidentificationMethodCodeSequence]
    assert codes == [("113100", "DCM"), ("113101", "DCM")]
    assert ds.DeidentificationMethodCodeSequence[1].CodeMeaning == "Clean Pixel Data Option"


@pytest.mark.parametrize("name", ["RG3_UNCR.dcm", "US1_UNCR.dcm", "OBXXXX1A.dcm", "693_UNCR.dcm", "emri_small.dcm"])
@pytest.mark.parametrize("syntax", [RLELossless, JPEGLSLossless, JPEG2000Lossless], ids=lambda u: u.name[:12])
def test_every_lossless_encoder_round_trips_exactly(name: str, syntax: UID):
    """Grey 10-bit MONOCHROME1, RGB, palette, signed 14-bit and multi-frame, compressed by
    pydicom, then burned: re-encoded in the same syntax, exact outside the mask."""
    source = _recoded(name, syntax)
    original = pixels(source)
    mask = middle(int(source.Rows), int(source.Columns))
    result = burn_in(source, lambda i: mask, NEW_UID)
    out = roundtrip(result.dataset)
    assert result.transfer_syntax == syntax == syntax_of(out)
    check_instance(source, out, result)
    after = pixels(out)
    assert np.all(after[:, mask] == np.asarray(darkest_stored_value(source)))
    assert np.array_equal(after[:, ~mask], original[:, ~mask])


@pytest.mark.parametrize("name", ["MR_truncated.dcm", "JPEG-lossy.dcm"])
def test_undecodable_pixels_are_refused_with_a_reason(name: str):
    with pytest.raises(BurnInError, match="cannot be decoded"):
        burn_in(load(name), lambda i: None, NEW_UID)


def test_a_mask_of_the_wrong_size_is_refused():
    with pytest.raises(BurnInError, match="mask for frame 1"):
        burn_in(load("CT_small.dcm"), lambda i: np.ones((3, 3), dtype=bool), NEW_UID)


def test_smallest_image_pixel_value_still_bounds_the_pixels():
    ds = load("CT_small.dcm")
    ds.SmallestImagePixelValue, ds.LargestImagePixelValue = int(ds.pixel_array.min()), int(ds.pixel_array.max())
    out, _ = _burn_middle(ds)
    assert out.SmallestImagePixelValue == -32768 == out.pixel_array.min()


@pytest.mark.slow
def test_a_long_colour_cine_is_burned_frame_by_frame():
    """120 frames of 640 x 480 RGB (111 MB decoded): the peak is the output and one copy of it,
    not the whole decoded source on top."""
    ds = load("color3d_jpeg_baseline.dcm")
    size = 120 * 480 * 640 * 3
    mask = middle(480, 640)
    tracemalloc.start()
    try:
        result = burn_in(ds, lambda i: mask, NEW_UID)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.dataset.PixelData) == size
    assert peak < 2.2 * size, f"peak {peak / size:.2f} x the output"
