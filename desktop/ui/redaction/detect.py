"""Detect: read the text burned into the image on screen (offline OCR, in the background, with
progress and Cancel) and propose regions to hide, for the person to accept or reject.

Proposals are outlined on the image (red: matches an identifier of the header; amber: other
text) and listed in a panel with the text OCR read in them, so a person can judge each one; the
same box found on many frames of a cine loop is one line. That text may be the patient's
identity: it is shown, never logged.
Accepting adds rectangles to the mask being edited (to each frame's own mask when it covers
"this frame" only), all in one undo step. Nothing is hidden unseen. Detection sees Redact mode
through :class:`~desktop.ui.redaction.host.DetectHost`; the proposals themselves are Qt-free
(:mod:`desktop.app.redaction.proposals`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
from pydicom import Dataset
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.app.common.tasks import CancelToken
from desktop.app.redaction.proposals import ProposalGroup, group_proposals
from desktop.app.redaction.session import Here, Slot
from desktop.app.viewer.viewing import OpenSeries
from desktop.core.common.errors import Cancelled
from desktop.core.imaging.frames import decode_frame
from desktop.core.redaction.mask import Scope
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import show_error
from desktop.ui.redaction.host import DetectHost

if TYPE_CHECKING:  # the detector loads the OCR's dependencies: only when detection runs
    from desktop.core.redaction.detect import Proposal


class _Frames:
    """The frames of one image, decoded one at a time as OCR reaches them."""

    def __init__(self, ds: Dataset, count: int) -> None:
        self.ds, self.count = ds, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        for f in range(self.count):
            yield f, decode_frame(self.ds, f)


def _detect(series: OpenSeries, position: int, frames: int, cancel: CancelToken,
            progress: Callable[[int, int], None]) -> list[Proposal]:
    """Worker thread: OCR every frame of image ``position`` (one reader, this thread's own)."""
    from desktop.core.redaction.detect import propose
    from desktop.core.redaction.ocr import TextReader

    ds = series.dataset(position)
    with TextReader() as reader:
        return propose(ds, _Frames(ds, frames), reader, progress, lambda: cancel.cancelled)


class ProposalPanel(QDockWidget):
    """The proposals of the last detection, to accept or reject one by one or all at once."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__("Detected text", parent)
        self.setObjectName("ProposalPanel")
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable)
        body = QWidget(self)
        column = QVBoxLayout(body)
        self.summary = QLabel("Press Detect to find text burned into this image.", body)
        self.summary.setWordWrap(True)
        self.list = QListWidget(body)
        self.list.setObjectName("Proposals")
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.setWordWrap(True)
        self.list.setToolTip("Click a proposal to see it on its frame")
        column.addWidget(self.summary)
        column.addWidget(self.list, 1)
        self.accept_button = QPushButton("Accept", body)
        self.accept_button.setToolTip("Add the selected proposals to the mask (one undo step)")
        self.reject_button = QPushButton("Reject", body)
        self.reject_button.setToolTip("Drop the selected proposals")
        self.accept_all = QPushButton("Accept all", body)
        self.accept_all.setToolTip("Add every proposal listed to the mask (one undo step)")
        self.accept_high = QPushButton("Accept every high-risk proposal", body)
        self.accept_high.setToolTip("Add the proposals that match the header's identifiers (red) to the mask "
                                    "(one undo step); the others stay listed")
        self.reject_all = QPushButton("Reject all", body)
        self.reject_all.setToolTip("Drop every proposal listed")
        column.addWidget(self.accept_high)
        for pair in ((self.accept_button, self.reject_button), (self.accept_all, self.reject_all)):
            row = QHBoxLayout()
            for button in pair:
                row.addWidget(button)
            column.addLayout(row)
        self.setWidget(body)
        self.setMinimumWidth(240)


class Detection:
    """Runs detection for Redact mode and keeps its proposals."""

    def __init__(self, host: DetectHost) -> None:
        self.host = host
        self.groups: list[ProposalGroup] = []
        self.panel: ProposalPanel | None = None
        self.running = False

    # -- panel -------------------------------------------------------------------------------
    def _panel(self) -> ProposalPanel:
        if self.panel is None:
            window = self.host.main_window
            panel = self.panel = ProposalPanel(window)
            window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, panel)
            panel.accept_button.clicked.connect(lambda: self.accept(self.selected()))
            panel.reject_button.clicked.connect(lambda: self.reject(self.selected()))
            panel.accept_all.clicked.connect(lambda: self.accept(list(self.groups)))
            panel.accept_high.clicked.connect(lambda: self.accept([g for g in self.groups if g.risk == "high"]))
            panel.reject_all.clicked.connect(lambda: self.reject(list(self.groups)))
            panel.list.itemSelectionChanged.connect(self._on_chosen)
        return self.panel

    def set_visible(self, on: bool) -> None:
        if self.panel is not None:
            self.panel.setVisible(on and bool(self.groups))

    def _fill(self, summary: str | None = None) -> None:
        panel = self._panel()
        panel.list.clear()
        rasters: dict[tuple, np.ndarray] = {}
        covered = [g for g in self.groups if self._covered(g, rasters)]
        for group in self.groups:
            done = group in covered
            item = QListWidgetItem(("Covered · " if done else "") + group.label())
            item.setToolTip(group.tooltip())
            item.setForeground(Qt.GlobalColor.gray if done else
                               Qt.GlobalColor.red if group.risk == "high" else Qt.GlobalColor.darkYellow)
            item.setData(Qt.ItemDataRole.UserRole, id(group))
            panel.list.addItem(item)
        high = sum(1 for g in self.groups if g.risk == "high")
        panel.summary.setText(summary or (f"{len(self.groups)} proposal{'s' if len(self.groups) != 1 else ''} "
                                          f"({high} high risk, {len(covered)} covered by a mask already): "
                                          "accept what should be hidden." if self.groups else "No proposals left."))
        for button in (panel.accept_button, panel.reject_button, panel.accept_all, panel.reject_all):
            button.setEnabled(bool(self.groups))
        panel.accept_high.setEnabled(high > 0)
        panel.setVisible(True)
        self.host.repaint()

    def _covered(self, group: ProposalGroup, rasters: dict[tuple, np.ndarray]) -> bool:
        """Every pixel of the box, on every frame it was found on, is under a mask already
        (``rasters``: the masks' pixels by the slots that cover a frame, shared between calls)."""
        session = self.host.session
        rows, columns, count = group.size
        if session is None or not rows or not columns:
            return False
        x0, y0, x1, y1 = group.box
        for frame in group.frames:
            slots = tuple(session.slots_here(Here(group.instance_ref, frame, rows, columns, count)))
            if not slots:
                return False
            if slots not in rasters:
                rasters[slots] = np.logical_or.reduce([session.history(s).mask.rasterize() for s in slots])
            if not rasters[slots][y0:y1, x0:x1].all():
                return False
        return True

    def refresh(self) -> None:
        """The masks changed: say again which proposals they cover."""
        if self.groups and self.panel is not None:
            self._fill()

    def selected(self) -> list[ProposalGroup]:
        if self.panel is None:
            return []
        ids = {item.data(Qt.ItemDataRole.UserRole) for item in self.panel.list.selectedItems()}
        return [g for g in self.groups if id(g) in ids]

    def chosen(self) -> ProposalGroup | None:
        chosen = self.selected()
        return chosen[0] if len(chosen) == 1 else None

    def _on_chosen(self) -> None:
        group = self.chosen()
        here = self.host.here
        if group is not None and here is not None and group.instance_ref == here.instance_ref \
                and here.frame not in group.frames:
            view = self.host.view
            if view is not None:
                target = next((n for n, (pos, f) in enumerate(view.series.frames)
                               if view.series.images[pos].instance_ref == group.instance_ref
                               and f == group.frames[0]), None)
                if target is not None:
                    self.host.go_to(target)
        self.host.repaint()

    def proposals_here(self) -> list[ProposalGroup]:
        here = self.host.here
        if here is None:
            return []
        return [g for g in self.groups if g.instance_ref == here.instance_ref and here.frame in g.frames]

    def clear(self) -> None:
        self.groups = []
        if self.panel is not None:
            self.panel.list.clear()
            self.panel.hide()

    # -- running -----------------------------------------------------------------------------
    def run(self) -> None:
        window = self.host.main_window
        view, here = self.host.view, self.host.here
        if view is None or here is None or self.running:
            return
        position = view.position()[0]
        series, frames, instance_ref = view.series, here.frames, here.instance_ref
        size = (here.rows, here.columns, here.frames)
        cancel = CancelToken()
        dialog = QProgressDialog(f"Reading the text in {frames} frame{'s' if frames != 1 else ''}…", "Cancel",
                                 0, frames, window)
        dialog.setObjectName("DetectProgress")
        dialog.setWindowTitle("Detect text")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        # A lambda, not the bound method: PySide would watch the token with a weak reference and
        # disconnect from whichever thread frees it last (the worker's), deadlocking with the UI.
        dialog.canceled.connect(lambda: cancel.cancel())
        self.running = True
        self.host.set_detecting(True)

        def progressed(done: int, total: int) -> None:
            dialog.setValue(done)

        def finished(proposals: list[Proposal]) -> None:
            self._done(dialog)
            self.groups = [g for g in self.groups if g.instance_ref != instance_ref]
            self.groups = group_proposals(proposals, instance_ref, size) + self.groups
            self._fill(None if proposals else "No text was found in this image.")

        def failed(exc: BaseException) -> None:
            self._done(dialog)
            if isinstance(exc, Cancelled):
                window.statusBar().showMessage("Detection cancelled.", 5000)
            else:
                show_error(window, exc, "Cannot detect text")

        run_in_background(lambda progress: _detect(series, position, frames, cancel, progress), finished, failed,
                          progressed, key=f"redact-detect-{id(window)}", context=window)

    def _done(self, dialog: QProgressDialog) -> None:
        dialog.close()
        self.running = False
        self.host.set_detecting(False)

    # -- deciding ----------------------------------------------------------------------------
    def accept(self, groups: list[ProposalGroup]) -> None:
        """Add ``groups`` to the mask being edited, one step (to each frame's own mask when the
        mask covers one frame)."""
        session, here = self.host.session, self.host.here
        if not groups or session is None or here is None or session.working is None:
            return
        working = session.working
        boxes: dict[Slot, list[tuple[float, float, float, float]]] = {}
        for group in groups:
            x0, y0, x1, y1 = group.box
            box = (float(x0), float(y0), float(x1), float(y1))
            if working.scope is Scope.FRAME:
                for f in group.frames:
                    boxes.setdefault(Slot(group.instance_ref, Scope.FRAME, f), []).append(box)
            elif working.scope is Scope.IMAGE and group.instance_ref != working.owner:
                boxes.setdefault(Slot(group.instance_ref, Scope.IMAGE, 0), []).append(box)
            else:
                boxes.setdefault(working, []).append(box)
        session.add_rects(boxes, "Accept proposals" if len(groups) > 1 else "Accept proposal")
        self._drop(groups)
        self.host.after_change()

    def reject(self, groups: list[ProposalGroup]) -> None:
        self._drop(groups)

    def _drop(self, groups: list[ProposalGroup]) -> None:
        gone = {id(g) for g in groups}
        self.groups = [g for g in self.groups if id(g) not in gone]
        self._fill()
