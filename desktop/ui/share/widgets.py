"""What the share windows have in common: package and archive names and filters, where a
package goes by default, and the export wizard's step rail style. (Labels, headings and the
like are in :mod:`desktop.ui.common.widgets`; a contact's key in words in
:mod:`desktop.ui.keys.key_text`.)
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from desktop.ui.common import theme

PACKAGE_SUFFIX = ".veil"
PACKAGE_FILTER = "Veil packages (*.veil)"
ARCHIVE_SUFFIX = ".zip"
ARCHIVE_FILTER = "ZIP archives (*.zip)"
#: The export wizard's step rail.
WIZARD_STYLE = f"""
QFrame#StepRail {{ background: {theme.BASE}; border: 1px solid {theme.BORDER}; border-radius: 4px; }}
QLabel[step] {{ padding: 7px 12px; border-radius: 4px; }}
QLabel[step="current"] {{ background: {theme.HIGHLIGHT}; color: white; font-weight: 600; }}
QLabel[step="done"] {{ color: {theme.TEXT}; }}
QLabel[step="todo"] {{ color: {theme.MUTED}; }}
QListWidget#FlaggedList::item {{ padding: 5px 8px; }}
"""


def exports_folder() -> Path:
    """``~/Veil exports``: where packages go unless the person chooses otherwise."""
    return Path.home() / "Veil exports"


def default_package_path(today: date | None = None, folder: Path | None = None) -> Path:
    """``~/Veil exports/veil-share-YYYY-MM-DD.veil``, numbered if taken: named without identity."""
    folder = folder or exports_folder()
    stem = f"veil-share-{(today or date.today()).isoformat()}"
    candidate = folder / f"{stem}{PACKAGE_SUFFIX}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{number}{PACKAGE_SUFFIX}"
        number += 1
    return candidate


def package_path_problem(text: str, suffix: str = PACKAGE_SUFFIX) -> str | None:
    """Why ``text`` cannot be where the package (``suffix``: or the plain archive) is written
    (no disk access), or None."""
    text = text.strip()
    what = "package" if suffix == PACKAGE_SUFFIX else "archive"
    if not text:
        return f"Choose where to write the {what}."
    path = Path(text).expanduser()
    if not path.is_absolute():
        return f"Give the {what}'s full path (or choose it)."
    if not path.name.endswith(suffix) or path.name == suffix:
        return f"The {what}'s name must end in {suffix}."
    return None
