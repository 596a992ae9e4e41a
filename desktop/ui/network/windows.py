"""The network windows of the main window: Network Nodes (one at a time, raised if open)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from desktop.app.library.home import VeilHome
from desktop.ui.network.nodes_dialog import NodesDialog


class NetworkWindows(QObject):
    def __init__(self, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self.parent_widget = parent_widget
        self.nodes_dialog: NodesDialog | None = None

    def show_nodes(self, home: VeilHome | None) -> NodesDialog | None:
        """File > Network Nodes."""
        if home is None:
            return None
        if self.nodes_dialog is None or not self.nodes_dialog.isVisible():
            self.nodes_dialog = NodesDialog(home, self.parent_widget)
        self.nodes_dialog.show()
        self.nodes_dialog.raise_()
        return self.nodes_dialog
