"""The network windows of the main window: Network Nodes and Query/Retrieve (each one at a
time, raised if open), and File > Receive Images from the Network (:mod:`.receiving`)."""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from desktop.app.library.home import VeilHome
from desktop.ui.network.nodes_dialog import NodesDialog
from desktop.ui.network.query_panel import QueryPanel
from desktop.ui.network.receiving import Receiving, ReceivingHost


class NetworkWindows(QObject):
    def __init__(self, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self.parent_widget = parent_widget
        self.nodes_dialog: NodesDialog | None = None
        self.query_panel: QueryPanel | None = None
        self.receiving: Receiving | None = None

    def attach_receiving(self, action: QAction, host: ReceivingHost) -> Receiving:
        """File > Receive Images from the Network: Veil's storage SCP while ``action`` is ticked."""
        self.receiving = Receiving(action, host, self.parent_widget, lambda: self.show_nodes(host.home))
        return self.receiving

    def show_nodes(self, home: VeilHome | None) -> NodesDialog | None:
        """File > Network Nodes."""
        if home is None:
            return None
        if self.nodes_dialog is None or not self.nodes_dialog.isVisible():
            self.nodes_dialog = NodesDialog(home, self.parent_widget)
            if self.query_panel is not None:
                self.nodes_dialog.finished.connect(self.query_panel.reload_nodes)
            if self.receiving is not None:  # new port, AE title or senders: a running receiver restarts
                self.nodes_dialog.finished.connect(self.receiving.settings_changed)
        self.nodes_dialog.show()
        self.nodes_dialog.raise_()
        return self.nodes_dialog

    def show_query(self, home: VeilHome | None, on_retrieved: Callable[[], object]) -> QueryPanel | None:
        """File > Query/Retrieve: the panel (kept with its results when closed and opened again);
        ``on_retrieved`` runs each time a retrieve imported something (the browser reloads)."""
        if home is None:
            return None
        panel = self.query_panel
        if panel is None or not shiboken6.isValid(panel) or panel.home is not home:
            panel = self.query_panel = QueryPanel(home, self.parent_widget)
            panel.retrieved.connect(lambda _report: on_retrieved())
            panel.nodes_requested.connect(lambda: self.show_nodes(home))
        panel.reload_nodes()
        panel.show()
        panel.raise_()
        panel.activateWindow()
        return panel

    @property
    def busy(self) -> bool:
        """A search or a retrieve runs."""
        return self.query_panel is not None and shiboken6.isValid(self.query_panel) and self.query_panel.busy

    @property
    def receiving_open(self) -> bool:
        """Receiving runs, starts or stops (:attr:`Receiving.open`)."""
        return self.receiving is not None and self.receiving.open

    def close_all(self) -> None:
        """The window closes: cancel what runs, close the network windows, stop receiving."""
        if self.receiving is not None:
            self.receiving.close()
        for window in (self.nodes_dialog, self.query_panel):
            if window is not None and shiboken6.isValid(window):
                window.close()
