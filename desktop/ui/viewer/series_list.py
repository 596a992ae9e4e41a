"""The left panel of the viewer: the study's series, one click to show one."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from desktop.app.browsing.catalogue import SeriesRow
from desktop.app.common.formatting import plural
from desktop.ui.library.study_model import redacted_text, redacted_tooltip
from desktop.ui.viewer.viewport import to_qimage

#: Edge of a series thumbnail, in pixels.
THUMBNAIL = 72


def series_label(row: SeriesRow) -> str:
    """How a series reads in the list: number, modality, description; its size below, and
    how many of its images Veil redacted."""
    head = " · ".join(p for p in (str(row.series_number) if row.series_number is not None else "",
                                  row.modality, row.description or "(no description)") if p)
    size = plural(row.image_count, "image")
    if row.frame_count > row.image_count:
        size += f", {row.frame_count:,} frames"
    mark = redacted_text(row)
    return f"{head}\n{size}" + (f"\n{mark}" if mark else "")


class SeriesList(QListWidget):
    """The series of one study; emits the series_ref of the one clicked."""

    series_chosen = Signal(int)

    def __init__(self, rows: list[SeriesRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SeriesList")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the arrow keys scroll images, not this list
        self.setToolTip("The series of this study: click one to show it (N, P)")
        self.setSpacing(2)
        self.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.setMinimumWidth(180)
        self.setWordWrap(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.set_rows(rows)
        self.itemClicked.connect(lambda item: self.series_chosen.emit(item.data(Qt.ItemDataRole.UserRole)))

    def set_rows(self, rows: list[SeriesRow]) -> None:
        """List ``rows`` (their thumbnails come later, from :meth:`set_thumbnails`)."""
        self.clear()
        for row in rows:
            item = QListWidgetItem(series_label(row))
            item.setData(Qt.ItemDataRole.UserRole, row.series_ref)
            tip = series_label(row).replace("\n", " — ")
            item.setToolTip(tip + ("\n" + redacted_tooltip(row) if row.redacted_count else ""))
            self.addItem(item)

    def set_thumbnails(self, pictures: dict[int, np.ndarray]) -> None:
        """Show each series' picture beside its label (arrays: 8-bit grey or RGB)."""
        for i in range(self.count()):
            item = self.item(i)
            picture = pictures.get(item.data(Qt.ItemDataRole.UserRole))
            if picture is not None:
                pixmap = QPixmap.fromImage(to_qimage(picture))
                icon = QIcon(pixmap)
                icon.addPixmap(pixmap, QIcon.Mode.Selected)  # no blue tint over the image
                item.setIcon(icon)

    def select(self, series_ref: int) -> None:
        """Highlight ``series_ref`` (without emitting)."""
        for i in range(self.count()):
            if self.item(i).data(Qt.ItemDataRole.UserRole) == series_ref:
                self.setCurrentRow(i)
