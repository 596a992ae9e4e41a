"""Viewer commands beyond scrolling and windowing: presets, rotation and flips, PNG export."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox

from desktop.core.imaging.display import Window
from desktop.core.imaging.presets import presets_for
from desktop.ui.errors import show_error
from desktop.ui.viewer.tag_browser import TagBrowser
from desktop.ui.viewer.view_state import format_value

if TYPE_CHECKING:
    from desktop.app.export_consent import ExportPurpose
    from desktop.ui.viewer.viewer_window import ViewerWindow

#: Presets 1 to 9 answer to Alt+1 ... Alt+9.
PRESET_KEYS = 9


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


def rotate(viewer: "ViewerWindow", quarters: int) -> None:
    if viewer.view is not None:
        viewer.view.rotation = (viewer.view.rotation + quarters) % 4
        viewer.refresh_image()


def flip(viewer: "ViewerWindow", horizontal: bool) -> None:
    view = viewer.view
    if view is None:
        return
    # A flip is about the screen's axes: after a quarter turn the image's axes are swapped.
    if (view.rotation % 2 == 1) == horizontal:
        view.flip_v = not view.flip_v
    else:
        view.flip_h = not view.flip_h
    viewer.refresh_image()


def ask_purpose(viewer: "ViewerWindow") -> "ExportPurpose | None":
    """Why the picture leaves and to whom (never care: a PNG is not encrypted)."""
    from desktop.app.export_consent import ExportPurpose
    from desktop.core.consent import Purpose

    choices = [p for p in Purpose if p is not Purpose.CARE]
    label, ok = QInputDialog.getItem(viewer, "Export image", "Why does this picture leave Veil? Consent must allow it.",
                                     [p.description for p in choices], 0, False)
    if not ok:
        return None
    purpose = choices[[p.description for p in choices].index(label)]
    recipient, ok = QInputDialog.getText(viewer, "Export image", "Who receives it (a course, a journal, …)?")
    if not ok:
        return None
    protocol = ""
    if purpose is Purpose.RESEARCH:
        protocol, ok = QInputDialog.getText(viewer, "Export image", "The research protocol's ID:")
        if not ok:
            return None
    return ExportPurpose(purpose, recipient.strip(), protocol.strip())


def export_png(viewer: "ViewerWindow", path: str | None = None, purpose: "ExportPurpose | None" = None,
               confirm_burned_in: bool | None = None) -> Path | None:
    """Save the image as shown (without overlays) to ``path`` through the privacy gate, asking
    where, why and (for a flagged image) whether it was checked, when not given."""
    view = viewer.view
    image = view.displayed() if view is not None else None
    if image is None:
        viewer.statusBar().showMessage("There is no image to export.", 5000)
        return None
    if purpose is None:
        purpose = ask_purpose(viewer)
        if purpose is None:
            return None
    if path is None:
        path, _ = QFileDialog.getSaveFileName(viewer, "Export image as PNG", "image.png", "PNG images (*.png)")
        if not path:
            return None
    target = Path(path)
    if target.suffix.lower() != ".png":
        target = target.with_name(target.name + ".png")
    position, _frame = view.position()
    try:
        report = view.series.export_png(target, image, position, purpose, bool(confirm_burned_in))
        if (report.refused and confirm_burned_in is None and not report.residual and report.review is not None
                and report.consent is not None and report.consent.allowed and report.review.needs_confirmation):
            flags = "\n".join(f.label for f in report.review.flagged) or report.review.note()
            answer = QMessageBox.question(viewer, "Burned-in identity?", "This image may carry burned-in identity:\n"
                                          f"{flags}\n\nHave you checked that no name, ID or date shows in it?")
            if answer == QMessageBox.StandardButton.Yes:
                report = view.series.export_png(target, image, position, purpose, True)
    except Exception as exc:  # noqa: BLE001 - reported through the one error reporter
        show_error(viewer, exc, "Cannot export the image")
        return None
    if report.refused:
        QMessageBox.warning(viewer, "Image not exported", report.headline())
        return None
    viewer.statusBar().showMessage(f"Exported {target.name}.", 5000)
    return target


def show_tags(viewer: "ViewerWindow") -> TagBrowser | None:
    """Open the tag browser on the image on screen."""
    view = viewer.view
    if view is None or view.count == 0:
        return None
    position = view.position()[0]
    try:
        ds = view.series.dataset(position)
    except Exception as exc:  # noqa: BLE001 - reported through the one error reporter
        show_error(viewer, exc, "Cannot read the header")
        return None
    number = view.series.images[position].instance_number
    browser = TagBrowser(ds, f"image {number if number is not None else position + 1}", viewer)
    browser.show()
    return browser
