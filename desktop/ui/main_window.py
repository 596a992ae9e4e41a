"""The Veil window: menus, the empty state or the study browser, imports in the status bar.

The window wires widgets to use cases; the work itself runs in ``desktop.app`` off the UI
thread (see :mod:`desktop.ui.common.background`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from desktop.app.browsing.catalogue import Catalogue, SeriesRow, StudyRow, load_catalogue
from desktop.app.common.formatting import plural
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import ImportReport
from desktop.app.library.samples import is_sample_import, sample_folders, sample_summary
from desktop.app.viewer.viewing import series_thumbnails
from desktop.core.cases.case import TeachingCase
from desktop.core.common.errors import VeilError
from desktop.ui.actions import Actions, build_menus, create_actions
from desktop.ui.audit import check as audit_check
from desktop.ui.audit.forwarder import AuditForwarder
from desktop.ui.cases.windows import CaseWindows
from desktop.ui.common import about_dialog
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import show_error
from desktop.ui.common.resources import app_icon
from desktop.ui.consent.windows import ConsentWindows
from desktop.ui.deid.dialog import DeidDialog
from desktop.ui.library.drop_overlay import DropOverlay, local_paths
from desktop.ui.library.empty_state import EmptyStatePage
from desktop.ui.library.import_controller import ImportController, headline, status_line
from desktop.ui.library.import_progress import ImportProgress
from desktop.ui.library.import_report_dialog import ImportReportDialog
from desktop.ui.library.notice_bar import NoticeBar
from desktop.ui.library.opener import LibraryOpener
from desktop.ui.library.study_browser import SERIES_THUMBNAIL, StudyBrowser
from desktop.ui.lock.idle_lock import IdleLock
from desktop.ui.network.windows import NetworkWindows
from desktop.ui.share.windows import ShareWindows, drop_hint
from desktop.ui.viewer.viewer_window import ViewerWindow

FILE_FILTERS = "All files (*);;DICOM files (*.dcm *.DCM *.dicom *.dic *.ima);;Zip archives (*.zip);;DICOMDIR (DICOMDIR)"
STATUS_MESSAGE_MS = 8000
#: While an import runs, the browser reloads this often to show studies as they arrive.
LIVE_REFRESH_MS = 1500


class MainWindow(QMainWindow):
    """One window per Veil home."""

    def __init__(self, home_path: Path | None = None, import_workers: int | None = None,
                 lock_after_seconds: float | None = None) -> None:
        """``lock_after_seconds`` overrides the library's idle lock time (tests)."""
        super().__init__()
        self.setObjectName("VeilMainWindow")
        self.setWindowTitle("Veil")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.home_path = home_path
        self.home: VeilHome | None = None
        self.catalogue: Catalogue | None = None
        self.exit_code = 0
        self.report_dialog: ImportReportDialog | None = None
        self._last_folder = ""  # this session only: folder names can identify a patient
        self._close_when_idle = False
        self._opener: LibraryOpener | None = None
        self._refresh_failing = False
        self.viewers: list[ViewerWindow] = []
        self.deid_dialog: DeidDialog | None = None

        self.commands: Actions = create_actions(self)  # not `actions`: QWidget.actions()
        build_menus(self, self.commands)
        self.consent = ConsentWindows(self, self)
        self._build_central()
        self._build_status_bar()
        self.session_lock = IdleLock(self, lock_after_seconds)  # automatic logoff: see idle_lock
        self.share = ShareWindows(self, self)
        self.cases = CaseWindows(self, self)
        self.network = NetworkWindows(self)
        self.share.busy_changed.connect(lambda busy: None if busy else self._close_if_waiting())
        self.imports = ImportController(self, workers=import_workers)
        self._live_refresh = QTimer(self)
        self._live_refresh.setInterval(LIVE_REFRESH_MS)
        self._live_refresh.timeout.connect(self.refresh)
        self._connect()
        self._set_library_actions(False)
        self._resize_to_screen()

    # -- construction -------------------------------------------------------------------------
    def _build_central(self) -> None:
        self.notice = NoticeBar(self)
        self.opening_page = QLabel("Opening your library…", self)
        self.opening_page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.opening_page.setProperty("role", "muted")
        self.empty_page = EmptyStatePage(self)
        self.browser = StudyBrowser(self)
        self.pages = QStackedWidget(self)
        for page in (self.opening_page, self.empty_page, self.browser):
            self.pages.addWidget(page)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.setSpacing(4)
        layout.addWidget(self.notice)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.drop_overlay = DropOverlay(central)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.import_progress = ImportProgress(self)
        self.counts_label = QLabel(self)
        self.counts_label.setObjectName("CountsLabel")
        self.counts_label.setToolTip("What the library holds")
        bar.addPermanentWidget(self.import_progress)
        bar.addPermanentWidget(self.counts_label)

    def _connect(self) -> None:
        a = self.commands
        a.import_files.triggered.connect(self.choose_files)
        a.import_folder.triggered.connect(self.choose_folder)
        a.load_samples.triggered.connect(self.load_samples)
        a.cancel_import.triggered.connect(self.cancel_import)
        a.quit.triggered.connect(self.close)
        a.find.triggered.connect(self._focus_filter)
        a.verify_audit.triggered.connect(self.verify_audit)
        a.deidentify.triggered.connect(self.open_deid)
        a.record_consent.triggered.connect(lambda: self.consent.record_consent())
        a.consent_records.triggered.connect(self.consent.consent_records)
        a.disclosures.triggered.connect(lambda: self.consent.disclosures())
        a.audit_report.triggered.connect(self.consent.audit_report)
        a.breach_report.triggered.connect(self.consent.breach_report)
        a.export_package.triggered.connect(lambda: self.share.export_package())
        a.export_slides.triggered.connect(lambda: self.share.export_slides())
        a.new_case.triggered.connect(lambda: self.cases.new_case())
        a.open_study.triggered.connect(self._open_selected)
        a.teaching_cases.triggered.connect(self.cases.show_cases)
        a.network_nodes.triggered.connect(lambda: self.network.show_nodes(self.home))
        a.query_retrieve.triggered.connect(lambda: self.network.show_query(self.home, self.refresh))
        receiving = self.network.attach_receiving(a.receive_images, self)  # stopped before the window closes
        receiving.running_changed.connect(lambda on: None if on else self._close_if_waiting())
        a.open_package.triggered.connect(self.share.choose_package)
        a.key_card.triggered.connect(self.share.key_card)
        a.address_book.triggered.connect(self.share.address_book)
        a.about.triggered.connect(lambda: about_dialog.show_about(self))
        a.lock_now.triggered.connect(lambda: self.session_lock.lock())
        a.lock_settings.triggered.connect(self.session_lock.edit_settings)
        self.empty_page.import_files_requested.connect(self.choose_files)
        self.empty_page.import_folder_requested.connect(self.choose_folder)
        self.empty_page.samples_requested.connect(self.load_samples)
        self.import_progress.cancel_requested.connect(self.cancel_import)
        self.imports.started.connect(self.import_progress.begin)
        self.imports.progressed.connect(self.import_progress.set_progress)
        self.imports.busy_changed.connect(self.commands.cancel_import.setEnabled)
        self.imports.busy_changed.connect(
            lambda busy: self._live_refresh.start() if busy else self._live_refresh.stop())
        self.imports.finished.connect(self._on_import_finished)
        self.imports.failed.connect(self._on_import_failed)
        self.imports.queued.connect(self._on_import_queued)
        self.browser.open_requested.connect(self.open_viewer)
        self.browser.selection_changed.connect(self._update_study_actions)
        for action in (a.open_study, a.new_case, a.export_slides, a.deidentify, a.export_package,
                       a.record_consent, a.consent_records):
            self.browser.add_study_action(action)
        self.browser.add_series_action(self.share.export_series_action)
        self.browser.add_tool_action(a.query_retrieve)

    def _resize_to_screen(self) -> None:
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is None or screen.width() < 400:
            self.resize(1280, 800)
            return
        width, height = min(1440, int(screen.width() * 0.85)), min(900, int(screen.height() * 0.85))
        self.resize(width, height)
        self.move(screen.center() - self.rect().center())

    def _set_library_actions(self, enabled: bool) -> None:
        for action in self.commands.needing_library:
            action.setEnabled(enabled)
        self.empty_page.setEnabled(enabled)
        self._update_study_actions()

    def _update_study_actions(self) -> None:
        """Actions on the selected studies: enabled while some are selected."""
        enabled = self.home is not None and bool(self.browser.selected_studies())
        for action in self.commands.needing_selection:
            action.setEnabled(enabled)

    # -- the library -----------------------------------------------------------------------
    def open_library(self) -> None:
        """Unlock and open the home (asking for a passphrase first if one is needed)."""
        assert self.home_path is not None
        self.pages.setCurrentWidget(self.opening_page)
        self._opener = LibraryOpener(self.home_path, self)
        self._opener.opened.connect(self.set_home)
        self._opener.abandoned.connect(self.close)
        self._opener.failed.connect(self._on_open_failed)
        self._opener.start()

    def _on_open_failed(self, exc: BaseException) -> None:
        self.exit_code = 1
        self.opening_page.setText("The library could not be opened.")
        show_error(self, exc, "Cannot open the library").finished.connect(self.close)

    def set_home(self, home: VeilHome) -> None:
        """Work on ``home`` from now on."""
        self.home = home
        self.imports.home = home
        self.browser.thumbnails_from = lambda refs: series_thumbnails(home, refs, SERIES_THUMBNAIL)
        self._set_library_actions(True)
        self.session_lock.set_home(home)
        AuditForwarder(self).set_home(home)
        self.refresh()
        self.share.library_opened()

    def refresh(self) -> None:
        """Reload the catalogue in the background; a newer reload supersedes an older one."""
        if self.home is None:
            return
        home = self.home
        run_in_background(lambda _progress: load_catalogue(home), self._show_catalogue,
                          self._on_refresh_failed, key=f"catalogue-{id(self)}", context=self)

    def _on_refresh_failed(self, exc: BaseException) -> None:
        if not self._refresh_failing:  # once, not at every live reload
            self._refresh_failing = True
            show_error(self, exc, "Cannot read the library")

    def _show_catalogue(self, catalogue: Catalogue) -> None:
        self._refresh_failing = False
        self.catalogue = catalogue
        self.browser.set_catalogue(catalogue)
        c = catalogue.counts
        # each image once (its redacted version where Veil made one), as the tables count them
        images = sum(s.image_count for s in catalogue.studies)
        redacted = sum(r.redacted_count for rows in catalogue.series_by_study.values() for r in rows)
        self.counts_label.setText(" · ".join([
            plural(c.patients, "patient"), plural(c.studies, "study", "studies"),
            plural(c.series, "series", "series"), plural(images, "instance")])
            + (f" ({redacted:,} redacted in Veil)" if redacted else ""))
        self.pages.setCurrentWidget(self.empty_page if catalogue.empty else self.browser)

    def _focus_filter(self) -> None:
        if self.pages.currentWidget() is self.browser:
            self.browser.focus_filter()

    # -- what the consent and share windows ask of the window (ConsentHost, ShareHost) ---------
    def studies_in_view(self) -> list[StudyRow]:
        """Every study selected in the study browser, while the browser is shown."""
        return self.browser.selected_studies() if self.pages.currentWidget() is self.browser else []

    def study_in_view(self) -> StudyRow | None:
        """The study selected in the study browser, while the browser is shown."""
        return self.browser.selected_study() if self.pages.currentWidget() is self.browser else None

    def series_of(self, study: StudyRow) -> list[SeriesRow]:
        return self.browser.series_of(study)

    def _open_selected(self) -> None:
        """Open Study (Enter): each selected study in a viewer, as a double-click does."""
        for study in self.studies_in_view()[:4]:
            self.open_viewer(study)

    def study_row(self, study_uid: str) -> StudyRow | None:
        studies = self.catalogue.studies if self.catalogue is not None else []
        return next((s for s in studies if s.study_uid == study_uid), None)

    def export_case_package(self, case: TeachingCase, studies: list[StudyRow]) -> object:
        return self.share.export_case(case, studies)

    def selected_series(self) -> list[SeriesRow]:
        return self.browser.selected_series()

    def say(self, text: str) -> None:
        """Show ``text`` in the status bar for a while."""
        self.statusBar().showMessage(text, STATUS_MESSAGE_MS)

    # -- importing -------------------------------------------------------------------------
    def _file_dialog(self, title: str, folders: bool) -> QFileDialog:
        dialog = QFileDialog(self, title, self._last_folder)
        if folders:
            dialog.setFileMode(QFileDialog.FileMode.Directory)
            dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
            dialog.setNameFilters(FILE_FILTERS.split(";;"))
        dialog.setLabelText(QFileDialog.DialogLabel.Accept, "Import")
        dialog.resize(980, 600)
        return dialog

    def choose_files(self) -> None:
        """File > Import Files…: pick files, .zip archives or a DICOMDIR (several at once)."""
        dialog = self._file_dialog("Import files", folders=False)
        paths = dialog.selectedFiles() if dialog.exec() else []
        dialog.deleteLater()
        if paths:
            self._last_folder = str(Path(paths[0]).parent)
            self.import_paths(paths)

    def choose_folder(self) -> None:
        """File > Import Folder…: every DICOM file under one folder."""
        dialog = self._file_dialog("Import folder", folders=True)
        folders = dialog.selectedFiles() if dialog.exec() else []
        dialog.deleteLater()
        if folders:
            self._last_folder = folders[0]
            self.import_paths(folders[:1])

    def load_samples(self) -> None:
        folders = sample_folders()
        if not folders:
            show_error(self, VeilError("No sample studies are installed. Install pydicom-data "
                                       "(pip install pydicom-data) to get them."))
            return
        self.import_paths(folders)

    def import_paths(self, paths: Sequence[str | Path]) -> None:
        """Import ``paths`` in the background (queued if an import is running)."""
        if self.home is None:
            self.statusBar().showMessage("The library is not open yet.", STATUS_MESSAGE_MS)
            return
        to_import = self.share.take_packages(paths)  # a .veil is opened, not imported
        if to_import and self.imports.start(to_import):
            self.notice.hide()
            self.statusBar().clearMessage()

    def cancel_import(self) -> None:
        if self.imports.busy and not self.imports.cancelling:
            self.imports.cancel()
            self.import_progress.cancelling()
            self.statusBar().showMessage("Cancelling the import…")

    def _on_import_queued(self, waiting: int) -> None:
        self.statusBar().showMessage(
            f"An import is running; this one will start when it ends ({waiting} waiting).",
            STATUS_MESSAGE_MS)

    def _on_import_finished(self, report: ImportReport) -> None:
        self.import_progress.end()
        self.refresh()
        text = headline(report)
        self.statusBar().showMessage(status_line(report), STATUS_MESSAGE_MS)
        has_details = bool(report.rejected or report.duplicates)
        # pydicom's test data holds deliberately broken files: for the samples, say so in
        # the notice rather than alarm a newcomer with a dialog of rejections.
        samples = is_sample_import(self.imports.current_paths)
        if samples and self.home is not None:
            text = sample_summary(self.home, report)  # the words of `veil import --samples`
        self.notice.show_message(
            text, warning=(bool(report.rejected) and not samples) or report.cancelled,
            action_text="Show report…" if has_details else None,
            action=(lambda: self.show_report(report)) if has_details else None,
            action_tooltip="List every rejected and duplicate file with the reason")
        if report.rejected and not report.nothing_new and not samples and not self._close_when_idle:
            self.show_report(report)  # a re-import's rejects were reported the first time
        self._close_if_waiting()

    def _on_import_failed(self, exc: BaseException) -> None:
        self.import_progress.end()
        self.refresh()
        if not self._close_when_idle:
            show_error(self, exc, "Import failed")
        self._close_if_waiting()

    def show_report(self, report: ImportReport) -> ImportReportDialog:
        """Open the import report beside the window (non-modal)."""
        if self.report_dialog is not None:
            self.report_dialog.close()
        dialog = ImportReportDialog(report, self)
        dialog.destroyed.connect(lambda *_: self._forget_report(dialog))
        self.report_dialog = dialog
        dialog.show()
        return dialog

    def _forget_report(self, dialog: ImportReportDialog) -> None:
        if self.report_dialog is dialog:
            self.report_dialog = None

    # -- tools -----------------------------------------------------------------------------
    def verify_audit(self) -> None:
        if self.home is not None:
            audit_check.verify_audit_log(self, self.home)

    def open_viewer(self, study: StudyRow, series: SeriesRow | None = None) -> ViewerWindow | None:
        """Show ``study`` in a viewer window (at ``series``; None: its first series)."""
        if self.home is None:
            return None
        viewer = ViewerWindow(self.home, study, self.browser.series_of(study),
                              series.series_ref if series is not None else None)
        self.viewers.append(viewer)
        viewer.library_changed.connect(self.refresh)
        viewer.share_image_requested.connect(lambda ref, sop: self.share.export_image(study, ref, sop))
        viewer.key_image_requested.connect(lambda sop, frame, view: self.cases.mark_key_image(study, sop, frame, view))
        viewer.destroyed.connect(lambda *_: self.viewers.remove(viewer) if viewer in self.viewers else None)
        viewer.show()
        return viewer

    def open_deid(self) -> DeidDialog | None:
        """File > De-identify…: the selected studies, in a dialog beside the window."""
        studies = self.browser.selected_studies() if self.pages.currentWidget() is self.browser else []
        if self.home is None or not studies:
            self.statusBar().showMessage("Select one or more studies to de-identify.", STATUS_MESSAGE_MS)
            return None
        if self.deid_dialog is not None:
            if self.deid_dialog.busy:
                self.deid_dialog.raise_()
                self.deid_dialog.activateWindow()
                self.statusBar().showMessage("An export is running; it must end before another starts.",
                                             STATUS_MESSAGE_MS)
                return self.deid_dialog
            self.deid_dialog.close()
        try:
            dialog = DeidDialog(self.home, studies, {s.study_ref: self.browser.series_of(s) for s in studies}, self)
        except VeilError as exc:  # no profile installed, or a broken one
            show_error(self, exc, "Cannot de-identify")
            return None
        dialog.destroyed.connect(lambda *_: self._forget_deid(dialog))
        dialog.exported.connect(lambda report: self.statusBar().showMessage(report.headline(), STATUS_MESSAGE_MS))
        dialog.exported.connect(lambda _report: self.refresh())  # the accounting and badges follow
        dialog.busy_changed.connect(lambda busy: None if busy else self._close_if_waiting())
        self.deid_dialog = dialog
        dialog.show()
        return dialog

    def _forget_deid(self, dialog: DeidDialog) -> None:
        if self.deid_dialog is dialog:
            self.deid_dialog = None

    # -- drag and drop ---------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.home is not None and local_paths(event.mimeData().urls()):
            event.acceptProposedAction()
            self.drop_overlay.set_text(drop_hint(local_paths(event.mimeData().urls())))
            self.drop_overlay.show_over_parent()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self.home is not None and local_paths(event.mimeData().urls()):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.drop_overlay.hide()
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop_overlay.hide()
        paths = local_paths(event.mimeData().urls())
        if not paths or self.home is None:
            event.ignore()
            return
        event.acceptProposedAction()
        # Let the drag source finish before the import starts.
        QTimer.singleShot(0, lambda: self.import_paths(paths))

    def closeEvent(self, event: QCloseEvent) -> None:
        waiting = self._stop_before_closing()
        if waiting:  # the window closes once that has stopped (_close_if_waiting)
            self._close_when_idle = True
            self.statusBar().showMessage(waiting)
            event.ignore()
            return
        if self.report_dialog is not None:
            self.report_dialog.close()
        if self.deid_dialog is not None:
            self.deid_dialog.close()
        self.consent.close_all()
        self.share.close_all()
        self.network.close_all()  # a search or retrieve is cancelled; its window closes once stopped
        for viewer in list(self.viewers):
            viewer.close()
        event.accept()

    def _stop_before_closing(self) -> str | None:
        """Ask what runs to stop before the window closes; the status bar's words meanwhile (None:
        nothing runs). Receiving stops importing what senders were told is stored, however long."""
        if self.deid_dialog is not None and self.deid_dialog.busy:
            self.deid_dialog.request_close()
            self.cancel_import()
            return "Stopping the export before closing…"
        if self.share.busy:
            self.share.request_close()
            return "Stopping the package export or opening before closing…"
        if self.imports.busy:
            self.cancel_import()
            return "Stopping the import before closing…"
        if self.network.receiving_open:
            self.network.close_all()
            return "Stopping receiving, and importing what was received, before closing…"
        return None

    def _close_if_waiting(self) -> None:
        exporting = (self.deid_dialog is not None and self.deid_dialog.busy) or self.share.busy
        if self._close_when_idle and not self.imports.busy and not exporting and not self.network.receiving_open:
            QTimer.singleShot(0, self.close)
