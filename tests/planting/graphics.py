"""Planting the identity in overlays, curves and icons (text drawn as bitmaps).

Part of :mod:`tests.planting`.
"""


from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.pixels import pack_bits
from pydicom.uid import (
    ImplicitVRLittleEndian,
)

from tests.planting.identity import FONT, PATIENT, Identity, written


def text_alpha(lines: Iterable[str], rows: int, columns: int, size: int = 14, top: int = 2,
               left: int = 2, line_height: int | None = None, font: Path = FONT) -> np.ndarray:
    """``lines`` drawn anti-aliased into a (rows, columns) coverage array in [0, 1]."""
    face = ImageFont.truetype(str(font), size) if font.exists() else ImageFont.load_default(size=size)
    layer = Image.new("L", (columns, rows), 0)
    draw = ImageDraw.Draw(layer)
    step = line_height or size + 4
    for n, line in enumerate(lines):
        draw.text((left, top + step * n), line, font=face, fill=255)
    return np.asarray(layer, np.float32) / 255.0


def text_bitmap(lines: Iterable[str], rows: int, columns: int, size: int = 14, top: int = 2,
                left: int = 2, line_height: int | None = None) -> np.ndarray:
    """``lines`` drawn in white on black into a (rows, columns) bool array."""
    return text_alpha(lines, rows, columns, size, top, left, line_height) >= 0.5


def _free_groups(ds: Dataset, base: int, count: int) -> list[int]:
    used = {tag >> 16 for tag in ds._dict}
    free = [g for g in range(base, base + 0x20, 2) if g not in used]
    return free[:count]


def plant_overlays(ds: Dataset, p: Identity = PATIENT) -> None:
    """A graphics overlay whose bitmap is the patient's name and ID, an ROI overlay, and overlay
    descriptions / labels / comments with the identity."""
    rows, columns = int(ds.get("Rows") or 64), int(ds.get("Columns") or 64)
    graphics, roi = _free_groups(ds, 0x6000, 2)
    size = max(8, min(16, columns // 24))
    lines = [f"{p.family.upper()} {p.given.upper()}", p.patient_id, written(p.birth, "dd-MON-yy")]
    bitmap = text_bitmap(lines, rows, columns, size=size)
    for group, kind, bits in ((graphics, "G", bitmap), (roi, "R", bitmap[::-1])):
        g = group << 16
        ds.add_new(g | 0x0010, "US", rows)
        ds.add_new(g | 0x0011, "US", columns)
        ds.add_new(g | 0x0022, "LO", f"Overlay of {p.given} {p.family}")
        ds.add_new(g | 0x0040, "CS", kind)
        ds.add_new(g | 0x0050, "SS", [1, 1])
        ds.add_new(g | 0x0100, "US", 1)
        ds.add_new(g | 0x0102, "US", 0)
        ds.add_new(g | 0x1500, "LO", p.family.upper())
        ds.add_new(g | 0x3000, "OW" if ds.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian else "OB",
                   pack_bits(bits.astype(np.uint8).ravel()))
        ds.add_new(g | 0x4000, "LT", f"Drawn for {p.patient_id} on {written(p.study, 'dots')}")


def plant_pixel_overlay_header(ds: Dataset, bit: int, p: Identity = PATIENT) -> None:
    """A retired overlay in the pixel data (PS3.5 8.1.2): its header only (no Overlay Data);
    the bitmap itself is in bit ``bit`` of the pixels (see :func:`plant_hidden_bits`)."""
    (group,) = _free_groups(ds, 0x6000, 1)
    g = group << 16
    ds.add_new(g | 0x0010, "US", int(ds.Rows))
    ds.add_new(g | 0x0011, "US", int(ds.Columns))
    ds.add_new(g | 0x0022, "LO", f"Burned overlay, {p.family}")
    ds.add_new(g | 0x0040, "CS", "G")
    ds.add_new(g | 0x0050, "SS", [1, 1])
    ds.add_new(g | 0x0100, "US", int(ds.BitsAllocated))
    ds.add_new(g | 0x0102, "US", bit)
    ds.add_new(g | 0x1500, "LO", f"{p.given} {p.family}")


def plant_curve(ds: Dataset, p: Identity = PATIENT) -> None:
    """A retired curve (50xx) whose data is the patient's name and ID as text."""
    data = f"{p.dicom_name} {p.patient_id} {p.study_da} ".encode("ascii")
    if len(data) % 2:
        data += b" "
    ds.add_new(0x50000005, "US", 1)
    ds.add_new(0x50000010, "US", len(data))
    ds.add_new(0x50000020, "CS", "ECG")
    ds.add_new(0x50000022, "LO", f"ECG of {p.family} {p.given}")
    ds.add_new(0x50000103, "US", 0)
    ds.add_new(0x50002500, "LO", p.family.upper())
    ds.add_new(0x50003000, "OB", data)


def icon_item(p: Identity = PATIENT) -> Dataset:
    rows, columns = 32, 160
    bitmap = text_bitmap([f"{p.family.upper()}", p.patient_id], rows, columns, size=12, line_height=14)
    icon = Dataset()
    icon.SamplesPerPixel = 1
    icon.PhotometricInterpretation = "MONOCHROME2"
    icon.Rows, icon.Columns = rows, columns
    icon.BitsAllocated, icon.BitsStored, icon.HighBit, icon.PixelRepresentation = 8, 8, 7, 0
    icon.PixelData = (bitmap.astype(np.uint8) * 255).tobytes()
    icon["PixelData"].VR = "OB"
    return icon


def plant_icons(ds: Dataset, p: Identity = PATIENT) -> None:
    """An Icon Image Sequence at the top and one nested in a kept sequence."""
    ds.IconImageSequence = [icon_item(p)]
    for item in ds.get("ContributingEquipmentSequence") or []:
        item.IconImageSequence = [icon_item(p)]


# =============================================================================================
# Planting: pixels
# =============================================================================================
#: Syntaxes pydicom can encode losslessly: a planted file stays in its own syntax.
