"""The "Receive over TLS" fields of File > Network Nodes' "Veil on the network" section (PS3.15
B.1, the receiving side): Veil's certificate and key, and the CA whose client certificates
senders must present (optional), each with Browse…; saved by the section's Save button.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QFormLayout, QLineEdit, QWidget

from desktop.core.network.server_tls import ServerTls
from desktop.ui.common.widgets import pem_file_row


class ReceiveTlsFields:
    """The check box and the three file fields, added as rows of ``form`` (the section's form)."""

    def __init__(self, form: QFormLayout, parent: QWidget, tls: ServerTls | None) -> None:
        self.parent = parent
        self.tls_box = QCheckBox("Receive over TLS (PS3.15 B.1)", parent)
        self.tls_box.setObjectName("ReceiveTls")
        self.cert_edit, self.key_edit, self.ca_edit = QLineEdit(parent), QLineEdit(parent), QLineEdit(parent)
        self.cert_edit.setPlaceholderText("Veil's certificate (PEM), which senders verify")
        self.key_edit.setPlaceholderText("its private key (PEM, unencrypted)")
        self.ca_edit.setPlaceholderText("optional: the CA that signed the senders' client certificates (PEM)")
        form.addRow("", self.tls_box)
        for text, edit in (("TLS certificate", self.cert_edit), ("TLS key", self.key_edit),
                           ("Senders' CA", self.ca_edit)):
            form.addRow(text, pem_file_row(edit, parent))
        if tls is not None:
            self.tls_box.setChecked(True)
            self.cert_edit.setText(tls.certificate)
            self.key_edit.setText(tls.key)
            self.ca_edit.setText(tls.ca)
        self.tls_box.toggled.connect(self._toggled)
        self._toggled(self.tls_box.isChecked())

    def tls(self) -> ServerTls | None:
        """The files as typed (None: plain TCP); a NodeError when the certificate or key is missing."""
        if not self.tls_box.isChecked():
            return None
        return ServerTls(self.cert_edit.text().strip(), self.key_edit.text().strip(), self.ca_edit.text().strip())

    def _toggled(self, on: bool) -> None:
        for edit in (self.cert_edit, self.key_edit, self.ca_edit):
            edit.setEnabled(on)
