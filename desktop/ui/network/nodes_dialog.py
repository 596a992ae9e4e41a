"""File > Network Nodes: the DICOM nodes (PACS) and DICOMweb servers Veil knows, as Horos'
"Locations" and Weasis' "DICOM nodes" list them: add, edit, remove, and Test (C-ECHO or a
QIDO-RS search, off the UI thread) that says plainly what failed; and Veil's own AE title,
storage port and TLS files for receiving (:mod:`.receive_tls`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.app.library.home import VeilHome
from desktop.app.network.listening import listen_settings, set_listen_settings, set_listen_tls
from desktop.app.network.nodes import echo_node, is_site_node, list_nodes, remove_node, save_node, set_calling_ae
from desktop.core.common.errors import VeilError
from desktop.core.network.nodes import DicomNode, Node, TlsFiles, WebNode, check_ae_title
from desktop.ui.common.background import run_in_background
from desktop.ui.common.tables import read_only_rows
from desktop.ui.common.widgets import label, pem_file_row, set_role
from desktop.ui.network.receive_tls import ReceiveTlsFields

COLUMNS = ("Name", "Kind", "Address", "Security")
KINDS = ("DICOM node (DIMSE)", "DICOMweb server")
LABEL_WIDTH = 130
SIGN_IN = (("none", "None"), ("basic", "User name and password (basic)"), ("bearer", "Token (bearer)"))


def _row(node: Node) -> tuple[str, str, str, str]:
    """The node as the table shows it (a node the site file presets is marked "from the site")."""
    site = "from the site" if is_site_node(node) else ""
    if isinstance(node, WebNode):
        signed = dict(SIGN_IN)[node.auth] if node.auth != "none" else ""
        secure = "TLS" if node.url.startswith("https:") else ""
        return node.name, "DICOMweb", node.url, ", ".join(x for x in (secure, signed, site) if x)
    return node.name, "DICOM", f"{node.ae_title}@{node.host}:{node.port}", ", ".join(
        x for x in ("TLS" if node.tls else "", site) if x)


class NodeForm(QDialog):
    """Add or edit one node: a DICOM node (AE title, host, port, TLS) or a DICOMweb server
    (address, sign-in; the password or token typed here goes to the keyring, never shown again)."""

    def __init__(self, node: Node | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit Node" if node else "Add Node")
        self.name_edit, self.aet_edit, self.host_edit = QLineEdit(self), QLineEdit(self), QLineEdit(self)
        self.name_edit.setPlaceholderText("e.g. Hospital PACS")
        self.kind_combo = QComboBox(self)
        self.kind_combo.addItems(KINDS)
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
        dimse = QWidget(self)
        form = QFormLayout(dimse)
        form.setContentsMargins(0, 0, 0, 0)
        for text, widget in (("AE title", self.aet_edit), ("Host", self.host_edit), ("Port", self.port_spin),
                             ("", self.tls_box)):
            form.addRow(text, widget)
        for text, edit in (("CA", self.ca_edit), ("Certificate", self.cert_edit), ("Key", self.key_edit)):
            form.addRow(text, pem_file_row(edit, self))
        self.url_edit, self.user_edit, self.secret_edit = QLineEdit(self), QLineEdit(self), QLineEdit(self)
        self.web_ca_edit = QLineEdit(self)
        self.url_edit.setPlaceholderText("e.g. https://pacs.hospital.org/dicom-web")
        self.sign_in_combo = QComboBox(self)
        for key, text in SIGN_IN:
            self.sign_in_combo.addItem(text, key)
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.web_ca_edit.setPlaceholderText("the site's CA bundle (PEM), if its certificate is not public")
        web = QWidget(self)
        web_form = QFormLayout(web)
        web_form.setContentsMargins(0, 0, 0, 0)
        web_rows: tuple[tuple[str, QWidget], ...] = (
            ("Address", self.url_edit), ("Sign-in", self.sign_in_combo), ("User name", self.user_edit),
            ("Password or token", self.secret_edit), ("CA bundle", pem_file_row(self.web_ca_edit, self)))
        for text, web_field in web_rows:
            web_form.addRow(text, web_field)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(dimse)
        self.pages.addWidget(web)
        top = QFormLayout()
        top.addRow("Name", self.name_edit)
        top.addRow("Kind", self.kind_combo)
        self.kind_combo.currentIndexChanged.connect(self.pages.setCurrentIndex)
        self.tls_box.toggled.connect(self._tls_toggled)
        self.sign_in_combo.currentIndexChanged.connect(self._sign_in_changed)
        self.problem = label("", self, "danger", name="NodeProblem")
        save, cancel = QPushButton("Save", self), QPushButton("Cancel", self)
        save.setDefault(True)
        save.clicked.connect(self._save)
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(save)
        for each in (top, form, web_form):  # one label column across the three forms
            for row in range(each.rowCount()):
                item = each.itemAt(row, QFormLayout.ItemRole.LabelRole)
                label_widget = item.widget() if item is not None else None
                if label_widget is not None:
                    label_widget.setMinimumWidth(LABEL_WIDTH)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.pages)
        layout.addWidget(self.problem)
        layout.addLayout(buttons)
        self.node: Node | None = None
        self.secret: str | None = None  # None: keep the stored one
        self.editing = node
        if node is not None:
            self._fill(node)
        self._tls_toggled(self.tls_box.isChecked())
        self._sign_in_changed()
        self.resize(600, 0)

    def _fill(self, node: Node) -> None:
        self.name_edit.setText(node.name)
        self.name_edit.setEnabled(False)  # a node is known by its name
        self.kind_combo.setEnabled(False)
        if isinstance(node, WebNode):
            self.kind_combo.setCurrentIndex(1)
            self.url_edit.setText(node.url)
            self.sign_in_combo.setCurrentIndex([k for k, _t in SIGN_IN].index(node.auth))
            self.user_edit.setText(node.username)
            self.web_ca_edit.setText(node.ca)
            self.secret_edit.setPlaceholderText("unchanged (type to replace it)")
            return
        self.aet_edit.setText(node.ae_title)
        self.host_edit.setText(node.host)
        self.port_spin.setValue(node.port)
        if node.tls:
            self.tls_box.setChecked(True)
            self.ca_edit.setText(node.tls.ca)
            self.cert_edit.setText(node.tls.certificate)
            self.key_edit.setText(node.tls.key)

    def _tls_toggled(self, on: bool) -> None:
        for edit in (self.ca_edit, self.cert_edit, self.key_edit):
            edit.setEnabled(on)

    def _sign_in_changed(self) -> None:
        auth = self.sign_in_combo.currentData()
        self.user_edit.setEnabled(auth == "basic")
        self.secret_edit.setEnabled(auth != "none")

    def _save(self) -> None:
        try:
            if self.kind_combo.currentIndex() == 1:
                auth = str(self.sign_in_combo.currentData())
                self.node = WebNode(self.name_edit.text().strip(), self.url_edit.text(), auth,
                                    self.user_edit.text().strip() if auth == "basic" else "",
                                    self.web_ca_edit.text().strip())
                typed = self.secret_edit.text()
                keep = isinstance(self.editing, WebNode) and self.editing.auth == auth and not typed
                if auth != "none" and not typed and not keep:
                    raise VeilError(f"Give the {'password' if auth == 'basic' else 'token'}.")
                self.secret = None if keep else typed
            else:
                tls = (TlsFiles(self.ca_edit.text().strip(), self.cert_edit.text().strip(),
                                self.key_edit.text().strip()) if self.tls_box.isChecked() else None)
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
        self.test_button.setToolTip("C-ECHO (a DICOMweb server: a one-study search): does the node answer Veil?")
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
        self.receive_tls = ReceiveTlsFields(own, self, settings.tls)
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
            for column, text in enumerate(_row(node)):
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
        self.remove_button.setEnabled(chosen and not is_site_node(self.current() or ""))

    def say(self, text: str, role: str = "muted") -> None:
        self.status.setText(text)
        set_role(self.status, role)

    def _form(self, node: Node | None) -> None:
        form = NodeForm(node, self)
        if form.exec() and form.node is not None:
            try:
                save_node(self.home, form.node, replace=node is not None, secret=form.secret)
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

        def done(node: Node) -> None:
            self._update_buttons()
            how = "QIDO-RS" if isinstance(node, WebNode) else "C-ECHO"
            self.say(f"{node.name} answered ({how}, {node.describe()}).", "ok")

        def failed(exc: BaseException) -> None:
            self._update_buttons()
            self.say(str(exc) if isinstance(exc, VeilError) else f"The test failed ({type(exc).__name__}).",
                     "danger")

        run_in_background(lambda _p: echo_node(home, name), done, failed, context=self)  # type: ignore[misc]

    def save_own(self) -> None:
        try:  # everything checked before anything is saved: one bad setting saves none
            check_ae_title(self.aet_edit.text(), "Veil's AE title")
            set_listen_tls(self.home, self.receive_tls.tls())  # its files checked first
            title = set_calling_ae(self.home, self.aet_edit.text())
            set_listen_settings(self.home, self.port_spin.value(), self.any_box.isChecked())
        except VeilError as exc:
            self.say(str(exc), "danger")
            return
        self.say(f"Veil is {title} on port {self.port_spin.value()}, {listen_settings(self.home).describe()}.", "ok")
