"""A colleague's key as a person reads it: fingerprints grouped for reading aloud over the phone,
a bare age key shortened for a list, and a contact's verified state in words.
"""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QLabel, QWidget

from desktop.app.keys.contacts import Contact
from desktop.ui.common.widgets import label

CARD_FILTER = "Key cards (*.json *.card *.veilcard);;All files (*)"


def fingerprint_groups(fingerprint: str | None) -> str:
    """``ABCD-EFGH-…`` as groups spaced for reading over the phone."""
    return "   ".join((fingerprint or "").split("-")) if fingerprint else "—"


def fingerprint_label(fingerprint: str | None, parent: QWidget | None = None, scale: float = 1.0,
                      name: str | None = None) -> QLabel:
    """The fingerprint in a fixed-width font, selectable, at ``scale`` times the normal size."""
    widget = label(fingerprint_groups(fingerprint), parent, wrap=False, selectable=True, name=name)
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(widget.font().pointSizeF() * scale)
    if scale > 1.2:
        font.setWeight(QFont.Weight.DemiBold)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 1.5)
    widget.setFont(font)
    return widget


def short_recipient(recipient: str) -> str:
    """``age1qyz…wxyz``: a bare age key, shortened for a list."""
    return recipient if len(recipient) <= 24 else f"{recipient[:12]}…{recipient[-8:]}"


def verified_words(contact: Contact) -> tuple[str, str]:
    """(words, theme role) for a contact's verification state."""
    if contact.verified_at:
        return f"✓ Verified {contact.verified_at[:10]}", "ok"
    return "⚠ Not verified", "warning"


def contact_key_text(contact: Contact) -> str:
    """The contact's fingerprint, or its bare age key (it has no card)."""
    return contact.fingerprint or f"{short_recipient(contact.age_recipient)} (age key only)"
