"""The teaching-case windows of one host (the main window): the Cases list, one editor per
case, the export dialog, and the viewer's K routed to the case being made.

K in a viewer marks the image on screen in the open editor of a case of that study; with none
open, it asks for a title and starts a new case of the study (File > New Teaching Case does
the same for the selected study). The windows know the host only through :class:`CaseHost`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.cases import casebook
from desktop.app.cases.draft import CaseDraft
from desktop.app.common.formatting import dicom_date, person_name
from desktop.app.library.home import VeilHome
from desktop.core.cases.case import KeyView, TeachingCase
from desktop.core.common.errors import VeilError
from desktop.ui.cases.cases_dialog import CasesDialog
from desktop.ui.cases.editor import CaseEditor
from desktop.ui.cases.export_dialog import CaseExportDialog
from desktop.ui.common.errors import show_error


class CaseHost(Protocol):
    """What the case windows use of the window that opens them."""

    @property
    def home(self) -> VeilHome | None: ...

    def study_in_view(self) -> StudyRow | None: ...

    def study_row(self, study_uid: str) -> StudyRow | None:
        """The study with this Study Instance UID as the browser lists it (None: not loaded)."""

    def open_viewer(self, study: StudyRow, series: SeriesRow | None = None) -> object: ...

    def say(self, text: str) -> None: ...

    def export_case_package(self, case: TeachingCase, studies: list[StudyRow]) -> object:
        """The share wizard on ``case``'s key images, the package carrying the case (IHE TCE)."""


def patient_line(study: StudyRow | None) -> str:
    """Whose images a draft holds, as the browser shows them (for its author only)."""
    if study is None:
        return "a study no longer in the library"
    return " · ".join(p for p in (person_name(study.patient_name) or "(no name)", study.patient_id,
                                  dicom_date(study.study_date), study.description) if p)


class CaseWindows(QObject):
    """Opens the Cases list, the editors and the export dialog for ``host``."""

    def __init__(self, host: CaseHost, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self.host, self.parent_widget = host, parent_widget
        self.editors: list[CaseEditor] = []
        self.cases_dialog: CasesDialog | None = None
        self.export_dialog: CaseExportDialog | None = None

    # -- the list ------------------------------------------------------------------------------
    def show_cases(self) -> CasesDialog | None:
        home = self.host.home
        if home is None:
            return None
        if self.cases_dialog is None:
            dialog = CasesDialog(home, self.parent_widget)
            dialog.open_requested.connect(self.open_case)
            dialog.export_requested.connect(self.export_cases)
            dialog.destroyed.connect(lambda *_: setattr(self, "cases_dialog", None))
            self.cases_dialog = dialog
        else:
            self.cases_dialog.reload()
        self.cases_dialog.show()
        self.cases_dialog.raise_()
        return self.cases_dialog

    # -- editors -------------------------------------------------------------------------------
    def _editor(self, draft: CaseDraft) -> CaseEditor:
        study = self.host.study_row(draft.case.study_uids[0])
        editor = CaseEditor(draft, patient_line(study), self.parent_widget)
        editor.saved.connect(lambda _id: self.cases_dialog.reload() if self.cases_dialog is not None else None)
        editor.show_requested.connect(self.show_key_image)
        editor.export_requested.connect(lambda case_id: self.export_cases([case_id], [editor.case.title]))
        editor.destroyed.connect(lambda *_: self.editors.remove(editor) if editor in self.editors else None)
        self.editors.append(editor)
        editor.show()
        return editor

    def open_case(self, case_id: int) -> CaseEditor | None:
        for editor in self.editors:
            if editor.draft.case_id == case_id:
                editor.raise_()
                editor.activateWindow()
                return editor
        home = self.host.home
        if home is None:
            return None
        try:
            return self._editor(CaseDraft.open(home, case_id))
        except VeilError as exc:
            show_error(self.parent_widget, exc, "Cannot open the case")
            return None

    def new_case(self, study: StudyRow | None = None, title: str | None = None) -> CaseEditor | None:
        """A new case of ``study`` (the selected one): its title asked for, then the editor."""
        home, study = self.host.home, study or self.host.study_in_view()
        if home is None or study is None:
            self.host.say("Select a study to make a teaching case of.")
            return None
        if title is None:
            title, ok = QInputDialog.getText(self.parent_widget, "New Teaching Case",
                                             "Title of the case (what it teaches, never the patient's name):",
                                             QLineEdit.EchoMode.Normal, study.description or "")
            if not ok:
                return None
        try:
            case = casebook.new_case(home, [study.study_uid], title)
        except VeilError as exc:
            show_error(self.parent_widget, exc, "Cannot make the case")
            return None
        return self._editor(CaseDraft(home, case))

    def mark_key_image(self, study: StudyRow, sop_uid: str, frame: int, view: KeyView) -> CaseEditor | None:
        """K in a viewer of ``study``: into the open case of that study (the last one opened),
        or a new case of it."""
        editor = next((e for e in reversed(self.editors) if study.study_uid in e.case.study_uids), None)
        if editor is None:
            editor = self.new_case(study)
            if editor is None:
                return None
        editor.mark(sop_uid, frame, view)
        editor.show()
        return editor

    def show_key_image(self, study_uid: str, sop_uid: str, frame: int) -> None:
        study = self.host.study_row(study_uid)
        if study is None:
            self.host.say("That study is no longer in the library.")
            return
        viewer = self.host.open_viewer(study)
        show = getattr(viewer, "show_image", None)
        if show is not None:
            show(sop_uid, frame)

    # -- export --------------------------------------------------------------------------------
    def export_package(self, case_id: int) -> object:
        """A teaching-file package of the case: the share wizard (consent, review, recipients)."""
        home = self.host.home
        if home is None:
            return None
        try:
            case = casebook.load(home, case_id)
        except VeilError as exc:
            show_error(self.parent_widget, exc, "Cannot export the case")
            return None
        studies = [row for row in (self.host.study_row(uid) for uid in case.study_uids) if row is not None]
        if not studies or not case.key_images:
            self.host.say("The case's study is no longer in the library, or it has no key image.")
            return None
        return self.host.export_case_package(case, studies)

    def export_cases(self, case_ids: Sequence[int], titles: Sequence[str]) -> CaseExportDialog | None:
        home = self.host.home
        if home is None:
            return None
        if self.export_dialog is not None:
            if self.export_dialog.busy:
                self.export_dialog.raise_()
                return self.export_dialog
            self.export_dialog.close()
        dialog = CaseExportDialog(home, list(case_ids), list(titles), self.parent_widget)
        dialog.exported.connect(lambda report: self.host.say(report.headline()))
        dialog.package_requested.connect(self.export_package)
        dialog.destroyed.connect(lambda *_: setattr(self, "export_dialog", None))
        self.export_dialog = dialog
        dialog.show()
        return dialog
