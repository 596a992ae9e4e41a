"""Step 6 of the privacy gate: the writers. Only :mod:`desktop.app.gate` and the exits' runs it
hands them to may write anything that leaves Veil; an import-linter contract (pyproject.toml,
"the privacy gate owns the writers") keeps :mod:`desktop.core.share.writer` and
:mod:`desktop.core.imaging.export` reachable only through this module.

Every write is atomic: a temp file under a random name (never a name derived from identity),
fsync, rename; a folder's entries are flushed after. De-identified DICOM is staged by the
de-identification runner's workers (:mod:`desktop.core.deid.staging`).
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from desktop.core.common.atomic_files import atomic_write_bytes, fsync_dir, sync_filesystem, temp_name
from desktop.core.common.errors import VeilError
from desktop.core.common.portable import BINARY
from desktop.core.deid.staging import TEMP_PREFIX
from desktop.core.imaging.export import png_bytes, write_png
from desktop.core.network.nodes import WebNode
from desktop.core.network.outgoing import Outgoing, Stored
from desktop.core.network.store import store
from desktop.core.network.web_store import stow
from desktop.core.share.deck import Deck, DeckSlide, deck_bytes
from desktop.core.share.writer import ARCHIVE_SUFFIX, WrittenPackage, write_archive, write_package

__all__ = ["ARCHIVE_SUFFIX", "Deck", "DeckSlide", "FolderWriter", "Outgoing", "Stored", "TEMP_PREFIX",
           "WrittenPackage", "ZipWriter", "encode", "png_bytes", "send_dicom", "write_archive", "write_deck",
           "write_package", "write_png"]

JPEG_QUALITY = 92


def encode(image: np.ndarray, fmt: str, fast: bool = False) -> bytes:
    """PNG or JPEG bytes of an 8-bit image, with no metadata at all. ``fast``: a PNG
    compressed at zlib level 1 (about four times faster, a somewhat larger file; a deck is
    zipped again anyway)."""
    out = io.BytesIO()
    picture = Image.fromarray(image)
    picture.info.clear()
    if fmt == "png":
        picture.save(out, format="PNG", optimize=False, compress_level=1 if fast else 6)
    else:
        picture.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def send_dicom(node, objects: Sequence[Outgoing], calling, progress, cancelled, secret: str = "",  # noqa: ANN001
               leaving=lambda: None) -> Stored:  # noqa: ANN001
    """Send the de-identified objects to ``node``: C-STORE to a DicomNode (as ``calling``, a
    Calling), STOW-RS to a WebNode (signed in with ``secret``): the network exit, through the
    gate like every other. ``leaving`` is called before anything is transmitted."""
    if isinstance(node, WebNode):
        return stow(node, objects, progress, cancelled, secret, leaving)
    return store(node, objects, progress, cancelled, calling, leaving)


def write_deck(path: Path, deck: Deck) -> int:
    """The PowerPoint file of ``deck`` at ``path``, atomically (a file already there is not
    replaced); its size in bytes."""
    if path.exists():
        raise VeilError(f"{path.name} already exists; choose another name or remove it first.")
    data = deck_bytes(deck)
    atomic_write_bytes(path, data, prefix=TEMP_PREFIX)
    return len(data)


# -- where the files go --------------------------------------------------------------------------
class FolderWriter:
    """Stages files under random names in the folder; renames them into place at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staged: list[tuple[Path, str]] = []
        self.placed: list[Path] = []  # renamed into place by a commit that has not ended
        self.made = False

    def open(self, names: Sequence[str]) -> None:
        taken = [n for n in names if (self.root / n).exists()]
        if taken:
            raise VeilError(f"The output folder already holds slide images ({taken[0]}); choose an empty folder.")
        self.made = not self.root.exists()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VeilError(f"The output folder cannot be created ({exc.strerror or type(exc).__name__}).") from None

    def add(self, name: str, data: bytes) -> None:
        temp = self.root / temp_name(TEMP_PREFIX)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | BINARY, 0o600)
        self.staged.append((temp, name))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    def commit(self) -> None:
        if not self.staged:
            return self.discard()
        sync_filesystem(self.root)
        folders = {self.root}
        for temp, name in self.staged:
            final = self.root / name
            final.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(temp, final)
            self.placed.append(final)
            folders.add(final.parent)
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            fsync_dir(folder)
        self.staged, self.placed = [], []

    def discard(self) -> None:
        """Remove what was staged, and what a commit that failed half-way (a full disk while
        making a case folder) had renamed into place: open() checked none of it was there."""
        for temp, _name in self.staged:
            temp.unlink(missing_ok=True)
        for final in self.placed:
            final.unlink(missing_ok=True)
        for folder in sorted({f.parent for f in self.placed} - {self.root}, key=lambda p: len(p.parts),
                             reverse=True):
            try:
                folder.rmdir()
            except OSError:  # another export's files are in it
                pass
        self.staged, self.placed = [], []
        if self.made:
            try:
                self.root.rmdir()
            except OSError:
                pass


class ZipWriter:
    """A plain zip (stored: PNG and JPEG are compressed already), written to a temp name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temp = path.with_name(temp_name(TEMP_PREFIX))
        self.archive: zipfile.ZipFile | None = None
        self.count = 0

    def open(self, names: Sequence[str]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VeilError(f"The zip file's folder cannot be made ({exc.strerror or type(exc).__name__}).") from None
        fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | BINARY, 0o600)
        self.archive = zipfile.ZipFile(os.fdopen(fd, "wb"), "w", zipfile.ZIP_STORED)

    def add(self, name: str, data: bytes) -> None:
        assert self.archive is not None
        info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
        info.external_attr = 0o600 << 16
        self.archive.writestr(info, data)
        self.count += 1

    def commit(self) -> None:
        if not self.count:
            return self.discard()
        assert self.archive is not None
        fh = self.archive.fp
        self.archive.close()
        assert fh is not None
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        os.replace(self.temp, self.path)
        fsync_dir(self.path.parent)

    def discard(self) -> None:
        if self.archive is not None:
            fh = self.archive.fp
            try:
                self.archive.close()
            except (OSError, ValueError):
                pass
            if fh is not None:
                fh.close()
        self.temp.unlink(missing_ok=True)
