"""The privacy gate's burned-in review as a person sees it before an export: the
export wizard's Redaction page and the slide images dialog both show it.

The window runs :func:`desktop.app.gate.text_flags.review_selection` in the background and hands
the panel its progress and its result. The panel lists the images whose pixels would still show
the patient's identity (the residual check: they must be redacted or left out, and no
confirmation lets them out), then the images flagged for a person to check (header rules, text
read in the pixels, images that could not be read), how much OCR read, and the confirmation.
Labels name images without identity; they are shown as plain text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.app.common.formatting import plural
from desktop.app.gate import Refusal, Review
from desktop.app.gate.text_flags import SelectionReview
from desktop.app.share.sharing import Flagged
from desktop.ui.common.widgets import label, set_role, visible_indicator

CONFIRM_FLAGGED = "I checked these images: they carry no identifying text, or it may leave with them for this purpose"
CONFIRM_UNREAD = ("I looked at the images myself: they carry no identifying text, or it may leave with them for "
                  "this purpose")
#: Where an image sits, for the buttons: (series UID, SOP Instance UID or "").
SERIES_ROLE = Qt.ItemDataRole.UserRole
IMAGE_ROLE = Qt.ItemDataRole.UserRole + 1


class FitList(QListWidget):
    """A list of images as tall as its rows (up to ``max_rows``, then it scrolls), long lines
    wrapped rather than cut."""

    def __init__(self, parent: QWidget, name: str, max_rows: int) -> None:
        super().__init__(parent)
        self.max_rows = max_rows
        self.setObjectName(name)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setStyleSheet("QListWidget::item { padding: 4px 8px; }")

    def fit(self) -> None:
        rows = [self.sizeHintForRow(n) for n in range(min(self.count(), self.max_rows))]
        more = self.count() > self.max_rows  # show half a row more: there is more to scroll to
        height = sum(rows) + (rows[-1] // 2 if more and rows else 0) + 2 * self.frameWidth() + 2
        self.setFixedHeight(max(height, 30))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.fit()  # wrapped lines take more rows when narrower


class ReviewPanel(QWidget):
    """Progress, then what the review found, and the confirmation of flagged images."""

    #: Something changed that may change :meth:`problem`.
    changed = Signal()
    #: Open this series (UID) in the viewer, to redact it.
    view_requested = Signal(str)
    #: Review the selection again (after redacting).
    recheck_requested = Signal()
    #: Stop the review that runs.
    stop_requested = Signal()
    #: Leave these images (SOP Instance UIDs) out of the selection.
    leave_out_requested = Signal(list)

    def __init__(self, parent: QWidget | None = None, *, can_leave_out: bool = True, max_rows: int = 8) -> None:
        super().__init__(parent)
        self.result: SelectionReview | None = None
        self.failed = False
        self.stopped = False
        self.reading: tuple[int, int] | None = None  # (done, total) images read so far
        self.identifiable = False  # identifiable images for care: the gate does not review them
        self.can_leave_out = can_leave_out
        self.status = label("", self, "muted", name="ReviewStatus")
        self.progress = QProgressBar(self)
        self.progress.setObjectName("ReviewProgress")
        self.progress.setTextVisible(True)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("StopReview")
        self.stop_button.setToolTip("Stop reading the images (to change the selection first); check again later")
        self.stop_button.clicked.connect(self.stop_requested)
        self.note = label("", self, "muted", name="ReviewNote")
        self.leak_title = label("", self, "danger", name="LeakTitle")
        self.leak_list = FitList(self, "LeakList", max(2, max_rows // 2))
        self.leave_leaks = QPushButton("Leave Them Out", self)
        self.leave_leaks.setObjectName("LeaveLeaksOut")
        self.leave_leaks.setToolTip("Untick these images on What leaves: they do not leave")
        self.leave_leaks.clicked.connect(self._leave_leaks_out)
        self.flag_title = label("", self, "warning", name="FlagTitle")
        self.list = FitList(self, "FlaggedList", max_rows)
        self.hint = label("", self, "muted", name="ReviewHint")
        self.view_button = QPushButton("Open in Viewer", self)
        self.view_button.setObjectName("ViewFlagged")
        self.view_button.setToolTip("Open the selected image's series in the viewer, to redact it")
        self.view_button.clicked.connect(self._view)
        self.leave_button = QPushButton("Leave Out", self)
        self.leave_button.setObjectName("LeaveFlaggedOut")
        self.leave_button.setToolTip("Untick the selected images on What leaves: they do not leave")
        self.leave_button.clicked.connect(self._leave_selected_out)
        self.recheck_button = QPushButton("Check Again", self)
        self.recheck_button.setObjectName("RecheckFlagged")
        self.recheck_button.setToolTip("Review the images again (after redacting them)")
        self.recheck_button.clicked.connect(self.recheck_requested)
        self.confirm = QCheckBox(CONFIRM_FLAGGED, self)
        self.confirm.setObjectName("ConfirmBurnedIn")
        visible_indicator(self.confirm)
        self.confirm.toggled.connect(lambda _on: self.changed.emit())
        self._active: QListWidget = self.list
        for widget in (self.list, self.leak_list):
            widget.itemDoubleClicked.connect(lambda _item, w=widget: self._view(w))
            widget.itemSelectionChanged.connect(lambda w=widget: self._activate(w))
        self._build()
        self.show_checking()

    def _build(self) -> None:
        running = QHBoxLayout()
        running.addWidget(self.progress, 1)
        running.addWidget(self.stop_button)
        leak_row = QHBoxLayout()
        leak_row.addWidget(self.leak_title, 1)
        leak_row.addWidget(self.leave_leaks, 0, Qt.AlignmentFlag.AlignBottom)
        buttons = QHBoxLayout()
        buttons.addWidget(self.view_button)
        buttons.addWidget(self.leave_button)
        buttons.addWidget(self.recheck_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addLayout(running)
        layout.addWidget(self.note)
        layout.addSpacing(4)
        layout.addLayout(leak_row)
        layout.addWidget(self.leak_list)
        layout.addWidget(self.flag_title)
        layout.addWidget(self.list)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)
        layout.addSpacing(6)
        layout.addWidget(self.confirm)

    # -- what the window hands over ---------------------------------------------------------------
    def show_checking(self) -> None:
        """A review is about to start (or the selection changed: the last one no longer holds)."""
        self.result, self.failed, self.stopped, self.reading = None, False, False, None
        self._say("Looking for images with burned-in text…", "muted")
        self.progress.setRange(0, 0)
        self._show_running(True)
        self._show_found(False)
        self.changed.emit()

    def show_reading(self, done: int, total: int) -> None:
        """Progress of OCR (``total`` grows when a series is read in full)."""
        if self.result is not None or self.failed or self.stopped:
            return
        self.reading = (done, total)
        if total:
            self._say(f"Reading the images for burned-in text… {done:,} of {plural(total, 'image')}", "muted")
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            self.progress.setFormat("%v / %m")
        self.changed.emit()

    def show_failure(self, message: str) -> None:
        self.result, self.failed, self.reading = None, True, None
        self._say(f"The images could not be checked: {message}", "danger")
        self._show_running(False)
        self._show_found(False)
        self.recheck_button.show()
        self.changed.emit()

    def show_stopped(self) -> None:
        self.result, self.stopped, self.reading = None, True, None
        self._say("The check for burned-in text was stopped. Nothing leaves before it has run: check again "
                  "when the selection is as you want it.", "warning")
        self._show_running(False)
        self._show_found(False)
        self.recheck_button.show()
        self.changed.emit()

    def show_result(self, result: SelectionReview) -> None:
        """Show what the review found."""
        self.result, self.reading = result, None
        self._show_running(False)
        leaking = result.leaking()
        leaked = {image.instance_ref for image, _why in leaking}
        flagged = [f for f in result.flagged if f.instance_ref not in leaked]
        self.leak_list.clear()
        self.list.clear()
        for text, why, _key in result.leaks:
            self._add(self.leak_list, f"{text}: {why.split(' (read by OCR)')[0]}", result.series_of_leak(text) or "",
                      next((i.sop_uid for i, w in leaking if i.label == text), ""))
        for flag in flagged:
            image = result.image_of(flag)
            self._add(self.list, flag.label, flag.series_uid, image.sop_uid if image else "")
        self.note.setText(result.note() if result.read_all_pixels else
                          f"⚠ {result.note()} Look at the images yourself before they leave.")
        set_role(self.note, "muted" if result.read_all_pixels else "warning")
        self.note.show()
        self._say(*self._headline(result, len(flagged)))
        them = "it" if len(result.leaks) == 1 else "them"
        self.leak_title.setText(f"Must not leave ({plural(len(result.leaks), 'image')}): OCR reads the patient's "
                                f"identity in the pixels that would leave. Redact {them} in the viewer (Redact mode, "
                                f"Shift+R), then check again" + (f", or leave {them} out" if self.can_leave_out else "")
                                + f". No confirmation lets {them} out.")
        for widget in (self.leak_title, self.leak_list):
            widget.setVisible(bool(result.leaks))
        self.leave_leaks.setVisible(bool(result.leaks) and self.can_leave_out)
        self.flag_title.setText(f"To check before they leave ({plural(len(flagged), 'image')}):")
        self.flag_title.setVisible(bool(flagged) and bool(result.leaks))
        self.list.setVisible(bool(flagged))
        self.list.fit()
        self.leak_list.fit()
        if flagged:
            self.list.setCurrentRow(0)
            self._active = self.list
        elif result.leaks:
            self.leak_list.setCurrentRow(0)
            self._active = self.leak_list
        needs_look = bool(flagged) or not result.read_all_pixels
        one = len(flagged) == 1
        them, they, carry = ("it", "it", "carries") if one else ("them", "they", "carry")
        self.hint.setText(f"Redact {them} in the viewer (Redact mode, Shift+R), then check again"
                          + (f", or leave {them} out" if self.can_leave_out else "")
                          + f". If you looked at {them} and {they} {carry} no identifying text, confirm it below.")
        self.hint.setVisible(bool(flagged))
        self.view_button.setVisible(bool(flagged or result.leaks))
        self.leave_button.setVisible(bool(flagged) and self.can_leave_out)
        self.recheck_button.setVisible(bool(flagged or result.leaks) or not result.read_all_pixels)
        self.confirm.setChecked(False)
        self.confirm.setText(CONFIRM_FLAGGED if flagged else CONFIRM_UNREAD)
        self.confirm.setVisible(needs_look and not self.identifiable)
        self.changed.emit()

    def set_identifiable(self, identifiable: bool) -> None:
        """Identifiable images for care leave with the patient's identity: nothing here blocks."""
        if identifiable != self.identifiable:
            self.identifiable = identifiable
            if self.result is not None:
                self.show_result(self.result)
            self.changed.emit()

    # -- what it found ------------------------------------------------------------------------------
    def _headline(self, result: SelectionReview, flagged: int) -> tuple[str, str]:
        if self.identifiable:
            return ("For the patient's care, the images leave identifiable: burned-in names and IDs leave with "
                    "them, encrypted to the colleague. Nothing here needs confirming.", "muted")
        if result.leaks:
            return (f"✗ {plural(len(result.leaks), 'image')} would still show the patient's identity in the pixels: "
                    "they cannot leave as they are.", "danger")
        if flagged:
            verb = "has" if flagged == 1 else "have"
            return (f"⚠ {plural(flagged, 'image')} may carry burned-in identity and {verb} no redaction that hides "
                    "it (each line says why):", "warning")
        if not result.read_all_pixels:
            return ("No header in this selection says its image carries burned-in text, but the pixels were not "
                    "read for text.", "warning")
        return ("✓ No image in this selection may carry burned-in text: no header says so and OCR read no text. "
                "Nothing needs checking here.", "ok")

    @property
    def flagged(self) -> list[Flagged] | None:
        """The images flagged for review (None until the review has run)."""
        return None if self.result is None else list(self.result.flagged)

    @property
    def leaks(self) -> list[Refusal]:
        return [] if self.result is None else list(self.result.leaks)

    @property
    def review(self) -> Review | None:
        """The gate's review shown (the export reuses it when the images are unchanged)."""
        return None if self.result is None else self.result.review

    @property
    def unchecked(self) -> str | None:
        """Why the pixels were not read for text, when they were not."""
        if self.result is None or self.result.read_all_pixels:
            return None
        return self.result.note()

    @property
    def needs_confirmation(self) -> bool:
        return self.result is not None and self.result.review.needs_confirmation

    @property
    def confirmed(self) -> bool:
        return self.needs_confirmation and self.confirm.isChecked() and not self.identifiable

    def problem(self) -> str | None:
        """What keeps the export from going on, in words; None when nothing does."""
        if self.failed:
            return "The images could not be checked for burned-in text: check again."
        if self.stopped:
            return "The check for burned-in text was stopped: check again."
        if self.result is None:
            if self.reading is not None and self.reading[1]:
                done, total = self.reading
                return f"Reading the images for burned-in text ({done:,} of {total:,})…"
            return "Checking the images for burned-in text…"
        if self.identifiable:
            return None
        if self.result.leaks:
            them = "it" if len(self.result.leaks) == 1 else "them"
            return (f"{plural(len(self.result.leaks), 'image')} would still show the patient's identity: redact {them}"
                    + (f" or leave {them} out." if self.can_leave_out else "."))
        if self.needs_confirmation and not self.confirm.isChecked():
            if not self.result.flagged:
                return "Confirm you looked at the images: text in their pixels could not be looked for."
            return "Confirm you checked the flagged images, or redact them first."
        return None

    # -- widgets --------------------------------------------------------------------------------------
    def _say(self, text: str, role: str) -> None:
        self.status.setText(text)
        set_role(self.status, role)

    def _show_running(self, shown: bool) -> None:
        self.progress.setVisible(shown)
        self.stop_button.setVisible(shown)

    def _show_found(self, shown: bool) -> None:
        for widget in (self.note, self.leak_title, self.leak_list, self.leave_leaks, self.flag_title, self.list,
                       self.hint, self.view_button, self.leave_button, self.recheck_button, self.confirm):
            widget.setVisible(shown)
        if not shown:
            self.confirm.setChecked(False)

    @staticmethod
    def _add(widget: QListWidget, text: str, series_uid: str, sop_uid: str) -> None:
        row = QListWidgetItem(text)
        row.setData(SERIES_ROLE, series_uid)
        row.setData(IMAGE_ROLE, sop_uid)
        row.setToolTip(text)
        widget.addItem(row)

    def _activate(self, widget: QListWidget) -> None:
        if widget.selectedItems():
            self._active = widget

    def _view(self, widget: QListWidget | None = None) -> None:
        item = (widget or self._active).currentItem()
        if item is not None and item.data(SERIES_ROLE):
            self.view_requested.emit(str(item.data(SERIES_ROLE)))

    def _leave_selected_out(self) -> None:
        uids = [str(i.data(IMAGE_ROLE)) for i in self.list.selectedItems() if i.data(IMAGE_ROLE)]
        if uids:
            self.leave_out_requested.emit(uids)

    def _leave_leaks_out(self) -> None:
        if self.result is not None:
            uids = [image.sop_uid for image, _why in self.result.leaking()]
            if uids:
                self.leave_out_requested.emit(uids)
