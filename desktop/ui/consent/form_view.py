"""A consent's scanned form: choosing the file to attach, and showing a stored form
without leaving a plaintext copy behind.

A PNG or JPEG form is decoded in memory and shown in a window of its own: nothing touches the
disk. A PDF needs the system's viewer, so it is written to a private file (mode 0600) in Veil's
own temporary folder (``VEIL_HOME/tmp``, mode 0700), named without the patient, and deleted when
the window that opened it closes (or when Veil quits). The name carries Veil's process id the
way the object store's temporary files do, so the next start sweeps a copy a crash left behind.
"""

from __future__ import annotations

import atexit
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRect, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QDialog, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.app.consent.consenting import MAX_FORM_BYTES, read_form
from desktop.app.library.home import VeilHome
from desktop.core.common.errors import VeilError
from desktop.core.common.portable import BINARY
from desktop.core.consent import ConsentRecord

FORM_FILTER = "Scanned forms (*.pdf *.png *.jpg *.jpeg *.PDF *.PNG *.JPG *.JPEG);;All files (*)"
_MAGIC = (b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_live: set[Path] = set()  # every temporary copy not yet deleted, in case Veil quits first


def size_text(size: int) -> str:
    """1 234 567 bytes as "1.2 MB"."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def form_problem(path: Path) -> tuple[int, str | None]:
    """(size, why ``path`` cannot be the scanned form or None); reads only its first bytes."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        return 0, f"The scanned form cannot be read ({exc.strerror or type(exc).__name__})."
    if size == 0:
        return 0, "The scanned form is an empty file."
    if size > MAX_FORM_BYTES:
        return size, f"The scanned form is larger than {MAX_FORM_BYTES >> 20} MB."
    if not head.startswith(_MAGIC):
        return size, "The scanned form must be a PDF, PNG or JPEG file."
    return size, None


class FormBox(QGroupBox):
    """The scanned form to attach: its name and size, Attach/Replace, Remove."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Scanned form", parent)
        self.path: Path | None = None
        self.label = QLabel("No form attached", self)
        self.label.setObjectName("FormFile")
        self.label.setProperty("role", "muted")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.attach = QPushButton("Attach…", self)
        self.attach.setObjectName("AttachForm")
        self.attach.setToolTip("Choose the scanned, signed form (PDF, PNG or JPEG); it is kept encrypted "
                               "in the library")
        self.remove = QPushButton("Remove", self)
        self.remove.setToolTip("Do not attach this file")
        self.remove.hide()
        row = QHBoxLayout(self)
        row.addWidget(self.label, 1)
        row.addWidget(self.attach)
        row.addWidget(self.remove)
        self.attach.clicked.connect(self.choose)
        self.remove.clicked.connect(lambda: self.set_path(None))

    def choose(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, "Attach the scanned consent form", "", FORM_FILTER)
        if path:
            self.set_path(Path(path))

    def set_path(self, path: Path | None) -> None:
        """Attach ``path`` when saving (None: no form)."""
        self.path = path
        if path is None:
            self.label.setText("No form attached")
            self.label.setProperty("role", "muted")
            self.label.setToolTip("")
        else:
            size, problem = form_problem(path)
            self.label.setText(f"{path.name} · {size_text(size)}" if problem is None else f"{path.name}: {problem}")
            self.label.setProperty("role", "ok" if problem is None else "danger")
            self.label.setToolTip(str(path))
        self.label.style().unpolish(self.label)
        self.label.style().polish(self.label)
        self.remove.setVisible(path is not None)
        self.attach.setText("Replace…" if path is not None else "Attach…")
        self.changed.emit()

    def problem(self) -> str | None:
        return None if self.path is None else form_problem(self.path)[1]


def _remove_all() -> None:
    for path in list(_live):
        remove_copy(path)


def remove_copy(path: Path) -> None:
    """Delete a temporary copy of a form (it may already be gone)."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
    _live.discard(path)


def private_copy(home_path: Path, data: bytes, suffix: str) -> Path:
    """Write ``data`` to a new file only this user can read, in Veil's temporary folder."""
    folder = home_path / "tmp"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f".w-{os.getpid()}-{secrets.token_hex(8)}-consent-form{suffix}"
    if not _live:
        atexit.unregister(_remove_all)
        atexit.register(_remove_all)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | BINARY, 0o600)
    _live.add(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except BaseException:
        remove_copy(path)
        raise
    return path


@dataclass(frozen=True)
class OpenedForm:
    """A form read from the library: an image to show, or a private PDF copy to open."""

    record: ConsentRecord
    image: QImage | None = None
    pdf: Path | None = None


def open_form(home: VeilHome, record: ConsentRecord) -> OpenedForm:
    """Read (and account for) the record's form; decode an image, or copy a PDF. Worker thread."""
    data = read_form(home, record)
    assert record.form is not None
    if record.form.media_type == "application/pdf":
        return OpenedForm(record, pdf=private_copy(home.path, data, ".pdf"))
    image = QImage.fromData(data)
    if image.isNull():
        raise VeilError("The scanned form cannot be shown: its image data is damaged.")
    return OpenedForm(record, image=image)


def discard(opened: OpenedForm) -> None:
    """Release what an opened form holds (its PDF copy)."""
    if opened.pdf is not None:
        remove_copy(opened.pdf)


def open_pdf(path: Path) -> bool:
    """Open the PDF copy in the system's viewer."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class FormCanvas(QWidget):
    """Paints the form scaled to fit, centred, never beyond its own size."""

    def __init__(self, image: QImage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pixmap = QPixmap.fromImage(image)
        self.setMinimumSize(200, 200)

    def target(self) -> QRect:
        """Where the form is painted."""
        size = self.pixmap.size()
        if size.width() > self.width() or size.height() > self.height():
            size = size.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        return QRect((self.width() - size.width()) // 2, (self.height() - size.height()) // 2,
                     size.width(), size.height())

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(self.target(), self.pixmap)
        painter.end()


class FormImageDialog(QDialog):
    """A scanned form in a window of its own, scaled to the window."""

    def __init__(self, image: QImage, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FormImageDialog")
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.canvas = FormCanvas(image, self)
        self.canvas.setObjectName("FormImage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.canvas)
        screen = self.screen().availableGeometry() if self.screen() else None
        limit_w, limit_h = (screen.width() * 0.8, screen.height() * 0.85) if screen else (1000, 900)
        scale = min(1.0, limit_w / max(1, image.width()), limit_h / max(1, image.height()))
        self.resize(max(320, int(image.width() * scale) + 12), max(240, int(image.height() * scale) + 12))

    @property
    def pixmap(self) -> QPixmap:
        return self.canvas.pixmap
