"""The Annotate window of a key image: the canvas, a tool bar (Select V, Arrow A, Text T,
Ellipse E, Line L, Angle G, ROI R; Delete; Undo, Redo) and a status line saying what the tool
does or what the selected annotation measures. Every finished gesture is one undoable step of
the case draft, shared with the case editor: undo in either undoes it in both.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMainWindow, QToolBar, QVBoxLayout, QWidget

from desktop.app.cases.annotating import Edit, Tool
from desktop.app.cases.draft import CaseDraft
from desktop.app.cases.picture import KeyPicture, current_object, key_picture
from desktop.core.cases.case import KeyImage
from desktop.core.common.errors import VeilError
from desktop.ui.cases.annotation_canvas import AnnotationCanvas
from desktop.ui.common.background import run_in_background
from desktop.ui.common.resources import app_icon
from desktop.ui.common.widgets import label, set_role

TOOLS = ((Tool.SELECT, "Select", "V"), (Tool.ARROW, "Arrow", "A"), (Tool.TEXT, "Text", "T"),
         (Tool.ELLIPSE, "Ellipse", "E"), (Tool.LINE, "Length", "L"), (Tool.ANGLE, "Angle", "G"),
         (Tool.ROI, "ROI", "R"))


class AnnotateWindow(QMainWindow):
    """Annotate the key image (``sop_uid``, ``frame``) of ``draft``'s case."""

    #: The draft changed here: the case editor shows it.
    edited = Signal()

    def __init__(self, draft: CaseDraft, sop_uid: str, frame: int, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("AnnotateWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowIcon(app_icon())
        self.draft, self.identity = draft, (sop_uid, frame)
        key = self.key_image()
        assert key is not None, "the key image is in the case"
        self.canvas = AnnotationCanvas(key, self)
        self.canvas.edited.connect(self.commit)
        self.canvas.text_wanted.connect(self._ask_text)
        self.canvas.relabel_wanted.connect(self._relabel)
        self.canvas.changed.connect(self._status)
        self.status = label("", self, "muted", name="AnnotateStatus")
        self.tool_actions: dict[Tool, QAction] = {}
        self._build_tools()
        body = QWidget(self)
        column = QVBoxLayout(body)
        column.addWidget(self.canvas, 1)
        column.addWidget(self.status)
        self.setCentralWidget(body)
        self.resize(900, 820)
        self.choose(Tool.ARROW if not key.annotations.items else Tool.SELECT)
        self.sync()
        self._load()

    def _build_tools(self) -> None:
        bar = QToolBar("Annotation tools", self)
        bar.setObjectName("AnnotationTools")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        group = QActionGroup(self)
        for tool, text, key in TOOLS:
            action = QAction(text, self)
            action.setCheckable(True)
            action.setShortcut(QKeySequence(key))
            action.setToolTip(f"{text} ({key}): {tool.hint}")
            action.triggered.connect(lambda _checked=False, t=tool: self.choose(t))
            group.addAction(action)
            bar.addAction(action)
            self.tool_actions[tool] = action
        bar.addSeparator()
        self.delete_action = QAction("Delete", self)
        self.delete_action.setShortcuts([QKeySequence(QKeySequence.StandardKey.Delete), QKeySequence("Backspace")])
        self.delete_action.triggered.connect(self.delete_selected)
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(self.undo)
        self.redo_action = QAction("Redo", self)
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.redo_action.triggered.connect(self.redo)
        for action in (self.delete_action, self.undo_action, self.redo_action):
            bar.addAction(action)
        self.addToolBar(bar)

    # -- the key image -------------------------------------------------------------------------
    def key_image(self) -> KeyImage | None:
        index = self.draft.case.index_of(*self.identity)
        return None if index is None else self.draft.case.key_images[index]

    def _load(self) -> None:
        home, key = self.draft.home, self.canvas.key

        def op(_progress: object) -> KeyPicture:
            return key_picture(current_object(home, key.sop_uid), key)

        def failed(exc: BaseException) -> None:
            self.say(f"The key image cannot be shown: {exc if isinstance(exc, VeilError) else type(exc).__name__}",
                     "danger")

        run_in_background(op, self.canvas.set_picture, failed, context=self)

    def sync(self) -> None:
        """Show the key image as the draft has it (called after any edit, here or in the editor);
        the window closes when its key image left the case."""
        key = self.key_image()
        if key is None:
            self.close()
            return
        index = self.draft.case.index_of(*self.identity)
        assert index is not None
        if key.view != self.canvas.key.view:
            self.canvas.key = key
            self._load()
        self.canvas.set_key(key)
        self.setWindowTitle(f"Key image {index + 1} of \u201c{self.draft.case.title}\u201d — Annotate — Veil")
        history = self.draft.history
        self.undo_action.setEnabled(history.can_undo)
        self.redo_action.setEnabled(history.can_redo)
        self.undo_action.setToolTip(f"Undo {history.undo_label}" if history.can_undo else "Nothing to undo")
        self.redo_action.setToolTip(f"Redo {history.redo_label}" if history.can_redo else "Nothing to redo")

    # -- edits ---------------------------------------------------------------------------------
    def commit(self, edit: Edit) -> None:
        """One finished gesture becomes one undoable step of the case."""
        index = self.draft.case.index_of(*self.identity)
        if index is None:
            return
        try:
            self.draft.edit(self.draft.case.with_annotations(index, edit.annotations), edit.label)
        except VeilError as exc:
            self.say(str(exc), "danger")
            self.canvas.session.reset(self.canvas.key.annotations)
            return
        self.sync()
        self.edited.emit()

    def choose(self, tool: Tool) -> None:
        self.canvas.session.choose(tool)
        self.tool_actions[tool].setChecked(True)
        self.canvas.update()
        self._status()

    def delete_selected(self) -> None:
        self.canvas.emit_edit(self.canvas.session.delete_selected())

    def undo(self) -> None:
        if self.draft.undo():
            self.sync()
            self.edited.emit()

    def redo(self) -> None:
        if self.draft.redo():
            self.sync()
            self.edited.emit()

    def _ask_text(self, x: float, y: float) -> None:
        text, ok = QInputDialog.getText(self, "Text Label", "Label (never the patient's name):",
                                        QLineEdit.EchoMode.Normal, "")
        if ok:
            self._guarded(lambda: self.canvas.emit_edit(self.canvas.session.add_text((x, y), text)))

    def _relabel(self, annotation_id: int) -> None:
        item = self.canvas.session.base.find(annotation_id)
        self.canvas.session.selected = annotation_id
        text, ok = QInputDialog.getText(self, "Label", f"Label of the {item.kind.label}:",
                                        QLineEdit.EchoMode.Normal, item.text)
        if ok:
            self._guarded(lambda: self.canvas.emit_edit(self.canvas.session.relabelled(annotation_id, text)))

    def _guarded(self, action: object) -> None:
        try:
            action()  # type: ignore[operator]
        except VeilError as exc:
            self.say(str(exc), "danger")

    # -- status ----------------------------------------------------------------------------------
    def say(self, text: str, role: str = "muted") -> None:
        self.status.setText(text)
        set_role(self.status, role)
        self._error_shown = role == "danger"

    def _status(self) -> None:
        if getattr(self, "_error_shown", False):  # the gesture that failed ends: its message stays
            self._error_shown = False
            self.delete_action.setEnabled(self.canvas.session.selection() is not None)
            return
        item = self.canvas.session.selection()
        if item is not None:
            measured = self.canvas.describe(item)
            self.say(f"Selected {item.kind.label}{': ' + measured if measured else ''}. "
                     "Drag to move; Delete removes it; double-click edits its label.")
        else:
            self.say(self.canvas.session.tool.hint)
        self.delete_action.setEnabled(item is not None)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape and self.canvas.session.cancel():
            self.canvas.update()
            self._status()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.canvas.session.cancel()
        super().closeEvent(event)
