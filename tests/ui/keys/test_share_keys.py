"""My Key Card and the Address Book as a person uses them: read the fingerprint out, copy and
export the card, edit the details; add colleagues from a card file or an age key, verify one
by phone, remove one."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel

from desktop.app.keys.contacts import list_contacts
from desktop.app.keys.identity import my_card, my_identity, write_my_card
from desktop.core.share.identity import import_card
from tests.ui.share_helpers import click, colleague, tick
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS


def test_my_key_card_shows_the_fingerprint_to_read_out_and_copies_and_exports(qtbot, window, home, tmp_path):
    window.commands.key_card.trigger()
    dialog = window.share.key_card_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.card is not None, timeout=IMPORT_TIMEOUT_MS)
    card = my_card(home)
    assert dialog.fingerprint.text() == "   ".join(card.fingerprint.split("-"))
    assert dialog.fingerprint.font().pointSizeF() > 2 * QLabel().font().pointSizeF()
    assert dialog.recipient.text() == card.age_recipient and dialog.name_label.text() == card.name
    assert "Your secret keys stay on this computer" in dialog.storage.text()
    click(qtbot, dialog.copy_button)
    copied = QGuiApplication.clipboard().text()
    assert card.fingerprint in copied and card.age_recipient in copied
    assert dialog.status.text() == "Copied the card's name, fingerprint and age key."

    click(qtbot, dialog.edit_button)
    assert dialog.name_edit.isVisible() and dialog.save_button.isVisible() and not dialog.copy_button.isVisible()
    dialog.name_edit.setText("Dr Anna Jones")
    dialog.institution_edit.setText("General Hospital")
    dialog.email_edit.setText("not an address")
    click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: dialog.status.property("role") == "danger", timeout=IMPORT_TIMEOUT_MS)
    assert "name@example.org" in dialog.status.text() and dialog.name_edit.isVisible()
    dialog.email_edit.setText("anna@example.org")
    click(qtbot, dialog.save_button)
    qtbot.waitUntil(lambda: dialog.name_label.text() == "Dr Anna Jones", timeout=IMPORT_TIMEOUT_MS)
    assert dialog.institution_label.text() == "General Hospital" and not dialog.name_edit.isVisible()
    assert "fingerprint is unchanged" in dialog.status.text()
    assert dialog.fingerprint.text() == "   ".join(card.fingerprint.split("-"))

    out = tmp_path / "card.json"
    dialog.export_to(out)
    qtbot.waitUntil(out.exists, timeout=IMPORT_TIMEOUT_MS)
    exported = import_card(out.read_bytes())
    assert exported.name == "Dr Anna Jones" and exported.fingerprint == card.fingerprint
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Saved your key card as"), timeout=IMPORT_TIMEOUT_MS)


def test_address_book_add_verify_and_remove(qtbot, window, home, tmp_path):
    bob = colleague(tmp_path)
    card_file = tmp_path / "bob.json"
    write_my_card(bob, card_file)
    window.commands.address_book.trigger()
    book = window.share.address_book_dialog
    assert book is not None and book.isVisible()
    qtbot.waitUntil(lambda: book.contacts is not None, timeout=IMPORT_TIMEOUT_MS)
    assert book.empty.isVisible() and not book.table.isVisible()
    assert not book.verify_button.isEnabled() and not book.remove_button.isEnabled()

    book.add_card_path(card_file)
    qtbot.waitUntil(lambda: book.pending is not None, timeout=IMPORT_TIMEOUT_MS)
    add = book.pending
    shown = add.findChild(QLabel, "CardFingerprint").text()
    assert shown == "   ".join(my_card(bob).fingerprint.split("-"))
    assert add.name() == "Dr Bob" and not add.verified.isChecked()
    add.accept()
    qtbot.waitUntil(lambda: bool(book.contacts), timeout=IMPORT_TIMEOUT_MS)
    row = [book.table.item(0, c).text() for c in range(5)]
    assert row[:2] == ["Dr Bob", "St Elsewhere"] and row[3] == my_card(bob).fingerprint
    assert row[4] == "⚠ Not verified" and book.status.text() == "Added Dr Bob."
    assert book.verify_button.isEnabled()  # the new contact is selected

    click(qtbot, book.verify_button)
    verify = book.pending
    assert verify.findChild(QLabel, "VerifyFingerprint").text() == shown
    verify.accept()
    qtbot.waitUntil(lambda: book.table.item(0, 4).text().startswith("✓ Verified "), timeout=IMPORT_TIMEOUT_MS)
    assert not book.verify_button.isEnabled()

    book.add_card_path(card_file)  # the same key again is refused with the reason
    qtbot.waitUntil(lambda: book.pending is not None and book.pending.objectName() == "AddCardDialog",
                    timeout=IMPORT_TIMEOUT_MS)
    book.pending.accept()
    from tests.ui.ui_helpers import message_boxes

    qtbot.waitUntil(lambda: bool(message_boxes("ErrorBox")), timeout=IMPORT_TIMEOUT_MS)
    assert "already in your address book as 'Dr Bob'" in message_boxes("ErrorBox")[0].text()
    message_boxes("ErrorBox")[0].close()

    carol = colleague(tmp_path, "Carol")
    key = book.add_key()
    key.key_edit.setText("age1notakey")
    assert key.problem.isVisible() and "not a valid age public key" in key.problem.text()
    assert not key.buttons.buttons()[0].isEnabled()
    key.key_edit.setText(my_identity(carol).age_recipient)
    key.name_edit.setText("Carol (age)")
    tick(qtbot, key.verified)
    assert key.buttons.buttons()[0].isEnabled()
    key.accept()
    qtbot.waitUntil(lambda: len(book.contacts or []) == 2, timeout=IMPORT_TIMEOUT_MS)
    carol_row = next(r for r in range(2) if book.table.item(r, 0).text() == "Carol (age)")
    assert book.table.item(carol_row, 3).text().endswith("(age key only)")
    assert book.table.item(carol_row, 4).text().startswith("✓ Verified")

    book.select("Dr Bob")
    box = book.remove_selected()
    remove = next(b for b in box.buttons() if b.text() == "Remove")
    click(qtbot, remove)
    qtbot.waitUntil(lambda: [c.name for c in book.contacts or []] == ["Carol (age)"], timeout=IMPORT_TIMEOUT_MS)
    assert [c.name for c in list_contacts(home)] == ["Carol (age)"]
