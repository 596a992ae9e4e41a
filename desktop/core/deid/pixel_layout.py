"""Where a pixel cell's stored bits are: the Image Pixel attributes (PS3.3 C.7.6.3) read from a
dataset whose elements may still be raw, without converting them (the de-identification engine
copies raw elements to its output as they were read)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pydicom.datadict
from pydicom.dataelem import RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset

from desktop.core.dicom.encoding import raw_element


@dataclass(frozen=True)
class PixelLayout:
    """The Image Pixel attributes that say where a sample's bits are (PS3.3 C.7.6.3, PS3.5 8.1.1)."""

    rows: int
    columns: int
    samples: int
    frames: int
    allocated: int
    stored: int
    high: int
    signed: bool
    planar: int

    @property
    def low(self) -> int:
        return self.high - self.stored + 1

    @property
    def frame_cells(self) -> int:
        return self.rows * self.columns * self.samples


def int_attribute(ds: Dataset, keyword: str, default: int | None = None) -> int | None:
    """An integer attribute, read without converting the dataset's raw element (the engine
    copies raw elements to the output as they were read)."""
    tag = pydicom.datadict.tag_for_keyword(keyword)
    raw = raw_element(ds, tag) if tag is not None else None
    try:
        if raw is None:
            return default
        value = raw.value
        if isinstance(raw, RawDataElement) and isinstance(value, bytes):
            if len(value) == 2 and keyword != "NumberOfFrames":  # US (PS3.5 6.2)
                number: int = struct.unpack("<H" if raw.is_little_endian else ">H", value)[0]
                return number
            value = convert_raw_data_element(raw).value
        return default if value is None or value == "" else int(value)
    except (TypeError, ValueError, struct.error):
        return default


def pixel_layout(ds: Dataset) -> PixelLayout | None:
    """The Image Pixel attributes (PS3.3 C.7.6.3), or ``None`` when nothing can be outside
    Bits Stored or the attributes do not make a valid layout (PS3.5 8.1.1)."""
    allocated = int_attribute(ds, "BitsAllocated")
    rows, columns = int_attribute(ds, "Rows"), int_attribute(ds, "Columns")
    if allocated not in (8, 16, 32) or not rows or not columns or rows < 0 or columns < 0:
        return None
    stored = int_attribute(ds, "BitsStored", allocated) or allocated
    high = int_attribute(ds, "HighBit", stored - 1)
    samples, frames = int_attribute(ds, "SamplesPerPixel", 1) or 1, int_attribute(ds, "NumberOfFrames", 1) or 1
    if not 0 < stored <= allocated or high is None or not stored - 1 <= high < allocated:
        return None
    if (stored, high) == (allocated, allocated - 1) or samples < 1 or frames < 1:
        return None
    return PixelLayout(rows, columns, samples, frames, allocated, stored, high,
                       int_attribute(ds, "PixelRepresentation", 0) == 1,
                       int_attribute(ds, "PlanarConfiguration", 0) or 0)


def native_length(ds: Dataset) -> int | None:
    """The bytes native Pixel Data of these attributes holds, padded to even (PS3.5 8.1.1,
    8.2), or ``None`` when the attributes do not say."""
    rows, columns = int_attribute(ds, "Rows"), int_attribute(ds, "Columns")
    allocated = int_attribute(ds, "BitsAllocated")
    samples, frames = int_attribute(ds, "SamplesPerPixel", 1) or 1, int_attribute(ds, "NumberOfFrames", 1) or 1
    if not rows or not columns or allocated not in (1, 8, 16, 32, 64) or rows < 0 or columns < 0 or frames < 0:
        return None
    bits = rows * columns * samples * frames * allocated
    size = (bits + 7) // 8
    return size + size % 2
