"""File > Network Nodes as a user uses it: add a node through the form (a bad AE title said in
the form), Test it against a real Orthanc (off the UI thread, the answer in the status line),
a node that refuses said plainly, edit, remove, and Veil's own AE title and storage port."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer

from desktop.app.network.listening import listen_settings
from desktop.app.network.nodes import list_nodes
from desktop.ui.network.nodes_dialog import NodeForm
from tests.orthanc import ORTHANC, SKIP_REASON, free_port, running_orthanc

pytestmark = pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON)
ECHO_MS = 30_000


def _fill_form_then(fill) -> None:  # noqa: ANN001 - fills the NodeForm that exec() opens, then saves it
    def act() -> None:
        from PySide6.QtWidgets import QApplication

        form = next(w for w in QApplication.topLevelWidgets() if isinstance(w, NodeForm) and w.isVisible())
        fill(form)

    QTimer.singleShot(0, act)


def test_add_test_edit_and_remove_a_node(qtbot, window, home, tmp_path):  # noqa: ANN001
    with running_orthanc(tmp_path / "orthanc", {"veil": ("VEIL", free_port())}) as orthanc:
        window.commands.network_nodes.trigger()
        dialog = window.network.nodes_dialog
        assert dialog is not None and dialog.isVisible()
        assert "No node yet" in dialog.status.text() and not dialog.test_button.isEnabled()

        def bad(form: NodeForm) -> None:
            form.name_edit.setText("PACS")
            form.aet_edit.setText("A" * 17)
            form.host_edit.setText("127.0.0.1")
            form._save()
            assert "at most 16" in form.problem.text() and form.isVisible()  # said in the form, not saved
            form.aet_edit.setText(orthanc.aet)
            form.port_spin.setValue(orthanc.dicom_port)
            form._save()

        _fill_form_then(bad)
        dialog.add()
        assert [n.name for n in list_nodes(home)] == ["PACS"] and dialog.table.rowCount() == 1
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "answered" in dialog.status.text(), timeout=ECHO_MS)
        assert dialog.status.text().startswith("PACS answered (C-ECHO, ORTHANC@127.0.0.1:")

        def closed_port(form: NodeForm) -> None:
            assert not form.name_edit.isEnabled() and form.aet_edit.text() == orthanc.aet
            form.port_spin.setValue(free_port())
            form._save()

        _fill_form_then(closed_port)
        dialog.edit_current()
        dialog.test_current()
        qtbot.waitUntil(lambda: "refused the connection" in dialog.status.text(), timeout=ECHO_MS)
        assert dialog.status.property("role") == "danger"

        dialog.aet_edit.setText("VEILTEACH")
        dialog.port_spin.setValue(11200)
        dialog.any_box.setChecked(True)
        dialog.save_own()
        settings = listen_settings(home)
        assert (settings.ae_title, settings.port, settings.allow_any) == ("VEILTEACH", 11200, True)
        dialog.aet_edit.setText("BAD\\AE")
        dialog.save_own()
        assert "backslash" in dialog.status.text()

        dialog.remove_current()
        assert list_nodes(home) == [] and dialog.table.rowCount() == 0
        dialog.close()


def test_add_and_test_a_dicomweb_server_with_a_password(qtbot, window, home, tmp_path, memory_keyring):  # noqa: ANN001
    from tests.orthanc import DICOMWEB_PLUGIN, DICOMWEB_SKIP

    if not DICOMWEB_PLUGIN.exists():
        pytest.skip(DICOMWEB_SKIP)
    password = "ui-Secret-42"  # noqa: S105 - the test server's password
    with running_orthanc(tmp_path / "orthanc", dicomweb=True, user=("veil", password)) as orthanc:
        window.commands.network_nodes.trigger()
        dialog = window.network.nodes_dialog

        def web(form: NodeForm) -> None:
            form.name_edit.setText("Web PACS")
            form.kind_combo.setCurrentIndex(1)
            assert form.pages.currentIndex() == 1
            form.url_edit.setText(orthanc.dicomweb)
            form.sign_in_combo.setCurrentIndex(1)
            form.user_edit.setText("veil")
            form._save()
            assert "Give the password" in form.problem.text() and form.isVisible()
            form.secret_edit.setText(password)
            form._save()

        _fill_form_then(web)
        dialog.add()
        assert dialog.table.item(0, 1).text() == "DICOMweb" and dialog.table.item(0, 2).text() == orthanc.dicomweb
        assert password in memory_keyring.secrets.values()
        dialog.test_current()
        qtbot.waitUntil(lambda: "answered" in dialog.status.text(), timeout=ECHO_MS)
        assert dialog.status.text().startswith("Web PACS answered (QIDO-RS, DICOMweb ")

        def keep_password(form: NodeForm) -> None:
            assert form.secret_edit.text() == "" and "unchanged" in form.secret_edit.placeholderText()
            form._save()

        _fill_form_then(keep_password)
        dialog.edit_current()
        dialog.test_current()
        qtbot.waitUntil(lambda: "answered" in dialog.status.text(), timeout=ECHO_MS)

        def wrong_password(form: NodeForm) -> None:
            form.secret_edit.setText("not-it")
            form._save()

        _fill_form_then(wrong_password)
        dialog.edit_current()
        dialog.test_current()
        qtbot.waitUntil(lambda: "refused the sign-in" in dialog.status.text(), timeout=ECHO_MS)
        dialog.close()
