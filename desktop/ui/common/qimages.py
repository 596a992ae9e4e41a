"""numpy pictures as Qt images."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def to_qimage(array: np.ndarray) -> QImage:
    """A QImage over ``array`` (uint8, (H, W) grey or (H, W, 3) RGB), sharing its memory: keep
    the array while the image lives (or ``.copy()`` the image)."""
    height, width = array.shape[:2]
    fmt = QImage.Format.Format_RGB888 if array.ndim == 3 else QImage.Format.Format_Grayscale8
    return QImage(array.data, width, height, int(array.strides[0]), fmt)
