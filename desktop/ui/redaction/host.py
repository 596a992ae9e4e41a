"""What Redact mode and its parts use of the objects around them, named as protocols.

The viewer window implements :class:`RedactViewer` (and hands Redact mode its main window for
the menu, toolbar, panel and messages), its panes :class:`RedactPane`, their viewports
:class:`EditedViewport`; the redaction package imports nothing of the viewer's (the viewer
imports Redact mode, never the other way round).
Redact mode implements :class:`CanvasHost`, :class:`DetectHost` and :class:`ApplyHost` for its
canvas, its detection and Apply. Each protocol names only what its user reaches for, so each
part can be built alone (the tests hand them small fakes).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import QRectF, Qt, SignalInstance
from PySide6.QtGui import QAction, QMouseEvent, QPainter
from PySide6.QtWidgets import QLabel, QMainWindow

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.library.home import VeilHome
from desktop.app.redaction.proposals import ProposalGroup
from desktop.app.redaction.redacting import RedactionReport
from desktop.app.redaction.session import Here, RedactSession
from desktop.app.viewer.view_state import SeriesView
from desktop.core.redaction.tools import Key, Pointer, Tool


class ViewportEditor(Protocol):
    """What paints over the image and takes the left button while redacting (the viewport's
    editor: :class:`desktop.ui.redaction.canvas.RedactCanvas`)."""

    def paint(self, painter: QPainter) -> None: ...

    def mouse(self, event: QMouseEvent) -> bool: ...

    def leave(self) -> None: ...


class EditedViewport(Protocol):
    """The pane's image widget as Redact mode and its canvas use it."""

    #: Redact mode's editor while redacting, else None.
    editor: ViewportEditor | None

    @property
    def array(self) -> np.ndarray | None:
        """The frame on screen as displayed (None: no image)."""

    def image_rect(self) -> QRectF: ...

    def width(self) -> int: ...

    def update(self) -> None: ...

    def setMouseTracking(self, enable: bool) -> None: ...  # noqa: N802 - Qt's name

    def setCursor(self, cursor: Qt.CursorShape) -> None: ...  # noqa: N802 - Qt's name

    def unsetCursor(self) -> None: ...  # noqa: N802 - Qt's name


class ViewerCommands(Protocol):
    """The viewer's actions Redact mode touches: the keys it takes over (R, [ and ]), the corner
    texts it hides, the layouts it switches off."""

    @property
    def reset(self) -> QAction: ...
    @property
    def rotate_right(self) -> QAction: ...
    @property
    def rotate_left(self) -> QAction: ...
    @property
    def overlays(self) -> QAction: ...
    @property
    def layout_1x1(self) -> QAction: ...
    @property
    def layout_1x2(self) -> QAction: ...
    @property
    def layout_2x2(self) -> QAction: ...


class RedactPane(Protocol):
    """The pane Redact mode draws on: its series, the versions it shows, its viewport."""

    @property
    def shown(self) -> SignalInstance:
        """Another frame is on screen (emits the pane)."""
    @property
    def opened(self) -> SignalInstance:
        """A series opened (emits the pane and the series_ref)."""
    @property
    def viewport(self) -> EditedViewport: ...
    @property
    def current_ref(self) -> int | None: ...
    @property
    def versions(self) -> str: ...
    @property
    def view(self) -> SeriesView | None: ...
    @property
    def invert(self) -> bool: ...

    def show_series(self, series_ref: int, versions: str = "current", reload: bool = False) -> None: ...

    def set_editing(self, on: bool) -> None: ...


class ApplyViewer(Protocol):
    """What Apply uses of the viewer: the library and study it shows, and showing the series
    again on its new redacted versions."""

    @property
    def home(self) -> VeilHome: ...
    @property
    def study(self) -> StudyRow: ...
    @property
    def pane(self) -> RedactPane: ...
    @property
    def current_ref(self) -> int | None: ...
    @property
    def library_changed(self) -> SignalInstance:
        """Emitted when the library changed from here (the browser reloads)."""

    def set_series_rows(self, rows: list[SeriesRow]) -> None: ...

    def show_series(self, series_ref: int) -> None: ...


class RedactViewer(ApplyViewer, Protocol):
    """The viewer window as Redact mode sees it (the window implements it)."""

    @property
    def view(self) -> SeriesView | None: ...
    @property
    def viewport(self) -> EditedViewport: ...
    @property
    def commands(self) -> ViewerCommands: ...
    @property
    def hint(self) -> QLabel: ...
    @property
    def layout_name(self) -> str: ...

    def set_layout(self, name: str) -> None: ...

    def sync_original(self) -> None: ...

    def go_to(self, number: int) -> None: ...


class FrameOnScreen(Protocol):
    """The frame Redact mode shows and the masks loaded for it (the canvas and detection both
    start from it)."""

    @property
    def here(self) -> Here | None: ...
    @property
    def ready(self) -> bool: ...
    @property
    def session(self) -> RedactSession | None: ...
    @property
    def view(self) -> SeriesView | None: ...


class CanvasHost(FrameOnScreen, Protocol):
    """What the canvas uses of Redact mode: the frame on screen and how it is shown, the masks,
    the tool the mouse drives and detection's proposals."""

    @property
    def tool(self) -> Tool | None: ...
    @property
    def preview(self) -> bool: ...
    @property
    def inverted(self) -> bool: ...
    @property
    def viewport(self) -> EditedViewport: ...

    def brush_radius_here(self) -> float | None: ...

    def pick_slot_at(self, x: float, y: float) -> None: ...

    def tool_event(self, event: Pointer | Key) -> None: ...

    def proposals_here(self) -> list[ProposalGroup]: ...

    def chosen_proposal(self) -> ProposalGroup | None: ...


class DetectHost(FrameOnScreen, Protocol):
    """What detection uses of Redact mode: the frame on screen, the masks proposals are added
    to, where its panel, progress and messages go."""

    @property
    def main_window(self) -> QMainWindow: ...

    def go_to(self, number: int) -> None: ...

    def after_change(self) -> None: ...

    def repaint(self) -> None: ...

    def set_detecting(self, running: bool) -> None: ...


class ApplyHost(Protocol):
    """What Apply uses of Redact mode: the series whose masks are loaded, saving them, leaving
    the mode, the viewer around it; the report of each Apply is handed back."""

    @property
    def main_window(self) -> QMainWindow: ...
    @property
    def viewer(self) -> ApplyViewer: ...
    @property
    def session_ref(self) -> int | None: ...
    @property
    def session(self) -> RedactSession | None: ...
    @property
    def active(self) -> bool: ...

    def close(self) -> None: ...

    def leave(self, reload: bool = False) -> None: ...

    def set_applying(self, running: bool) -> None: ...

    def record_report(self, report: RedactionReport) -> None: ...
