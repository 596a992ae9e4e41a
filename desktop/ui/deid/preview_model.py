"""The preview table as a Qt model: one row per attribute, original beside result, and a filter.

Each action has a colour that reads on the dark theme and a round swatch, so "removed" and
"kept" can be told apart at a glance (and without colour, by the word itself).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPixmap

from desktop.app.common.formatting import plural
from desktop.core.deid.engine import Change
from desktop.ui.common.theme import MUTED, TEXT

Index = QModelIndex | QPersistentModelIndex

#: Action -> (word shown, colour on the dark base, what it means).
ACTIONS: dict[str, tuple[str, str, str]] = {
    "removed": ("Removed", "#ff8a80", "Not in the copy at all"),
    "emptied": ("Emptied", "#ffb74d", "Kept with no value (the IOD requires the attribute)"),
    "replaced": ("Replaced", "#82b1ff", "A dummy or pseudonymous value, or a new UID"),
    "shifted": ("Shifted", "#ce93d8", "A date moved by the patient's offset; intervals stay true"),
    "cleaned": ("Cleaned", "#80cbc4", "Identifying text taken out of the value; the rest kept"),
    "kept": ("Kept", "#a5d6a7", "Copied unchanged"),
}
ORDER = tuple(ACTIONS)
MAX_TIP = 1500

#: Long names of the standard shortened in the Rule column (the tooltip has the full text).
SHORT_NAMES = (
    ("Basic Application Level Confidentiality Profile", "Basic Profile"),
    ("Retain Longitudinal Temporal Information with Full Dates Option", "Full Dates Option"),
    ("Retain Longitudinal Temporal Information with Modified Dates Option", "Modified Dates Option"),
)

FILTERS = {"all": "All attributes", "changed": "Changed only", "kept": "Kept only"}


def summary(changes: Sequence[Change]) -> str:
    """``265 attributes: 185 removed, 10 replaced, …, 61 kept``."""
    counts = Counter(c.action for c in changes)
    parts = [f"{counts[a]:,} {ACTIONS[a][0].lower()}" for a in ORDER if counts[a]]
    parts += [f"{n:,} {a}" for a, n in counts.items() if a not in ACTIONS]
    return f"{plural(len(changes), 'attribute')}: " + ", ".join(parts) if changes else "No attributes."


def short_rule(rule: str) -> str:
    """``rule`` with the standard's longest names shortened, for the table."""
    for long, short in SHORT_NAMES:
        rule = rule.replace(long, short)
    return rule


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(colour))
    painter.drawEllipse(1, 1, 10, 10)
    painter.end()
    return QIcon(pixmap)


def _tip(text: str) -> str:
    return text if len(text) <= MAX_TIP else text[:MAX_TIP] + "…"


class ChangeTableModel(QAbstractTableModel):
    """Attribute (tag and name), original value, result, action, rule."""

    ATTRIBUTE, BEFORE, AFTER, ACTION, RULE = range(5)
    HEADERS = ("Attribute", "Original value", "Result", "Action", "Rule")
    #: The :class:`Change` of a row.
    ChangeRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent=None) -> None:  # noqa: ANN001 - a QObject
        super().__init__(parent)
        self._rows: list[Change] = []
        self._icons: dict[str, QIcon] = {}
        self._italic = QFont()
        self._italic.setItalic(True)

    def set_changes(self, changes: Sequence[Change]) -> None:
        self.beginResetModel()
        self._rows = list(changes)
        self.endResetModel()

    @property
    def changes(self) -> list[Change]:
        return list(self._rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        change = self._rows[index.row()]
        column = index.column()
        if role == self.ChangeRole:
            return change
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(change, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(change, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(change, column)
        if role == Qt.ItemDataRole.FontRole and self._placeholder(change, column):
            return self._italic
        if role == Qt.ItemDataRole.DecorationRole and column == self.ACTION:
            return self._icon(change.action)
        return None

    # -- cells -----------------------------------------------------------------------------
    @staticmethod
    def _placeholder(change: Change, column: int) -> bool:
        if column == ChangeTableModel.BEFORE:
            return change.before == ""
        if column == ChangeTableModel.AFTER:
            return change.action in ("removed", "emptied") or change.after == ""
        return False

    def _text(self, change: Change, column: int) -> str:
        if column == self.ATTRIBUTE:
            return f"{change.location} {change.name}"
        if column == self.BEFORE:
            return change.before or "(empty)"
        if column == self.AFTER:
            if change.action == "removed":
                return "(removed)"
            return change.after or "(empty)"
        if column == self.ACTION:
            return ACTIONS.get(change.action, (change.action.capitalize(),))[0]
        return short_rule(change.rule)

    def _tooltip(self, change: Change, column: int) -> str:
        if column == self.ATTRIBUTE:
            return f"{change.location} {change.name} (VR {change.vr})"
        if column == self.BEFORE:
            return _tip(change.before) if change.before else "No value in the original"
        if column == self.AFTER:
            return _tip(self._text(change, column))
        if column == self.ACTION:
            return ACTIONS.get(change.action, ("", "", change.action))[2]
        return change.rule

    def _foreground(self, change: Change, column: int) -> QBrush | None:
        if column == self.ACTION:
            return QBrush(QColor(ACTIONS.get(change.action, ("", TEXT))[1]))
        if self._placeholder(change, column) or column == self.RULE:
            return QBrush(QColor(MUTED))
        return None

    def _icon(self, action: str) -> QIcon:
        if action not in self._icons:
            self._icons[action] = _swatch(ACTIONS.get(action, ("", TEXT))[1])
        return self._icons[action]


class ChangeFilterProxy(QSortFilterProxyModel):
    """Shows all attributes, only the changed ones, or only the kept ones, matching a search."""

    def __init__(self, parent=None) -> None:  # noqa: ANN001 - a QObject
        super().__init__(parent)
        self.mode = "all"
        self.words: list[str] = []

    def set_mode(self, mode: str) -> None:
        """``all``, ``changed`` (every action but kept) or ``kept``."""
        if mode not in FILTERS:
            raise ValueError(mode)
        self._refilter(mode, self.words)

    def set_search(self, text: str) -> None:
        """Show only rows holding every word of ``text`` (tag, name, values, action, rule)."""
        self._refilter(self.mode, text.casefold().split())

    def _refilter(self, mode: str, words: list[str]) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            self.mode, self.words = mode, words
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.mode, self.words = mode, words
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        change: Change = model.index(source_row, 0, source_parent).data(ChangeTableModel.ChangeRole)
        if self.mode == "changed" and change.action == "kept":
            return False
        if self.mode == "kept" and change.action != "kept":
            return False
        if not self.words:
            return True
        hay = " ".join((change.location, change.name, change.vr, change.before, change.after,
                        ACTIONS.get(change.action, (change.action,))[0], change.rule)).casefold()
        return all(word in hay for word in self.words)
