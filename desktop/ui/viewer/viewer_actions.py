"""The viewer's actions (menu items, keys, tooltips) and its menus."""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

from desktop.ui.common.window_actions import keyed_action


@dataclass
class ViewerActions:
    next_image: QAction
    previous_image: QAction
    page_forward: QAction
    page_back: QAction
    first_image: QAction
    last_image: QAction
    next_series: QAction
    previous_series: QAction
    default_window: QAction
    invert: QAction
    pan_tool: QAction
    right_zooms: QAction
    fit: QAction
    actual_size: QAction
    zoom_in: QAction
    zoom_out: QAction
    overlays: QAction
    show_original: QAction
    reset: QAction
    rotate_right: QAction
    rotate_left: QAction
    flip_h: QAction
    flip_v: QAction
    export_png: QAction
    share_image: QAction
    mark_key: QAction
    cine: QAction
    tags: QAction
    layout_1x1: QAction
    layout_1x2: QAction
    layout_2x2: QAction
    close: QAction

    def all(self) -> list[QAction]:
        return [getattr(self, f.name) for f in fields(self)]


def create_viewer_actions(window: QMainWindow) -> ViewerActions:
    a = keyed_action
    return ViewerActions(
        next_image=a(window, "&Next Image", "Show the next image of the series", "Down"),
        previous_image=a(window, "&Previous Image", "Show the previous image of the series", "Up"),
        page_forward=a(window, "Ten Images &Forward", "Skip ten images forward", "PgDown"),
        page_back=a(window, "Ten Images &Back", "Skip ten images back", "PgUp"),
        first_image=a(window, "F&irst Image", "Show the first image of the series", "Home"),
        last_image=a(window, "&Last Image", "Show the last image of the series", "End"),
        next_series=a(window, "Next &Series", "Show the next series of the study", "Ctrl+Down", "N"),
        previous_series=a(window, "Previous S&eries", "Show the previous series of the study", "Ctrl+Up", "P"),
        default_window=a(window, "&Default Window", "Restore the window (contrast) the image header asks for",
                         "D"),
        invert=a(window, "&Invert", "Show the image in negative", "I", checkable=True),
        pan_tool=a(window, "&Left Button Pans", "The left mouse button pans instead of adjusting the window "
                   "(the right button always adjusts it; the middle button or Space+drag always pans)",
                   "Ctrl+P", checkable=True),
        right_zooms=a(window, "Right Button &Zooms", "The right mouse button zooms (drag up to magnify), as in "
                      "Horos and OHIF, instead of adjusting the window; remembered for every viewer",
                      checkable=True),
        fit=a(window, "&Fit to Window", "Show the whole image as large as the window allows", "F"),
        actual_size=a(window, "&Actual Size (1:1)", "One image pixel per screen pixel", "1"),
        zoom_in=a(window, "Zoom &In", "Magnify the image (also Ctrl+wheel)", "Ctrl++", "+", "="),
        zoom_out=a(window, "Zoom &Out", "Shrink the image (also Ctrl+wheel)", "Ctrl+-", "-"),
        overlays=a(window, "&Overlays", "Show patient, study, image and window details in the corners", "O",
                   checkable=True),
        show_original=a(window, "Show &Original", "Show the images as imported, before Veil redacted them "
                        "(only for a series with redacted images; exports always send the redacted versions); "
                        "again to go back", "Ctrl+Shift+O", checkable=True),
        reset=a(window, "&Reset View", "Fit to window, the header's window, not inverted", "R"),
        rotate_right=a(window, "Rotate &Right", "Turn the image a quarter turn clockwise", "]"),
        rotate_left=a(window, "Rotate Le&ft", "Turn the image a quarter turn anticlockwise", "["),
        flip_h=a(window, "Flip &Horizontally", "Mirror the image left to right", "H"),
        flip_v=a(window, "Flip &Vertically", "Mirror the image top to bottom", "V"),
        export_png=a(window, "&Export Image as PNG…", "Save the image as shown (window, invert, rotation), "
                     "at its own resolution, without overlays. It shows the patient's image: keep it safe",
                     "Ctrl+E"),
        share_image=a(window, "&Share This Image as Package…", "Send this one image in an encrypted, signed "
                      "package (consent, de-identification and redaction are checked in the wizard)",
                      "Ctrl+Shift+E"),
        mark_key=a(window, "Mark as &Key Image", "Make the image on screen (this frame of a cine) a key image of "
                   "the open teaching case, at this window, zoom and orientation; a new case if none is open",
                   "K"),
        cine=a(window, "&Play Cine", "Play the series as a loop at the rate its header gives (else 10 "
               "images a second); again to stop", "C", checkable=True),
        tags=a(window, "DICOM &Tags…", "List every element of this image's header, searchable", "Ctrl+T"),
        layout_1x1=a(window, "Layout &1×1", "One viewport", "Ctrl+1", checkable=True),
        layout_1x2=a(window, "Layout 1×&2", "Two viewports side by side, to compare two series (the new one "
                     "shows the next series)", "Ctrl+2", checkable=True),
        layout_2x2=a(window, "Layout 2×2", "Four viewports, to compare series (the new ones show the next "
                     "series); click a viewport to make it the active one", "Ctrl+4", checkable=True),
        close=a(window, "&Close Viewer", "Close this viewer window", "Ctrl+W"),
    )


def build_viewer_menus(window: QMainWindow, actions: ViewerActions) -> dict[str, QMenu]:
    """Image, Window and View menus; returns them by name (the window adds to them)."""
    bar = window.menuBar()
    menus = {}
    for name, items in (
        ("&Image", [actions.next_image, actions.previous_image, actions.page_forward, actions.page_back,
                    actions.first_image, actions.last_image, actions.cine, None, actions.next_series,
                    actions.previous_series, None, actions.tags, actions.export_png, actions.share_image,
                    actions.mark_key, None, actions.close]),
        ("&Window", [actions.default_window, actions.invert, None, actions.pan_tool, actions.right_zooms]),
        ("&View", [actions.fit, actions.actual_size, actions.zoom_in, actions.zoom_out, None,
                   actions.rotate_right, actions.rotate_left, actions.flip_h, actions.flip_v, None,
                   actions.overlays, actions.show_original, None, actions.layout_1x1, actions.layout_1x2,
                   actions.layout_2x2, None, actions.reset]),
    ):
        menu = bar.addMenu(name)
        menu.setToolTipsVisible(True)
        for item in items:
            if item is None:
                menu.addSeparator()
            else:
                menu.addAction(item)
        menus[name.replace("&", "")] = menu
    return menus


def build_viewer_toolbar(window: QMainWindow, actions: ViewerActions) -> QToolBar:
    """The few tools a person reaches for most, as text buttons."""
    toolbar = QToolBar("Viewer tools", window)
    toolbar.setObjectName("ViewerToolBar")
    toolbar.setMovable(False)
    toolbar.setIconSize(QSize(16, 16))
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    for action in (actions.fit, actions.actual_size, actions.default_window, actions.invert, actions.pan_tool,
                   actions.rotate_right, actions.flip_h, actions.overlays, actions.cine, actions.reset, None,
                   actions.layout_1x1, actions.layout_1x2, actions.layout_2x2):
        if action is None:
            toolbar.addSeparator()
        else:
            toolbar.addAction(action)
    for action, label in ((actions.layout_1x1, "1×1"), (actions.layout_1x2, "1×2"), (actions.layout_2x2, "2×2")):
        action.setIconText(label)
    group = QActionGroup(toolbar)
    for action in (actions.layout_1x1, actions.layout_1x2, actions.layout_2x2):
        group.addAction(action)
    actions.layout_1x1.setChecked(True)
    window.addToolBar(toolbar)
    return toolbar
