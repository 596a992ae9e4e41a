"""Write a rendered view to PNG, atomically (temp + fsync + rename)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from desktop.core.common.atomic_files import atomic_write_bytes
from desktop.core.common.errors import VeilError


def png_bytes(image: np.ndarray) -> bytes:
    """An 8-bit grey (rows, cols) or RGB (rows, cols, 3) array as PNG bytes."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise VeilError("Only 8-bit grey or RGB images can be written as PNG.")
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(out, format="PNG")
    return out.getvalue()


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Save ``image`` at its native resolution; a reader never sees a half-written file."""
    try:
        atomic_write_bytes(Path(path), png_bytes(image), mode=0o600)
    except OSError as exc:
        raise VeilError(f"The PNG cannot be written there: {exc.strerror}.") from None
