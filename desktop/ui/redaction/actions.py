"""Redact mode's actions (keys, tooltips), its menu and its toolbar.

While redacting, the tools take R (rectangle) and [ ] (brush size) from the viewer, whose
Reset View and rotations stay in the View menu; every other viewer key keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QPainter, QPaintEvent
from PySide6.QtWidgets import QComboBox, QLabel, QMainWindow, QMenu, QSizePolicy, QSlider, QToolBar, QWidget

from desktop.core.redaction.mask import Scope
from desktop.core.redaction.tools import MAX_BRUSH, MIN_BRUSH
from desktop.ui.common.window_actions import keyed_action

#: The viewer's own keys that Redact mode takes over: action name -> keys taken.
TAKEN_KEYS = {"reset": ("R",), "rotate_right": ("]",), "rotate_left": ("[",)}
WHILE_REDACTING = {
    "reset": "while redacting, R picks the rectangle: use View ▸ Reset View",
    "rotate_right": "while redacting, ] enlarges the brush: use View ▸ Rotate Right",
    "rotate_left": "while redacting, [ shrinks the brush: use View ▸ Rotate Left",
}
SCOPES = (
    (Scope.FRAME, "This frame", "The mask covers only the frame on screen"),
    (Scope.IMAGE, "This image (all frames)", "The mask covers every frame of this image (a cine loop's banner)"),
    (Scope.SERIES, "Same-size images", "The mask covers every image of the series with this image's size: "
                                       "burned-in banners sit in the same place on each"),
)


@dataclass
class RedactActions:
    redact: QAction
    rectangle: QAction
    polygon: QAction
    brush: QAction
    eraser: QAction
    select: QAction
    smaller: QAction
    larger: QAction
    undo: QAction
    redo: QAction
    delete: QAction
    finish: QAction
    cancel: QAction
    preview: QAction
    detect: QAction
    apply: QAction

    def editing(self) -> list[QAction]:
        """Every action but the mode toggle: enabled only while redacting."""
        return [getattr(self, f.name) for f in fields(self) if f.name != "redact"]

    def tools(self) -> dict[str, QAction]:
        return {"rectangle": self.rectangle, "polygon": self.polygon, "brush": self.brush,
                "eraser": self.eraser, "select": self.select}


def create_redact_actions(window: QMainWindow) -> RedactActions:
    a = keyed_action
    actions = RedactActions(
        redact=a(window, "&Redact Mode", "Paint masks over burned-in identity (names, IDs, dates in the pixels); "
                 "the tools take R and [ ] while on", "Shift+R", checkable=True),
        rectangle=a(window, "&Rectangle", "Drag a box over text to hide (R; replaces Reset View while "
                    "redacting)", "R", checkable=True),
        polygon=a(window, "&Polygon", "Click each corner; close on the first point, by double click or Enter",
                  "L", checkable=True),
        brush=a(window, "&Brush", "Paint freehand; [ and ] change the size", "B", checkable=True),
        eraser=a(window, "&Eraser", "Uncover what was painted; [ and ] change the size", "E", checkable=True),
        select=a(window, "&Select / Move", "Click a shape to select it, drag to move it, drag a corner to "
                 "resize it; Delete removes it", "S", checkable=True),
        smaller=a(window, "Smaller Brush", "Shrink the brush and eraser ([ rotates the image when not "
                  "redacting)", "["),
        larger=a(window, "Larger Brush", "Enlarge the brush and eraser (] rotates the image when not "
                 "redacting)", "]"),
        undo=a(window, "&Undo", "Undo the last mask edit (one drag is one step)", "Ctrl+Z"),
        redo=a(window, "Re&do", "Redo the mask edit undone", "Ctrl+Shift+Z", "Ctrl+Y"),
        delete=a(window, "&Delete Shape", "Remove the selected shape", "Delete", "Backspace"),
        finish=a(window, "&Finish Polygon", "Close the polygon being drawn", "Return", "Enter"),
        cancel=a(window, "&Cancel Drawing", "Abandon the shape being drawn", "Escape"),
        preview=a(window, "Pre&view Result", "Show the image as it will be written (masked pixels at their "
                  "darkest) instead of the red masks; again to go back", "Shift+P", checkable=True),
        detect=a(window, "De&tect Text…", "Find text burned into this image's frames (offline OCR) and propose "
                 "regions to hide; identifiers from the header are marked high risk. Nothing is hidden until "
                 "you accept it", "Shift+D"),
        apply=a(window, "&Apply Masks…", "Write a redacted version of every masked image of this series: it "
                "replaces the image in the browser, the viewer and every export (the original stays in the "
                "library, untouched: View ▸ Show Original)", "Ctrl+Return"),
    )
    for action, short in ((actions.select, "Select"), (actions.undo, "Undo"), (actions.redo, "Redo"),
                          (actions.preview, "Preview"), (actions.detect, "Detect…"), (actions.apply, "Apply…")):
        action.setIconText(short)  # the toolbar's word
    group = QActionGroup(window)
    for action in actions.tools().values():
        group.addAction(action)
    actions.rectangle.setChecked(True)
    for action in actions.editing():
        action.setEnabled(False)
    return actions


def build_redact_menu(window: QMainWindow, actions: RedactActions) -> QMenu:
    menu = window.menuBar().addMenu("&Redact")
    menu.setToolTipsVisible(True)
    for item in (actions.redact, None, *actions.tools().values(), actions.smaller, actions.larger, None,
                 actions.undo, actions.redo, actions.delete, actions.finish, actions.cancel, None,
                 actions.preview, actions.detect, actions.apply):
        if item is None:
            menu.addSeparator()
        else:
            menu.addAction(item)
    return menu


class ElidedLabel(QLabel):
    """A one-line label that paints its text shortened with … to the room it has (all of it in
    the tooltip). Its size hint is the whole text's, so the layout never chases the elision."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(120, super().minimumSizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        room = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, room.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(room, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
        painter.end()


class RedactToolBar(QToolBar):
    """Tools, brush size, undo/redo, where the mask applies, preview, detect, apply."""

    def __init__(self, window: QMainWindow, actions: RedactActions) -> None:
        super().__init__("Redact tools", window)
        self.setObjectName("RedactToolBar")
        self.setMovable(False)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in actions.tools().values():
            self.addAction(action)
        self.size_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.size_slider.setObjectName("BrushSize")
        self.size_slider.setRange(int(MIN_BRUSH), int(MAX_BRUSH))
        self.size_slider.setFixedWidth(90)
        self.size_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.size_slider.setToolTip("Brush and eraser radius, in image pixels ([ and ])")
        self.size_label = QLabel(self)
        self.size_label.setMinimumWidth(48)
        self.addWidget(self.size_slider)
        self.addWidget(self.size_label)
        self.addSeparator()
        self.addAction(actions.undo)
        self.addAction(actions.redo)
        self.addSeparator()
        for action in (actions.preview, actions.detect, actions.apply):
            self.addAction(action)
        self.addSeparator()
        self.scope = QComboBox(self)
        self.scope.setObjectName("MaskScope")
        self.scope.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for scope, text, tip in SCOPES:
            self.scope.addItem(text, scope)
            self.scope.setItemData(self.scope.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.scope.setToolTip("Where the mask being edited is burned in. Changing it moves that mask, or only "
                              "the selected shape (Select tool), in one undo step. The red shows every mask "
                              "that covers the image on screen")
        self.addWidget(QLabel(" Mask for ", self))
        self.addWidget(self.scope)
        self.reach = ElidedLabel(self)
        self.reach.setObjectName("MaskReach")
        self.reach.setContentsMargins(8, 0, 8, 0)
        self.addWidget(self.reach)

    def scope_index(self, scope: Scope) -> int:
        return next(i for i in range(self.scope.count()) if self.scope.itemData(i) is scope)


def take_keys(viewer_actions: object, taking: bool, saved: dict[str, tuple[list[QKeySequence], str]]) -> None:
    """Give the viewer's R, [ and ] to Redact mode (``taking``) or back; tooltips say so."""
    for name, keys in TAKEN_KEYS.items():
        action: QAction = getattr(viewer_actions, name)
        if taking:
            saved[name] = (action.shortcuts(), action.toolTip())
            action.setShortcuts([s for s in action.shortcuts() if s.toString() not in keys])
            action.setToolTip(f"{action.statusTip()} ({WHILE_REDACTING[name]})")
        elif name in saved:
            shortcuts, tip = saved.pop(name)
            action.setShortcuts(shortcuts)
            action.setToolTip(tip)
