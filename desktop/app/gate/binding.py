"""Part of step 1 of the privacy gate: who receives is bound to who may receive.

For the patient's care (HIPAA 45 CFR 164.506: disclosure for treatment, to the provider named),
the consent names a colleague, and the images go only to that colleague's key: an encrypted
package to the address-book contact of that name, never a passphrase (anyone who hears it can
open the package), never another contact beside them, never a plain folder, archive or slide.
The accounting then names the contact the package was really encrypted to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.purpose_rules import needs_colleague
from desktop.app.keys.contacts import Contact
from desktop.core.common.errors import VeilError
from desktop.core.consent.policy import same_person


class BindingError(VeilError):
    """The way out does not go to the person the purpose (and its consent) names."""


class Channel(StrEnum):
    """How an export leaves."""

    KEYS = "keys"  # an encrypted package to address-book contacts
    PASSPHRASE = "passphrase"  # an encrypted package that opens with a passphrase
    ARCHIVE = "archive"  # a signed ZIP, not encrypted (journals, archives)
    FOLDER = "folder"  # de-identified DICOM files in a folder
    SLIDES = "slides"  # PNG or JPEG images (a folder or a zip)
    IMAGE = "image"  # one rendered image from the viewer
    DECK = "deck"  # a PowerPoint deck of teaching cases
    NETWORK = "network"  # C-STORE to a DICOM node (de-identified only: care goes in a key package)


@dataclass(frozen=True)
class Delivery:
    """Where an export goes: the channel, and for KEYS the contacts it is encrypted to."""

    channel: Channel
    contacts: tuple[Contact, ...] = ()

    def recipient_text(self, purpose: ExportPurpose) -> str:
        """Who received it, as the accounting of disclosures names them."""
        if self.channel is Channel.KEYS:
            return ", ".join(f"{c.name} [{c.fingerprint or c.age_recipient[:16] + '…'}]" for c in self.contacts)
        if self.channel is Channel.PASSPHRASE:
            return f"{purpose.recipient or 'someone with the passphrase'} (passphrase)"
        if self.channel is Channel.ARCHIVE:
            return f"{purpose.recipient or 'unnamed recipient'} (unencrypted archive)"
        return purpose.recipient


def bind(purpose: ExportPurpose, delivery: Delivery) -> ExportPurpose:
    """Check that ``delivery`` goes only to who ``purpose`` names (see the module) and return
    the purpose as the consent check must see it; raises :class:`BindingError` otherwise."""
    if not needs_colleague(purpose.purpose):
        if delivery.channel is Channel.KEYS and not delivery.contacts:
            raise BindingError("Choose who can open the package: colleagues from the address book, or a passphrase.")
        return purpose
    if delivery.channel is not Channel.KEYS:
        raise BindingError("Images for the patient's care go only to the colleague the consent names, as a package "
                           "encrypted to their key from the address book: not with a passphrase, not as a plain "
                           "folder, archive or image.")
    if len(delivery.contacts) != 1:
        raise BindingError("A care package goes to exactly one colleague: the one the patient's consent names. "
                           "Send a separate package to each colleague, each under its own consent.")
    (contact,) = delivery.contacts
    if purpose.recipient.strip() and not same_person(purpose.recipient, contact.name):
        raise BindingError(f"The package would be encrypted to {contact.name}, but the export is for "
                           f"{purpose.recipient}: a care package goes only to the colleague it is for.")
    return ExportPurpose(purpose.purpose, contact.name, purpose.protocol_id, purpose.justification)


def unverified(contacts: Sequence[Contact]) -> list[Contact]:
    """The contacts whose key was never checked with its owner (say so before sending)."""
    return [c for c in contacts if not c.verified]
