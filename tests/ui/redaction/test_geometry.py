"""Image <-> viewport coordinates through flips, quarter turns, zoom and pan: a mask drawn on the
screen lands on the pixels the person pointed at, whatever way the image is turned."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF

from desktop.core.imaging.transform import apply_view
from desktop.ui.redaction.geometry import image_to_widget, widget_to_image

ROWS, COLUMNS = 5, 7
VIEWS = list(itertools.product(range(4), (False, True), (False, True)))  # rotation, flip_h, flip_v


def shown_rect(rotation: int, scale: float = 1.0, x: float = 0.0, y: float = 0.0) -> QRectF:
    """Where the viewport paints the turned image (its width and height swap on a quarter turn)."""
    width, height = (ROWS, COLUMNS) if rotation % 2 else (COLUMNS, ROWS)
    return QRectF(x, y, width * scale, height * scale)


@pytest.mark.parametrize("rotation, flip_h, flip_v", VIEWS)
def test_each_pixel_lands_where_the_screen_shows_it(rotation, flip_h, flip_v):
    """The centre of every image pixel maps onto the same pixel of the image as displayed
    (:func:`apply_view`, which the viewport paints)."""
    image = np.arange(ROWS * COLUMNS).reshape(ROWS, COLUMNS)
    shown = apply_view(image, rotation, flip_h, flip_v)
    t = image_to_widget(shown_rect(rotation), ROWS, COLUMNS, rotation, flip_h, flip_v)
    for r, c in itertools.product(range(ROWS), range(COLUMNS)):
        p = t.map(QPointF(c + 0.5, r + 0.5))
        assert shown[int(p.y()), int(p.x())] == image[r, c]


@pytest.mark.parametrize("rotation, flip_h, flip_v", VIEWS)
def test_screen_to_image_and_back_is_the_same_point(rotation, flip_h, flip_v):
    rect = shown_rect(rotation, scale=3.5, x=40, y=-12)  # zoomed in and panned
    t = image_to_widget(rect, ROWS, COLUMNS, rotation, flip_h, flip_v)
    for x, y in ((0.0, 0.0), (COLUMNS, ROWS), (1.25, 3.75), (6.5, 0.5)):
        back = widget_to_image(t, t.map(QPointF(x, y)))
        assert back == pytest.approx((x, y), abs=1e-9)
    inside = t.mapRect(QRectF(0, 0, COLUMNS, ROWS))
    assert inside.x() == pytest.approx(rect.x()) and inside.y() == pytest.approx(rect.y())
    assert inside.width() == pytest.approx(rect.width()) and inside.height() == pytest.approx(rect.height())


def test_a_quarter_turn_clockwise_puts_the_top_left_corner_at_the_top_right():
    t = image_to_widget(shown_rect(1), ROWS, COLUMNS, rotation=1)
    assert (t.map(QPointF(0, 0)).x(), t.map(QPointF(0, 0)).y()) == (ROWS, 0)
    assert (t.map(QPointF(COLUMNS, 0)).x(), t.map(QPointF(COLUMNS, 0)).y()) == (ROWS, COLUMNS)


def test_flipping_left_to_right_mirrors_the_columns():
    t = image_to_widget(shown_rect(0, scale=2), ROWS, COLUMNS, flip_h=True)
    assert widget_to_image(t, QPointF(0, 0)) == pytest.approx((COLUMNS, 0))
    assert widget_to_image(t, QPointF(2 * COLUMNS, 2 * ROWS)) == pytest.approx((0, ROWS))


def test_four_quarter_turns_are_none():
    assert image_to_widget(shown_rect(0), ROWS, COLUMNS, rotation=4) == image_to_widget(shown_rect(0), ROWS, COLUMNS)
