"""Decoding and display on real files: every encoding clinics send, checked against pydicom's
reference implementation and against the same image in other encodings."""

from __future__ import annotations

import numpy as np
import pydicom
import pydicom.pixels
import pytest

from desktop.core.imaging.display import display_params, render
from desktop.core.imaging.frames import DecodeError, decode_frame, frame_count, read_image
from tests.conftest import pydicom_data_files, pydicom_test_files

TF = pydicom_test_files()
_data_store = pydicom_data_files


def load(name: str):
    path = TF / name if (TF / name).exists() else _data_store() / name
    return read_image(path.read_bytes())


def shown(name: str, index: int = 0) -> np.ndarray:
    ds = load(name)
    return render(decode_frame(ds, index), display_params(ds, index))


@pytest.mark.parametrize("encoding", [
    "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_expb.dcm",
])
def test_every_lossless_encoding_of_an_image_displays_the_same(encoding):
    assert np.array_equal(shown(encoding), shown("MR_small.dcm"))


def test_monochrome1_cr_matches_pydicoms_window_inverted_and_its_lossless_j2k():
    ds = load("RG3_UNCR.dcm")
    stored = decode_frame(ds, 0)
    ours = render(stored, display_params(ds))
    reference = pydicom.pixels.apply_voi_lut(stored, ds)  # window 550/1024, in 10-bit units
    expected = 255 - np.rint(reference.astype(np.float64) / 1023 * 255)
    assert np.abs(ours.astype(int) - expected).max() <= 1
    assert ours[0, 0] > 200  # air is white on a MONOCHROME1 radiograph's background edge...
    assert np.array_equal(ours, shown("RG3_J2KR.dcm"))


def test_rgb_stripes_have_their_known_colours():
    rgb = shown("SC_rgb.dcm")
    assert [tuple(int(v) for v in rgb[r, 50]) for r in (5, 15, 25, 45, 75, 95)] == [
        (255, 0, 0), (255, 128, 128), (0, 255, 0), (0, 0, 255), (64, 64, 64), (255, 255, 255)]


def test_ybr_full_422_is_converted_to_the_same_colours():
    ybr, rgb = shown("SC_ybr_full_422_uncompressed.dcm"), shown("SC_rgb.dcm")
    assert ybr.shape == rgb.shape
    assert np.abs(ybr.astype(int) - rgb.astype(int)).max() <= 6  # chroma subsampling


def test_planar_configuration_one_is_interleaved():
    assert np.array_equal(shown("color-pl.dcm"), shown("color-px.dcm"))


def test_palette_colour_is_looked_up():
    face = shown("OT-PAL-8-face.dcm")
    assert face.shape == (480, 640, 3) and face.dtype == np.uint8
    assert np.any(face[..., 0] != face[..., 2])  # really colour, not grey
    assert 40 < face.mean() < 220  # scaled from 16-bit palette entries, not saturated


def test_multiframe_frames_are_decoded_one_at_a_time():
    ds = load("emri_small.dcm")
    assert frame_count(ds) == 10
    first, last = decode_frame(ds, 0), decode_frame(ds, 9)
    assert first.shape == last.shape == (64, 64) and not np.array_equal(first, last)
    with pytest.raises(DecodeError, match="frame 11 does not exist"):
        decode_frame(ds, 10)


def test_undecodable_pixels_are_a_clear_error():
    with pytest.raises(DecodeError, match="cannot be decoded"):
        decode_frame(load("MR_truncated.dcm"), 0)
    with pytest.raises(DecodeError, match="no image"):
        decode_frame(load("rtplan.dcm"), 0)


def test_every_image_of_the_corpus_displays_or_says_why():
    rendered, refused = 0, []
    for folder in (TF, _data_store()):
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")):
            try:
                ds = read_image(path.read_bytes())
            except DecodeError:
                continue
            if "PixelData" not in ds:
                continue
            for index in sorted({0, frame_count(ds) - 1}):
                try:
                    out = render(decode_frame(ds, index), display_params(ds, index))
                except DecodeError as exc:
                    refused.append((path.name, str(exc)))
                    continue
                assert out.dtype == np.uint8 and out.shape[:2] == (ds.Rows, ds.Columns), path.name
                rendered += 1
    assert rendered >= 175
    assert len(refused) <= 8, refused
    assert all(reason and "\n" not in reason for _, reason in refused)  # one clear line each


def test_a_header_claiming_a_gigantic_frame_is_refused_before_decoding():
    ds = load("JPEG2000.dcm")
    ds.Rows = ds.Columns = 65535
    with pytest.raises(DecodeError, match="refuses frames over"):
        decode_frame(ds, 0)
