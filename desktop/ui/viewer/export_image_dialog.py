"""Export Image as PNG… (the viewer's Image menu): the picture on screen, through the privacy
gate (:mod:`desktop.app.gate.still`).

The dialog shows what leaves (a preview of the picture as shown: window, invert, rotation, no
overlay, no metadata), asks why and to whom with the consent verdict as it changes (never for
care: a PNG is not encrypted), where the file goes, and, when the gate flags the image for
burned-in text, for a person's word that no name, ID or date shows in it. The consent check and
the export (with its OCR of the pixels) run off the UI thread; a refusal (consent, identity
still readable in the pixels, the burned-in flag) or the file written shows in the dialog.

A view of an original that Veil redacted (View ▸ Show Original) is never exported: the dialog
says the redacted version is what leaves, and the gate refuses it too.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.app.common.tasks import Progress
from desktop.app.consent.consenting import check_items
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.purpose_rules import unencrypted_purposes
from desktop.app.gate import Selection, header_flags, resolve
from desktop.app.gate.still import StillReport
from desktop.app.viewer.viewing import OpenSeries
from desktop.core.common.errors import VeilError
from desktop.core.consent import Decision
from desktop.ui.common.background import run_in_background
from desktop.ui.common.cancel_then_close import CancelThenClose
from desktop.ui.common.errors import message_for, show_error
from desktop.ui.common.widgets import dialog_footer, label, set_role
from desktop.ui.consent.check import ConsentCheck
from desktop.ui.consent.purpose_form import PurposeForm
from desktop.ui.viewer.viewport import to_qimage

log = logging.getLogger("veil.ui")

PREVIEW = 168  # the preview's longest side, in pixels
CONFIRM_TEXT = "I checked this image: no name, ID or date shows"
ORIGINAL_SHOWN = ("You are looking at the original of an image Veil redacted. What leaves Veil is its redacted "
                  "version, never the original: turn off View ▸ Show Original and export again.")
NOT_ENCRYPTED = ("The picture as shown (window, invert, rotation) at the image's own resolution: no overlay, "
                 "no header, no metadata. A PNG is not encrypted: whoever has the file sees the image.")


def exports_folder() -> Path:
    """Where exports go by default (made on the first export)."""
    return Path.home() / "Veil exports"


def default_target(today: date | None = None) -> Path:
    """``~/Veil exports/YYYY-MM-DD image.png`` (``-2``, ``-3``… when taken): no name, ID or date
    of the patient in it."""
    folder = exports_folder()
    stem = f"{(today or date.today()).isoformat()} image"
    n = 1
    while (found := folder / f"{stem}{f'-{n}' if n > 1 else ''}.png").exists():
        n += 1
    return found


def png_path(text: str) -> Path:
    """The file a typed name means: ``.png`` added when missing."""
    target = Path(text.strip()).expanduser()
    return target if target.suffix.lower() == ".png" else target.with_name(target.name + ".png")


class ExportImageDialog(CancelThenClose, QDialog):
    """Preview, purpose and consent, output file, the burned-in confirmation, Export."""

    #: An export ended, written or refused: its StillReport.
    exported = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, series: OpenSeries, position: int, image: np.ndarray, what: str = "",
                 target: str | Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ExportImageDialog")
        self.setWindowTitle("Export Image as PNG")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.series, self.position = series, position
        self.image = np.ascontiguousarray(image)  # what is on screen now: the viewer may move on
        self.what = what or "This image"
        #: The image on screen is an original whose redacted version is what leaves.
        self.original_shown = series.replaced(position)
        self.flagged: list[str] = []  # why the gate asks for the confirmation ([] : it does not)
        self.last_report: StillReport | None = None
        #: Checking and writing in the background (closing waits for it: :class:`CancelThenClose`).
        self.busy = False

        self.purpose_form = PurposeForm(self, purposes=unencrypted_purposes())
        self.consent = ConsentCheck(self, self.purpose_form, self._check_consent, self._form_changed, "png",
                                    extra=self._header_flags)

        self.original_label = label(ORIGINAL_SHOWN, self, "danger", name="OriginalShown")
        self.original_label.setVisible(self.original_shown)
        self.target_edit = QLineEdit(str(png_path(str(target)) if target else default_target()), self)
        self.target_edit.setObjectName("PngTarget")
        self.target_edit.textChanged.connect(lambda _t: self._update_state())
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.setObjectName("BrowsePng")
        self.browse_button.setToolTip("Choose where the PNG goes")
        self.browse_button.clicked.connect(self.choose_target)
        self.replace_note = label("A file of that name exists: Export replaces it.", self, "warning",
                                  name="ReplaceNote")
        self.replace_note.hide()

        self.confirm = QCheckBox(CONFIRM_TEXT, self)
        self.confirm.setObjectName("ConfirmBurnedIn")
        self.confirm.setToolTip("Look at the whole image, corners included. If any identity shows, redact it "
                                "in Redact mode (Shift+R) instead.")
        self.confirm.toggled.connect(self._on_confirm)
        self.flag_label = label("", self, "warning", selectable=True, name="BurnedInFlags")
        self.confirm_box = QGroupBox("Burned-in identity", self)
        self.confirm_box.setObjectName("BurnedInReview")
        box = QVBoxLayout(self.confirm_box)
        box.addWidget(self.flag_label)
        box.addWidget(self.confirm)
        self.confirm_box.hide()

        self.result_label = label("", self, "ok", selectable=True, name="PngResult")
        self.result_label.hide()
        self.problem_label = label("", self, "warning", name="PngProblem")
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setObjectName("PngBusy")
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setFixedWidth(160)
        self.busy_bar.setTextVisible(False)
        self.busy_label = label("Checking the image and writing…", self, "muted", wrap=False, name="PngBusyText")
        self.busy_bar.hide()
        self.busy_label.hide()
        self.export_button = QPushButton("Export", self)
        self.export_button.setObjectName("ExportPng")
        self.export_button.setProperty("primary", True)
        self.export_button.setDefault(True)
        self.export_button.setToolTip("Check consent, read the pixels for identity (OCR), write the PNG and "
                                      "record the disclosure")
        self.export_button.clicked.connect(self.export)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close)
        self._build_layout()
        self._update_state()
        self.resize(660, 0)
        self._fit()
        self.consent.run()

    def _build_layout(self) -> None:
        title = label(f"{self.what} as a PNG", self, "section", name="PngTitle")
        preview = QLabel(self)
        preview.setObjectName("PngPreview")
        preview.setFrameShape(QFrame.Shape.StyledPanel)
        preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        preview.setFixedSize(PREVIEW + 8, PREVIEW + 8)
        picture = QPixmap.fromImage(to_qimage(self.image))
        preview.setPixmap(picture.scaled(PREVIEW, PREVIEW, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))
        height, width = self.image.shape[:2]
        about = QVBoxLayout()
        about.addWidget(label("What leaves", self, "section"))
        about.addWidget(label(f"{NOT_ENCRYPTED}\n{width} × {height} pixels.", self, "muted", name="PngAbout"))
        about.addWidget(self.original_label)
        about.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(preview, 0, Qt.AlignmentFlag.AlignTop)
        top.addSpacing(8)
        top.addLayout(about, 1)

        output = QGroupBox("Output file", self)
        row = QHBoxLayout()
        row.addWidget(self.target_edit, 1)
        row.addWidget(self.browse_button)
        out_layout = QVBoxLayout(output)
        out_layout.addLayout(row)
        out_layout.addWidget(self.replace_note)

        footer = dialog_footer(self.problem_label, (self.busy_label, self.busy_bar),
                               (self.close_button, self.export_button), problem_stretch=4)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(top)
        for widget in (self.purpose_form, output, self.confirm_box):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.result_label)
        layout.addLayout(footer)

    # -- state -------------------------------------------------------------------------------
    @property
    def consent_pending(self) -> bool:
        return self.consent.pending

    def target(self) -> Path:
        return png_path(self.target_edit.text())

    def problem(self) -> str | None:
        """What keeps Export disabled, for a person; None when it can run."""
        if self.original_shown:
            return "The original is on screen: turn off View ▸ Show Original."
        found = self.purpose_form.problem()
        if found:
            return found
        if self.flagged and not self.confirm.isChecked():
            return "Look at the image, then tick the box (or redact it in Redact mode)."
        text = self.target_edit.text().strip()
        if not text or not Path(text).expanduser().is_absolute():
            return "Give the file as a full path (or choose it with Browse…)."
        if self.target().is_dir():
            return "That is a folder: give the file's name too."
        if not self.target().parent.is_dir() and self.target().parent != exports_folder():
            return "That folder does not exist: choose one with Browse…"
        return None

    def _update_state(self) -> None:
        problem = self.problem()
        self.problem_label.setText(problem or "")
        self.problem_label.setVisible(problem is not None and not self.busy)
        self.export_button.setEnabled(problem is None and not self.busy)
        text = self.target_edit.text().strip()
        self.replace_note.setVisible(bool(text) and self.target().is_file())

    def _fit(self) -> None:
        """Grow to show every line of the wrapped texts at the present width (Qt sizes a window
        by its labels' one-line hints, and would squeeze them)."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        width = self.width()
        need = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else layout.totalSizeHint().height()
        if need > self.height():
            self.resize(width, need)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for widget in (self.purpose_form, self.confirm, self.target_edit, self.browse_button):
            widget.setEnabled(not busy)
        self.busy_bar.setVisible(busy)
        self.busy_label.setVisible(busy)
        self.close_button.setEnabled(not busy)
        self._update_state()
        self.busy_changed.emit(busy)

    def choose_target(self) -> None:
        chosen, _f = QFileDialog.getSaveFileName(self, "Export image as PNG", str(self.target()),
                                                 "PNG images (*.png)")
        if chosen:
            self.target_edit.setText(str(png_path(chosen)))

    def _on_confirm(self, _on: bool) -> None:
        self.result_label.hide()  # the last refusal was for the image unconfirmed
        self._update_state()

    def _show_flags(self, reasons: list[str], note: str = "") -> None:
        """The gate flags the image for burned-in text: say why, and ask for the tick."""
        self.flagged = list(reasons) or ([note] if note else [])
        lines = [f"• {r}" for r in self.flagged]
        self.flag_label.setText("Veil cannot rule out burned-in identity in this image:\n" + "\n".join(lines))
        self.confirm_box.setVisible(bool(self.flagged))
        self._update_state()
        self._fit()

    # -- consent -----------------------------------------------------------------------------
    def _form_changed(self) -> None:
        self.result_label.hide()  # the last result was for another purpose
        self._update_state()

    def _check_consent(self, purpose: ExportPurpose) -> tuple[Decision, list[str]]:
        """Off the UI thread: consent for ``purpose``, and whether the image's header flags it."""
        home = self.series.home
        selection = Selection((self.series.study_uid,), (), (self.series.images[self.position].sop_instance_uid,))
        resolved = resolve(home, selection)
        _request, decision = check_items(home, purpose.purpose, list(resolved.items), deidentified=True,
                                         protocol_id=purpose.protocol_id or None)
        return decision, [f.label for f in header_flags(resolved.images)]

    def _header_flags(self, flags: object) -> None:
        if flags and not self.flagged:
            self._show_flags(list(flags))  # type: ignore[call-overload]

    # -- export ------------------------------------------------------------------------------
    def export(self) -> None:
        """Through the gate, in the background: consent, review and OCR of the pixels, write."""
        purpose = self.purpose_form.purpose()
        if self.busy or purpose is None or self.problem() is not None:
            return
        self.run_export(purpose)

    def run_export(self, purpose: ExportPurpose) -> None:
        """Export for ``purpose`` whatever the form shows (the gate decides; tests use it to
        reach the gate's own refusals)."""
        series, position, image, target = self.series, self.position, self.image, self.target()
        confirmed = self.confirm.isChecked()
        self.result_label.hide()
        self._set_busy(True)

        def op(_progress: Progress) -> StillReport:
            if target.parent == exports_folder():
                target.parent.mkdir(parents=True, exist_ok=True)
            return series.export_png(target, image, position, purpose, confirmed)

        run_in_background(op, self._on_exported, self._on_failed, key=f"png-export-{id(self)}", context=self)

    def _on_exported(self, report: StillReport) -> None:
        self._set_busy(False)
        self.last_report = report
        self.exported.emit(report)
        if self.closed_after_work():
            return
        text = report.headline()
        if report.written:
            text += f"\n{report.path}"
        elif report.review is not None and report.review.needs_confirmation and not report.confirm_burned_in \
                and not report.residual:
            self._show_flags([f.label for f in report.review.flagged], report.review.note())
        self._show_result(text, ok=report.written)
        if report.written:  # the next export goes to a fresh file; Enter now closes
            self.target_edit.setText(str(default_target()))
            self.confirm.blockSignals(True)
            self.confirm.setChecked(False)
            self.confirm.blockSignals(False)
            self._update_state()
            self.export_button.setDefault(False)
            self.close_button.setDefault(True)
            self.close_button.setFocus()

    def _on_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        if self.closed_after_work():
            return
        if isinstance(exc, VeilError):  # the gate's refusal (e.g. the original on screen), in its words
            self._show_result(f"Not exported: {message_for(exc)}", ok=False)
        else:
            show_error(self, exc, "Cannot export the image")

    def _show_result(self, text: str, ok: bool) -> None:
        self.result_label.setText(text)
        set_role(self.result_label, "ok" if ok else "danger")
        self.result_label.show()
        self._fit()

    # -- closing -----------------------------------------------------------------------------
    def before_close(self) -> None:
        self.consent.stop()

    def cancel_work(self) -> None:
        """One image is quick: it is not interrupted (a close waits for it to end)."""
