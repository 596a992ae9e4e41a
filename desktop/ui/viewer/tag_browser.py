"""The DICOM tag browser: every element of one image's header, sequences nested, searchable."""

from __future__ import annotations

from pydicom.dataset import Dataset
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.imaging.tags import TagNode, header_tree, search

COLUMNS = ("Tag", "Name", "VR", "Value")


def _add(parent: QTreeWidget | QTreeWidgetItem, nodes: tuple[TagNode, ...]) -> int:
    count = 0
    for node in nodes:
        name = f"{node.name} [{node.private_creator}]" if node.private_creator else node.name
        item = QTreeWidgetItem([node.tag, name, node.vr, node.value])
        item.setToolTip(3, node.value)
        if isinstance(parent, QTreeWidget):
            parent.addTopLevelItem(item)
        else:
            parent.addChild(item)
        count += 1 + _add(item, node.children)
    return count


class TagBrowser(QDialog):
    """A window listing the header of one image (non-modal; it shows identity, like the viewer)."""

    def __init__(self, ds: Dataset, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TagBrowser")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"DICOM tags — {title}")
        self.nodes = header_tree(ds)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Find by keyword, tag (0010,0010), value or private creator…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Show only the elements that contain this text, in their sequences")
        self.filter_edit.textChanged.connect(self.show_matching)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.count_label = QLabel(self)
        self.count_label.setProperty("role", "muted")
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.count_label)
        self.resize(900, 640)
        self.show_matching("")
        for column, width in enumerate((110, 280, 40)):
            self.tree.setColumnWidth(column, width)

    def show_matching(self, text: str) -> None:
        """List the elements matching ``text`` (all when empty)."""
        self.tree.clear()
        nodes = search(self.nodes, text) if text.strip() else self.nodes
        shown = _add(self.tree, nodes)
        if text.strip():
            self.tree.expandAll()
        self.count_label.setText(f"{shown:,} elements shown")
