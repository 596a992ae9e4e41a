"""The case editor: a teaching case's text, its key images in order (thumbnails at their view
with their annotations; drag to reorder; a caption each), undo and redo of every edit, Save,
and Export. A draft shows its author whose images it holds (they must find it again); what
leaves is only ever the de-identified case, through the privacy gate (:mod:`.export_dialog`).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.app.cases.draft import CaseDraft
from desktop.app.cases.passage import render_key_image
from desktop.core.cases.case import Difficulty, KeyImage, TeachingCase
from desktop.core.common.errors import VeilError
from desktop.ui.cases.annotate_window import AnnotateWindow
from desktop.ui.common.background import run_in_background
from desktop.ui.common.resources import app_icon
from desktop.ui.common.widgets import label, set_role
from desktop.ui.viewer.viewport import to_qimage

THUMBNAIL = 160
#: Typing pauses this long before a text edit becomes one undoable step.
TYPING_PAUSE_MS = 700
EXPORT_TIP = "A PowerPoint deck, slide images or a teaching-file package, de-identified, through the privacy gate"
LONG_FIELDS = (("history", "History"), ("findings", "Findings"), ("diagnosis", "Diagnosis"),
               ("differential", "Differential"), ("teaching_points", "Teaching points"))


class CaseEditor(QMainWindow):
    """Edit one case (see the module)."""

    #: The case was saved (its id): the Cases list reloads.
    saved = Signal(int)
    #: Show a key image in the viewer: (study UID, SOP Instance UID, frame).
    show_requested = Signal(str, str, int)
    #: Export the (saved) case: its id.
    export_requested = Signal(int)

    def __init__(self, draft: CaseDraft, patient_line: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("CaseEditor")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowIcon(app_icon())
        self.draft = draft
        self.patient_line = patient_line
        self._syncing = False
        self._thumbs: dict[tuple[str, int, str], QPixmap] = {}
        self._pending: set[tuple[str, int, str]] = set()
        self.annotators: dict[tuple[str, int], AnnotateWindow] = {}
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(TYPING_PAUSE_MS)
        self._typing.timeout.connect(self.commit_fields)
        self._build()
        self.resize(1100, 760)
        self.refresh()

    # -- construction ------------------------------------------------------------------------
    def _build(self) -> None:
        self.title_edit = QLineEdit(self)
        self.title_edit.setObjectName("CaseTitle")
        self.title_edit.setPlaceholderText("e.g. Tension pneumothorax")
        self.modality_edit, self.anatomy_edit, self.author_edit = QLineEdit(self), QLineEdit(self), QLineEdit(self)
        self.keywords_edit = QLineEdit(self)
        self.keywords_edit.setPlaceholderText("Comma-separated, e.g. chest, trauma")
        self.difficulty_combo = QComboBox(self)
        for level in Difficulty:
            self.difficulty_combo.addItem(level.value.capitalize(), level)
        form = QFormLayout()
        form.addRow("Title", self.title_edit)
        self.long_edits: dict[str, QPlainTextEdit] = {}
        for name, text in LONG_FIELDS:
            edit = QPlainTextEdit(self)
            edit.setObjectName(f"Case{name.title().replace('_', '')}")
            edit.setTabChangesFocus(True)
            edit.setMinimumHeight(54)
            self.long_edits[name] = edit
            form.addRow(text, edit)
            edit.textChanged.connect(self._typed)
        for text, widget in (("Keywords", self.keywords_edit), ("Modality", self.modality_edit),
                             ("Anatomy", self.anatomy_edit), ("Difficulty", self.difficulty_combo),
                             ("Author", self.author_edit)):
            form.addRow(text, widget)
        for line in (self.title_edit, self.keywords_edit, self.modality_edit, self.anatomy_edit, self.author_edit):
            line.textEdited.connect(self._typed)
            line.editingFinished.connect(self.commit_fields)
        self.difficulty_combo.currentIndexChanged.connect(lambda _i: self.commit_fields())
        fields = QWidget(self)
        fields.setLayout(form)

        self.key_list = QListWidget(self)
        self.key_list.setObjectName("KeyImages")
        self.key_list.setViewMode(QListWidget.ViewMode.IconMode)
        self.key_list.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.key_list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.key_list.setMovement(QListWidget.Movement.Snap)
        self.key_list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.key_list.setSpacing(6)
        self.key_list.setToolTip("Key images in the order they are shown; drag to reorder. "
                                 "Press K in the viewer to mark the image on screen; double-click one to annotate it.")
        self.key_list.model().rowsMoved.connect(self._on_moved)
        self.key_list.currentRowChanged.connect(lambda _r: self._sync_caption())
        self.key_list.itemDoubleClicked.connect(lambda _item: self.annotate_current())
        self.caption_edit = QLineEdit(self)
        self.caption_edit.setObjectName("KeyCaption")
        self.caption_edit.setPlaceholderText("Caption of the selected key image")
        self.caption_edit.editingFinished.connect(self._commit_caption)
        self.remove_button = QPushButton("Remove Key Image", self)
        self.remove_button.clicked.connect(self.remove_current)
        self.annotate_button = QPushButton("Annotate…", self)
        self.annotate_button.setObjectName("AnnotateKeyImage")
        self.annotate_button.setToolTip("Arrows, labels, ellipses, lengths, angles and ROIs on the selected key image")
        self.annotate_button.clicked.connect(self.annotate_current)
        self.view_button = QPushButton("Show in Viewer", self)
        self.view_button.clicked.connect(self.show_current)
        self.empty_keys = label("No key image yet: open the study, and press K on each image the case needs.",
                                self, "muted", name="NoKeyImages")
        keys = QWidget(self)
        column = QVBoxLayout(keys)
        column.addWidget(label("Key images", keys, "section"))
        column.addWidget(self.empty_keys)
        column.addWidget(self.key_list, 1)
        column.addWidget(self.caption_edit)
        row = QHBoxLayout()
        row.addWidget(self.annotate_button)
        row.addWidget(self.remove_button)
        row.addWidget(self.view_button)
        row.addStretch(1)
        column.addLayout(row)

        split = QSplitter(self)
        split.addWidget(fields)
        split.addWidget(keys)
        split.setSizes([560, 540])
        self.patient_label = label("", self, "muted", name="CasePatient")
        self.state_label = label("", self, "muted", name="CaseState")
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_button.clicked.connect(self.undo)
        self.redo_button = QPushButton("Redo", self)
        self.redo_button.setShortcut(QKeySequence.StandardKey.Redo)
        self.redo_button.clicked.connect(self.redo)
        self.save_button = QPushButton("Save", self)
        self.save_button.setObjectName("SaveCase")
        self.save_button.setShortcut(QKeySequence.StandardKey.Save)
        self.save_button.clicked.connect(self.save)
        self.export_button = QPushButton("Export…", self)
        self.export_button.setObjectName("ExportCase")
        self.export_button.setToolTip(EXPORT_TIP)
        self.export_button.clicked.connect(self._export)
        footer = QHBoxLayout()
        footer.addWidget(self.state_label, 1)
        for button in (self.undo_button, self.redo_button, self.save_button, self.export_button):
            footer.addWidget(button)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.addWidget(self.patient_label)
        layout.addWidget(split, 1)
        layout.addLayout(footer)
        self.setCentralWidget(body)

    # -- showing the draft ---------------------------------------------------------------------
    @property
    def case(self) -> TeachingCase:
        return self.draft.case

    def refresh(self) -> None:
        """Show the draft as it is now (after an edit, an undo, a mark from the viewer)."""
        case = self.case
        self._syncing = True
        try:
            for widget, value in ((self.title_edit, case.title), (self.modality_edit, case.modality),
                                  (self.anatomy_edit, case.anatomy), (self.author_edit, case.author),
                                  (self.keywords_edit, ", ".join(case.keywords))):
                if widget.text() != value:
                    widget.setText(value)
            for name, edit in self.long_edits.items():
                if edit.toPlainText() != getattr(case, name):
                    edit.setPlainText(getattr(case, name))
            self.difficulty_combo.setCurrentIndex(list(Difficulty).index(case.difficulty))
            row = self.key_list.currentRow()
            self.key_list.clear()
            for n, key in enumerate(case.key_images, 1):
                item = QListWidgetItem(f"{n}. {key.caption}" if key.caption else f"{n}.", self.key_list)
                item.setToolTip(f"Frame {key.frame + 1}; {len(key.annotations.items)} annotation(s)")
                item.setSizeHint(QSize(THUMBNAIL + 16, THUMBNAIL + 36))
                pixmap = self._thumbs.get(self._thumb_key(key))
                if pixmap is not None:
                    item.setIcon(QIcon(pixmap))
                else:
                    self._render_thumbnail(key)
            if case.key_images:
                self.key_list.setCurrentRow(max(0, min(row, len(case.key_images) - 1)))
        finally:
            self._syncing = False
        self._sync_caption()
        self.empty_keys.setVisible(not case.key_images)
        self.patient_label.setText(f"Draft of {self.patient_line}: only de-identified, through the privacy "
                                   "gate, does it leave Veil.")
        self.setWindowTitle(f"{case.title}{' •' if self.draft.dirty else ''} — Teaching Case — Veil")
        self.undo_button.setEnabled(self.draft.history.can_undo)
        self.redo_button.setEnabled(self.draft.history.can_redo)
        self.undo_button.setToolTip(f"Undo {self.draft.history.undo_label}" if self.draft.history.can_undo else "")
        self.redo_button.setToolTip(f"Redo {self.draft.history.redo_label}" if self.draft.history.can_redo else "")
        self.save_button.setEnabled(self.draft.dirty)
        self.export_button.setEnabled(self.draft.case_id is not None and bool(case.key_images))
        self.export_button.setToolTip(EXPORT_TIP
                                      if case.key_images else "Mark at least one key image (K in the viewer) first")
        self.remove_button.setEnabled(bool(case.key_images))
        self.annotate_button.setEnabled(bool(case.key_images))
        for annotator in list(self.annotators.values()):
            annotator.sync()
        self.view_button.setEnabled(bool(case.key_images))
        if not self.state_label.property("role") == "danger":
            self.state_label.setText("Unsaved changes." if self.draft.dirty else "Saved.")

    def say(self, text: str, role: str = "muted") -> None:
        self.state_label.setText(text)
        set_role(self.state_label, role)

    @staticmethod
    def _thumb_key(key: KeyImage) -> tuple[str, int, str]:
        return key.sop_uid, key.frame, repr((key.view, key.annotations))

    def _render_thumbnail(self, key: KeyImage) -> None:
        """Render the key image at its view with its annotations, off the UI thread."""
        thumb_key = self._thumb_key(key)
        if thumb_key in self._pending:
            return
        self._pending.add(thumb_key)
        home = self.draft.home

        def op(_progress: object) -> QPixmap | None:
            conn = home.connect()
            try:
                row = conn.execute(
                    """SELECT i.object_sha256 FROM current_instances i LEFT JOIN instances o ON o.id = i.replaces_ref
                       WHERE COALESCE(o.sop_instance_uid, i.sop_instance_uid) = ?""", (key.sop_uid,)).fetchone()
            finally:
                conn.close()
            if row is None:
                return None
            return QPixmap.fromImage(to_qimage(render_key_image(home.objects.read(row[0]), key, THUMBNAIL)))

        def done(pixmap: QPixmap | None) -> None:
            self._pending.discard(thumb_key)
            if pixmap is not None:
                self._thumbs[thumb_key] = pixmap
                for n, current in enumerate(self.case.key_images):
                    if self._thumb_key(current) == thumb_key and self.key_list.item(n) is not None:
                        self.key_list.item(n).setIcon(QIcon(pixmap))

        run_in_background(op, done, lambda _exc: self._pending.discard(thumb_key), context=self)

    # -- edits ---------------------------------------------------------------------------------
    def _typed(self) -> None:
        if not self._syncing:
            self._typing.start()

    def _apply(self, make: object, label_text: str) -> bool:
        try:
            case = make() if callable(make) else make
            assert isinstance(case, TeachingCase)
            changed = self.draft.edit(case, label_text)
        except VeilError as exc:
            self.say(str(exc), "danger")
            return False
        set_role(self.state_label, "muted")
        self.refresh()
        return changed

    def commit_fields(self) -> None:
        """The text fields as typed become one undoable step (nothing when nothing changed)."""
        self._typing.stop()
        if self._syncing:
            return
        keywords = tuple(k.strip() for k in self.keywords_edit.text().split(","))
        fields = {"title": self.title_edit.text(), "modality": self.modality_edit.text(),
                  "anatomy": self.anatomy_edit.text(), "author": self.author_edit.text(), "keywords": keywords,
                  "difficulty": self.difficulty_combo.currentData()}
        fields.update({name: edit.toPlainText() for name, edit in self.long_edits.items()})
        self._apply(lambda: self.case.with_fields(**fields), "Edit Case Text")

    def _commit_caption(self) -> None:
        row = self.key_list.currentRow()
        if 0 <= row < len(self.case.key_images) and self.caption_edit.text() != self.case.key_images[row].caption:
            self._apply(lambda: self.case.with_caption(row, self.caption_edit.text()), "Edit Caption")

    def _sync_caption(self) -> None:
        row = self.key_list.currentRow()
        has = 0 <= row < len(self.case.key_images)
        self.caption_edit.setEnabled(has)
        self.caption_edit.setText(self.case.key_images[row].caption if has else "")

    def _on_moved(self, _parent: object, start: int, _end: int, _dest: object, row: int) -> None:
        if self._syncing:
            return
        target = row - 1 if row > start else row
        QTimer.singleShot(0, lambda: self._apply(lambda: self.case.moved_key_image(start, target), "Move Key Image"))

    def move_key_image(self, source: int, target: int) -> None:
        """Put the key image at ``source`` at position ``target`` (what a drag does)."""
        self._apply(lambda: self.case.moved_key_image(source, target), "Move Key Image")
        self.key_list.setCurrentRow(target)

    def remove_current(self) -> None:
        row = self.key_list.currentRow()
        if 0 <= row < len(self.case.key_images):
            self._apply(lambda: self.case.without_key_image(row), "Remove Key Image")

    def mark(self, sop_uid: str, frame: int, view: object) -> None:
        """The viewer's K: the image on screen becomes a key image of this case."""
        try:
            index = self.draft.mark(sop_uid, frame, view)  # type: ignore[arg-type]
        except VeilError as exc:
            self.say(str(exc), "danger")
            return
        self.refresh()
        self.key_list.setCurrentRow(index)
        self.say(f"Key image {index + 1} marked; Save keeps it.")

    def annotate_current(self) -> AnnotateWindow | None:
        """Open (or raise) the Annotate window of the selected key image."""
        row = self.key_list.currentRow()
        if not 0 <= row < len(self.case.key_images):
            return None
        identity = self.case.key_images[row].key
        window = self.annotators.get(identity)
        if window is None:
            window = AnnotateWindow(self.draft, *identity, parent=self)
            window.edited.connect(self.refresh)
            window.destroyed.connect(lambda *_: self.annotators.pop(identity, None))
            self.annotators[identity] = window
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def undo(self) -> None:
        self.commit_fields()
        if self.draft.undo():
            self.refresh()

    def redo(self) -> None:
        if self.draft.redo():
            self.refresh()

    def save(self) -> bool:
        self.commit_fields()
        if self.state_label.property("role") == "danger":
            return False
        try:
            case_id = self.draft.save()
        except VeilError as exc:
            self.say(str(exc), "danger")
            return False
        self.say("Saved.")
        self.refresh()
        self.saved.emit(case_id)
        return True

    def show_current(self) -> None:
        row = self.key_list.currentRow()
        if 0 <= row < len(self.case.key_images):
            key = self.case.key_images[row]
            self.show_requested.emit(self.case.study_uids[0], key.sop_uid, key.frame)

    def _export(self) -> None:
        if self.draft.case_id is not None and (not self.draft.dirty or self.save()):
            self.export_requested.emit(self.draft.case_id)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.commit_fields()
        if self.draft.dirty:
            answer = QMessageBox.question(
                self, "Unsaved teaching case", f"Save the changes to \u201c{self.case.title}\u201d?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
            if answer == QMessageBox.StandardButton.Cancel or (
                    answer == QMessageBox.StandardButton.Save and not self.save()):
                event.ignore()
                return
        for annotator in list(self.annotators.values()):
            annotator.close()
        super().closeEvent(event)
