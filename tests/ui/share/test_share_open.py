"""Opening a package someone sent: from the menu, by drag and drop or from the command line;
the sender known and verified or not; a passphrase asked only when needed; a tampered
package refused with nothing imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLabel

from desktop.app.browsing.catalogue import load_catalogue
from desktop.app.keys.contacts import list_contacts
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import import_paths
from desktop.app.share.sharing import ShareRequest, export_package
from desktop.core.deid.profiles import preset
from desktop.ui import launch
from desktop.ui.share.open_package_dialog import OpenPackageDialog
from tests.conftest import pydicom_test_files, teaching, write_series
from tests.ui.share_helpers import befriend, click, colleague
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def alice(tmp_path) -> VeilHome:
    """The sender: a library with Smith's CT (3 images), allowed for teaching."""
    home = VeilHome.open(tmp_path / "alice")
    from desktop.app.keys.identity import set_my_details

    set_my_details(home, name="Dr Alice", institution="General Hospital")
    src = tmp_path / "src"
    write_series(pydicom_test_files() / "CT_small.dcm", src, 3, "Smith^Anna", "MRN-1001")
    import_paths(home, [src])
    teaching(home)
    return home


def package_for(alice: VeilHome, me: VeilHome, out: Path, passphrase: str | None = None) -> Path:
    """A package from Alice, to ``me`` (or with a passphrase)."""
    study = load_catalogue(alice).studies[0].study_uid
    recipients = ()
    if passphrase is None:
        befriend(alice, me, "Me")
        recipients = tuple(c for c in list_contacts(alice) if c.name == "Me")
    report = export_package(alice, ShareRequest((study,), teaching(alice), out, preset("teaching"),
                                                recipients=recipients, passphrase=passphrase))
    assert report.package is not None
    return out


def opened(qtbot, dialog: OpenPackageDialog) -> OpenPackageDialog:
    qtbot.waitUntil(lambda: not dialog.busy and dialog.stack.currentIndex() != 0, timeout=IMPORT_TIMEOUT_MS)
    return dialog


def texts(widget) -> str:
    return "\n".join(w.text() for w in widget.findChildren(QLabel) if w.isVisibleTo(widget))


def test_a_package_from_a_verified_colleague_is_shown_and_imported(qtbot, window, home, alice, tmp_path):
    befriend(home, alice, "Dr Alice")
    path = package_for(alice, home, tmp_path / "case.veil")
    dialog = opened(qtbot, window.share.open_package(path))
    summary = dialog.summary
    assert summary is not None and dialog.received.imported.imported == 3
    assert summary.sender_status.text().startswith("✓ In your address book as Dr Alice, verified ")
    assert not summary.add_button.isVisible()
    shown = texts(summary)
    assert "Dr Alice, General Hospital" in shown
    assert summary.findChild(QLabel, "PackagePurpose").text() == "Internal teaching"
    assert "Not required (site policy, de-identified only) for teaching" in shown
    assert "De-identified with the 'teaching' profile" in summary.findChild(QLabel, "PackageDeid").text()
    assert "No image was flagged" in summary.findChild(QLabel, "PackageRedaction").text()
    assert "encrypted to your key, signature and every file verified" in shown
    assert summary.files.rowCount() == len(dialog.received.manifest.files)
    assert summary.import_label.text().startswith("Imported 3 new instances (1 study)")
    qtbot.waitUntil(lambda: window.browser.visible_study_count() == 1, timeout=IMPORT_TIMEOUT_MS)


def test_an_unknown_sender_is_a_warning_and_can_be_added(qtbot, window, home, alice, tmp_path):
    path = package_for(alice, home, tmp_path / "case.veil")
    dialog = opened(qtbot, window.share.open_package(path))
    status = dialog.summary.sender_status
    assert status.text().startswith("⚠ Unknown sender: not in your address book")
    assert status.property("role") == "warning" and dialog.summary.add_button.isVisible()
    click(qtbot, dialog.summary.add_button)
    add = dialog.pending
    assert add is not None and add.name() == "Dr Alice"
    assert add.findChild(QLabel, "CardFingerprint").text().replace("   ", "-") == alice_fingerprint(alice)
    add.accept()
    qtbot.waitUntil(lambda: "In your address book as Dr Alice" in status.text(), timeout=IMPORT_TIMEOUT_MS)
    assert "not verified yet" in status.text() and not dialog.summary.add_button.isVisible()
    assert [c.name for c in list_contacts(home)] == ["Dr Alice"]


def alice_fingerprint(alice: VeilHome) -> str:
    from desktop.app.keys.identity import my_card

    return my_card(alice).fingerprint


def test_a_tampered_package_is_refused_and_nothing_imported(qtbot, window, home, alice, tmp_path):
    path = package_for(alice, home, tmp_path / "case.veil")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    bad = tmp_path / "tampered.veil"
    bad.write_bytes(bytes(data))
    dialog = opened(qtbot, window.share.open_package(bad))
    assert dialog.stack.currentIndex() == 2
    assert "altered or damaged" in dialog.failure.text() and dialog.failure.property("role") == "danger"
    assert dialog.nothing.text() == "Nothing was imported." and dialog.nothing.isVisible()
    assert load_catalogue(home).empty


def test_a_passphrase_is_asked_only_when_the_package_needs_one(qtbot, window, home, alice, tmp_path):
    path = package_for(alice, home, tmp_path / "pass.veil", passphrase=PASSPHRASE)
    dialog = opened(qtbot, window.share.open_package(path))
    assert dialog.stack.currentIndex() == 1  # the passphrase page
    assert "protected by a passphrase" in dialog.why.text()
    assert not dialog.open_button.isEnabled()
    qtbot.keyClicks(dialog.passphrase, "wrong horse battery staple")
    click(qtbot, dialog.open_button)
    opened(qtbot, dialog)
    assert dialog.stack.currentIndex() == 1 and "does not open this package" in dialog.pass_problem.text()
    assert load_catalogue(home).empty
    dialog.passphrase.setText(PASSPHRASE)
    qtbot.keyClick(dialog.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=IMPORT_TIMEOUT_MS)
    assert "encrypted with a passphrase" in texts(dialog.summary)
    assert dialog.received.imported.imported == 3


def test_a_package_addressed_to_someone_else_offers_a_passphrase(qtbot, window, home, alice, tmp_path):
    other = colleague(tmp_path, "Dr Carol")
    path = package_for(alice, other, tmp_path / "carol.veil")
    dialog = opened(qtbot, window.share.open_package(path))
    assert dialog.stack.currentIndex() == 1 and "not addressed to you" in dialog.why.text()
    assert dialog.open_button.text() == "Open with Passphrase"


def test_dropping_a_package_opens_it_instead_of_importing(qtbot, window, home, alice, tmp_path):
    path = package_for(alice, home, tmp_path / "case.veil")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dragEnterEvent(QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                          Qt.KeyboardModifier.NoModifier))
    assert window.drop_overlay.isVisible()
    assert window.drop_overlay.findChild(QLabel).text() == "Drop to open the package"
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    qtbot.waitUntil(lambda: bool(window.share.open_dialogs), timeout=IMPORT_TIMEOUT_MS)
    dialog = opened(qtbot, window.share.open_dialogs[0])
    assert dialog.path == path and not window.imports.busy
    assert dialog.received.imported.imported == 3


def test_veil_gui_opens_a_package_given_on_the_command_line(qtbot, veil_home, alice, tmp_path):
    me = VeilHome.open(veil_home)
    path = package_for(alice, me, tmp_path / "case.veil")
    window = launch.start(str(veil_home), str(path))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: bool(window.share.open_dialogs), timeout=IMPORT_TIMEOUT_MS)
    dialog = opened(qtbot, window.share.open_dialogs[0])
    assert dialog.received is not None and dialog.received.imported.imported == 3
    dialog.close()
    window.close()
    QApplication.processEvents()


def forwarded_to(alice: VeilHome, me: VeilHome, tmp_path: Path) -> Path:
    """A package from Alice to Dr Bob, which Bob decrypted (with rage) and re-encrypted to ``me``."""
    import pyrage
    from pyrage import x25519

    from desktop.app.keys.identity import my_card, my_identity

    bob = colleague(tmp_path, "Dr Bob")
    package = package_for(alice, bob, tmp_path / "to-bob.veil")
    plain = pyrage.decrypt(package.read_bytes(), [my_identity(bob).age_identity])
    out = tmp_path / "forwarded.veil"
    out.write_bytes(pyrage.encrypt(plain, [x25519.Recipient.from_str(my_card(me).age_recipient)]))
    return out


def test_a_forwarded_package_is_imported_only_when_confirmed(qtbot, window, home, alice, tmp_path):
    from desktop.ui.share.open_package_dialog import FORWARDED

    path = forwarded_to(alice, home, tmp_path)
    dialog = opened(qtbot, window.share.open_package(path))
    assert dialog.stack.currentIndex() == FORWARDED and dialog.received is None
    page = dialog.stack.currentWidget()
    assert f"Dr Alice, General Hospital [{alice_fingerprint(alice)}]" == dialog.forwarded_signer.text()
    assert dialog.forwarded_for.text().startswith("Dr Bob [")  # whom Alice sent it to: not me
    assert "not encrypted to you the way its sender said" in dialog.forwarded_why.text()
    assert "You are not among the recipients its signer chose." in dialog.forwarded_why.text()
    assert "Import its images only if you know where it came from" in texts(page)
    assert load_catalogue(home).empty  # nothing imported before the person confirms
    click(qtbot, dialog.import_forwarded)
    qtbot.waitUntil(lambda: dialog.summary is not None and not dialog.busy, timeout=IMPORT_TIMEOUT_MS)
    assert dialog.received.forwarded and dialog.received.imported.imported == 3
    banner = dialog.result_area.findChild(QLabel, "ForwardedBanner")
    assert banner is not None and banner.text().startswith("⚠ Forwarded, imported because you confirmed it.")
    headline = dialog.summary.findChild(QLabel, "OpenedHeadline")
    assert headline.text().startswith("⚠ Forwarded") and headline.property("role") == "warning"
    actions = [json.loads(line)["action"] for line in home.audit_path.read_text().splitlines()]
    assert actions.count("share.forwarded") == 2 and "share.opened" in actions  # refused, then confirmed


def test_dont_import_leaves_a_forwarded_package_out(qtbot, window, home, alice, tmp_path):
    dialog = opened(qtbot, window.share.open_package(forwarded_to(alice, home, tmp_path)))
    assert dialog.refuse_forwarded.text() == "Don't Import"
    click(qtbot, dialog.refuse_forwarded)
    qtbot.waitUntil(lambda: not window.share.open_dialogs, timeout=IMPORT_TIMEOUT_MS)
    assert load_catalogue(home).empty


def test_a_plain_archive_asks_and_says_how_many_images_veil_redacted(qtbot, window, home, alice, tmp_path):
    from desktop.app.keys.identity import my_card, my_identity
    from desktop.core.share.manifest import PackageDetails
    from desktop.core.share.member_names import dicom_member_name
    from desktop.core.share.writer import write_archive

    details = PackageDetails("publication", {}, {"profile": "publication"}, {"redacted_in_veil": 2})
    files = [(dicom_member_name(0), pydicom_test_files() / "CT_small.dcm")]
    journal = write_archive(tmp_path / "journal.zip", files, details, my_identity(alice), my_card(alice),
                            addressed_for="Radiology journal").path
    dialog = opened(qtbot, window.share.open_package(journal))
    assert "unencrypted archive, not a package addressed to you" in dialog.forwarded_why.text()
    assert dialog.forwarded_for.text() == "Radiology journal (an unencrypted archive)"
    click(qtbot, dialog.import_forwarded)
    qtbot.waitUntil(lambda: dialog.summary is not None and not dialog.busy, timeout=IMPORT_TIMEOUT_MS)
    redaction = dialog.summary.findChild(QLabel, "PackageRedaction").text()
    assert redaction.endswith("\n2 images redacted in Veil (burned-in text removed from the pixels)")
    assert "not encrypted (a plain archive), signature and every file verified" in texts(dialog.summary)
