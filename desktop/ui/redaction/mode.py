"""Redact mode in the viewer: paint masks over burned-in identity on the active pane's series.

The mode wires the pieces together: the masks and their undo
(:mod:`desktop.app.redaction.session`, no Qt), the tools of :mod:`desktop.core.redaction.tools`
fed with image coordinates by the canvas (:mod:`.canvas`), saving to the library (:mod:`.store`
over :mod:`desktop.app.redaction.mask_store`), detection (:mod:`.detect`) and Apply
(:mod:`.apply`). It sees the viewer through :class:`~desktop.ui.redaction.host.RedactViewer` and
offers its parts the protocols of :mod:`.host`. Redaction works on one pane: entering the mode
shows the 1x1 layout.

Masks belong to the original images, never to the redacted versions Veil made of them: the mode
shows the series' originals (reopening it if its redacted versions were on screen) and draws only
on them; leaving it shows the versions seen before, and Apply shows the new redacted versions.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMainWindow

from desktop.app.redaction.mask_store import MaskStore, SeriesMasks
from desktop.app.redaction.proposals import ProposalGroup
from desktop.app.redaction.redacting import RedactionReport
from desktop.app.redaction.session import Here, RedactSession, reach_text
from desktop.app.viewer.view_state import SeriesView
from desktop.core.redaction.history import EditHistory
from desktop.core.redaction.mask import Scope
from desktop.core.redaction.tools import BrushTool, EraserTool, Key, Pointer, PolygonTool, RectTool, SelectTool, Tool
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import show_error
from desktop.ui.redaction import apply as redact_apply
from desktop.ui.redaction.actions import RedactToolBar, build_redact_menu, create_redact_actions, take_keys
from desktop.ui.redaction.canvas import RedactCanvas
from desktop.ui.redaction.detect import Detection
from desktop.ui.redaction.host import EditedViewport, RedactPane, RedactViewer
from desktop.ui.redaction.store import MaskSaver

TOOLS: dict[str, type[Tool]] = {"rectangle": RectTool, "polygon": PolygonTool, "brush": BrushTool,
                                "eraser": EraserTool, "select": SelectTool}
HINT = ("Left: draw with the tool · right drag: window · middle or Space drag: pan · wheel: images · "
        "Shift+R: leave Redact mode")
LOADING_MASKS = "Reading the masks of this series…"


def shows_originals(view: SeriesView | None) -> bool:
    """``view`` shows the images masks belong to: the originals (the current versions are the
    originals too where Veil redacted nothing)."""
    return view is not None and (view.series.versions == "originals" or not view.series.has_redacted_versions)


class RedactMode(QObject):
    """The Redact mode of one viewer window: ``window`` holds its menu, toolbar, panel and
    messages; ``viewer`` (that window, usually) shows the series; ``store`` reads and writes the
    masks (the viewer's library by default)."""

    def __init__(self, window: QMainWindow, viewer: RedactViewer, store: MaskStore | None = None) -> None:
        super().__init__(window)
        self.main_window = window
        self.viewer = viewer
        self.store = store if store is not None else MaskStore(viewer.home)
        self.actions = create_redact_actions(window)
        self.menu = build_redact_menu(window, self.actions)
        window.addToolBarBreak()
        self.toolbar = RedactToolBar(window, self.actions)
        window.addToolBar(self.toolbar)
        self.toolbar.hide()
        self.canvas = RedactCanvas(self)
        self.saver = MaskSaver(self.store, self._say, self)
        self.detection = Detection(self)
        #: What the last Apply wrote (None before the first).
        self.last_report: RedactionReport | None = None
        self.session: RedactSession | None = None
        self.session_ref: int | None = None
        self.here: Here | None = None
        self.tool: Tool | None = None
        self.tool_name = "rectangle"
        self.radius = 8.0
        self.preview = False
        self._pane: RedactPane | None = None
        self._saved_keys: dict[str, tuple[list[QKeySequence], str]] = {}
        self._viewer_hint = ""
        self._overlays_were_on = False
        self._before: tuple[int | None, str] = (None, "current")  # the pane's series and versions on entering
        self._reload_on_leave = False
        self._connect()
        self._show_radius()

    # -- state -------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.actions.redact.isChecked()

    @property
    def ready(self) -> bool:
        """Drawing is possible: the masks are loaded and the frame on screen has a size."""
        return self.active and self.session is not None and self.here is not None

    @property
    def viewport(self) -> EditedViewport:
        return self.viewer.viewport

    @property
    def view(self) -> SeriesView | None:
        """The frame on screen and how it is turned and flipped."""
        return self.viewer.view

    @property
    def inverted(self) -> bool:
        """The pane shows the image in negative (Preview paints the masks white then)."""
        return self.viewer.pane.invert

    def go_to(self, number: int) -> None:
        self.viewer.go_to(number)

    def repaint(self) -> None:
        self.viewport.update()

    def proposals_here(self) -> list[ProposalGroup]:
        return self.detection.proposals_here()

    def chosen_proposal(self) -> ProposalGroup | None:
        return self.detection.chosen()

    def set_detecting(self, running: bool) -> None:
        """Detect is off while it runs, and on again when drawing is possible."""
        self.actions.detect.setEnabled(not running and self.ready)

    def set_applying(self, running: bool) -> None:
        """Apply is off while it runs, and on again while redacting."""
        self.actions.apply.setEnabled(not running and self.active)

    def record_report(self, report: RedactionReport) -> None:
        self.last_report = report

    def _connect(self) -> None:
        a = self.actions
        a.redact.toggled.connect(self.set_active)
        for name, action in a.tools().items():
            action.triggered.connect(lambda _checked=False, n=name: self.choose_tool(n))
        a.smaller.triggered.connect(lambda: self.set_radius(self.radius / 1.25 if self.radius > 5 else self.radius - 1))
        a.larger.triggered.connect(lambda: self.set_radius(self.radius * 1.25 if self.radius >= 4 else self.radius + 1))
        self.toolbar.size_slider.valueChanged.connect(lambda value: self.set_radius(float(value)))
        a.undo.triggered.connect(self.undo)
        a.redo.triggered.connect(self.redo)
        a.delete.triggered.connect(lambda: self.tool_event(Key("delete")))
        a.finish.triggered.connect(lambda: self.tool_event(Key("enter")))
        a.cancel.triggered.connect(lambda: self.tool_event(Key("escape")))
        a.preview.toggled.connect(self.set_preview)
        a.detect.triggered.connect(self.detection.run)
        a.apply.triggered.connect(lambda: redact_apply.apply_masks(self))
        self.toolbar.scope.activated.connect(
            lambda index: self.set_scope(self.toolbar.scope.itemData(index)))

    # -- entering and leaving ----------------------------------------------------------------
    def set_active(self, on: bool) -> None:
        viewer = self.viewer
        if on:
            if viewer.layout_name != "1x1":
                viewer.set_layout("1x1")
            self._attach(viewer.pane)
            self._show_originals(viewer.pane)
            take_keys(viewer.commands, True, self._saved_keys)
            self._viewer_hint = viewer.hint.text()
            viewer.hint.setText(HINT)
            # the corner texts would hide the very text burned into the image's corners
            self._overlays_were_on = viewer.commands.overlays.isChecked()
            viewer.commands.overlays.setChecked(False)
        else:
            self._cancel_drawing()
            self._push()
            self.actions.preview.setChecked(False)
            self._detach()
            take_keys(viewer.commands, False, self._saved_keys)
            viewer.hint.setText(self._viewer_hint or viewer.hint.text())
            if self._overlays_were_on:
                viewer.commands.overlays.setChecked(True)
            self._show_versions_again(viewer.pane)
        c = viewer.commands
        for action in (c.layout_1x1, c.layout_1x2, c.layout_2x2):
            action.setEnabled(not on)
        for action in self.actions.editing():
            action.setEnabled(on)
        self.toolbar.setVisible(on)
        self.detection.set_visible(on)
        if on:
            self._on_opened_or_shown()
        self._update()
        viewer.sync_original()

    def _show_originals(self, pane: RedactPane) -> None:
        """Entering: the masks belong to the originals, so the pane shows them."""
        self._before = (pane.current_ref, pane.versions)
        same = pane.view is not None and pane.view.series.series_ref == pane.current_ref
        if pane.current_ref is not None and not (same and shows_originals(pane.view)):
            pane.show_series(pane.current_ref, "originals")

    def _show_versions_again(self, pane: RedactPane) -> None:
        """Leaving: the versions shown before on the same series (else the current ones); after
        Apply, the current versions read again (they changed)."""
        reload, self._reload_on_leave = self._reload_on_leave, False
        if pane.current_ref is None:
            return
        before_ref, before_versions = self._before
        versions = before_versions if pane.current_ref == before_ref and not reload else "current"
        if reload or pane.versions != versions:
            pane.show_series(pane.current_ref, versions, reload=reload)

    def leave(self, reload: bool = False) -> None:
        """Leave Redact mode; ``reload``: show the series' current versions read again (after Apply)."""
        self._reload_on_leave = reload and self.active
        self.actions.redact.setChecked(False)

    def _attach(self, pane: RedactPane) -> None:
        self._pane = pane
        pane.shown.connect(self._on_shown)
        pane.opened.connect(self._on_opened)
        pane.viewport.editor = self.canvas
        pane.set_editing(True)
        pane.viewport.setMouseTracking(True)
        pane.viewport.setCursor(Qt.CursorShape.CrossCursor)

    def _detach(self) -> None:
        pane, self._pane = self._pane, None
        if pane is None or not shiboken6.isValid(pane):
            return
        pane.shown.disconnect(self._on_shown)
        pane.opened.disconnect(self._on_opened)
        pane.viewport.editor = None
        pane.set_editing(False)
        pane.viewport.setMouseTracking(False)
        pane.viewport.unsetCursor()
        pane.viewport.update()

    def close(self) -> None:
        """The viewer closes: what was drawn is written now."""
        self._cancel_drawing()
        self._push()
        self.saver.flush_now()

    # -- the series and the frame on screen --------------------------------------------------
    def _on_opened(self, _pane: object, _series_ref: int) -> None:
        self._on_opened_or_shown()

    def _on_shown(self, _pane: object) -> None:
        self._on_opened_or_shown()

    def _on_opened_or_shown(self) -> None:
        if not self.active:
            return
        view = self.viewer.view
        if view is not None and not shows_originals(view):
            return  # the originals are on their way: nothing is drawn on a redacted version
        ref = view.series.series_ref if view is not None else None
        if ref is not None and ref != self.session_ref:
            self._load(ref)
            return
        self._show_here()

    def _load(self, series_ref: int) -> None:
        """Read the series' masks in the background; drawing waits for them."""
        self._cancel_drawing()
        self._push()
        self.saver.flush_now()  # what was drawn on any series is in the library before it is read again
        self.detection.clear()
        self.session, self.session_ref, self.here = None, series_ref, None
        self.toolbar.reach.setText(LOADING_MASKS)
        store, default = self.store, self.default_scope()

        def loaded(result: SeriesMasks) -> None:
            if self.session_ref != series_ref:
                return
            images, stored = result
            self.session = RedactSession(images, stored, default)
            self._show_here()

        def failed(exc: BaseException) -> None:
            if self.session_ref == series_ref:
                self.session_ref = None
                self.toolbar.reach.setText("The masks of this series cannot be read.")
                show_error(self.main_window, exc, "Cannot read the masks")

        run_in_background(lambda _progress: store.load(series_ref), loaded, failed,
                          key=f"redact-load-{id(self)}", context=self.main_window)

    def default_scope(self) -> Scope:
        return self.session.default_scope if self.session is not None else Scope.IMAGE

    def _where(self) -> Here | None:
        view = self.viewer.view
        if view is None or view.count == 0 or view.series.series_ref != self.session_ref or not shows_originals(view):
            return None
        position, frame = view.position()
        image = view.series.images[position]
        if not image.rows or not image.columns or image.redacted_version:
            return None  # masks are never drawn on (nor saved against) a redacted version
        return Here(image.instance_ref, frame, int(image.rows), int(image.columns), max(1, image.number_of_frames))

    def _show_here(self) -> None:
        if self.session is None:
            return
        here = self._where()
        if here != self.here:
            self._cancel_drawing()
            self.here = here
            if here is not None:
                self.session.show(here)
            self._bind_tool()
        self._update()
        self.viewport.update()

    # -- tools -------------------------------------------------------------------------------
    def _bind_tool(self, force: bool = False) -> None:
        history: EditHistory | None = self.session.working_history if self.session is not None else None
        if history is None:
            self.tool = None
            return
        if not force and self.tool is not None and self.tool.history is history and self.tool.name == self.tool_name:
            return
        cls = TOOLS[self.tool_name]
        self.tool = cls(history, self.radius) if cls in (BrushTool, EraserTool) else cls(history)

    def choose_tool(self, name: str) -> None:
        self._cancel_drawing()
        self.tool_name = name
        self.actions.tools()[name].setChecked(True)
        self._bind_tool(force=True)
        cursor = Qt.CursorShape.ArrowCursor if name == "select" else Qt.CursorShape.CrossCursor
        if self._pane is not None:
            self._pane.viewport.setCursor(cursor)
        self.viewport.update()

    def brush_radius_here(self) -> float | None:
        return self.radius if isinstance(self.tool, BrushTool) else None

    def set_radius(self, radius: float) -> None:
        self.radius = max(1.0, min(200.0, round(radius)))
        if isinstance(self.tool, BrushTool):
            self.tool.set_radius(self.radius)
        self._show_radius()
        self.viewport.update()

    def _show_radius(self) -> None:
        slider = self.toolbar.size_slider
        slider.blockSignals(True)
        slider.setValue(int(self.radius))
        slider.blockSignals(False)
        self.toolbar.size_label.setText(f"{self.radius:.0f} px")

    def tool_event(self, event: Pointer | Key) -> None:
        """A mouse or key event for the tool; a finished step is recorded and saved."""
        if self.tool is None or self.session is None or not self.ready:
            return
        self.tool.handle(event)
        if self.session.commit():
            self._push()
            self._update()
            self.detection.refresh()
        elif isinstance(event, Key) or event.kind in ("press", "release"):
            self._update()
        self.viewport.update()

    def pick_slot_at(self, x: float, y: float) -> None:
        """The select tool clicked a shape of another mask that covers this frame: edit that one."""
        session = self.session
        if session is None or session.working_history is None or session.working_history.mask.shape_at(x, y):
            return
        for slot in session.slots_here():
            if slot != session.working and session.history(slot).mask.shape_at(x, y) is not None:
                session.edit(slot)
                self._bind_tool()
                self._update()
                return

    def _cancel_drawing(self) -> None:
        if self.tool is not None:
            self.tool.handle(Key("escape"))

    # -- steps -------------------------------------------------------------------------------
    def _push(self) -> None:
        if self.session is not None:
            self.saver.changed(self.session.take_changed())

    def after_change(self) -> None:
        """The session changed outside the tools (accepted proposals, undo): save and show it."""
        self._push()
        self._bind_tool()
        self._update()
        self.detection.refresh()
        self.viewport.update()

    def undo(self) -> None:
        if self.session is not None and self.session.undo():
            self.after_change()

    def redo(self) -> None:
        if self.session is not None and self.session.redo():
            self.after_change()

    def set_scope(self, scope: Scope) -> None:
        if self.session is None or self.here is None:
            return
        tool = self.tool
        selected = tool.selected if isinstance(tool, SelectTool) else None
        if tool is not None and tool.history.in_gesture:
            tool.handle(Key("escape"))
        why = self.session.move_to(scope, selected)
        if why:
            self._say(why)
        self.after_change()
        if selected is not None and why is None and isinstance(self.tool, SelectTool):
            history = self.session.working_history
            shapes = history.mask.shapes if history is not None else ()
            self.tool.selected = shapes[-1].id if shapes else None  # the shape moved stays selected

    def set_preview(self, on: bool) -> None:
        self.preview = on
        self.viewport.update()

    def _say(self, text: str) -> None:
        self.main_window.statusBar().showMessage(text, 8000)

    # -- what the toolbar shows --------------------------------------------------------------
    def _update(self) -> None:
        a, bar = self.actions, self.toolbar
        session = self.session if self.active else None
        undo = session.undo_label if session is not None else ""
        redo = session.redo_label if session is not None else ""
        a.undo.setEnabled(session is not None and session.can_undo)
        a.redo.setEnabled(session is not None and session.can_redo)
        a.undo.setText(f"&Undo {undo}" if undo else "&Undo")
        a.redo.setText(f"Re&do {redo}" if redo else "Re&do")
        a.undo.setToolTip(f"Undo {undo or 'the last mask edit'} (Ctrl+Z; one drag is one step)"
                          if session is not None else a.undo.statusTip())
        a.redo.setToolTip(f"Redo {redo or 'the edit undone'} (Ctrl+Shift+Z)"
                          if session is not None else a.redo.statusTip())
        # with no mask left, Apply gives the images their originals back as their current versions
        view = self.viewer.view
        redacted = view is not None and view.series.series_ref == self.session_ref and view.series.has_redacted_versions
        a.apply.setEnabled(session is not None and (bool(session.stored()) or redacted))
        a.detect.setEnabled(self.ready)
        bar.scope.setEnabled(self.ready)
        if session is None:
            return
        if self.here is None:
            bar.reach.setText("This image cannot be redacted (its size is unknown)."
                              if view is not None and view.count else "")
            return
        slot = session.working
        if slot is None:
            return
        bar.scope.blockSignals(True)
        bar.scope.setCurrentIndex(bar.scope_index(slot.scope))
        bar.scope.blockSignals(False)
        images, frames = session.reach(slot)
        empty = session.history(slot).mask.empty
        text = ("New mask, for " if empty else "Applies to ") + reach_text(slot.scope, images, frames)
        others = len(session.slots_here()) - (0 if empty else 1)
        if others > 0:
            text += f" · {others} more mask{'s' if others > 1 else ''} here"
        sizes = session.other_sizes(self.here)
        if sizes:
            text += " · " + ", ".join(f"{c}×{r}" for r, c in sizes) + " mask not for this size"
        bar.reach.setText(text)
