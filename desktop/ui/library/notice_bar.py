"""A slim, dismissable bar above the browser: the non-blocking outcome of an import."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget


class NoticeBar(QFrame):
    """One message at a time, with an optional action button and a close button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NoticeBar")
        self.label = QLabel(self)
        self.label.setObjectName("NoticeText")
        self.label.setWordWrap(True)
        self.action_button = QPushButton(self)
        self.action_button.hide()
        self.action_button.clicked.connect(self._run_action)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss this message")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self._action: Callable[[], object] | None = None
        self.hide()

    def show_message(self, text: str, *, warning: bool = False, action_text: str | None = None,
                     action: Callable[[], object] | None = None, action_tooltip: str = "") -> None:
        """Show ``text``; with ``action_text`` a button runs ``action``."""
        self.label.setText(text)
        self.setProperty("kind", "warning" if warning else "info")
        self.style().unpolish(self)
        self.style().polish(self)
        self._action = action
        self.action_button.setVisible(bool(action_text and action))
        self.action_button.setText(action_text or "")
        self.action_button.setToolTip(action_tooltip)
        self.show()

    @property
    def text(self) -> str:
        return self.label.text()

    def _run_action(self) -> None:
        if self._action is not None:
            self._action()
