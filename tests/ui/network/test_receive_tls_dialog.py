"""File > Network Nodes, "Veil on the network": Receive over TLS as a user sets it up: the
certificate, key and senders' CA typed (or browsed), Save stores them and the status line says
how senders connect; a key that is not the certificate's is named in the status line and
nothing is saved; unticked, Save goes back to plain TCP; the dialog opens with what was saved."""

from __future__ import annotations

from pathlib import Path

from desktop.app.network.listening import listen_settings
from desktop.core.network.server_tls import ServerTls
from desktop.ui.network.nodes_dialog import NodesDialog
from tests.tls_certs import make_certificates


def test_receive_over_tls_fields_are_saved_and_a_bad_file_is_named(qtbot, home, tmp_path: Path):  # noqa: ANN001
    certificates = make_certificates(tmp_path / "tls")
    dialog = NodesDialog(home)
    qtbot.addWidget(dialog)
    fields = dialog.receive_tls
    assert not fields.tls_box.isChecked() and not fields.cert_edit.isEnabled()

    fields.tls_box.setChecked(True)
    assert fields.cert_edit.isEnabled() and fields.ca_edit.isEnabled()
    fields.cert_edit.setText(str(certificates.server_cert))
    fields.key_edit.setText(str(certificates.client_key))  # not the certificate's key
    dialog.save_own()
    assert f"Veil's TLS key ({certificates.client_key}) does not belong" in dialog.status.text()
    assert dialog.status.property("role") == "danger" and listen_settings(home).tls is None

    fields.key_edit.setText(str(certificates.server_key))
    fields.ca_edit.setText(str(certificates.ca))
    dialog.save_own()
    assert listen_settings(home).tls == ServerTls(str(certificates.server_cert), str(certificates.server_key),
                                                  str(certificates.ca))
    assert dialog.status.property("role") == "ok"
    assert f"over TLS, client certificates from {certificates.ca} required" in dialog.status.text()

    fields.ca_edit.setText(str(tmp_path / "missing-ca.pem"))
    dialog.save_own()
    assert "The CA certificate for senders" in dialog.status.text() and "missing-ca.pem" in dialog.status.text()
    dialog.close()

    reopened = NodesDialog(home)
    qtbot.addWidget(reopened)
    assert reopened.receive_tls.tls_box.isChecked()
    assert reopened.receive_tls.ca_edit.text() == str(certificates.ca)
    reopened.receive_tls.tls_box.setChecked(False)
    reopened.save_own()
    assert listen_settings(home).tls is None and "plain TCP, not encrypted" in reopened.status.text()
    reopened.close()


def test_tls_ticked_without_a_key_is_said(qtbot, home, tmp_path: Path):  # noqa: ANN001
    certificates = make_certificates(tmp_path / "tls")
    dialog = NodesDialog(home)
    qtbot.addWidget(dialog)
    dialog.receive_tls.tls_box.setChecked(True)
    dialog.receive_tls.cert_edit.setText(str(certificates.server_cert))
    dialog.save_own()
    assert "needs both Veil's certificate and its key" in dialog.status.text()
    assert listen_settings(home).tls is None


def test_receiving_over_tls_says_so_in_the_status_bar(qtbot, window, home, tmp_path: Path):  # noqa: ANN001
    from desktop.app.network.listening import set_listen_settings, set_listen_tls
    from tests.orthanc import free_port

    certificates = make_certificates(tmp_path / "tls")
    port = free_port()
    set_listen_settings(home, port, allow_any=True)
    set_listen_tls(home, ServerTls(str(certificates.server_cert), str(certificates.server_key)))
    receiving = window.network.receiving
    assert receiving is not None
    receiving.listen_host = "127.0.0.1"
    window.commands.receive_images.trigger()
    qtbot.waitUntil(lambda: receiving.running is not None, timeout=60_000)
    assert receiving.indicator.text() == f"Receiving as VEIL on port {port} over TLS"
    assert window.statusBar().currentMessage().startswith(f"Receiving images as VEIL on port {port}, over TLS, from")
    assert "over TLS" in receiving.indicator.toolTip()
    window.commands.receive_images.trigger()
    qtbot.waitUntil(lambda: not receiving.stopping and not receiving.indicator.isVisible(), timeout=60_000)


def test_a_bad_ae_title_saves_neither_it_nor_the_tls_files(qtbot, home, tmp_path: Path):  # noqa: ANN001
    """Save checks every setting of the section before it keeps any: one that is wrong (here an
    AE title of 17 characters, over PS3.5's 16) leaves the TLS files unsaved too."""
    certificates = make_certificates(tmp_path / "tls")
    dialog = NodesDialog(home)
    qtbot.addWidget(dialog)
    dialog.aet_edit.setText("A" * 17)
    dialog.receive_tls.tls_box.setChecked(True)
    dialog.receive_tls.cert_edit.setText(str(certificates.server_cert))
    dialog.receive_tls.key_edit.setText(str(certificates.server_key))
    dialog.save_own()
    assert dialog.status.property("role") == "danger" and "AE title" in dialog.status.text()
    assert listen_settings(home).tls is None
    dialog.close()
