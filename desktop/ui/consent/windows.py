"""The Consent menu's windows for the main window (issue 6): Record Consent, Consent Records,
Accounting of Disclosures and the Audit Report, opened for the study browser's selection.

One of each at a time; after a consent is recorded or withdrawn the window's catalogue is read
again, so the study badges follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from desktop.core.consent import purposes_text
from desktop.ui.consent.dialog import ConsentDialog
from desktop.ui.consent.panel import ConsentRecordsDialog
from desktop.ui.consent.report_dialog import BreachReportDialog, ReportDialog, audit_dialog, breach_dialog, disclosures_dialog

if TYPE_CHECKING:
    from desktop.app.library.browsing import StudyRow
    from desktop.core.consent import ConsentRecord
    from desktop.ui.main_window import MainWindow

STATUS_MS = 8000


class ConsentWindows(QObject):
    """Opens, raises and closes the consent windows of one main window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.record_dialog: ConsentDialog | None = None
        self.records_dialog: ConsentRecordsDialog | None = None
        self.report_dialog: ReportDialog | None = None
        self.audit_dialog: ReportDialog | None = None
        self.breach_dialog: BreachReportDialog | None = None

    def _selection(self):  # noqa: ANN202
        w = self.window
        if w.home is None or w.pages.currentWidget() is not w.browser or w.browser.selected_study() is None:
            w.statusBar().showMessage("Select a study first: consent is recorded for its patient.", STATUS_MS)
            return None
        return w.browser.selected_study()

    @staticmethod
    def _replace(old, new):  # noqa: ANN001, ANN205
        if old is not None:
            old.close()
        new.show()
        new.raise_()
        return new

    def record_consent(self, study: StudyRow | None = None) -> ConsentDialog | None:
        """Consent > Record Consent…: for the selected study's patient (or ``study``'s, from the
        Consent Records window, whatever the browser shows now)."""
        studies = [study] if study is not None else None
        study = study or self._selection()
        if study is None:
            return None
        if self.record_dialog is not None and self.record_dialog.saving:
            self.record_dialog.raise_()
            return self.record_dialog
        w = self.window
        dialog = ConsentDialog(w.home, studies or w.browser.selected_studies(), study, w.browser.series_of(study), w)
        dialog.recorded.connect(self._on_recorded)
        dialog.destroyed.connect(lambda *_: self._forget("record_dialog", dialog))
        self.record_dialog = self._replace(self.record_dialog, dialog)
        return dialog

    def _on_recorded(self, record: ConsentRecord) -> None:
        self.window.refresh()
        if self.records_dialog is not None:
            self.records_dialog.reload()
        self.window.statusBar().showMessage(
            f"Recorded: {record.basis.noun} for {purposes_text(record.purposes)}.", STATUS_MS)

    def consent_records(self) -> ConsentRecordsDialog | None:
        """Consent > Consent Records…: the selected study's patient's records."""
        study = self._selection()
        if study is None:
            return None
        w = self.window
        dialog = ConsentRecordsDialog(w.home, study, w.catalogue, w)
        dialog.record_requested.connect(lambda row: self.record_consent(row))
        dialog.disclosures_requested.connect(lambda key: self.disclosures(patient_key=key))
        dialog.changed.connect(w.refresh)
        dialog.destroyed.connect(lambda *_: self._forget("records_dialog", dialog))
        self.records_dialog = self._replace(self.records_dialog, dialog)
        return dialog

    def disclosures(self, patient_key: str | None = None) -> ReportDialog | None:
        """Consent > Accounting of Disclosures…: of the selected study's patient (or of ``patient_key``)."""
        study = None
        if patient_key is None:
            study = self._selection()
            if study is None:
                return None
        dialog = disclosures_dialog(self.window.home, study.study_uid if study else None, patient_key, self.window)
        dialog.destroyed.connect(lambda *_: self._forget("report_dialog", dialog))
        self.report_dialog = self._replace(self.report_dialog, dialog)
        return dialog

    def audit_report(self) -> ReportDialog | None:
        """Consent > Audit Report…: the audit log of a date range."""
        return self._one("audit_dialog", audit_dialog)

    def breach_report(self) -> BreachReportDialog | None:
        """Consent > Disclosures to a Recipient or Package…: what a breach assessment needs."""
        return self._one("breach_dialog", breach_dialog)

    def _one(self, name: str, make):  # noqa: ANN001, ANN202 - a report dialog factory
        """The one window kept in attribute ``name``: raised if open, else made by ``make``."""
        if self.window.home is None:
            return None
        shown = getattr(self, name)
        if shown is not None:
            shown.raise_()
            shown.activateWindow()
            return shown
        dialog = make(self.window.home, self.window)
        dialog.destroyed.connect(lambda *_: self._forget(name, dialog))
        setattr(self, name, self._replace(None, dialog))
        return dialog

    def _forget(self, name: str, dialog: QObject) -> None:
        if getattr(self, name) is dialog:
            setattr(self, name, None)

    def close_all(self) -> None:
        for dialog in (self.record_dialog, self.records_dialog, self.report_dialog, self.audit_dialog,
                       self.breach_dialog):
            if dialog is not None:
                dialog.close()
