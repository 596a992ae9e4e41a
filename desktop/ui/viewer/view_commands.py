"""Viewer commands beyond scrolling and windowing: presets, rotation and flips, PNG export.

They act on :class:`ImageViewer`, the few things of the viewer window they use (the window
implements it; this module never imports the window's)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QStatusBar, QWidget

from desktop.app.browsing.catalogue import SeriesRow
from desktop.app.library.home import VeilHome
from desktop.app.viewer.view_state import SeriesView, format_value
from desktop.core.cases.case import KeyView
from desktop.core.imaging.display import Window
from desktop.core.imaging.presets import presets_for
from desktop.ui.common.errors import show_error
from desktop.ui.viewer.export_image_dialog import ExportImageDialog, default_target, exports_folder, png_path
from desktop.ui.viewer.tag_browser import TagBrowser

if TYPE_CHECKING:
    from desktop.app.consent.export_consent import ExportPurpose

#: Presets 1 to 9 answer to Alt+1 ... Alt+9.
PRESET_KEYS = 9


class ImageViewer(Protocol):
    """What the commands use of the viewer window: the frame on screen, its series' row, the
    status bar, and the window that dialogs belong to (Qt's :meth:`QWidget.window`)."""

    @property
    def view(self) -> SeriesView | None: ...

    def current_series_row(self) -> SeriesRow | None: ...

    def refresh_image(self) -> None: ...

    def statusBar(self) -> QStatusBar: ...  # noqa: N802 - Qt's name

    def window(self) -> QWidget: ...


def fill_presets_menu(menu: QMenu, modality: str, choose: Callable[[Window], None]) -> list[QAction]:
    """Replace ``menu``'s items with the window presets of ``modality``; disabled if none."""
    menu.clear()
    actions = []
    for i, window in enumerate(presets_for(modality) if modality else []):
        label = f"{window.name or 'Preset'}  (W {format_value(window.width)} L {format_value(window.center)})"
        action = QAction(label, menu)
        tip = f"Show the image through the {window.name or 'preset'} window"
        if i < PRESET_KEYS:
            action.setShortcut(QKeySequence(f"Alt+{i + 1}"))
            tip += f" ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False, w=window: choose(w))
        menu.addAction(action)
        actions.append(action)
    menu.setEnabled(bool(actions))
    menu.setToolTip("" if actions else f"No presets for {modality or 'this modality'}")
    return actions


def rotate(viewer: ImageViewer, quarters: int) -> None:
    if viewer.view is not None:
        viewer.view.rotation = (viewer.view.rotation + quarters) % 4
        viewer.refresh_image()


def flip(viewer: ImageViewer, horizontal: bool) -> None:
    view = viewer.view
    if view is None:
        return
    # A flip is about the screen's axes: after a quarter turn the image's axes are swapped.
    if (view.rotation % 2 == 1) == horizontal:
        view.flip_v = not view.flip_v
    else:
        view.flip_h = not view.flip_h
    viewer.refresh_image()


def _what(viewer: ImageViewer) -> str:
    """The image on screen, for the dialog's title ("CT series 2: image 3 of 12")."""
    view = viewer.view
    assert view is not None
    image = f"image {view.index + 1} of {view.count}"
    row = viewer.current_series_row()
    if row is None:
        return image.capitalize()
    series = f"{row.modality} series" if row.modality else "Series"
    if row.series_number is not None:
        series += f" {row.series_number}"
    return f"{series}: {image}"


def open_export_dialog(viewer: ImageViewer, path: str | None = None) -> ExportImageDialog | None:
    """Open Export Image as PNG on the image on screen (window-modal: the viewer stays as it is
    while the dialog is open); None when there is no image."""
    view = viewer.view
    image = view.displayed() if view is not None else None
    if view is None or image is None:
        viewer.statusBar().showMessage("There is no image to export.", 5000)
        return None
    dialog = ExportImageDialog(view.series, view.position()[0], image, _what(viewer), path, viewer.window())
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.exported.connect(lambda report: viewer.statusBar().showMessage(report.headline(), 8000))
    dialog.show()
    return dialog


def export_png(viewer: ImageViewer, path: str | None = None, purpose: ExportPurpose | None = None,
               confirm_burned_in: bool | None = None) -> Path | None:
    """Save the image as shown (without overlays) through the privacy gate.

    Without a ``purpose`` (the menu), opens the Export Image dialog, which asks where, why and
    whether the image was checked, and exports in the background; returns None. With one (scripts
    and tests), exports to ``path`` now, on this thread, and returns the file written, or None
    when the gate refused (the reason in the status bar) or failed (a message box)."""
    if purpose is None:
        open_export_dialog(viewer, path)
        return None
    view = viewer.view
    image = view.displayed() if view is not None else None
    if view is None or image is None:
        viewer.statusBar().showMessage("There is no image to export.", 5000)
        return None
    target = png_path(path) if path else default_target()
    try:
        if target.parent == exports_folder():
            target.parent.mkdir(parents=True, exist_ok=True)
        report = view.series.export_png(target, image, view.position()[0], purpose, bool(confirm_burned_in))
    except Exception as exc:  # noqa: BLE001 - reported through the one error reporter
        show_error(viewer.window(), exc, "Cannot export the image")
        return None
    viewer.statusBar().showMessage(report.headline(), 8000)
    return target if report.written else None


def show_tags(viewer: ImageViewer) -> TagBrowser | None:
    """Open the tag browser on the image on screen."""
    view = viewer.view
    if view is None or view.count == 0:
        return None
    position = view.position()[0]
    try:
        ds = view.series.dataset(position)
    except Exception as exc:  # noqa: BLE001 - reported through the one error reporter
        show_error(viewer.window(), exc, "Cannot read the header")
        return None
    number = view.series.images[position].instance_number
    browser = TagBrowser(ds, f"image {number if number is not None else position + 1}", viewer.window())
    browser.show()
    return browser


# -- teaching cases ------------------------------------------------------------------------------
def key_view(view: SeriesView, zoom: float | None) -> KeyView:
    """The view a key image is marked at: the window in use (None: the header's), invert,
    rotation, flips and the zoom (None: fitted)."""
    window = view.window
    return KeyView(window.center if window is not None else None, window.width if window is not None else None,
                   zoom if zoom is not None else 1.0, rotation_quarters=view.rotation, flip_h=view.flip_h,
                   flip_v=view.flip_v, invert=view.invert)


def series_of_image(home: VeilHome, sop_uid: str) -> int | None:
    """The series of the image ``sop_uid`` (or of its redacted version's original)."""
    conn = home.connect()
    try:
        row = conn.execute("SELECT series_ref FROM instances WHERE sop_instance_uid = ?", (sop_uid,)).fetchone()
        return int(row[0]) if row is not None else None
    finally:
        conn.close()


def frame_number(view: SeriesView, sop_uid: str, frame: int) -> int | None:
    """Where frame ``frame`` of the image ``sop_uid`` (an original, or its redacted version) is
    in the series on screen; None when it is not there."""
    series = view.series
    for number, (position, index) in enumerate(series.frames):
        image = series.images[position]
        if index == frame and sop_uid in (image.sop_instance_uid, series.redacted.get(image.instance_ref)):
            return number
    return None

