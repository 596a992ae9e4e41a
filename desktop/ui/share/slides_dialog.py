"""Export Slide Images…: PNG or JPEG pictures of the selected studies for teaching,
talks and journals, with the redactions burned in and no metadata.

The dialog only wires widgets to :func:`desktop.app.share.slides.export_slides`: the consent check,
the privacy gate's burned-in review of the images (:func:`desktop.app.gate.text_flags.review_selection`:
header rules, OCR and the residual check, with progress and Stop) and the export each run off
the UI thread. Images the residual check refuses keep Export disabled whatever is confirmed;
flagged images must be confirmed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop.app.browsing.catalogue import StudyRow
from desktop.app.common.formatting import plural
from desktop.app.common.tasks import CancelToken, Progress
from desktop.app.consent.consenting import check_items, selection_items
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.purpose_rules import unencrypted_purposes
from desktop.app.gate.text_flags import SelectionReview, review_selection, selection_of
from desktop.app.library.home import VeilHome
from desktop.app.share.slides import SlidesReport, export_slides
from desktop.core.common.errors import Cancelled, VeilError
from desktop.core.consent import Decision
from desktop.ui.common.background import run_in_background
from desktop.ui.common.cancel_then_close import CancelThenClose
from desktop.ui.common.errors import describe_unexpected, message_for, show_error
from desktop.ui.common.widgets import dialog_footer, label, set_role
from desktop.ui.consent.check import ConsentCheck
from desktop.ui.consent.purpose_form import PurposeForm
from desktop.ui.share.review import ReviewPanel

log = logging.getLogger("veil.ui")
EXPORT_TIP = ("Write the selected studies as slide images: every frame as Veil shows it, every redaction "
              "burned in black, no names, no header, no metadata. Consent must allow a de-identified export.")


def default_target(zipped: bool, today: date | None = None) -> Path:
    """``~/Veil exports/YYYY-MM-DD slides`` (``-2``, ``-3``… when taken), or the same ``.zip``."""
    base = Path.home() / "Veil exports" / f"{(today or date.today()).isoformat()} slides"
    suffix = ".zip" if zipped else ""
    n = 1
    while (found := base.with_name(base.name + (f"-{n}" if n > 1 else "") + suffix)).exists():
        n += 1
    return found


class SlidesDialog(CancelThenClose, QDialog):
    """Purpose and consent, format, frames, folder or zip, progress and Cancel, the result."""

    #: An export ended (written, refused or cancelled): its SlidesReport.
    exported = Signal(object)
    busy_changed = Signal(bool)
    #: Open this series (UID) in the viewer, to redact it.
    view_requested = Signal(str)

    def __init__(self, home: VeilHome, studies: Sequence[StudyRow], series_uids: Sequence[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if not studies:
            raise VeilError("Select a study to export as slide images.")
        self.setObjectName("SlidesDialog")
        self.setWindowTitle("Export Slide Images")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.home, self.studies, self.series_uids = home, list(studies), tuple(series_uids)
        self.last_report: SlidesReport | None = None
        self._token: CancelToken | None = None
        self._review_token: CancelToken | None = None  # the running review

        self.purpose_form = PurposeForm(self, purposes=unencrypted_purposes())
        self.consent = ConsentCheck(self, self.purpose_form, self._check_consent, self._form_changed, "slides")
        self.review = ReviewPanel(self, can_leave_out=False, max_rows=5)
        self.review.changed.connect(self._update_state)
        self.review.recheck_requested.connect(self.check_review)
        self.review.stop_requested.connect(self.stop_review)
        self.review.view_requested.connect(self.view_requested)
        self.confirm = self.review.confirm

        self.format_combo = QComboBox(self)
        self.format_combo.setObjectName("SlideFormat")
        self.format_combo.addItem("PNG (lossless)", "png")
        self.format_combo.addItem("JPEG (quality 92, smaller)", "jpeg")
        self.frames_combo = QComboBox(self)
        self.frames_combo.setObjectName("SlideFrames")
        self.frames_combo.addItem("Every frame", "all")
        self.frames_combo.addItem("Middle frame of each image", "middle")
        self.frames_combo.setToolTip("For multi-frame images (ultrasound clips, cine): every frame or the middle one")
        self.folder_radio = QRadioButton("Folder", self)
        self.zip_radio = QRadioButton("Zip file", self)
        self.folder_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.folder_radio)
        group.addButton(self.zip_radio)
        self.target_edit = QLineEdit(str(default_target(False)), self)
        self.target_edit.setObjectName("SlidesTarget")
        self.target_edit.textChanged.connect(lambda _t: self._update_state())
        self.zip_radio.toggled.connect(self._on_target_kind)
        self.browse_button = QPushButton("Choose…", self)
        self.browse_button.clicked.connect(self.choose_target)

        self.problem_label = label("", self, "warning", name="SlidesProblem")
        self.result_label = label("", self, "ok", selectable=True, name="SlidesResult")
        self.result_label.hide()
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setObjectName("SlidesProgress")
        self.progress_bar.setFixedWidth(240)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("CancelSlides")
        self.cancel_button.setToolTip("Stop the export; nothing is written")
        self.cancel_button.clicked.connect(self.cancel_export)
        self.progress_bar.hide()
        self.cancel_button.hide()
        self.export_button = QPushButton("Export", self)
        self.export_button.setObjectName("ExportSlides")
        self.export_button.setProperty("primary", True)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close)
        self._build_layout()
        self._update_state()
        self.resize(720, 780)
        self.consent.run()
        self.check_review()

    def _build_layout(self) -> None:
        count = len(self.studies)
        title = label(f"Slide images of {plural(count, 'study', 'studies')} "
                      f"({plural(sum(s.image_count for s in self.studies), 'image')})", self, "section")
        images = QGroupBox("Images", self)
        form = QFormLayout(images)
        form.addRow("Format", self.format_combo)
        form.addRow("Frames", self.frames_combo)
        form.addRow(label("Each frame at its default window, redactions burned in black; no text, overlay or "
                          "header.", images, "muted"))
        output = QGroupBox("Output", self)
        kinds = QHBoxLayout()
        kinds.addWidget(self.folder_radio)
        kinds.addWidget(self.zip_radio)
        kinds.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.target_edit, 1)
        row.addWidget(self.browse_button)
        out_layout = QVBoxLayout(output)
        out_layout.addLayout(kinds)
        out_layout.addLayout(row)
        out_layout.addWidget(label("Named case-N/SERIES-IMAGE-FRAME.png (or .jpg): no name, no ID, no date.", output,
                                   "muted"))
        footer = dialog_footer(self.problem_label, (self.progress_bar, self.cancel_button),
                               (self.close_button, self.export_button))
        review = QGroupBox("Burned-in text", self)
        review.setObjectName("SlidesReview")
        QVBoxLayout(review).addWidget(self.review)
        layout = QVBoxLayout(self)
        for widget in (title, self.purpose_form, review, images, output):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.result_label)
        layout.addLayout(footer)

    # -- state -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._token is not None

    @property
    def consent_pending(self) -> bool:
        return self.consent.pending

    def target(self) -> Path:
        return Path(self.target_edit.text().strip()).expanduser()

    def problem(self) -> str | None:
        """What keeps Export disabled, for a person; None when it can run."""
        found = self.purpose_form.problem()
        if found:
            return found
        found = self.review.problem()
        if found:
            return found
        text = self.target_edit.text().strip()
        if not text or not Path(text).expanduser().is_absolute():
            return "Give the output as a full path (or choose it)."
        if self.zip_radio.isChecked() and not text.lower().endswith(".zip"):
            return "A zip file's name ends in .zip."
        return None

    def _update_state(self) -> None:
        problem = self.problem()
        self.problem_label.setText(problem or "")
        self.problem_label.setVisible(problem is not None and not self.busy)
        self.export_button.setEnabled(problem is None and not self.busy)

    def _set_busy(self, token: CancelToken | None) -> None:
        self._token = token
        busy = token is not None
        for widget in (self.purpose_form, self.review, self.format_combo, self.frames_combo, self.folder_radio,
                       self.zip_radio, self.target_edit, self.browse_button):
            widget.setEnabled(not busy)
        self.progress_bar.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self._update_state()
        self.busy_changed.emit(busy)

    def _on_target_kind(self, zipped: bool) -> None:
        self.target_edit.setText(str(default_target(zipped)))

    def choose_target(self) -> None:
        start = self.target()
        if self.zip_radio.isChecked():
            chosen, _f = QFileDialog.getSaveFileName(self, "Zip file", str(start), "Zip files (*.zip)")
        else:
            chosen = QFileDialog.getExistingDirectory(self, "Output folder", str(start.parent))
        if chosen:
            self.target_edit.setText(chosen)

    # -- consent -----------------------------------------------------------------------------
    def _form_changed(self) -> None:
        self.result_label.hide()  # the last result was for another purpose
        self._update_state()

    def _check_consent(self, purpose: ExportPurpose) -> tuple[Decision, None]:
        """Off the UI thread: may these studies leave for ``purpose``?"""
        items = selection_items(self.home, [s.study_uid for s in self.studies], self.series_uids)
        _request, decision = check_items(self.home, purpose.purpose, items, deidentified=True,
                                         protocol_id=purpose.protocol_id or None)
        return decision, None

    # -- the burned-in review ------------------------------------------------------------------
    def check_review(self) -> None:
        """Review the images as the privacy gate does (headers, OCR, the residual check), in the
        background; a newer review cancels the one running."""
        self._stop_running_review()
        token = self._review_token = CancelToken()
        self.review.show_checking()
        home, selection = self.home, selection_of([s.study_uid for s in self.studies], self.series_uids)

        def op(progress: Progress) -> SelectionReview:
            return review_selection(home, selection, progress=progress, cancel=token)

        run_in_background(op, self._on_reviewed, self._on_review_failed, self.review.show_reading,
                          key=f"slides-review-{id(self)}", context=self)

    def _stop_running_review(self) -> None:
        if self._review_token is not None:
            self._review_token.cancel()
            self._review_token = None

    def stop_review(self) -> None:
        self._stop_running_review()
        self.review.show_stopped()

    def _on_reviewed(self, result: SelectionReview) -> None:
        self._review_token = None
        self.review.show_result(result)

    def _on_review_failed(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            return  # Stop, a newer review, or the dialog closing
        self._review_token = None
        if not isinstance(exc, VeilError):
            log.error("Burned-in review failed: %s", describe_unexpected(exc))
        self.review.show_failure(message_for(exc))

    # -- export ------------------------------------------------------------------------------
    def export(self) -> None:
        """Write the slide images in the background, with progress."""
        purpose = self.purpose_form.purpose()
        if self.busy or purpose is None or self.problem() is not None:
            return
        home, uids, series, target = self.home, [s.study_uid for s in self.studies], self.series_uids, self.target()
        fmt, frames = self.format_combo.currentData(), self.frames_combo.currentData()
        zipped, confirmed = self.zip_radio.isChecked(), self.review.confirmed
        shown = self.review.review  # reused by the export when the images it read are unchanged
        token = CancelToken()
        self._set_busy(token)
        self.result_label.hide()
        self.progress_bar.setRange(0, 0)

        def op(progress: Progress) -> SlidesReport:
            return export_slides(home, uids, purpose, None if zipped else target, series, fmt=fmt, frames=frames,
                                 progress=progress, cancel=token, zip_path=target if zipped else None,
                                 confirm_burned_in=confirmed, review=shown)

        run_in_background(op, self._on_exported, self._on_failed, self._on_progress,
                          key=f"slides-export-{id(self)}", context=self)

    def cancel_export(self) -> None:
        if self._token is not None and not self._token.cancelled:
            self._token.cancel()
            self.cancel_button.setEnabled(False)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setFormat("%v / %m")
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(min(done, max(total, 1)))

    def _on_exported(self, report: SlidesReport) -> None:
        self._set_busy(None)
        self.last_report = report
        self.exported.emit(report)
        if self.closed_after_work():
            return
        self.result_label.setText(report.headline())
        set_role(self.result_label, "ok" if report.files else "danger")
        self.result_label.show()
        if report.files:  # the next export goes to a fresh place
            self.target_edit.setText(str(default_target(self.zip_radio.isChecked())))

    def _on_failed(self, exc: BaseException) -> None:
        self._set_busy(None)
        if self.closed_after_work():
            return
        show_error(self, exc, "Slide export failed")

    # -- closing -----------------------------------------------------------------------------
    def before_close(self) -> None:
        self.consent.stop()
        self._stop_running_review()  # stop reading pixels for a dialog that is gone

    def cancel_work(self) -> None:
        self.cancel_export()
