"""View transforms on a rendered image: rotation by quarter turns and flips (numpy only)."""

from __future__ import annotations

import numpy as np


def apply_view(image: np.ndarray, rotation_quarters: int = 0, flip_h: bool = False, flip_v: bool = False) -> np.ndarray:
    """Flip, then rotate clockwise by ``rotation_quarters`` x 90 degrees; C-contiguous result."""
    out = image
    if flip_h:
        out = out[:, ::-1]
    if flip_v:
        out = out[::-1, :]
    quarters = rotation_quarters % 4
    if quarters:
        out = np.rot90(out, k=-quarters, axes=(0, 1))
    return np.ascontiguousarray(out)


def source_pixel(x: int, y: int, rows: int, columns: int, rotation_quarters: int = 0, flip_h: bool = False,
                 flip_v: bool = False) -> tuple[int, int]:
    """The (column, row) of the stored image (``rows`` x ``columns``) shown at (``x``, ``y``)
    of the image :func:`apply_view` made: its quarter turns undone, then its flips."""
    quarters = rotation_quarters % 4
    height, width = (rows, columns) if quarters % 2 == 0 else (columns, rows)  # the flipped image's, turned
    for _ in range(quarters):  # a clockwise turn took (x, y) of an h-row image to (h - 1 - y, x)
        x, y = y, width - 1 - x
        width, height = height, width
    if flip_v:
        y = rows - 1 - y
    if flip_h:
        x = columns - 1 - x
    return x, y

