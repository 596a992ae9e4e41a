"""Cine: play a series (or a multi-frame image) as a loop at the rate its header asks for."""

from __future__ import annotations

from collections.abc import Callable

from pydicom.dataset import Dataset
from PySide6.QtCore import QObject, QTimer

DEFAULT_FPS = 10.0
MAX_FPS = 60.0


def frame_rate(ds: Dataset | None) -> float:
    """Frames per second: Recommended Display Frame Rate, Cine Rate, Frame Time (ms), else 10."""
    if ds is not None:
        for keyword, to_fps in (("RecommendedDisplayFrameRate", float), ("CineRate", float),
                                ("FrameTime", lambda ms: 1000.0 / float(ms))):
            try:
                value = ds.get(keyword)
                fps = to_fps(value) if value not in (None, "") else 0.0
            except (TypeError, ValueError, ZeroDivisionError):
                continue
            if fps > 0:
                return min(fps, MAX_FPS)
    return DEFAULT_FPS


class Cine(QObject):
    """Calls ``advance()`` at ``fps`` while playing."""

    def __init__(self, advance: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fps = DEFAULT_FPS
        self._timer = QTimer(self)
        self._timer.timeout.connect(advance)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def play(self, fps: float) -> None:
        self.fps = fps
        self._timer.start(max(1, round(1000.0 / fps)))

    def stop(self) -> None:
        self._timer.stop()
