"""The Consent menu's windows: Record Consent, Consent Records, Accounting of
Disclosures and the Audit Report, opened for the study browser's selection.

One of each at a time; after a consent is recorded or withdrawn the host's catalogue is read
again, so the study badges follow. The windows know the window that opens them only through
:class:`ConsentHost`: what they read of it and ask of it, nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from desktop.app.browsing.catalogue import Catalogue, SeriesRow, StudyRow
from desktop.app.library.home import VeilHome
from desktop.core.consent import ConsentRecord, purposes_text
from desktop.ui.consent.dialog import ConsentDialog
from desktop.ui.consent.panel import ConsentRecordsDialog
from desktop.ui.consent.report_dialog import (
    BreachReportDialog,
    ReportDialog,
    audit_dialog,
    breach_dialog,
    disclosures_dialog,
)

#: A window this module keeps one of (closed, raised or replaced).
Shown = TypeVar("Shown", bound=QWidget)


class ConsentHost(Protocol):
    """What the consent windows use of the window that opens them."""

    @property
    def home(self) -> VeilHome | None:
        """The open library (None until it is open)."""

    @property
    def catalogue(self) -> Catalogue | None:
        """The library as last read (the consent badges come with it)."""

    def study_in_view(self) -> StudyRow | None:
        """The study selected in the study browser, while the browser is shown."""

    def studies_in_view(self) -> list[StudyRow]:
        """Every study selected in the study browser, while the browser is shown."""

    def series_of(self, study: StudyRow) -> list[SeriesRow]:
        """The series of ``study`` as the browser lists them."""

    def refresh(self) -> None:
        """Read the library again (the badges and the accounting follow)."""

    def say(self, text: str) -> None:
        """Show ``text`` in the status bar for a while."""


class ConsentWindows(QObject):
    """Opens, raises and closes the consent windows of one host; ``parent`` owns them."""

    def __init__(self, host: ConsentHost, parent: QWidget) -> None:
        super().__init__(parent)
        self.host = host
        self.parent_widget = parent
        self.record_dialog: ConsentDialog | None = None
        self.records_dialog: ConsentRecordsDialog | None = None
        self.report_dialog: ReportDialog | None = None
        self.audit_dialog: ReportDialog | None = None
        self.breach_dialog: BreachReportDialog | None = None

    def _selection(self) -> StudyRow | None:
        study = self.host.study_in_view() if self.host.home is not None else None
        if study is None:
            self.host.say("Select a study first: consent is recorded for its patient.")
        return study

    @staticmethod
    def _replace(old: QWidget | None, new: Shown) -> Shown:
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
        home = self.host.home
        if study is None or home is None:
            return None
        if self.record_dialog is not None and self.record_dialog.saving:
            self.record_dialog.raise_()
            return self.record_dialog
        dialog = ConsentDialog(home, studies or self.host.studies_in_view(), study, self.host.series_of(study),
                               self.parent_widget)
        dialog.recorded.connect(self._on_recorded)
        dialog.destroyed.connect(lambda *_: self._forget("record_dialog", dialog))
        self.record_dialog = self._replace(self.record_dialog, dialog)
        return dialog

    def _on_recorded(self, record: ConsentRecord) -> None:
        self.host.refresh()
        if self.records_dialog is not None:
            self.records_dialog.reload()
        self.host.say(f"Recorded: {record.basis.noun} for {purposes_text(record.purposes)}.")

    def consent_records(self) -> ConsentRecordsDialog | None:
        """Consent > Consent Records…: the selected study's patient's records."""
        study = self._selection()
        home = self.host.home
        if study is None or home is None:
            return None
        dialog = ConsentRecordsDialog(home, study, self.host.catalogue, self.parent_widget)
        dialog.record_requested.connect(lambda row: self.record_consent(row))
        dialog.disclosures_requested.connect(lambda key: self.disclosures(patient_key=key))
        dialog.changed.connect(self.host.refresh)
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
        home = self.host.home
        if home is None:
            return None
        dialog = disclosures_dialog(home, study.study_uid if study else None, patient_key, self.parent_widget)
        dialog.destroyed.connect(lambda *_: self._forget("report_dialog", dialog))
        self.report_dialog = self._replace(self.report_dialog, dialog)
        return dialog

    def audit_report(self) -> ReportDialog | None:
        """Consent > Audit Report…: the audit log of a date range."""
        return self._one("audit_dialog", audit_dialog)

    def breach_report(self) -> BreachReportDialog | None:
        """Consent > Disclosures to a Recipient or Package…: what a breach assessment needs."""
        return self._one("breach_dialog", breach_dialog)

    def _one(self, name: str, make: Callable[[VeilHome, QWidget], Shown]) -> Shown | None:
        """The one window kept in attribute ``name``: raised if open, else made by ``make``."""
        home = self.host.home
        if home is None:
            return None
        shown: Shown | None = getattr(self, name)
        if shown is not None:
            shown.raise_()
            shown.activateWindow()
            return shown
        dialog = make(home, self.parent_widget)
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
