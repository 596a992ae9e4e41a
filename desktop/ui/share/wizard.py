"""Export Package: the wizard that sends a selection of studies (or one series, or one image)
as an encrypted, signed ``NAME.veil`` (age v1, docs/PACKAGE_FORMAT.md).

What leaves (the studies, series and images, ticked) -> purpose and consent -> de-identification
(a profile, or identifiable for care) -> the privacy gate's redaction review -> recipients ->
output file -> export with progress and Cancel -> result. Reading the selection's tree, the
consent check, the gate's review (headers, OCR, the residual check), the address book and the
export each run off the UI thread (:func:`run_in_background`); a newer check supersedes an
older one, and a change of the ticks starts both checks again. The wizard only wires widgets
to ``desktop.app.share.sharing`` and ``desktop.app.gate.text_flags`` (the gate's review).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QWidget

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.common.tasks import CancelToken, Progress
from desktop.app.consent.consenting import selection_items
from desktop.app.consent.purpose_rules import (
    check_for_purpose,
    identifiable_allowed,
    needs_colleague,
    unencrypted_allowed,
)
from desktop.app.gate.text_flags import SelectionReview, review_selection, selection_of
from desktop.app.keys.contacts import list_contacts
from desktop.app.library.home import VeilHome
from desktop.app.network.nodes import list_nodes
from desktop.app.network.sending import SendReport
from desktop.app.share.sharing import ShareReport, ShareRequest, export_package
from desktop.core.common.errors import Cancelled, VeilError
from desktop.core.consent import Decision, Purpose
from desktop.core.deid.profiles import load_presets
from desktop.ui.common.background import run_in_background
from desktop.ui.common.cancel_then_close import CancelThenClose
from desktop.ui.common.errors import describe_unexpected, message_for
from desktop.ui.common.widgets import single_shot, throttled
from desktop.ui.share.frame import build_frame, retitle_steps
from desktop.ui.share.pages import ProfilePage, PurposePage, RedactionPage, WizardPage
from desktop.ui.share.recipients import OutputPage, RecipientsPage
from desktop.ui.share.result import RunPage, prepare_output, summary_rows
from desktop.ui.share.selection_page import SelectionPage, StudyNode, Ticks, load_tree
from desktop.ui.share.send_page import final, node_refusal, node_text, send_op
from desktop.ui.share.widgets import WIZARD_STYLE

log = logging.getLogger("veil.ui")
CONSENT_DELAY_MS = 300
#: The review (OCR) starts again this long after the ticks last changed.
REVIEW_DELAY_MS = 600
#: What a consent check was made for: (purpose, recipient, protocol, identifiable, study UIDs, series UIDs).
ConsentKey = tuple[Purpose, str, str, bool, tuple[str, ...], tuple[str, ...]]


class ShareWizard(CancelThenClose, QDialog):
    """The export wizard for ``studies``; ticked at first: only ``series`` of them and only
    ``instance_uids`` of those, when given (the person changes the ticks on What leaves)."""

    esc_closes = False  # the result page says what a cancel left (nothing)
    window_close_closes = False

    #: The export ended with a package, or refused: its ShareReport (sent to a node: its SendReport).
    exported = Signal(object)
    busy_changed = Signal(bool)
    #: Open this series (UID) in the viewer, to redact it.
    view_requested = Signal(str)
    #: Why this wizard never sends to a DICOM node, whatever the purpose (None: it may).
    node_unavailable: str | None = None

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
        self._opened_with: Ticks = (tuple(s.study_uid for s in self.studies),
                                    tuple(s.series_uid for s in self.series), tuple(instance_uids))
        self.last_report: ShareReport | SendReport | None = None
        self._token: CancelToken | None = None
        self._flag_token: CancelToken | None = None  # the running review
        self._checked_identifiable = False
        self._reviewed: Ticks | None = None  # the selection the last review started on

        self.selection_page = SelectionPage(self._opened_with[1], self._opened_with[2], self)
        self.purpose_page = PurposePage(self.studies, "", self)
        self.profile_page = ProfilePage(load_presets(), self)
        self.redaction_page = RedactionPage(self)
        self.recipients_page = RecipientsPage(self)
        self.output_page = OutputPage(self)
        self.run_page = RunPage(self)
        self.pages: list[WizardPage] = [self.selection_page, self.purpose_page, self.profile_page,
                                        self.redaction_page, self.recipients_page, self.output_page, self.run_page]
        self._consent_timer = single_shot(self, CONSENT_DELAY_MS, self.check_consent)
        self._review_timer = single_shot(self, REVIEW_DELAY_MS, self.check_flagged)
        self._build()
        self._connect()
        self._allow_unencrypted()
        self.resize(1060, 760)
        self.go(0)
        self.load_tree()
        self.load_contacts()

    # -- construction ---------------------------------------------------------------------------
    def _build(self) -> None:
        f = build_frame(self, self.pages)
        self.steps, self.title, self.subtitle, self.stack = f.steps, f.title, f.subtitle, f.stack
        self.problem_label, self.back_button, self.next_button = f.problem_label, f.back_button, f.next_button
        self.close_button = f.close_button

    def _connect(self) -> None:
        for page in self.pages:
            page.changed.connect(self._update_nav)
        self.selection_page.ticks_changed.connect(self._on_ticks_changed)
        self.purpose_page.form.changed.connect(self._on_purpose_changed)
        self.profile_page.changed.connect(self._on_profile_changed)
        self.redaction_page.recheck_requested.connect(self.check_flagged)
        self.redaction_page.stop_requested.connect(self.stop_review)
        self.redaction_page.leave_out_requested.connect(self.selection_page.leave_out)
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
        """Show page ``index`` (0: what leaves … 6: export)."""
        page = self.pages[index]
        if page is self.recipients_page:
            purpose = self.purpose_page.form.purpose()
            if purpose is not None and needs_colleague(purpose.purpose) and not self.recipients_page.chosen():
                self.recipients_page.tick(purpose.recipient)
        if page is self.output_page:
            self.output_page.set_summary(self.summary())
        self.stack.setCurrentIndex(index)
        field = page.first_field()
        if field is not None:
            field.setFocus(Qt.FocusReason.OtherFocusReason)
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
        written = running and final(self.last_report)
        self.back_button.setEnabled(self.stack.currentIndex() > 0 and not self.busy)
        self.back_button.setVisible(not written)  # a written package is final: export again from the start
        self.next_button.setVisible(not running)
        self.next_button.setEnabled(problem is None and not self.busy)
        verb = "Send" if self.output_page.node is not None else "Export"
        self.next_button.setText(verb if page is self.output_page else "Next")
        self.close_button.setText(f"Cancel {verb}" if self.busy else "Close" if running else "Cancel")
        self.close_button.setToolTip(("Stop sending" if self.output_page.node else "Stop the export: nothing is "
                                      "written") if self.busy else "Close the wizard")

    def summary(self) -> list[tuple[str, str, str]]:
        """(heading, text, role) rows: everything the export will do."""
        page = self.selection_page
        studies, series = (page.studies(), page.series_rows()) if page.loaded else (self.studies, self.series)
        return summary_rows(studies, series, self.purpose_page.form, self.profile_page, self.redaction_page,
                            self.recipients_page)

    # -- the selection ------------------------------------------------------------------------------
    def selection(self) -> Ticks:
        """(studies, series, images) UIDs of what leaves, as ticked (as opened, until the tree is read)."""
        return self.selection_page.selection() if self.selection_page.loaded else self._opened_with

    @property
    def study_uids(self) -> tuple[str, ...]:
        return self.selection()[0]

    @property
    def series_uids(self) -> tuple[str, ...]:
        return self.selection()[1]

    @property
    def instance_uids(self) -> tuple[str, ...]:
        return self.selection()[2]

    def load_tree(self) -> None:
        """Read the studies' series and images for What leaves; then check consent and review."""
        home, studies = self.home, self.studies
        run_in_background(lambda _p: load_tree(home, studies), self._on_tree, self._on_tree_failed,
                          key=f"share-tree-{id(self)}", context=self)

    def _on_tree(self, nodes: list[StudyNode]) -> None:
        self.selection_page.set_tree(nodes)
        self._on_ticks_changed(at_once=True)

    def _on_tree_failed(self, exc: BaseException) -> None:
        self._log(exc, "Reading the selection")
        self.selection_page.show_failure(message_for(exc))

    def _on_ticks_changed(self, at_once: bool = False) -> None:
        """The ticks changed: what the checks said no longer holds; check again (soon)."""
        self.purpose_page.set_scope(self.selection_page.scope_text(), self.selection_page.studies())
        if not self.study_uids:
            return  # nothing ticked: What leaves keeps the person there
        form = self.purpose_page.form
        form.decision = None
        form.show_checking()
        if self.selection() != self._reviewed:
            self._stop_running_review()
            self._reviewed = None
            self.redaction_page.panel.show_checking()
        if at_once:
            self.check_consent()
            self.check_flagged()
        else:
            self._consent_timer.start()
            self._review_timer.start()
        self._update_nav()

    # -- background checks ------------------------------------------------------------------------
    def _on_purpose_changed(self) -> None:
        form = self.purpose_page.form
        self.profile_page.allow_identifiable(identifiable_allowed(form.current()))
        self._allow_unencrypted()
        self._consent_timer.start()

    def _on_mode_changed(self) -> None:
        plain, node = self.recipients_page.unencrypted(), self.recipients_page.node()
        self.output_page.set_unencrypted(plain)
        self.output_page.set_node(node)
        self.run_page.set_mode(plain, node)
        retitle_steps(self.steps, self.pages)

    def _allow_unencrypted(self) -> None:
        """Offer the plain ZIP only where the app allows it (de-identified, not for care)."""
        purpose, identifiable = self.purpose_page.form.current(), self.profile_page.identifiable
        self.recipients_page.allow_unencrypted(unencrypted_allowed(purpose, identifiable))
        self.recipients_page.allow_node(node_refusal(purpose, identifiable) or self.node_unavailable)

    def _on_profile_changed(self) -> None:
        self._allow_unencrypted()
        self.redaction_page.panel.set_identifiable(self.profile_page.identifiable)
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
        if not uids:
            return

        def op(_progress: Progress) -> tuple[ConsentKey, Decision]:
            items = selection_items(home, uids, series)
            _request, decision = check_for_purpose(home, purpose.purpose, items, not identifiable, purpose.recipient,
                                                   purpose.protocol_id)
            return (purpose.purpose, purpose.recipient, purpose.protocol_id, identifiable, uids, series), decision

        run_in_background(op, self._on_consent_checked, self._on_consent_failed,
                          key=f"share-consent-{id(self)}", context=self)

    def _on_consent_checked(self, result: tuple[ConsentKey, Decision]) -> None:
        key, decision = result
        form_key = self.purpose_page.form.check_key()
        if form_key is None or (*form_key, self.profile_page.identifiable, self.study_uids, self.series_uids) != key:
            return  # the form or the ticks changed meanwhile: a newer check is on its way
        self.purpose_page.form.show_decision(decision)
        self._update_nav()

    def _on_consent_failed(self, exc: BaseException) -> None:
        self._log(exc, "Consent check")
        self.purpose_page.form.show_failure(message_for(exc))
        self._update_nav()

    def check_flagged(self) -> None:
        """Review what leaves as the privacy gate does, in the background: resolve the ticked
        selection to the images that leave, then header rules, OCR and the residual check
        (:func:`review_selection`). A newer review cancels the one running."""
        self._review_timer.stop()
        self._stop_running_review()
        selection = self.selection()
        if not selection[0] or not self.selection_page.loaded:
            return
        token = self._flag_token = CancelToken()
        self._reviewed = selection
        self.redaction_page.panel.show_checking()
        home = self.home

        def op(progress: Progress) -> SelectionReview:
            return review_selection(home, selection_of(*selection), progress=progress, cancel=token)

        run_in_background(op, self._on_flagged, self._on_flagged_failed, self.redaction_page.panel.show_reading,
                          key=f"share-flagged-{id(self)}", context=self)

    def _stop_running_review(self) -> None:
        if self._flag_token is not None:
            self._flag_token.cancel()
            self._flag_token = None

    def stop_review(self) -> None:
        """The person stopped the review (to change the ticks first)."""
        self._review_timer.stop()
        self._stop_running_review()
        self._reviewed = None
        self.redaction_page.panel.show_stopped()

    def _on_flagged(self, result: SelectionReview) -> None:
        self._flag_token = None
        self.redaction_page.panel.show_result(result)

    def _on_flagged_failed(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            return  # a newer review, Stop, or the wizard closing stopped it
        self._flag_token = None
        self._reviewed = None
        self._log(exc, "Burned-in review")
        self.redaction_page.panel.show_failure(message_for(exc))

    def load_contacts(self) -> None:
        home = self.home
        run_in_background(lambda _p: list_contacts(home), self.recipients_page.set_contacts,
                          lambda exc: self._log(exc, "Address book"), key=f"share-contacts-{id(self)}",
                          context=self)
        choice = self.recipients_page.node_choice  # and the DICOM nodes (File > Network Nodes)
        run_in_background(lambda _p: list_nodes(home), choice.set_nodes, lambda exc: choice.show_failure(
            message_for(exc)), key=f"share-nodes-{id(self)}", context=self)

    def open_address_book(self) -> None:
        """The address book over the wizard; the recipients are read again when it closes."""
        from desktop.ui.keys.address_book import AddressBookDialog

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
        if not self.selection_page.loaded or self.selection() != self._reviewed:
            return None  # the review no longer holds for the ticks
        return ShareRequest(self.study_uids, purpose, self.output_page.output(), self.profile_page.profile(),
                            series_uids=self.series_uids, instance_uids=self.instance_uids,
                            recipients=self.recipients_page.chosen(),
                            passphrase=self.recipients_page.passphrase_text(),
                            confirm_burned_in=self.redaction_page.confirmed,
                            unencrypted=self.recipients_page.unencrypted(),
                            reviewed=tuple(self.redaction_page.flagged or ()),
                            review=self.redaction_page.panel.review)

    def export(self) -> None:
        """Write the package (or send to the DICOM node) in the background, showing progress, with Cancel."""
        request = self.request()
        if self.busy or request is None:
            return
        token = CancelToken()
        self._set_busy(token)
        self.go(self.pages.index(self.run_page))
        home, node, chosen = self.home, self.recipients_page.node(), self.recipients_page.node_choice.chosen_node()
        if node is not None:
            self.run_page.start(None, True, node, node_text(chosen) if chosen is not None else node)
        else:
            self.run_page.start(request.output, not request.identifiable)

        def package(progress: Progress) -> ShareReport:
            prepare_output(request.output)
            return export_package(home, request, throttled(progress), token)

        op: Callable[[Progress], ShareReport | SendReport] = (package if node is None else
                                                              send_op(home, node, request, token))
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

    def _on_exported(self, report: ShareReport | SendReport) -> None:
        self.last_report = report
        self.exported.emit(report)
        self._finish(lambda: self.run_page.show_outcome(report))

    def _on_export_failed(self, exc: BaseException) -> None:
        self._log(exc, "Export")
        self._finish(lambda: self.run_page.show_stopped(message_for(exc), isinstance(exc, Cancelled)))

    # -- closing ----------------------------------------------------------------------------------
    def before_close(self) -> None:
        self._consent_timer.stop()
        self._review_timer.stop()
        self._stop_running_review()  # stop reading pixels for a wizard that is gone

    def cancel_work(self) -> None:
        self.cancel_export()

