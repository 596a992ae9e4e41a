"""What an export's purpose asks of it, in one place: the export purpose's own checks, the
privacy gate, the share use case and the dialogs that fill a purpose in all ask here.

- **Care** is a disclosure for treatment to one provider (HIPAA 45 CFR 164.506(c)): the export
  names the colleague, the consent must name the same colleague, and only care may send the
  identifiable originals; everything else leaves de-identified (45 CFR 164.514(b), DICOM
  PS3.15 Annex E).
- **Research** is under a named protocol: the export names it, the consent must name the same
  one, and it is written as Clinical Trial Protocol ID (0012,0020) in the Consent for Clinical
  Trial Use Sequence (DICOM PS3.3 C.7.2.3, distribution type NAMED_PROTOCOL).
- A plain, unencrypted archive carries de-identified images only, and never for care (it has
  no recipient key, so it cannot go only to the named colleague).
"""

from __future__ import annotations

from collections.abc import Sequence

from desktop.app.consent.consenting import check_items
from desktop.app.library.home import VeilHome
from desktop.core.consent import Decision, ExportItem, ExportRequest, Purpose


def needs_colleague(purpose: Purpose) -> bool:
    """The export names the colleague it is for, and goes to that colleague's key only (care)."""
    return Purpose(purpose) is Purpose.CARE


def needs_protocol(purpose: Purpose) -> bool:
    """The export names the research protocol its consent is for (research)."""
    return Purpose(purpose) is Purpose.RESEARCH


def identifiable_allowed(purpose: Purpose) -> bool:
    """Whether the identifiable originals may leave for ``purpose`` (care only)."""
    return Purpose(purpose) is Purpose.CARE


def unencrypted_allowed(purpose: Purpose, identifiable: bool) -> bool:
    """Whether the export may leave as a plain, unencrypted archive: de-identified images, for
    a purpose other than care."""
    return not identifiable and not needs_colleague(purpose)


def unencrypted_purposes() -> tuple[Purpose, ...]:
    """The purposes a de-identified, unencrypted export (slide images, a PNG) may be for: every
    purpose but care, in the order the forms list them."""
    return tuple(p for p in Purpose if unencrypted_allowed(p, identifiable=False))


def check_for_purpose(home: VeilHome, purpose: Purpose, items: Sequence[ExportItem], deidentified: bool,
                      recipient: str = "", protocol_id: str = "") -> tuple[ExportRequest, Decision]:
    """The consent check of ``items`` for ``purpose``: for care, against the colleague
    ``recipient`` names; the protocol, when given, against the consent's. No override here:
    a refused care export is overridden by the caller, with its justification."""
    return check_items(home, Purpose(purpose), list(items), deidentified,
                       colleague=recipient if needs_colleague(purpose) else None,
                       protocol_id=protocol_id or None)
