"""Identity kept inside Pixel Data without being an image of it, taken out losslessly:

- bits outside Bits Stored (the retired overlays in pixel data, PS3.5 8.1.1 and 8.1.2), zeroed
  by :mod:`desktop.core.deid.hidden_bits` (compressed sources decoded, cleared, re-encoded
  losslessly; lossy ones written uncompressed);
- text the codestreams carry beside the image (JPEG COM and APPn segments, JPEG 2000 COM
  markers, JP2 boxes, bytes after the end of the image), dropped by
  :mod:`desktop.core.deid.codestream_text` (the decoded pixels stay identical).

Both changes are recorded: a line in the preview and the report, and a De-identification
Method value in the output (PS3.3 C.7.1.1). What cannot be checked (a frame that cannot be
decoded, a budget exceeded) refuses the file rather than passing it on unchecked.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pydicom.filereader
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.multival import MultiValue

from desktop.core.deid.codestream_text import StrippedPixelData, strip_codestream_text
from desktop.core.deid.hidden_bits import HiddenBits, HiddenBitsError, clear_hidden_bits
from desktop.core.deid.pixel_layout import native_length
from desktop.core.dicom.header import InvalidInstance

if TYPE_CHECKING:
    from desktop.core.deid.instance_io import _Parsed
    from desktop.core.deid.walker import Walker

PIXEL_DATA = 0x7FE00010
#: De-identification Method values (LO, 64 characters at most) recording each change.
HIDDEN_BITS_METHOD = "Pixel bits outside Bits Stored zeroed"
CODESTREAM_TEXT_METHOD = "Text in compressed pixel data codestreams removed"
PIXEL_TAIL_METHOD = "Bytes after the last frame of pixel data removed"


@dataclass(frozen=True)
class CleanedPixels:
    """The Pixel Data element to write (``None``: it is inside the dataset, or there is none),
    the transfer syntax the output declares, and what was done to get there. ``exact``: native
    Pixel Data exactly as long as its frames, which holds samples only (the leak check need not
    search it; anything else in a pixel element is searched)."""

    element: bytes | memoryview | None
    transfer_syntax: str
    hidden: HiddenBits | None = None
    stripped: StrippedPixelData | None = None
    exact: bool = False
    #: Bytes after the last frame of native Pixel Data, dropped (they are no part of the image).
    trimmed: int = 0


def clean_pixel_data(parsed: _Parsed) -> CleanedPixels:
    """Clear hidden bits and codestream text from the instance's Pixel Data. A file read
    whole (deflated, mixed encodings) has its element cleaned inside the dataset. Raises
    :class:`InvalidInstance` when the pixels cannot be checked."""
    ds, syntax = parsed.ds, parsed.transfer_syntax
    if parsed.pixel is not None:
        element: bytes | memoryview = parsed.pixel
    elif PIXEL_DATA in ds:
        buffer = DicomBytesIO()
        buffer.is_implicit_VR, buffer.is_little_endian = parsed.implicit, parsed.little
        write_data_element(buffer, ds[PIXEL_DATA])
        element = buffer.getvalue()
    else:
        return CleanedPixels(None, syntax)
    implicit, little = parsed.implicit, parsed.little
    try:
        hidden = clear_hidden_bits(ds, element, syntax, implicit, little)
    except HiddenBitsError as exc:  # cannot be checked: refused, never passed on unchecked
        raise InvalidInstance(str(exc)) from None
    if hidden is not None:
        element = hidden.pixel_element
        if hidden.transfer_syntax != syntax:  # re-encoded: Explicit VR Little Endian
            syntax, implicit, little = hidden.transfer_syntax, False, True
    stripped = strip_codestream_text(element, implicit, little)
    if stripped is not None:
        element = stripped.pixel_element
    trimmed, exact = 0, False
    split = _native_value(element, implicit, little)
    if split is not None:
        header, length = split
        expected = native_length(ds)
        if expected is not None and length > expected:  # bytes past the last frame: not image
            trimmed = length - expected
            element = _with_length(element, header, expected, implicit, little)
        exact = expected is not None and length >= expected
    if hidden is None and stripped is None and not trimmed:
        return CleanedPixels(parsed.pixel, syntax, exact=exact)
    if parsed.pixel is None:
        cleared = pydicom.filereader.read_dataset(io.BytesIO(bytes(element)), implicit, little)
        ds[PIXEL_DATA] = cleared[PIXEL_DATA]
        return CleanedPixels(None, syntax, hidden, stripped, exact, trimmed)
    return CleanedPixels(element, syntax, hidden, stripped, exact, trimmed)


def _native_value(element: bytes | memoryview, implicit: bool, little: bool) -> tuple[int, int] | None:
    """(header size, value length) of a native (defined length) Pixel Data (7FE0,0010)
    element, or ``None`` for encapsulated data or another element."""
    view = memoryview(element)
    if len(view) < 8 or struct.unpack("<HH" if little else ">HH", view[:4]) != (0x7FE0, 0x0010):
        return None
    e = "<" if little else ">"
    header = 8 if implicit else 12
    length = struct.unpack(e + "I", view[header - 4:header])[0]
    if length == 0xFFFFFFFF or header + length > len(view):
        return None
    return header, length


def _with_length(element: bytes | memoryview, header: int, length: int, implicit: bool, little: bool) -> bytes:
    view = memoryview(element)
    e = "<" if little else ">"
    at = 4 if implicit else 8
    return bytes(view[:at]) + struct.pack(e + "I", length) + bytes(view[at + 4:header + length])


def record_pixel_cleaning(ds: Dataset, cleaned: CleanedPixels, walker: Walker) -> None:
    """The header changes that go with cleaned Pixel Data, and the record of it."""
    methods: list[str] = []
    if cleaned.hidden is not None:
        for keyword, value in cleaned.hidden.attributes.items():
            if value is None:
                if keyword in ds:
                    delattr(ds, keyword)
            else:
                setattr(ds, keyword, value)
        methods.append(HIDDEN_BITS_METHOD)
        walker._note("", PIXEL_DATA, "OB" if cleaned.hidden.reencoded else "OW", "cleaned",
                     "bits outside Bits Stored zeroed: the retired overlays in pixel data (PS3.5 8.1.1, 8.1.2)",
                     cleaned.hidden.description, cleaned.hidden.description)
    if cleaned.stripped is not None:
        for keyword in cleaned.stripped.stale_attributes:
            if keyword in ds:
                delattr(ds, keyword)
        methods.append(CODESTREAM_TEXT_METHOD)
        walker._note("", PIXEL_DATA, "OB", "cleaned",
                     "text carried inside the compressed codestreams removed; the image is unchanged "
                     "(PS3.5 A.4)", cleaned.stripped.describe(), cleaned.stripped.describe())
    if cleaned.trimmed:
        methods.append(PIXEL_TAIL_METHOD)
        walker._note("", PIXEL_DATA, "OW", "cleaned", "bytes after the last frame removed: they are no part of "
                     "the image (PS3.5 8.1.1)", f"{cleaned.trimmed} bytes", "")
    if methods:
        method = ds.get("DeidentificationMethod")
        values = [str(v) for v in method] if isinstance(method, MultiValue) else ([str(method)] if method else [])
        ds.DeidentificationMethod = [*values, *methods]
