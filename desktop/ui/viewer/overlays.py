"""The four corner overlays: who (top left), which study (top right), where in the series
(bottom left), how it is displayed (bottom right). They show identity, which is fine in the
viewer: opening a series is recorded in the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.common.formatting import dicom_date, dicom_time, person_name

OVERLAY_COLOR = QColor("#e8e8e8")
SHADOW_COLOR = QColor(0, 0, 0, 220)
MARGIN = 8
#: Under the series' lines (bottom left) when the image on screen is a redacted version.
REDACTED_NOTE = "Redacted in Veil"


@dataclass(frozen=True)
class Corners:
    top_left: str = ""
    top_right: str = ""
    bottom_left: str = ""
    bottom_right: str = ""
    #: The patient's directions at the middle of the top, right, bottom and left edges
    #: (PS3.3 C.7.6.1.1.1 letters, turned and flipped with the view); empty when unknown.
    edges: tuple[str, str, str, str] = ("", "", "", "")
    #: A scale bar: its length in screen pixels and its label ("1 cm"); None without spacing.
    scale_bar: tuple[float, str] | None = None


def patient_text(study: StudyRow) -> str:
    name = person_name(study.patient_name) or "(no name)"
    details = " · ".join(p for p in (study.patient_id and f"ID {study.patient_id}",
                                     dicom_date(study.birth_date) and f"Born {dicom_date(study.birth_date)}",
                                     study.sex) if p)
    return "\n".join(p for p in (name, details) if p)


def study_text(study: StudyRow) -> str:
    when = " ".join(p for p in (dicom_date(study.study_date), dicom_time(study.study_time)) if p)
    return "\n".join(p for p in (when, study.description) if p)


def series_text(series: SeriesRow | None, image_number: int | None, frame: int, frames_in_image: int,
                index: int, count: int) -> str:
    lines = []
    if series is not None:
        head = f"Se {series.series_number}" if series.series_number is not None else "Series"
        lines.append(" · ".join(p for p in (head, series.modality, series.description) if p))
    parts = [f"Im {image_number}"] if image_number is not None else []
    if frames_in_image > 1:
        parts.append(f"Frame {frame + 1} / {frames_in_image}")
    if parts:
        lines.append("  ".join(parts))
    lines.append(f"Image {index + 1} / {count}" if count else "No image")
    return "\n".join(lines)


def display_text(window_label: str, zoom: float, invert: bool, size: tuple[int, int] | None) -> str:
    lines = [window_label + (" (inverted)" if invert else "")] if window_label or invert else []
    if size is not None:
        lines.append(f"{size[1]} × {size[0]}")
        lines.append(f"Zoom {zoom * 100:.0f}%")
    return "\n".join(lines)


def paint_corners(painter: QPainter, rect: QRectF, corners: Corners) -> None:
    """Draw the four texts in the corners of ``rect``, with a shadow to read on any image."""
    font = QFont(painter.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    painter.setFont(font)
    inner = rect.adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
    a = Qt.AlignmentFlag
    placed = ((corners.top_left, a.AlignLeft | a.AlignTop), (corners.top_right, a.AlignRight | a.AlignTop),
              (corners.bottom_left, a.AlignLeft | a.AlignBottom),
              (corners.bottom_right, a.AlignRight | a.AlignBottom))
    top, right, bottom, left = corners.edges
    edges = ((top, a.AlignHCenter | a.AlignTop), (right, a.AlignRight | a.AlignVCenter),
             (bottom, a.AlignHCenter | a.AlignBottom), (left, a.AlignLeft | a.AlignVCenter))
    if corners.scale_bar is not None:
        _paint_scale_bar(painter, inner, *corners.scale_bar)
    for text, align in (*placed, *edges):
        if not text:
            continue
        painter.setPen(SHADOW_COLOR)
        painter.drawText(inner.translated(1, 1), int(align), text)
        painter.setPen(OVERLAY_COLOR)
        painter.drawText(inner, int(align), text)


def _paint_scale_bar(painter: QPainter, inner: QRectF, length: float, text: str) -> None:
    """A bar of ``length`` screen pixels with end ticks, right of centre above the bottom edge,
    and its label, as Horos and OHIF draw theirs."""
    height = painter.fontMetrics().height()
    y = inner.bottom() - 2 * height
    x0 = inner.center().x() + inner.width() / 8
    x1 = x0 + length
    for colour, offset in ((SHADOW_COLOR, 1), (OVERLAY_COLOR, 0)):
        painter.setPen(colour)
        painter.drawLine(QPointF(x0 + offset, y + offset), QPointF(x1 + offset, y + offset))
        for x in (x0, x1):
            painter.drawLine(QPointF(x + offset, y - 4 + offset), QPointF(x + offset, y + 4 + offset))
        painter.drawText(QRectF(x0 + offset, y + 4 + offset, max(length, 80), height),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), text)

