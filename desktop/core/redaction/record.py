"""What a redacted instance says about itself, and what its export records (PS3.3 C.7.6.1
Derivation Description, PS3.15 E.3.1 Clean Pixel Data Option, PS3.16 CID 7050)."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

#: PS3.16 CID 7050: the de-identification option this step makes true (recorded at export).
CLEAN_PIXEL_DATA_CODE = ("113101", "DCM", "Clean Pixel Data Option")

#: Derivation Description (0008,2111, PS3.3 C.7.6.1) of an instance Veil redacted: tells a later
#: export to record the Clean Pixel Data Option.
REDACTION_MARK = "Veil: burned-in identity redacted from the pixels"


def mark_redacted(ds: Dataset) -> None:
    """Say in the instance that its pixels were redacted (Derivation Description, DERIVED)."""
    ds.DerivationDescription = REDACTION_MARK
    image_type = list(ds.get("ImageType") or [])
    if image_type:
        image_type[0] = "DERIVED"
        ds.ImageType = image_type


def is_redacted(ds: Dataset) -> bool:
    """An instance Veil redacted (and that still says it has no burned-in annotation)."""
    return (str(ds.get("DerivationDescription", "") or "").strip() == REDACTION_MARK
            and str(ds.get("BurnedInAnnotation", "") or "").strip().upper() == "NO")


def record_clean_pixel_data(ds: Dataset) -> None:
    """Add DCM 113101 "Clean Pixel Data Option" to the De-identification Method Code Sequence
    (PS3.15 E.3.1, PS3.3 C.7.1.1), once; done at export, when the redacted pixels leave."""
    value, scheme, meaning = CLEAN_PIXEL_DATA_CODE
    items = list(ds.get("DeidentificationMethodCodeSequence") or [])
    if any(str(i.get("CodeValue", "")) == value and str(i.get("CodingSchemeDesignator", "")) == scheme
           for i in items):
        return
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    items.append(item)
    ds.DeidentificationMethodCodeSequence = Sequence(items)


