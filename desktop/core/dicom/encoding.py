"""Facts about how a DICOM file is encoded that more than one domain needs."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian


def implied_transfer_syntax(ds: Dataset) -> UID:
    """The transfer syntax of a file without File Meta Information (ACR-NEMA style), from
    how pydicom read it (PS3.5 A.1, A.2, A.3)."""
    if ds.is_little_endian is False:
        return ExplicitVRBigEndian
    return ImplicitVRLittleEndian if ds.is_implicit_VR else ExplicitVRLittleEndian
