"""Export Package: the wizard that sends a selection of studies (or one series) as an
encrypted, signed ``NAME.veil`` (issue 7).

Purpose and consent -> what leaves (a de-identification profile, or identifiable for care) ->
redaction review -> recipients -> output file -> export with progress and Cancel -> result.
The consent check, the search for flagged images (headers, then text read in the pixels), the
address book and the export each run off the UI thread (:func:`run_in_background`); a newer
check supersedes an older one. The wizard only wires widgets to ``desktop.app.sharing`` and
``desktop.app.text_flags``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout,
                               QWidget)

from desktop.app.browsing import SeriesRow, StudyRow
from desktop.app.consenting import check_items, selection_items
from desktop.app.contacts import list_contacts
from desktop.app.formatting import plural
from desktop.app.home import VeilHome
from desktop.app.sharing import Flagged, ShareReport, ShareRequest, export_package, flagged_images
from desktop.app.text_flags import text_flags
from desktop.app.tasks import CancelToken, Progress
from desktop.core.consent import Purpose
from desktop.core.deid.profiles import load_presets
from desktop.core.errors import Cancelled, VeilError
from desktop.core.redaction.ocr import OcrUnavailable
from desktop.ui.background import run_in_background
from desktop.ui.cancel_then_close import CancelThenClose
from desktop.ui.errors import describe_unexpected, message_for
from desktop.ui.share_pages import ProfilePage, PurposePage, RedactionPage, WizardPage
from desktop.ui.share_recipients import OutputPage, RecipientsPage
from desktop.ui.share_result import RunPage, prepare_output, summary_rows
from desktop.ui.share_widgets import WIZARD_STYLE, heading, label, throttled

log = logging.getLogger("veil.ui")
CONSENT_DELAY_MS = 300


class ShareWizard(CancelThenClose, QDialog):
    """The export wizard for ``studies`` (only ``series`` of them, when given)."""

    esc_closes = False  # the result page says what a cancel left (nothing)
    window_close_closes = False

    #: The export ended with a package, or refused: its ShareReport.
    exported = Signal(object)
    busy_changed = Signal(bool)
    #: Open this series (UID) in the viewer, to redact it.
    view_requested = Signal(str)

    def __init__(self, home: VeilHome, studies: Sequence[StudyRow], series: Sequence[SeriesRow] = (),
                 parent: QWidget | None = None, instance_uids: Sequence[str] = ()) -> None:
        super().__init__(parent)
        if not studies:
            raise VeilError("Select the studies to export first.")
        self.setObjectName("ShareWizard")
        self.setWindowTitle("Export Package")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setStyleSheet(WIZARD_STYLE)
        self.home = home
        self.studies = list(studies)
        self.series = list(series)
        self.study_uids = tuple(s.study_uid for s in self.studies)
        self.series_uids = tuple(s.series_uid for s in self.series)
        self.instance_uids = tuple(instance_uids)  # only these images of the series, when given
        self.last_report: ShareReport | None = None
        self._token: CancelToken | None = None
        self._flag_token: CancelToken | None = None  # the running search for flagged images
        self._checked_identifiable = False

        self.purpose_page = PurposePage(self.studies, self._series_text(), self)
        self.profile_page = ProfilePage(load_presets(), self)
        self.redaction_page = RedactionPage(self)
        self.recipients_page = RecipientsPage(self)
        self.output_page = OutputPage(self)
        self.run_page = RunPage(self)
        self.pages: list[WizardPage] = [self.purpose_page, self.profile_page, self.redaction_page,
                                        self.recipients_page, self.output_page, self.run_page]
        self._consent_timer = QTimer(self)
        self._consent_timer.setSingleShot(True)
        self._consent_timer.setInterval(CONSENT_DELAY_MS)
        self._consent_timer.timeout.connect(self.check_consent)
        self._build()
        self._connect()
        self._allow_unencrypted()
        self.resize(1060, 760)
        self.go(0)
        self.check_consent()
        self.check_flagged()
        self.load_contacts()

    # -- construction ---------------------------------------------------------------------------
    def _series_text(self) -> str:
        if not self.series:
            return "Every series of " + ("this study." if len(self.studies) == 1 else "these studies.")
        parts = [f"series {s.series_number or '?'} {s.modality} {s.description}".strip() for s in self.series]
        images = len(self.instance_uids) or sum(s.image_count for s in self.series)
        return f"Only {', '.join(parts)} ({plural(images, 'image')})."

    def _build(self) -> None:
        rail = QFrame(self)
        rail.setObjectName("StepRail")
        rail.setFixedWidth(210)
        rail_layout = QVBoxLayout(rail)
        rail_layout.setContentsMargins(8, 10, 8, 10)
        self.steps: list[QLabel] = []
        for n, page in enumerate(self.pages, start=1):
            step = QLabel(f"{n}   {page.title}", rail)
            step.setProperty("step", "todo")
            rail_layout.addWidget(step)
            self.steps.append(step)
        rail_layout.addStretch(1)
        self.title = heading("", self, 1.35)
        self.title.setObjectName("PageTitle")
        self.subtitle = label("", self, "muted", name="PageSubtitle")
        self.stack = QStackedWidget(self)
        for page in self.pages:
            self.stack.addWidget(page)
        self.problem_label = label("", self, "warning", name="WizardProblem")
        self.back_button = QPushButton("Back", self)
        self.back_button.setObjectName("BackButton")
        self.next_button = QPushButton("Next", self)
        self.next_button.setObjectName("NextButton")
        self.next_button.setProperty("primary", True)
        self.next_button.setDefault(True)
        self.close_button = QPushButton("Cancel", self)
        self.close_button.setObjectName("CloseButton")
        body = QVBoxLayout()
        body.setContentsMargins(12, 0, 0, 0)
        body.addWidget(self.title)
        body.addWidget(self.subtitle)
        body.addSpacing(10)
        body.addWidget(self.stack, 1)
        top = QHBoxLayout()
        top.addWidget(rail)
        top.addLayout(body, 1)
        footer = QHBoxLayout()
        footer.addWidget(self.problem_label, 1)
        footer.addStretch(1)  # the buttons keep their size while no problem is shown
        footer.addSpacing(12)
        footer.addWidget(self.close_button)
        footer.addWidget(self.back_button)
        footer.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 14, 14, 12)
        layout.addLayout(top, 1)
        layout.addSpacing(8)
        layout.addLayout(footer)

    def _connect(self) -> None:
        for page in self.pages:
            page.changed.connect(self._update_nav)
        self.purpose_page.form.changed.connect(self._on_purpose_changed)
        self.profile_page.changed.connect(self._on_profile_changed)
        self.redaction_page.recheck_requested.connect(self.check_flagged)
        self.redaction_page.view_requested.connect(self.view_requested)
        self.recipients_page.address_book_requested.connect(self.open_address_book)
        self.recipients_page.mode_changed.connect(self._on_mode_changed)
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        self.close_button.clicked.connect(self.close)

    # -- navigation -------------------------------------------------------------------------------
    @property
    def current(self) -> WizardPage:
        return self.pages[self.stack.currentIndex()]

    @property
    def busy(self) -> bool:
        """An export is running."""
        return self._token is not None

    def go(self, index: int) -> None:
        """Show page ``index`` (0: purpose … 5: export)."""
        page = self.pages[index]
        if page is self.recipients_page:
            purpose = self.purpose_page.form.purpose()
            if purpose is not None and purpose.purpose is Purpose.CARE and not self.recipients_page.chosen():
                self.recipients_page.tick(purpose.recipient)
        if page is self.output_page:
            self.output_page.set_summary(self.summary())
        self.stack.setCurrentIndex(index)
        self.title.setText(page.title)
        self.subtitle.setText(page.subtitle)
        for n, step in enumerate(self.steps):
            step.setProperty("step", "current" if n == index else "done" if n < index else "todo")
            step.style().unpolish(step)
            step.style().polish(step)
        self._update_nav()

    def next(self) -> None:
        index = self.stack.currentIndex()
        if self.busy or self.current.problem() is not None or self.current is self.run_page:
            return
        if self.current is self.output_page:
            self.export()
        else:
            self.go(index + 1)

    def back(self) -> None:
        index = self.stack.currentIndex()
        if not self.busy and index > 0:
            self.go(index - 1)

    def _update_nav(self) -> None:
        page, running = self.current, self.current is self.run_page
        problem = None if running else page.problem()
        self.problem_label.setText(problem or "")
        self.problem_label.setVisible(problem is not None)
        written = running and self.last_report is not None and self.last_report.package is not None
        self.back_button.setEnabled(self.stack.currentIndex() > 0 and not self.busy)
        self.back_button.setVisible(not written)  # a written package is final: export again from the start
        self.next_button.setVisible(not running)
        self.next_button.setEnabled(problem is None and not self.busy)
        self.next_button.setText("Export" if page is self.output_page else "Next")
        self.close_button.setText("Cancel Export" if self.busy else "Close" if running else "Cancel")
        self.close_button.setToolTip("Stop the export: nothing is written" if self.busy else "Close the wizard")

    def summary(self) -> list[tuple[str, str, str]]:
        """(heading, text, role) rows: everything the export will do."""
        return summary_rows(self.studies, self.series, self.purpose_page.form, self.profile_page,
                            self.redaction_page, self.recipients_page)

    # -- background checks ------------------------------------------------------------------------
    def _on_purpose_changed(self) -> None:
        form = self.purpose_page.form
        self.profile_page.set_care(form.current() is Purpose.CARE)
        self._allow_unencrypted()
        self._consent_timer.start()

    def _on_mode_changed(self) -> None:
        plain = self.recipients_page.unencrypted()
        self.output_page.set_unencrypted(plain)
        self.run_page.subtitle = ("The images are prepared, packed and signed (not encrypted). Nothing is written "
                                  "until the end." if plain else type(self.run_page).subtitle)

    def _allow_unencrypted(self) -> None:
        """A plain ZIP only for de-identified images and a purpose other than care."""
        care = self.purpose_page.form.current() is Purpose.CARE
        self.recipients_page.allow_unencrypted(not care and not self.profile_page.identifiable)

    def _on_profile_changed(self) -> None:
        self._allow_unencrypted()
        if self.profile_page.identifiable != self._checked_identifiable:
            form = self.purpose_page.form
            form.decision = None
            form.show_checking()
            self._consent_timer.start()

    @property
    def consent_pending(self) -> bool:
        return self._consent_timer.isActive() or self.purpose_page.form.decision is None

    def check_consent(self) -> None:
        """Check the selection against consent for the purpose as filled in, in the background."""
        self._consent_timer.stop()
        form = self.purpose_page.form
        purpose, identifiable = form.purpose(), self.profile_page.identifiable
        self._checked_identifiable = identifiable
        if purpose is None:
            form.show_checking()
            self._update_nav()
            return
        home, uids, series = self.home, self.study_uids, self.series_uids
        care = purpose.purpose is Purpose.CARE

        def op(_progress: Progress):  # noqa: ANN202
            items = selection_items(home, uids, series)
            _request, decision = check_items(home, purpose.purpose, items, deidentified=not identifiable,
                                             colleague=purpose.recipient if care else None,
                                             protocol_id=purpose.protocol_id or None)
            return (purpose.purpose, purpose.recipient, purpose.protocol_id, identifiable), decision

        run_in_background(op, self._on_consent_checked, self._on_consent_failed,
                          key=f"share-consent-{id(self)}", context=self)

    def _on_consent_checked(self, result: tuple) -> None:
        key, decision = result
        form_key = self.purpose_page.form.check_key()
        if form_key is None or (*form_key, self.profile_page.identifiable) != key:
            return  # the form changed meanwhile: a newer check is on its way
        self.purpose_page.form.show_decision(decision)
        self._update_nav()

    def _on_consent_failed(self, exc: BaseException) -> None:
        self._log(exc, "Consent check")
        self.purpose_page.form.show_failure(message_for(exc))
        self._update_nav()

    def check_flagged(self) -> None:
        """Look for images that may carry burned-in text and have no mask, in the background: from
        the headers (:func:`flagged_images`), then in the pixels (:func:`text_flags`, a sample of
        each series read by OCR). A newer check cancels the one running."""
        if self._flag_token is not None:
            self._flag_token.cancel()
        token = self._flag_token = CancelToken()
        self.redaction_page.show_checking()
        home, uids, series, only = self.home, self.study_uids, self.series_uids, self.instance_uids

        def op(progress: Progress) -> tuple[list[Flagged], str | None]:
            items = selection_items(home, uids, series)
            declared = flagged_images(home, items, only)
            try:
                detected = text_flags(home, items, only, already={f.instance_ref for f in declared},
                                      progress=progress, cancelled=lambda: token.cancelled)
            except OcrUnavailable as exc:
                return declared, str(exc)
            # Series by series (a stable sort: within one, the header's flags first).
            return sorted(declared + detected, key=lambda f: f.series_uid), None

        run_in_background(op, self._on_flagged, self._on_flagged_failed, self.redaction_page.show_reading,
                          key=f"share-flagged-{id(self)}", context=self)

    def _on_flagged(self, result: tuple[list[Flagged], str | None]) -> None:
        self.redaction_page.show_flagged(*result)

    def _on_flagged_failed(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            return  # a newer check, or the wizard closing, stopped it
        self._log(exc, "Burned-in check")
        self.redaction_page.show_failure(message_for(exc))

    def load_contacts(self) -> None:
        home = self.home
        run_in_background(lambda _p: list_contacts(home), self.recipients_page.set_contacts,
                          lambda exc: self._log(exc, "Address book"), key=f"share-contacts-{id(self)}",
                          context=self)

    def open_address_book(self) -> None:
        """The address book over the wizard; the recipients are read again when it closes."""
        from desktop.ui.address_book import AddressBookDialog

        dialog = AddressBookDialog(self.home, self)
        dialog.finished.connect(lambda _code: self.load_contacts())
        dialog.open()

    @staticmethod
    def _log(exc: BaseException, what: str) -> None:
        if not isinstance(exc, VeilError):
            log.error("%s failed: %s", what, describe_unexpected(exc))

    # -- export -----------------------------------------------------------------------------------
    def request(self) -> ShareRequest | None:
        """The export as the pages say it; None while a page has a problem."""
        purpose = self.purpose_page.form.purpose()
        if purpose is None or any(p.problem() for p in self.pages[:-1]):
            return None
        return ShareRequest(self.study_uids, purpose, self.output_page.output(), self.profile_page.profile(),
                            series_uids=self.series_uids, instance_uids=self.instance_uids,
                            recipients=self.recipients_page.chosen(),
                            passphrase=self.recipients_page.passphrase_text(),
                            confirm_burned_in=self.redaction_page.confirmed,
                            unencrypted=self.recipients_page.unencrypted(),
                            reviewed=tuple(self.redaction_page.flagged or ()))

    def export(self) -> None:
        """Write the package in the background, showing progress, with Cancel."""
        request = self.request()
        if self.busy or request is None:
            return
        token = CancelToken()
        self._set_busy(token)
        self.go(self.pages.index(self.run_page))
        self.run_page.start(request.output, not request.identifiable)
        home = self.home

        def op(progress: Progress) -> ShareReport:
            prepare_output(request.output)
            return export_package(home, request, throttled(progress), token)

        run_in_background(op, self._on_exported, self._on_export_failed, self.run_page.set_progress,
                          key=f"share-export-{id(self)}", context=self)

    def cancel_export(self) -> None:
        """Stop the running export; no file is left."""
        if self._token is not None and not self._token.cancelled:
            self._token.cancel()
            self.run_page.cancelling()
            self.close_button.setEnabled(False)

    def _set_busy(self, token: CancelToken | None) -> None:
        self._token = token
        self.close_button.setEnabled(True)
        for page in self.pages[:-1]:
            page.setEnabled(token is None)
        self._update_nav()
        self.busy_changed.emit(token is not None)

    def _finish(self, then: Callable[[], None]) -> None:
        self._set_busy(None)
        if self.closed_after_work():
            return
        then()
        self._update_nav()

    def _on_exported(self, report: ShareReport) -> None:
        self.last_report = report
        self.exported.emit(report)
        self._finish(lambda: self.run_page.show_report(report))

    def _on_export_failed(self, exc: BaseException) -> None:
        self._log(exc, "Export")
        self._finish(lambda: self.run_page.show_stopped(message_for(exc), isinstance(exc, Cancelled)))

    # -- closing ----------------------------------------------------------------------------------
    def before_close(self) -> None:
        self._consent_timer.stop()
        if self._flag_token is not None:
            self._flag_token.cancel()  # stop reading pixels for a wizard that is gone

    def cancel_work(self) -> None:
        self.cancel_export()

