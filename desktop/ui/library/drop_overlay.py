"""A translucent "Drop to import" frame shown over the window while files are dragged in."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QUrl
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget


def local_paths(urls: list[QUrl]) -> list[str]:
    """The local files and folders among dragged ``urls`` (web links are ignored)."""
    return [url.toLocalFile() for url in urls if url.isLocalFile() and url.toLocalFile()]


class DropOverlay(QFrame):
    """Covers its parent; lets every mouse and drag event through to the window."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("DropOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.label = label = QLabel("Drop files or folders to import them", self)
        label.setObjectName("DropHint")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        label.setFont(font)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        self.covered = parent
        parent.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.covered and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.covered.rect().adjusted(8, 8, -8, -8))
        return False

    def set_text(self, text: str) -> None:
        """Say what the drop will do."""
        self.label.setText(text)

    def show_over_parent(self) -> None:
        self.setGeometry(self.covered.rect().adjusted(8, 8, -8, -8))
        self.raise_()
        self.show()
