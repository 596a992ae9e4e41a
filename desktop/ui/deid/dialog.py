"""De-identify the selected studies: choose a profile, preview its effect, export in the background.

The dialog only wires widgets to ``desktop.app.deid.deidentifying``: finding the instances, the
preview and the export each run off the UI thread (:func:`run_in_background`); the preview is
recomputed shortly after the profile stops changing, and a newer preview supersedes an older one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.common.formatting import dicom_date, person_name, plural
from desktop.app.common.tasks import CancelToken, Progress
from desktop.app.consent.consenting import check_items, selection_items
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.deid.deidentifying import DeidReport, Input, deidentify_studies, library_inputs, preview
from desktop.app.library.home import VeilHome
from desktop.core.common.errors import VeilError
from desktop.core.consent import Decision
from desktop.core.deid.engine import Change
from desktop.core.deid.profiles import load_presets
from desktop.ui.common.background import run_in_background
from desktop.ui.common.cancel_then_close import CancelThenClose
from desktop.ui.common.errors import describe_unexpected, message_for, show_error
from desktop.ui.common.widgets import dialog_footer
from desktop.ui.consent.check import ConsentCheck
from desktop.ui.consent.purpose_form import PurposeForm
from desktop.ui.deid.preview import PreviewPane, series_slices
from desktop.ui.deid.profile_form import ProfileForm
from desktop.ui.deid.report import DeidReportDialog

log = logging.getLogger("veil.ui")
PREVIEW_DELAY_MS = 250
EXPORT_TIP = ("Write de-identified copies of the selected studies to the output folder, for the purpose "
              "chosen. Consent must allow it; if any copy still holds an identifier of its original, "
              "nothing is written.")


def default_output_folder(today: date | None = None) -> Path:
    """``~/Veil exports/YYYY-MM-DD``: a place of its own, named without identity."""
    return Path.home() / "Veil exports" / (today or date.today()).isoformat()


def folder_problem(text: str) -> str | None:
    """Why ``text`` cannot be the output folder (no disk access), or None."""
    if not text.strip():
        return "Choose an output folder."
    if not Path(text.strip()).expanduser().is_absolute():
        return "Give the output folder as a full path (or choose it)."
    return None


def _make_folder(path: Path) -> None:
    """Make the output folder (worker thread); a person-readable error if it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the path is not in the message: folder names can identify a patient
        raise VeilError(f"Cannot write to the output folder ({exc.strerror or type(exc).__name__}). "
                        "Choose another folder.") from None


def selection_title(studies: Sequence[StudyRow]) -> str:
    """What is being de-identified, in one line."""
    if len(studies) == 1:
        s = studies[0]
        parts = [person_name(s.patient_name) or "(no name)", dicom_date(s.study_date), s.modalities, s.description]
        return "De-identify " + " · ".join(p for p in parts if p) + f" ({plural(s.image_count, 'instance')})"
    images = sum(s.image_count for s in studies)
    return f"De-identify {plural(len(studies), 'study', 'studies')} ({plural(images, 'instance')})"


class DeidDialog(CancelThenClose, QDialog):
    """Profile and options, pseudonym prefix, output folder, a live preview, Export and Cancel."""

    #: An export ended (written, refused or cancelled): its DeidReport.
    exported = Signal(object)
    busy_changed = Signal(bool)
    #: A preview arrived (or failed): the table shows the current profile.
    preview_updated = Signal()

    def __init__(self, home: VeilHome, studies: Sequence[StudyRow],
                 series_by_study: Mapping[int, Sequence[SeriesRow]], parent: QWidget | None = None,
                 workers: int | None = None) -> None:
        super().__init__(parent)
        if not studies:
            raise VeilError("Select a study to de-identify.")
        self.setObjectName("DeidDialog")
        self.setWindowTitle("De-identify")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.home = home
        self.studies = list(studies)
        self.series_by_study = dict(series_by_study)
        self.workers = workers
        self.inputs: list[Input] | None = None
        self.report_dialog: DeidReportDialog | None = None
        self.last_report: DeidReport | None = None
        self._token: CancelToken | None = None
        self._preview_pending = False

        self.form = ProfileForm(load_presets(), self)
        self.form.changed.connect(self._on_profile_changed)
        self.purpose_form = PurposeForm(self)
        self.consent = ConsentCheck(self, self.purpose_form, self._check_consent, self._update_export_state, "deid")
        self.folder_edit = QLineEdit(str(default_output_folder()), self)
        self.folder_edit.setObjectName("OutputFolder")
        self.folder_edit.setToolTip("Where the de-identified copies are written (made if missing)")
        self.folder_edit.textChanged.connect(lambda _t: self._update_export_state())
        self.browse_button = QPushButton("Choose…", self)
        self.browse_button.setToolTip("Choose the output folder")
        self.browse_button.clicked.connect(self.choose_folder)

        self.preview_pane = PreviewPane(self)
        self.preview_pane.instance_chosen.connect(lambda _position: self._schedule_preview())
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.refresh_preview)

        self._build_footer()
        self._build_layout()
        self._update_export_state()
        self._resize_to_screen()
        self._load_inputs()
        self.consent.run()

    # -- construction ----------------------------------------------------------------------
    def _build_footer(self) -> None:
        self.problem_label = QLabel(self)
        self.problem_label.setObjectName("ExportProblem")
        self.problem_label.setProperty("role", "warning")
        self.problem_label.setWordWrap(True)
        self.progress_label = QLabel(self)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setObjectName("ExportProgress")
        self.progress_bar.setFixedWidth(260)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("CancelExport")
        self.cancel_button.setToolTip("Stop the export; nothing is written")
        self.cancel_button.clicked.connect(self.cancel_export)
        for widget in (self.progress_label, self.progress_bar, self.cancel_button):
            widget.hide()
        self.export_button = QPushButton("Export", self)
        self.export_button.setObjectName("ExportButton")
        self.export_button.setProperty("primary", True)
        self.export_button.setToolTip(EXPORT_TIP)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        self.close_button = QPushButton("Close", self)
        self.close_button.setToolTip("Close this window (a running export is cancelled first)")
        self.close_button.clicked.connect(self.close)

    def _build_layout(self) -> None:
        title = QLabel(selection_title(self.studies), self)
        title.setObjectName("DeidTitle")
        title.setProperty("role", "section")
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setWordWrap(True)

        output = QGroupBox("Output folder", self)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.browse_button)
        hint = QLabel("Copies go in PSEUDONYM/STUDY/SERIES/, named by new UIDs. Originals are never changed.", output)
        hint.setProperty("role", "muted")
        hint.setWordWrap(True)
        output_layout = QVBoxLayout(output)
        output_layout.addLayout(row)
        output_layout.addWidget(hint)
        from PySide6.QtWidgets import QCheckBox

        self.confirm_box = QCheckBox("I looked at the images flagged for burned-in text: no name, ID or date shows",
                                     output)
        self.confirm_box.setObjectName("ConfirmBurnedIn")
        self.confirm_box.setToolTip("Ultrasound, screen captures, photos and images where OCR reads text are flagged; "
                                    "nothing leaves until you confirm them or redact them in the viewer (Shift+R). "
                                    "An image whose pixels still show the patient's name, ID or a date never leaves.")
        output_layout.addWidget(self.confirm_box)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 8, 0)
        left_layout.addWidget(self.purpose_form)
        left_layout.addWidget(self.form)
        left_layout.addWidget(output)
        left_layout.addStretch(1)
        preview_box = QGroupBox("Preview: what happens to each attribute", self)
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.addWidget(self.preview_pane)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(preview_box)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([450, 990])

        footer = dialog_footer(self.problem_label, (self.progress_label, self.progress_bar, self.cancel_button),
                               (self.close_button, self.export_button))
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(splitter, 1)
        layout.addLayout(footer)

    def _resize_to_screen(self) -> None:
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is None or screen.width() < 800:
            self.resize(1440, 860)
            return
        self.resize(min(1680, int(screen.width() * 0.94)), min(980, int(screen.height() * 0.9)))

    # -- state -----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """An export is running."""
        return self._token is not None

    @property
    def preview_pending(self) -> bool:
        """A preview is scheduled or computing."""
        return self._preview_pending or self._preview_timer.isActive() or self.inputs is None

    def problem(self) -> str | None:
        """What keeps Export disabled, for a person; None when it can run."""
        purpose = self.purpose_form.purpose()
        if purpose is not None and purpose.purpose.value == "care":
            return ("Images for the patient's care leave only as a package encrypted to the colleague's key: "
                    "use Share > Export Package.")
        return self.form.problem() or self.purpose_form.problem() or folder_problem(self.folder_edit.text())

    def output_folder(self) -> Path:
        return Path(self.folder_edit.text().strip()).expanduser()

    def _update_export_state(self) -> None:
        problem = self.problem()
        self.problem_label.setText(problem or "")
        self.problem_label.setVisible(problem is not None and not self.busy)
        self.export_button.setEnabled(problem is None and not self.busy)
        self.export_button.setToolTip(EXPORT_TIP if problem is None else f"{EXPORT_TIP}\n\n{problem}")

    def _set_busy(self, token: CancelToken | None) -> None:
        self._token = token
        busy = token is not None
        for widget in (self.form, self.purpose_form, self.folder_edit, self.browse_button):
            widget.setEnabled(not busy)
        for shown in (self.progress_label, self.progress_bar, self.cancel_button):
            shown.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self._update_export_state()
        self.busy_changed.emit(busy)

    # -- choosing ----------------------------------------------------------------------------
    def choose_folder(self) -> None:
        """Pick the output folder with the system's folder chooser."""
        start = self.output_folder()
        chosen = QFileDialog.getExistingDirectory(self, "Output folder", str(start.parent))
        if chosen:
            self.folder_edit.setText(chosen)

    def _on_profile_changed(self) -> None:
        self._update_export_state()
        self._schedule_preview()

    # -- consent -----------------------------------------------------------------------------
    @property
    def consent_pending(self) -> bool:
        return self.consent.pending

    def _check_consent(self, purpose: ExportPurpose) -> tuple[Decision, None]:
        """Off the UI thread: may these studies leave for ``purpose``?"""
        items = selection_items(self.home, [s.study_uid for s in self.studies])
        _request, decision = check_items(self.home, purpose.purpose, items, deidentified=True,
                                         colleague=purpose.recipient, protocol_id=purpose.protocol_id or None)
        return decision, None

    # -- preview -----------------------------------------------------------------------------
    def _load_inputs(self) -> None:
        home, uids = self.home, [s.study_uid for s in self.studies]
        self.preview_pane.show_status("Finding the instances…")
        run_in_background(lambda _progress: library_inputs(home, uids), self._on_inputs,
                          self._on_preview_failed, key=f"deid-inputs-{id(self)}", context=self)

    def _on_inputs(self, inputs: list[Input]) -> None:
        self.inputs = inputs
        self.preview_pane.set_slices(series_slices(self.studies, self.series_by_study, len(inputs)))
        self.refresh_preview()

    def _schedule_preview(self) -> None:
        self._preview_timer.start()  # restarts: one preview once the changes stop

    def refresh_preview(self) -> None:
        """Compute the preview of the chosen instance with the current profile, in the background."""
        self._preview_timer.stop()
        if self.inputs is None:
            return
        profile = self.form.profile()
        position = self.preview_pane.chosen_position()
        if not self.inputs or position is None:
            self._preview_pending = False
            self.preview_pane.show_status("These studies hold no instance to preview.", warning=True)
            self.preview_updated.emit()
            return
        if profile is None:
            self._preview_pending = False
            self.preview_pane.show_status("Fix the pseudonym prefix to see the preview.", warning=True)
            self.preview_updated.emit()
            return
        home, item = self.home, self.inputs[min(position, len(self.inputs) - 1)]
        self._preview_pending = True
        self.preview_pane.show_status("Computing the preview…")
        run_in_background(lambda _progress: preview(home, profile, item), self._on_preview,
                          self._on_preview_failed, key=f"deid-preview-{id(self)}", context=self)

    def _on_preview(self, changes: list[Change]) -> None:
        self._preview_pending = False
        self.preview_pane.show_changes(changes)
        self.preview_updated.emit()

    def _on_preview_failed(self, exc: BaseException) -> None:
        self._preview_pending = False
        if not isinstance(exc, VeilError):
            log.error("Preview failed: %s", describe_unexpected(exc))
        self.preview_pane.show_changes([])
        self.preview_pane.show_status(f"No preview: {message_for(exc)}", warning=True)
        self.preview_updated.emit()

    # -- export ------------------------------------------------------------------------------
    def export(self) -> None:
        """Write de-identified copies of the studies in the background, with progress, through
        the privacy gate (images flagged for burned-in text are confirmed by the person)."""
        profile, purpose = self.form.profile(), self.purpose_form.purpose()
        if self.busy or profile is None or purpose is None or self.problem() is not None:
            return
        home, uids, out, workers = self.home, [s.study_uid for s in self.studies], self.output_folder(), self.workers
        confirm_burned_in = self.confirm_box.isChecked()
        token = CancelToken()
        self._set_busy(token)
        self.progress_label.setText("Preparing…")
        self.progress_bar.setRange(0, 0)
        def op(progress: Progress) -> DeidReport:
            _make_folder(out)
            return deidentify_studies(home, profile, uids, out, progress=progress, cancel=token, workers=workers,
                                      purpose=purpose, confirm_burned_in=confirm_burned_in)

        run_in_background(
            op,
            lambda report: self._on_exported(report, token), self._on_export_failed,
            self._on_export_progress, key=f"deid-export-{id(self)}", context=self)

    def cancel_export(self) -> None:
        """Stop the running export; nothing is written."""
        if self._token is not None and not self._token.cancelled:
            self._token.cancel()
            self.progress_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def _on_export_progress(self, done: int, total: int) -> None:
        if self._token is not None and not self._token.cancelled:
            self.progress_label.setText("De-identifying")
        self.progress_bar.setFormat("%v / %m")
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(min(done, max(total, 1)))

    def _on_exported(self, report: DeidReport, token: CancelToken) -> None:
        # A cancel before the first instance leaves a report that does not say so.
        cancelled = report.cancelled or (token.cancelled and not report.refused and report.written < report.total)
        self._set_busy(None)
        self.last_report = report
        self.exported.emit(report)
        if self.closed_after_work():
            return
        self.show_report(report, cancelled)
        self._schedule_preview()  # the pseudonym may now be assigned

    def _on_export_failed(self, exc: BaseException) -> None:
        self._set_busy(None)
        if self.closed_after_work():
            return
        show_error(self, exc, "Export failed")

    def show_report(self, report: DeidReport, cancelled: bool = False) -> DeidReportDialog:
        """Show the report of an export over this dialog."""
        if self.report_dialog is not None:
            self.report_dialog.close()
        dialog = DeidReportDialog(report, cancelled, self)
        dialog.destroyed.connect(lambda *_: self._forget_report(dialog))
        self.report_dialog = dialog
        dialog.show()
        return dialog

    def _forget_report(self, dialog: DeidReportDialog) -> None:
        if self.report_dialog is dialog:
            self.report_dialog = None

    # -- closing -----------------------------------------------------------------------------
    def before_close(self) -> None:
        self._preview_timer.stop()
        self.consent.stop()
    def cancel_work(self) -> None:
        self.cancel_export()
