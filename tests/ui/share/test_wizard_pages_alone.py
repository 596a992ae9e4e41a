"""Pages of the export wizard on their own (no main window, no library): the de-identification
page offers the identifiable originals only when the purpose allows them, and the recipients
page says what keeps the export from going on, from small fake contacts."""

from __future__ import annotations

import pytest

from desktop.app.consent.purpose_rules import identifiable_allowed, unencrypted_allowed
from desktop.app.keys.contacts import Contact
from desktop.core.consent import Purpose
from desktop.core.deid.profiles import load_presets
from desktop.ui.share.pages import ProfilePage
from desktop.ui.share.recipients import PLAIN_HINT, PLAIN_UNAVAILABLE, RecipientsPage


def contact(n: int, name: str, verified: bool = True) -> Contact:
    """An address-book contact known by a bare age key (no card needed to tick it)."""
    return Contact(n, name, "St Elsewhere", "", f"age1{'q' * 50}{n}", None,
                   "2025-01-02T10:00:00+00:00" if verified else None, "me" if verified else "", "2025-01-01")


@pytest.fixture
def profile_page(qtbot) -> ProfilePage:
    page = ProfilePage(load_presets())
    qtbot.addWidget(page)
    page.show()
    return page


@pytest.fixture
def recipients(qtbot) -> RecipientsPage:
    page = RecipientsPage()
    qtbot.addWidget(page)
    page.show()
    return page


def test_identifiable_images_are_offered_only_for_care(profile_page):
    page = profile_page
    assert page.deid_radio.isChecked() and not page.ident_radio.isEnabled()
    assert page.ident_note.text() == "Not for this purpose: identifiable images leave only for the patient's care."
    assert page.problem() is None and page.profile() is not None

    page.allow_identifiable(identifiable_allowed(Purpose.CARE))
    assert page.ident_radio.isEnabled()
    page.ident_radio.setChecked(True)
    assert page.identifiable and page.profile() is None and not page.form.isEnabled()
    assert page.ident_note.text().startswith("The patient's identity leaves with the images")

    page.allow_identifiable(identifiable_allowed(Purpose.TEACHING))  # the purpose changed away from care
    assert not page.identifiable and page.deid_radio.isChecked() and page.form.isEnabled()
    assert page.ident_radio.toolTip() == "Only for the purpose 'care consultation with a named colleague'"


def test_a_colleague_must_be_ticked_and_an_unverified_key_is_called_out(recipients):
    page = recipients
    page.set_contacts([contact(1, "Dr Anna Jones"), contact(2, "Dr Bob", verified=False)])
    assert page.table.rowCount() == 2 and not page.empty.isVisible()
    assert page.problem() == "Tick at least one colleague, or choose a passphrase."

    assert page.tick("dr anna  jones")  # the colleague the care purpose names, however typed
    assert [c.name for c in page.chosen()] == ["Dr Anna Jones"] and page.problem() is None
    assert not page.warning.isVisible()

    assert page.tick("Dr Bob")
    assert page.warning.isVisible() and page.warning.text().startswith("⚠ Not verified: Dr Bob.")
    assert not page.tick("Dr Carol")  # not in the address book

    page.set_contacts([contact(2, "Dr Bob", verified=False)])  # read again: the ticks that still apply stay
    assert [c.name for c in page.chosen()] == ["Dr Bob"]


def test_an_empty_address_book_says_how_to_fill_it(recipients):
    recipients.set_contacts([])
    assert recipients.empty.isVisible() and not recipients.table.isVisible()
    assert recipients.problem() == "Tick at least one colleague, or choose a passphrase."


def test_a_passphrase_must_be_strong_and_repeated(recipients):
    page = recipients
    page.pass_radio.setChecked(True)
    assert page.problem() == "Choose a passphrase." and page.chosen() == ()
    page.passphrase.setText("short")
    assert page.strength.text().startswith("✗ The passphrase is too short")
    page.passphrase.setText("correct horse battery staple")
    assert page.strength.text() == "✓ Strong enough."
    assert page.problem() == "Repeat the passphrase in Confirm."
    page.confirm.setText("correct horse battery stapler")
    assert page.problem() == "The two passphrases differ."
    page.confirm.setText("correct horse battery staple")
    assert page.problem() is None and page.passphrase_text() == "correct horse battery staple"


def test_the_plain_zip_is_offered_only_where_the_app_allows_it(qtbot, recipients):
    page = recipients
    page.allow_unencrypted(unencrypted_allowed(Purpose.PUBLICATION, identifiable=False))
    assert page.plain_radio.isEnabled() and page.plain_hint.text() == PLAIN_HINT
    with qtbot.waitSignal(page.mode_changed):
        page.plain_radio.setChecked(True)
    assert page.unencrypted() and page.problem() is None and page.chosen() == ()

    page.allow_unencrypted(unencrypted_allowed(Purpose.CARE, identifiable=True))  # now for care
    assert not page.plain_radio.isEnabled() and page.plain_hint.text() == PLAIN_UNAVAILABLE
    assert not page.unencrypted() and page.contacts_radio.isChecked()
