"""Names of the files inside a package: the fixed ones, the DICOM ones, and what is safe.

A name inside the ZIP becomes a path under the staging folder when a package is opened, so it
must never reach outside it or collide with another on a case-insensitive file system.
"""

from __future__ import annotations

import re
import unicodedata

from desktop.core.share.errors import UnsafePackageError

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
README = "README.txt"
DICOMDIR = "DICOMDIR"
DICOM_FOLDER = "DICOM"
PREVIEWS_FOLDER = "previews"
#: The teaching case as a web page, when the package holds one (IHE TCE's human-readable half).
CASE_PAGE = "case.html"
RESERVED = frozenset({MANIFEST, SIGNATURE, README, DICOMDIR})
MAX_NAME_LENGTH = 512
_FILE_ID_COMPONENT = re.compile(r"[A-Z0-9_]{1,8}")
_WINDOWS_DEVICES = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?", re.IGNORECASE)


def dicom_member_name(index: int) -> str:
    """A PS3.10 File ID for the ``index``-th DICOM file: ``DICOM/D000/IM000000``."""
    if not 0 <= index < 1_000_000:
        raise ValueError("a package holds at most 1,000,000 DICOM files")
    return f"{DICOM_FOLDER}/D{index // 1000:03d}/IM{index:06d}"


def is_dicom_file_id(name: str) -> bool:
    """True if ``name`` is a conformant File ID (PS3.10 8.5: up to 8 components of up to 8
    characters from A-Z, 0-9 and underscore)."""
    parts = name.split("/")
    return len(parts) <= 8 and all(_FILE_ID_COMPONENT.fullmatch(p) for p in parts)


def check_member_name(name: str) -> str:
    """``name`` if it is a safe relative path, else UnsafePackageError saying why."""
    def refuse(reason: str) -> UnsafePackageError:
        shown = name[:80].encode("ascii", "backslashreplace").decode("ascii")
        return UnsafePackageError(f"The package holds a file with an unsafe name ({reason}): "
                                  f"{shown!r}. It was refused; nothing was opened.")

    if not name or len(name) > MAX_NAME_LENGTH:
        raise refuse("empty or too long")
    if "\\" in name:
        raise refuse("a backslash")
    if name.startswith("/") or ":" in name:
        raise refuse("an absolute path")
    if not name.isprintable():
        raise refuse("control characters")
    for part in name.split("/"):
        if part in ("", ".", ".."):
            raise refuse("'..', '.' or an empty folder name")
        if part != part.rstrip(". ") or _WINDOWS_DEVICES.fullmatch(part):
            raise refuse("a name Windows cannot hold")
    return name


def collision_key(name: str) -> str:
    """The form under which two names would be the same file on macOS or Windows."""
    return unicodedata.normalize("NFC", name).casefold()
