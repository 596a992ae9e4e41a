"""The folder an opened package is extracted into, and taking it all back on failure.

Files are created only below the folder, never through a symbolic link, never over an existing
file; every file and folder created is remembered so :meth:`Staging.discard` removes exactly
those (and the folder itself if it was created here).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from desktop.core.common.portable import BINARY
from desktop.core.share.errors import PackageError, UnsafePackageError
from desktop.core.share.member_names import check_member_name, collision_key

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class Staging:
    """An empty (or new) folder receiving the files of one package."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._created_root = False
        self._files: list[Path] = []
        self._folders: list[Path] = []
        self._keys: set[str] = set()
        try:
            if self.folder.is_symlink() or (self.folder.exists() and not self.folder.is_dir()):
                raise PackageError("The staging folder for opening a package is not a folder.")
            if self.folder.exists():
                if any(self.folder.iterdir()):
                    raise PackageError("The staging folder for opening a package is not empty.")
            else:
                self.folder.mkdir(mode=0o700)
                self._created_root = True
        except OSError as exc:
            raise PackageError(f"The staging folder cannot be used ({exc.strerror}).") from None

    def create(self, name: str) -> tuple[Path, BinaryIO]:
        """A new file for the package member ``name``, opened for writing."""
        check_member_name(name)
        key = collision_key(name)
        if key in self._keys:
            raise UnsafePackageError(f"The package holds {name!r} twice (perhaps with other "
                                     "letter case); it was refused and nothing was kept.")
        self._keys.add(key)
        parts = name.split("/")
        current = self.folder
        try:
            for part in parts[:-1]:
                current = current / part
                if not current.is_dir() or current.is_symlink():
                    os.mkdir(current, 0o700)
                    self._folders.append(current)
            path = current / parts[-1]
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | BINARY, 0o600)
        except FileExistsError:
            raise UnsafePackageError(f"The package holds {name!r} twice, or as a file and a "
                                     "folder; it was refused and nothing was kept.") from None
        except OSError as exc:
            raise PackageError(f"The opened package cannot be written to the staging folder "
                               f"({exc.strerror}).") from None
        self._files.append(path)
        return path, os.fdopen(fd, "wb")

    def discard(self) -> None:
        """Remove every file and folder this staging created."""
        for path in reversed(self._files):
            path.unlink(missing_ok=True)
        for folder in reversed(self._folders):
            try:
                folder.rmdir()
            except OSError:
                pass
        if self._created_root:
            try:
                self.folder.rmdir()
            except OSError:
                pass
        self._files.clear()
        self._folders.clear()
