"""A key image as its author sees it while annotating: the current version of the image
(redacted when it was redacted), rendered at the key image's view without its annotations,
with what the measurements need (pixel spacing, modality values, their unit). No Qt: the
annotation window paints the annotations over it live."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from desktop.app.library.home import VeilHome
from desktop.core.cases.annotations import Annotations
from desktop.core.cases.burn import viewed
from desktop.core.cases.case import CaseError, KeyImage
from desktop.core.imaging.display import Window, display_params, modality_values
from desktop.core.imaging.frames import decode_frame, read_image
from desktop.core.imaging.geometry import PixelSpacing, pixel_spacing
from desktop.core.imaging.shown import slide_pixels

#: The longer side of the picture the annotation window shows, in pixels.
PICTURE_SIDE = 1024


@dataclass(frozen=True)
class KeyPicture:
    """``pixels`` (uint8 RGB, the viewed image scaled to fit ``PICTURE_SIDE``), ``scale`` its
    pixels per viewed image pixel, and the frame's facts for measuring."""

    pixels: np.ndarray
    scale: float
    spacing: PixelSpacing | None
    values: np.ndarray | None
    unit: str


def current_object(home: VeilHome, sop_uid: str) -> bytes:
    """The bytes of the current version of the image a key image names (its original UID)."""
    conn = home.connect()
    try:
        row = conn.execute(
            """SELECT i.object_sha256 FROM current_instances i LEFT JOIN instances o ON o.id = i.replaces_ref
               WHERE COALESCE(o.sop_instance_uid, i.sop_instance_uid) = ?""", (sop_uid,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise CaseError("That key image is no longer in the library; mark it again.")
    return home.objects.read(row[0])


@dataclass(frozen=True)
class KeyFrame:
    """A key image's frame at its window and inversion (``shown``, the whole image, uint8),
    and what its measurements need: spacing, modality values (grey images) and their unit."""

    shown: np.ndarray
    spacing: PixelSpacing | None
    values: np.ndarray | None
    unit: str


def key_frame(ds_bytes: bytes, key: KeyImage) -> KeyFrame:
    """The frame of ``key`` from its DICOM bytes (HU on CT: the rescale applied)."""
    ds = read_image(ds_bytes)
    view = key.view
    window = (Window(view.window_center, view.window_width)
              if view.window_center is not None and view.window_width is not None else None)
    shown = slide_pixels(ds, key.frame, window=window, invert=view.invert)
    values = None
    if shown.ndim == 2:
        values = modality_values(decode_frame(ds, key.frame), display_params(ds, key.frame))
    unit = "HU" if str(ds.get("Modality", "")).upper() == "CT" else ""
    return KeyFrame(shown, pixel_spacing(ds, key.frame), values, unit)


def key_picture(ds_bytes: bytes, key: KeyImage, max_side: int = PICTURE_SIDE) -> KeyPicture:
    """The key image at its window, inversion and view, without annotations (see the module)."""
    frame = key_frame(ds_bytes, key)
    bare = replace(key, annotations=Annotations(key.annotations.rows, key.annotations.columns))
    image, scale = viewed(frame.shown, bare.view, max_side)
    return KeyPicture(np.ascontiguousarray(np.asarray(image)), scale, frame.spacing, frame.values, frame.unit)
