"""File > Network Nodes: the DICOM nodes (PACS) Veil knows, as Horos' "Locations" and Weasis'
"DICOM nodes" list them: add, edit, remove, and Test (C-ECHO, off the UI thread) that says
plainly what failed; and Veil's own AE title and storage port.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.app.library.home import VeilHome
from desktop.app.network.listening import listen_settings, set_listen_settings
from desktop.app.network.nodes import echo_node, list_nodes, remove_node, save_node, set_calling_ae
from desktop.core.common.errors import VeilError
from desktop.core.network.nodes import DicomNode, TlsFiles
from desktop.ui.common.background import run_in_background
from desktop.ui.common.tables import read_only_rows
from desktop.ui.common.widgets import label, set_role

COLUMNS = ("Name", "AE title", "Host", "Port", "TLS")


class NodeForm(QDialog):
    """Add or edit one node."""

    def __init__(self, node: DicomNode | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit Node" if node else "Add Node")
        self.name_edit, self.aet_edit, self.host_edit = QLineEdit(self), QLineEdit(self), QLineEdit(self)
        self.name_edit.setPlaceholderText("e.g. Hospital PACS")
        self.aet_edit.setPlaceholderText("e.g. ORTHANC")
        self.host_edit.setPlaceholderText("e.g. pacs.hospital.org or 10.0.0.5")
        self.port_spin = QSpinBox(self)
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(104)
        self.tls_box = QCheckBox("Use TLS (PS3.15 B.1)", self)
        self.ca_edit, self.cert_edit, self.key_edit = QLineEdit(self), QLineEdit(self), QLineEdit(self)
        self.ca_edit.setPlaceholderText("CA certificate that signed the node's (PEM)")
        self.cert_edit.setPlaceholderText("Veil's client certificate (PEM), if the node asks for one")
        self.key_edit.setPlaceholderText("its private key (PEM)")
        form = QFormLayout()
        for text, widget in (("Name", self.name_edit), ("AE title", self.aet_edit), ("Host", self.host_edit),
                             ("Port", self.port_spin), ("", self.tls_box)):
            form.addRow(text, widget)
        for text, edit in (("CA", self.ca_edit), ("Certificate", self.cert_edit), ("Key", self.key_edit)):
            row = QHBoxLayout()
            row.addWidget(edit, 1)
            browse = QPushButton("Browse…", self)
            browse.clicked.connect(lambda _c=False, e=edit: self._browse(e))
            row.addWidget(browse)
            form.addRow(text, row)
        self.tls_box.toggled.connect(self._tls_toggled)
        self.problem = label("", self, "danger", name="NodeProblem")
        save, cancel = QPushButton("Save", self), QPushButton("Cancel", self)
        save.setDefault(True)
        save.clicked.connect(self._save)
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(save)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addLayout(buttons)
        self.node: DicomNode | None = None
        if node is not None:
            self.name_edit.setText(node.name)
            self.name_edit.setEnabled(False)  # a node is known by its name
            self.aet_edit.setText(node.ae_title)
            self.host_edit.setText(node.host)
            self.port_spin.setValue(node.port)
            if node.tls:
                self.tls_box.setChecked(True)
                self.ca_edit.setText(node.tls.ca)
                self.cert_edit.setText(node.tls.certificate)
                self.key_edit.setText(node.tls.key)
        self._tls_toggled(self.tls_box.isChecked())
        self.resize(560, 0)

    def _tls_toggled(self, on: bool) -> None:
        for edit in (self.ca_edit, self.cert_edit, self.key_edit):
            edit.setEnabled(on)

    def _browse(self, edit: QLineEdit) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Choose a PEM file", edit.text(),
                                                "PEM (*.pem *.crt *.key);;All (*)")
        if chosen:
            edit.setText(chosen)

    def _save(self) -> None:
        try:
            tls = (TlsFiles(self.ca_edit.text().strip(), self.cert_edit.text().strip(), self.key_edit.text().strip())
                   if self.tls_box.isChecked() else None)
            self.node = DicomNode(self.name_edit.text().strip(), self.aet_edit.text(), self.host_edit.text(),
                                  self.port_spin.value(), tls)
        except VeilError as exc:
            self.problem.setText(str(exc))
            return
        self.accept()


class NodesDialog(QDialog):
    """The nodes of ``home`` (see the module)."""

    def __init__(self, home: VeilHome, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NodesDialog")
        self.setWindowTitle("Network Nodes")
        self.home = home
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("NodesTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        read_only_rows(self.table)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _i: self.edit_current())
        self.add_button = QPushButton("Add…", self)
        self.add_button.clicked.connect(self.add)
        self.edit_button = QPushButton("Edit…", self)
        self.edit_button.clicked.connect(self.edit_current)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.clicked.connect(self.remove_current)
        self.test_button = QPushButton("Test", self)
        self.test_button.setObjectName("TestNode")
        self.test_button.setToolTip("C-ECHO: does the node answer Veil?")
        self.test_button.clicked.connect(self.test_current)
        self.status = label("", self, "muted", name="NodesStatus", selectable=True)
        settings = listen_settings(home)
        self.aet_edit = QLineEdit(settings.ae_title, self)
        self.aet_edit.setObjectName("VeilAeTitle")
        self.port_spin = QSpinBox(self)
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(settings.port)
        self.any_box = QCheckBox("Accept images from any sender, not only these nodes", self)
        self.any_box.setChecked(settings.allow_any)
        own = QFormLayout()
        own.addRow("Veil's AE title", self.aet_edit)
        own.addRow("Storage port", self.port_spin)
        own.addRow("", self.any_box)
        save_own = QPushButton("Save", self)
        save_own.clicked.connect(self.save_own)
        own.addRow("", save_own)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.edit_button, self.remove_button, self.test_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(label("The PACS and archives Veil queries, retrieves from and sends to. A PACS that moves "
                               "images to Veil must know Veil's AE title, this computer and the storage port.",
                               self, "muted"))
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(label("Veil on the network", self, "section"))
        layout.addLayout(own)
        self.resize(760, 520)
        self.reload()

    def reload(self) -> None:
        nodes = list_nodes(self.home)
        self.table.setRowCount(len(nodes))
        for row, node in enumerate(nodes):
            for column, text in enumerate((node.name, node.ae_title, node.host, str(node.port),
                                           "yes" if node.tls else "")):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, node.name)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        if nodes and self.table.currentRow() < 0:
            self.table.selectRow(0)
        if not nodes:
            self.say("No node yet: Add… the PACS (its AE title, host and port, from its administrator).")
        self._update_buttons()

    def current(self) -> str | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    def _update_buttons(self) -> None:
        chosen = self.current() is not None
        for button in (self.edit_button, self.remove_button, self.test_button):
            button.setEnabled(chosen)

    def say(self, text: str, role: str = "muted") -> None:
        self.status.setText(text)
        set_role(self.status, role)

    def _form(self, node: DicomNode | None) -> None:
        form = NodeForm(node, self)
        if form.exec() and form.node is not None:
            try:
                save_node(self.home, form.node, replace=node is not None)
            except VeilError as exc:
                self.say(str(exc), "danger")
                return
            self.reload()
            self.say(f"Saved {form.node.name}. Test it to see that it answers.", "ok")

    def add(self) -> None:
        self._form(None)

    def edit_current(self) -> None:
        name = self.current()
        if name is not None:
            self._form(next(n for n in list_nodes(self.home) if n.name == name))

    def remove_current(self) -> None:
        name = self.current()
        if name is not None:
            remove_node(self.home, name)
            self.reload()
            self.say(f"Removed {name}.")

    def test_current(self) -> None:
        name = self.current()
        if name is None:
            return
        self.test_button.setEnabled(False)
        self.say(f"Testing {name}…")
        home = self.home

        def done(node: DicomNode) -> None:
            self._update_buttons()
            self.say(f"{node.name} answered (C-ECHO, {node.describe()}).", "ok")

        def failed(exc: BaseException) -> None:
            self._update_buttons()
            self.say(str(exc) if isinstance(exc, VeilError) else f"The test failed ({type(exc).__name__}).",
                     "danger")

        run_in_background(lambda _p: echo_node(home, name), done, failed, context=self)

    def save_own(self) -> None:
        try:
            title = set_calling_ae(self.home, self.aet_edit.text())
            set_listen_settings(self.home, self.port_spin.value(), self.any_box.isChecked())
        except VeilError as exc:
            self.say(str(exc), "danger")
            return
        self.say(f"Veil is {title} on port {self.port_spin.value()}.", "ok")
