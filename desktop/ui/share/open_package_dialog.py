"""Open Package: verify a ``NAME.veil`` someone sent and import its images.

Veil tries the user's own key first and asks for a passphrase only when the package is not
addressed to that key. Opening (decrypting, checking the signature and every file, importing)
runs in the background with progress and Cancel. A tampered, truncated or wrongly addressed
package gets the reader's message, and nothing is imported.

A forwarded package (decrypted and re-encrypted by someone other than its signer, a
plain archive, or too old to say whom it was for) is not imported until the person has read who
signed it and whom it was for and pressed Import Anyway; the result then says it came forwarded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.app.common.formatting import plural
from desktop.app.common.tasks import CancelToken, Progress
from desktop.app.keys import contacts
from desktop.app.keys.contacts import Contact
from desktop.app.library.home import VeilHome
from desktop.app.share.receiving import Received, open_received
from desktop.core.common.errors import Cancelled, VeilError
from desktop.core.share.errors import NotAddressedToYouError, PackagePassphraseError
from desktop.core.share.manifest import Manifest
from desktop.core.share.reader import ForwardedPackageError, forwarded_reasons
from desktop.ui.common.background import run_in_background
from desktop.ui.common.cancel_then_close import CancelThenClose
from desktop.ui.common.errors import describe_unexpected, message_for, show_error
from desktop.ui.common.widgets import heading, label, set_role, throttled
from desktop.ui.keys.contact_dialogs import AddCardDialog
from desktop.ui.keys.passphrase_dialog import password_field
from desktop.ui.library.import_report_dialog import ImportReportDialog
from desktop.ui.share.package_summary import PackageSummary

log = logging.getLogger("veil.ui")
WORKING, PASSPHRASE, FAILED, OPENED, FORWARDED = range(5)


def redacted_in_veil_line(redaction: Mapping[str, Any]) -> str:
    """``3 images redacted in Veil (...)`` when the sender's manifest counts them; "" if not."""
    count = redaction.get("redacted_in_veil")
    if type(count) is not int or count < 0:
        return ""
    return f"{plural(count, 'image')} redacted in Veil (burned-in text removed from the pixels)"


def signer_text(manifest: Manifest) -> str:
    """``Dr Alice, General Hospital [XXXX-...]``: who signed the package."""
    card = manifest.sender
    return card.name + (f", {card.institution}" if card.institution else "") + f" [{card.fingerprint}]"


def layer_words(layer: str) -> str:
    """How the opened file was encrypted, for the summary's Package row."""
    return {"x25519": "encrypted to your key", "passphrase": "encrypted with a passphrase",
            "none": "not encrypted (a plain archive)"}.get(layer, "encrypted")


class OpenPackageDialog(CancelThenClose, QDialog):
    """Open one package: progress, a passphrase if needed, then what it holds and the import."""

    esc_closes = False  # the result page says what a cancel left (nothing)

    #: The package was verified and imported: its Received.
    opened = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, home: VeilHome, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OpenPackageDialog")
        self.setWindowTitle(f"Open Package: {path.name}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.home = home
        self.path = path
        self.received: Received | None = None
        self._passphrase: str | None = None  # what the last open used, for Import Anyway
        self.summary: PackageSummary | None = None
        self.pending: QDialog | None = None
        self._token: CancelToken | None = None
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self._working_page())
        self.stack.addWidget(self._passphrase_page())
        self.stack.addWidget(self._failed_page())
        self.result_area = QScrollArea(self)
        self.result_area.setWidgetResizable(True)
        self.result_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.stack.addWidget(self.result_area)
        self.stack.addWidget(self._forwarded_page())
        self.close_button = QPushButton("Close", self)
        self.close_button.setObjectName("CloseButton")
        self.close_button.clicked.connect(self.close)
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)  # Return in the passphrase field opens, never closes
        footer = QHBoxLayout()
        footer.addStretch(1)
        footer.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 12)
        layout.addWidget(heading(path.name, self, 1.3))
        layout.addWidget(label(str(path.parent), self, "muted", selectable=True))
        layout.addSpacing(8)
        layout.addWidget(self.stack, 1)
        layout.addLayout(footer)
        self.resize(760, 330)  # grows to show an opened package

    # -- pages ---------------------------------------------------------------------------------
    def _working_page(self) -> QWidget:
        page = QWidget(self)
        self.progress_label = label("", page, name="OpenPhase")
        self.progress_bar = QProgressBar(page)
        self.progress_bar.setObjectName("OpenProgress")
        self.cancel_button = QPushButton("Cancel", page)
        self.cancel_button.setObjectName("CancelOpen")
        self.cancel_button.setToolTip("Stop opening: nothing is imported")
        self.cancel_button.clicked.connect(self.cancel)
        row = QHBoxLayout()
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.progress_label)
        layout.addLayout(row)
        layout.addStretch(1)
        return page

    def _passphrase_page(self) -> QWidget:
        page = QWidget(self)
        self.why = label("", page, "warning", name="WhyPassphrase")
        self.passphrase = password_field(page, "OpenPassphrase")
        self.passphrase.setPlaceholderText("The passphrase the sender told you")
        self.passphrase.returnPressed.connect(self.open_with_passphrase)
        self.open_button = QPushButton("Open with Passphrase", page)
        self.open_button.setObjectName("OpenWithPassphrase")
        self.open_button.setProperty("primary", True)
        self.open_button.clicked.connect(self.open_with_passphrase)
        self.passphrase.textChanged.connect(lambda t: self.open_button.setEnabled(bool(t)))
        self.open_button.setEnabled(False)
        self.pass_problem = label("", page, "danger", name="PassphraseProblem")
        row = QHBoxLayout()
        row.addWidget(self.passphrase, 1)
        row.addWidget(self.open_button)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.why)
        layout.addSpacing(8)
        layout.addWidget(label("Open with a passphrase", page, "section"))
        layout.addWidget(label("If the sender protected the package with a passphrase, they told it to you by "
                               "phone or in person.", page, "muted"))
        layout.addLayout(row)
        layout.addWidget(self.pass_problem)
        layout.addStretch(1)
        return page

    def _failed_page(self) -> QWidget:
        page = QWidget(self)
        self.failure = label("", page, "danger", selectable=True, name="OpenFailure")
        self.nothing = label("Nothing was imported.", page, "muted", name="NothingImported")
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.refused = heading("✗ Not opened", page, 1.1)
        set_role(self.refused, "danger")
        layout.addWidget(self.refused)
        layout.addWidget(self.failure)
        layout.addWidget(self.nothing)
        layout.addStretch(1)
        return page

    def _forwarded_page(self) -> QWidget:
        page = QWidget(self)
        title = heading("⚠ Forwarded: not sent to you by the person who signed it", page, 1.1)
        set_role(title, "warning")
        self.forwarded_signer = label("", page, selectable=True, name="ForwardedSigner")
        self.forwarded_for = label("", page, selectable=True, name="ForwardedFor")
        self.forwarded_why = label("", page, "warning", selectable=True, name="ForwardedWhy")
        rows = QFormLayout()
        rows.addRow("Signed by:", self.forwarded_signer)
        rows.addRow("It was for:", self.forwarded_for)
        self.import_forwarded = QPushButton("Import Anyway", page)
        self.import_forwarded.setObjectName("ImportForwarded")
        self.import_forwarded.setToolTip("Import its images although it was not sent to you by its signer "
                                         "(recorded in the audit log)")
        self.import_forwarded.clicked.connect(self.accept_forwarded)
        self.refuse_forwarded = QPushButton("Don't Import", page)
        self.refuse_forwarded.setObjectName("RefuseForwarded")
        self.refuse_forwarded.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.refuse_forwarded)
        buttons.addWidget(self.import_forwarded)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addLayout(rows)
        layout.addWidget(self.forwarded_why)
        layout.addWidget(label("Import its images only if you know where it came from. Nothing has been "
                               "imported yet; your choice is recorded in the audit log.", page, "muted"))
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    # -- opening -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._token is not None

    def start(self, passphrase: str | None = None, confirm_forwarded: bool = False) -> None:
        """Open the package with the user's key (or ``passphrase``) in the background; a
        forwarded package only with ``confirm_forwarded`` (else the page that asks)."""
        if self.busy:
            return
        self._passphrase = passphrase
        token = CancelToken()
        self._set_busy(token)
        self.stack.setCurrentIndex(WORKING)
        self.progress_label.setText("Decrypting, checking the sender's signature and every file…")
        self.progress_bar.setRange(0, 0)
        home, path = self.home, self.path

        def op(progress: Progress) -> Received:
            return open_received(home, path, passphrase, throttled(progress), token,
                                 confirm_forwarded=confirm_forwarded)

        run_in_background(op, self._on_opened, lambda exc: self._on_failed(exc, passphrase is not None),
                          self._on_progress, key=f"open-package-{id(self)}", context=self)

    def accept_forwarded(self) -> None:
        """Import Anyway: open the forwarded package again, confirmed (and audited)."""
        self.start(self._passphrase, confirm_forwarded=True)

    def open_with_passphrase(self) -> None:
        if self.passphrase.text():
            self.start(self.passphrase.text())

    def cancel(self) -> None:
        if self._token is not None and not self._token.cancelled:
            self._token.cancel()
            self.progress_label.setText("Cancelling… (nothing will be imported)")
            self.cancel_button.setEnabled(False)

    def _set_busy(self, token: CancelToken | None) -> None:
        self._token = token
        self.cancel_button.setEnabled(token is not None)
        self.busy_changed.emit(token is not None)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(int(1000 * done / total) if total > 0 else 0)
        if done >= total > 0 and not (self._token and self._token.cancelled):
            self.progress_label.setText("Verified. Importing the images into your library…")
            self.cancel_button.setEnabled(False)  # the import of verified images runs to its end

    def _on_opened(self, received: Received) -> None:
        self._set_busy(None)
        self.received = received
        self.opened.emit(received)
        if self.closed_after_work():
            return
        page = QWidget(self.result_area)
        self.summary = PackageSummary(received, page)
        self.summary.add_sender_requested.connect(self.add_sender)
        self.summary.report_requested.connect(self.show_import_report)
        self._annotate(self.summary, received)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        if received.forwarded:
            layout.addWidget(label(f"⚠ Forwarded, imported because you confirmed it. {received.forwarded_text}",
                                   page, "warning", selectable=True, name="ForwardedBanner"))
        if received.cases:
            names = ", ".join(f"\u201c{title}\u201d" for title in received.cases)
            layout.addWidget(label(f"Teaching case{'s' if len(received.cases) > 1 else ''} received: {names}, with "
                                   "its key images, in File > Teaching Cases.", page, "ok", selectable=True,
                                   name="ReceivedCases"))
        layout.addWidget(self.summary, 1)
        self.result_area.setWidget(page)
        self.stack.setCurrentIndex(OPENED)
        screen = self.screen().availableGeometry() if self.screen() else None
        self.resize(min(960, screen.width() - 40) if screen else 960, min(780, screen.height() - 60) if screen else 780)

    @staticmethod
    def _annotate(summary: PackageSummary, received: Received) -> None:
        """What the summary says, completed: images the sender redacted in Veil, how the file
        was really encrypted, and a headline that does not call a forwarded package sent to you."""
        m = received.manifest
        redaction = summary.findChild(QLabel, "PackageRedaction")
        extra = redacted_in_veil_line(m.details.redaction)
        if redaction is not None and extra:
            redaction.setText(f"{redaction.text()}\n{extra}")
        for row in summary.findChildren(QLabel):  # the Package: row (made, encrypted how, id)
            if row.text().startswith("Made ") and ", encrypted " in row.text():
                made, _, rest = row.text().partition(", encrypted ")
                row.setText(f"{made}, {layer_words(received.arrival.layer)}, {rest.partition(', ')[2]}")
        headline = summary.findChild(QLabel, "OpenedHeadline")
        if headline is not None and received.forwarded:
            headline.setText("⚠ Forwarded: signed by its sender, every file intact, but not sent to you by them")
            set_role(headline, "warning")

    def _on_failed(self, exc: BaseException, with_passphrase: bool) -> None:
        self._set_busy(None)
        if self.closed_after_work():
            return
        if isinstance(exc, ForwardedPackageError):
            self.forwarded_signer.setText(signer_text(exc.manifest))
            self.forwarded_for.setText(exc.manifest.addressee_text)
            self.forwarded_why.setText(" ".join(forwarded_reasons(exc.manifest, exc.arrival)))
            self.stack.setCurrentIndex(FORWARDED)
            self.refuse_forwarded.setFocus()  # importing takes a deliberate click
            return
        if not isinstance(exc, VeilError):
            log.error("Opening a package failed: %s", describe_unexpected(exc))
        if isinstance(exc, NotAddressedToYouError) or (with_passphrase and isinstance(exc, PackagePassphraseError)):
            if not with_passphrase:
                self.why.setText(message_for(exc))
            self.pass_problem.setText(message_for(exc) if with_passphrase else "")
            self.pass_problem.setVisible(with_passphrase)
            self.stack.setCurrentIndex(PASSPHRASE)
            self.passphrase.setFocus()
            self.passphrase.selectAll()
            return
        cancelled = isinstance(exc, Cancelled)
        self.refused.setText("Cancelled" if cancelled else "✗ Not opened")
        set_role(self.refused, "muted" if cancelled else "danger")
        self.failure.setText("Opening was cancelled." if cancelled else message_for(exc))
        set_role(self.failure, "muted" if cancelled else "danger")
        self.stack.setCurrentIndex(FAILED)

    # -- after opening -------------------------------------------------------------------------
    def add_sender(self) -> AddCardDialog | None:
        """Add to Address Book…: the sender's card, after the person confirms."""
        if self.received is None:
            return None
        card = self.received.manifest.sender
        dialog = AddCardDialog(card, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        home = self.home

        def added(contact: Contact) -> None:
            if self.summary is not None:
                self.summary.set_sender(contact)

        def add() -> None:  # read the dialog here, on the UI thread
            name, verified = dialog.name(), dialog.verified.isChecked()
            run_in_background(lambda _p: contacts.add_card(home, card, name, verified=verified), added,
                              lambda exc: show_error(self, exc, "Address book"), context=self)

        dialog.accepted.connect(add)
        self.pending = dialog
        dialog.open()
        return dialog

    def show_import_report(self) -> ImportReportDialog | None:
        if self.received is None:
            return None
        dialog = ImportReportDialog(self.received.imported, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # -- closing -------------------------------------------------------------------------------
    def cancel_work(self) -> None:
        self.cancel()
