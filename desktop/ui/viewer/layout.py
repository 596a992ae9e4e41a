"""The viewer's panes in a grid: 1x1, 1x2 (side by side) or 2x2; one of them is active."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from desktop.ui.viewer.pane import Pane

#: Layout name -> (rows, columns).
LAYOUTS: dict[str, tuple[int, int]] = {"1x1": (1, 1), "1x2": (1, 2), "2x2": (2, 2)}


class PaneGrid(QWidget):
    """Lays out the panes and keeps track of the active one."""

    #: The active pane changed (the new one).
    active_changed = Signal(object)

    def __init__(self, make_pane: Callable[[], Pane], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PaneGrid")
        self._make_pane = make_pane
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self.layout_name = "1x1"
        self.panes: list[Pane] = [self._new_pane()]
        self.active: Pane = self.panes[0]
        self._place()

    def _new_pane(self) -> Pane:
        pane = self._make_pane()
        pane.setParent(self)
        pane.activated.connect(self.activate)
        return pane

    def set_layout(self, name: str) -> list[Pane]:
        """Show ``name``'s number of panes; returns the panes added (empty, for the caller to fill).

        Fewer panes keep the active one (and the first others); the panes removed are closed."""
        rows, cols = LAYOUTS[name]
        wanted = rows * cols
        self.layout_name = name
        added: list[Pane] = []
        if wanted < len(self.panes):
            others = [p for p in self.panes if p is not self.active]
            keep = [p for p in self.panes if p is self.active or p in others[:wanted - 1]]
            for pane in self.panes:
                if pane not in keep:
                    self._grid.removeWidget(pane)
                    pane.close_pane()
                    pane.hide()
                    pane.deleteLater()
            self.panes = keep
        while len(self.panes) < wanted:
            pane = self._new_pane()
            self.panes.append(pane)
            added.append(pane)
        self._place()
        return added

    def _place(self) -> None:
        rows, cols = LAYOUTS[self.layout_name]
        for i, pane in enumerate(self.panes):
            self._grid.removeWidget(pane)
            self._grid.addWidget(pane, i // cols, i % cols)
            pane.show()
        for r in range(2):
            self._grid.setRowStretch(r, 1 if r < rows else 0)
        for c in range(2):
            self._grid.setColumnStretch(c, 1 if c < cols else 0)
        self._mark()

    def activate(self, pane: Pane) -> None:
        """Make ``pane`` the one the series list, slider, keys and menus act on."""
        if pane not in self.panes:
            return
        changed = pane is not self.active
        self.active = pane
        self._mark()
        if changed:
            self.active_changed.emit(pane)

    def _mark(self) -> None:
        framed = len(self.panes) > 1
        for pane in self.panes:
            pane.set_active(pane is self.active, framed)

    def close_all(self) -> None:
        for pane in self.panes:
            pane.close_pane()
