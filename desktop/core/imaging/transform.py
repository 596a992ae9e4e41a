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
