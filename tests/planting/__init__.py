"""Plant one fictional patient's identity everywhere a DICOM file can hold it, and find it again.

Test support, not product code. The acceptance tests of the de-identification (header engine,
``veil deid --redact``) take real files of pydicom's test files and pydicom-data, plant
:data:`PATIENT` in them with :func:`plant_file` (or the finer functions it calls), run the
product, and hand every output to :func:`scan_file`, which reports every place the identity
is still found:

- element text at any depth (File Meta, private attributes, UN values, sequences), in every
  form the identity can take: names in any order and case, the ID with its separators removed,
  the accession, phone, address, e-mail, physicians, institution, personal facts (occupation,
  nickname), and the patient's dates in every written format (two-digit years too);
- the raw bytes of the whole file (Deflated files inflated first), encapsulated frames
  included (JPEG / JPEG 2000 comment segments), native pixel samples excluded (see below);
- decoded pixel data: bits above High Bit that are not the sign extension (retired overlays,
  PS3.5 8.1.2, or anything hidden there), in native and in encapsulated pixel data;
- overlay planes (60xx,3000) and Icon Image Sequence pixels still present anywhere;
- optionally (slow) OCR of the decoded frames with the product's
  :class:`desktop.core.redaction.ocr.TextReader`, matched against the identity's forms.

Planting is deliberately unkind: identity in code meanings at depth 3+, in URLs, in safe-
private-looking private blocks, in file meta, in trailing padding, in UIDs, in overlays,
icons, curves, graphic annotations, SR content, in bits above High Bit of native and
losslessly compressed pixels, in comment segments of JPEG / JPEG-LS / JPEG 2000 codestreams,
and burned into the pixels as a banner with the patient's dates in every usual format.

Nothing in here is the identity of a real person: the name parts are rare on purpose so a match
is never a coincidence.
"""

from __future__ import annotations

from tests.planting.graphics import (
    icon_item,
    plant_curve,
    plant_icons,
    plant_overlays,
    plant_pixel_overlay_header,
    text_alpha,
    text_bitmap,
)
from tests.planting.header import (
    ORG_ROOT,
    plant_enhanced,
    plant_file_meta,
    plant_header,
    plant_private,
    plant_un_sequence,
)
from tests.planting.identity import (
    FONT,
    FONT_MONO,
    PATIENT,
    Finding,
    Form,
    Identity,
    assert_no_identity,
    da,
    date_forms,
    find_forms,
    written,
)
from tests.planting.pixels import (
    BANNER_FONT_SIZE,
    BANNER_LINE,
    HIDDEN_BIT,
    HIDDEN_BITS_STORED,
    LOSSLESS_ENCODABLE,
    Planted,
    burn_banner,
    can_hide_bits,
    decoded_frames,
    hidden_bitmap,
    plant_codestream_comments,
    plant_file,
    plant_hidden_bits,
)
from tests.planting.scan import (
    bitmap_planes,
    describe,
    hidden_bits,
    match_ocr_text,
    ocr_frames,
    scan_bytes,
    scan_elements,
    scan_file,
    scan_ocr,
    scan_pixels,
)

__all__ = [
    "FONT",
    "FONT_MONO",
    "Finding",
    "Form",
    "Identity",
    "PATIENT",
    "assert_no_identity",
    "da",
    "date_forms",
    "find_forms",
    "written",
    "ORG_ROOT",
    "plant_enhanced",
    "plant_file_meta",
    "plant_header",
    "plant_private",
    "plant_un_sequence",
    "icon_item",
    "plant_curve",
    "plant_icons",
    "plant_overlays",
    "plant_pixel_overlay_header",
    "text_alpha",
    "text_bitmap",
    "BANNER_FONT_SIZE",
    "BANNER_LINE",
    "HIDDEN_BIT",
    "HIDDEN_BITS_STORED",
    "LOSSLESS_ENCODABLE",
    "Planted",
    "burn_banner",
    "can_hide_bits",
    "decoded_frames",
    "hidden_bitmap",
    "plant_codestream_comments",
    "plant_file",
    "plant_hidden_bits",
    "bitmap_planes",
    "describe",
    "hidden_bits",
    "match_ocr_text",
    "ocr_frames",
    "scan_bytes",
    "scan_elements",
    "scan_file",
    "scan_ocr",
    "scan_pixels",
]
