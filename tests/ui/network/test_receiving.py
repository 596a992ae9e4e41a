"""File > Receive Images from the Network as a radiologist uses it, against a real Orthanc: off
when Veil opens (nothing listens); ticked, the status bar says as whom and on which port Veil
receives and from whom; Orthanc pushes a study (its /modalities/{id}/store) and it appears in
the browser with "Received ... from ORTHANC"; a sender that is not a configured node is
refused; a port already in use, or no node allowed to send, is said plainly and the action
unticks; unticking, or closing the window, frees the port."""

from __future__ import annotations

import json
import socket
import urllib.error
from collections.abc import Iterator

import pydicom
import pytest
from PySide6.QtWidgets import QApplication

from benchmarks.synthetic import write_series
from desktop.app.library.home import VeilHome
from desktop.app.network.listening import set_listen_settings
from desktop.app.network.nodes import save_node
from desktop.core.network.nodes import DicomNode
from desktop.ui.common import background
from desktop.ui.main_window import MainWindow
from desktop.ui.network.receiving import Receiving
from tests.conftest import instance_count, pydicom_test_files
from tests.orthanc import ORTHANC, SKIP_REASON, Orthanc, free_port, running_orthanc
from tests.ui.ui_helpers import message_boxes

pytestmark = pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON)
NETWORK_MS = 60_000
IMAGES = 6


@pytest.fixture(scope="module")
def pacs(tmp_path_factory) -> Iterator[tuple[Orthanc, int, str, str]]:  # noqa: ANN001
    """Orthanc knowing Veil as VEIL on a free port, holding one study: (Orthanc, Veil's port,
    the study's UID, its Orthanc id)."""
    tmp = tmp_path_factory.mktemp("pacs")
    port = free_port()
    with running_orthanc(tmp / "orthanc", {"veil": ("VEIL", port)}) as orthanc:
        paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp / "ct", IMAGES, "Quisenberry^Marguerite",
                             "QX4471902")
        ids = [orthanc.upload(path) for path in paths]
        study = orthanc.rest("GET", f"/instances/{ids[0]}/study")
        assert isinstance(study, dict)
        yield orthanc, port, str(pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID), study["ID"]


def _push(orthanc: Orthanc, study_id: str) -> None:
    """Orthanc sends the study to Veil (C-STORE), waiting for the end."""
    orthanc.rest("POST", "/modalities/veil/store", json.dumps({"Resources": [study_id], "Synchronous": True}).encode())


def _listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def _receiver(window: MainWindow, home: VeilHome, port: int, sender: DicomNode | None,
              allow_any: bool = False) -> Receiving:
    set_listen_settings(home, port, allow_any=allow_any)
    if sender is not None:
        save_node(home, sender)
    receiving = window.network.receiving
    assert receiving is not None
    receiving.listen_host = "127.0.0.1"  # loopback in the tests; the app listens on every interface
    return receiving


def _tick(qtbot, window: MainWindow, receiving: Receiving) -> None:  # noqa: ANN001
    window.commands.receive_images.trigger()
    assert window.commands.receive_images.isChecked()
    qtbot.waitUntil(lambda: receiving.running is not None, timeout=NETWORK_MS)


def _untick(qtbot, window: MainWindow, receiving: Receiving) -> None:  # noqa: ANN001
    window.commands.receive_images.trigger()
    assert not window.commands.receive_images.isChecked()
    qtbot.waitUntil(lambda: not receiving.stopping and not receiving.indicator.isVisible(), timeout=NETWORK_MS)


def test_orthanc_pushes_a_study_and_the_browser_shows_it(qtbot, window, home, pacs):  # noqa: ANN001
    orthanc, port, study_uid, study_id = pacs
    receiving = _receiver(window, home, port, DicomNode("PACS", orthanc.aet, "127.0.0.1", orthanc.dicom_port))
    action = window.commands.receive_images
    assert action.isCheckable() and not action.isChecked() and action.isEnabled()
    assert action in window.menuBar().actions()[0].menu().actions()  # File > Receive Images from the Network
    assert not _listens(port) and not receiving.indicator.isVisible()  # never bound unasked

    _tick(qtbot, window, receiving)
    indicator = receiving.indicator
    assert indicator.isVisible() and indicator.text() == f"Receiving as VEIL on port {port}"
    assert "the configured nodes only: PACS (ORTHANC)" in indicator.toolTip()
    assert any("PACS (ORTHANC)" in a.text() for a in indicator.menu().actions())
    assert _listens(port)

    _push(orthanc, study_id)
    qtbot.waitUntil(lambda: window.catalogue is not None and any(s.study_uid == study_uid
                                                                 for s in window.catalogue.studies),
                    timeout=NETWORK_MS)
    assert window.pages.currentWidget() is window.browser and window.browser.visible_study_count() == 1
    said = window.statusBar().currentMessage()
    assert said == f"Received {IMAGES} image(s) from ORTHANC ({IMAGES} new).", said
    assert f"Last: {said}" in indicator.toolTip()

    _push(orthanc, study_id)  # again: recognised, nothing added
    qtbot.waitUntil(lambda: "already in the library" in window.statusBar().currentMessage(), timeout=NETWORK_MS)
    assert window.statusBar().currentMessage() == (
        f"Received {IMAGES} image(s) from ORTHANC (0 new, {IMAGES} already in the library).")

    _untick(qtbot, window, receiving)
    assert not _listens(port) and receiving.running is None
    assert window.statusBar().currentMessage() == "Stopped receiving images."


def test_a_sender_that_is_not_a_configured_node_is_refused(qtbot, window, home, pacs):  # noqa: ANN001
    orthanc, port, _study_uid, study_id = pacs
    receiving = _receiver(window, home, port, DicomNode("Elsewhere", "ELSEWHERE", "127.0.0.1", 104))
    _tick(qtbot, window, receiving)
    assert "the configured nodes only: Elsewhere (ELSEWHERE)" in receiving.indicator.toolTip()
    with pytest.raises(urllib.error.HTTPError):
        _push(orthanc, study_id)
    QApplication.processEvents()
    assert window.catalogue is not None and window.catalogue.empty
    assert "Received" not in window.statusBar().currentMessage()
    _untick(qtbot, window, receiving)


def test_any_sender_when_the_user_allows_it(qtbot, window, home, pacs):  # noqa: ANN001
    orthanc, port, study_uid, study_id = pacs
    receiving = _receiver(window, home, port, None, allow_any=True)
    _tick(qtbot, window, receiving)
    assert "any sender" in receiving.indicator.toolTip()
    _push(orthanc, study_id)
    qtbot.waitUntil(lambda: window.catalogue is not None and any(s.study_uid == study_uid
                                                                 for s in window.catalogue.studies),
                    timeout=NETWORK_MS)
    _untick(qtbot, window, receiving)


def test_a_port_in_use_is_said_and_the_action_unticks(qtbot, window, home, pacs):  # noqa: ANN001
    orthanc = pacs[0]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        receiving = _receiver(window, home, port, DicomNode("PACS", orthanc.aet, "127.0.0.1", orthanc.dicom_port))
        window.commands.receive_images.trigger()
        qtbot.waitUntil(lambda: bool(message_boxes("ErrorBox")), timeout=NETWORK_MS)
    box = message_boxes("ErrorBox")[0]
    assert f"Veil cannot listen on port {port}" in box.text() and "File > Network Nodes" in box.text(), box.text()
    assert not window.commands.receive_images.isChecked()
    assert receiving.running is None and not receiving.starting and not receiving.indicator.isVisible()
    box.close()


def test_no_node_may_send_is_said_and_the_action_unticks(qtbot, window, home):  # noqa: ANN001
    port = free_port()
    receiving = _receiver(window, home, port, None)
    window.commands.receive_images.trigger()
    qtbot.waitUntil(lambda: bool(message_boxes("ErrorBox")), timeout=NETWORK_MS)
    box = message_boxes("ErrorBox")[0]
    assert "No node may send images to Veil yet" in box.text() and "File > Network Nodes" in box.text()
    assert not window.commands.receive_images.isChecked() and receiving.running is None
    assert not _listens(port)
    box.close()


def test_new_settings_restart_the_receiver(qtbot, window, home, pacs):  # noqa: ANN001
    orthanc, port, _study_uid, _study_id = pacs
    receiving = _receiver(window, home, port, DicomNode("PACS", orthanc.aet, "127.0.0.1", orthanc.dicom_port))
    _tick(qtbot, window, receiving)
    other = free_port()
    window.commands.network_nodes.trigger()  # File > Network Nodes: another storage port, saved, closed
    dialog = window.network.nodes_dialog
    assert dialog is not None
    dialog.port_spin.setValue(other)
    dialog.save_own()
    dialog.close()
    qtbot.waitUntil(lambda: receiving.running is not None and receiving.running.server.port == other,
                    timeout=NETWORK_MS)
    assert receiving.indicator.text() == f"Receiving as VEIL on port {other}"
    assert window.commands.receive_images.isChecked() and _listens(other) and not _listens(port)
    _untick(qtbot, window, receiving)


def test_closing_the_window_stops_receiving(qtbot, window, home, pacs):  # noqa: ANN001
    orthanc, port, _study_uid, _study_id = pacs
    receiving = _receiver(window, home, port, DicomNode("PACS", orthanc.aet, "127.0.0.1", orthanc.dicom_port))
    _tick(qtbot, window, receiving)
    assert _listens(port)
    window.close()
    assert background.wait_for_all(NETWORK_MS)
    QApplication.processEvents()
    assert not _listens(port) and not window.commands.receive_images.isChecked()


def test_closing_the_window_while_a_received_study_imports_waits_for_it(qtbot, window, home, monkeypatch):  # noqa: ANN001
    """A sender was told its images are stored (C-STORE success, released whole), and Veil is
    still importing them when the radiologist closes the window: the window stays, says so, and
    closes once they are in the library, however long that takes; quitting never cuts it off."""
    import threading

    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

    import desktop.app.network.listening as listening

    port = free_port()
    receiving = _receiver(window, home, port, None, allow_any=True)
    importing, let_go = threading.Event(), threading.Event()
    real = listening.import_members

    def slow_import(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        importing.set()
        assert let_go.wait(NETWORK_MS / 1000)
        return real(*args, **kwargs)

    monkeypatch.setattr(listening, "import_members", slow_import)
    _tick(qtbot, window, receiving)
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", port, ae_title="VEIL")
    assert assoc.is_established
    ct = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    assert assoc.send_c_store(ct).Status == 0x0000  # the sender is told it is stored
    assoc.release()
    assert importing.wait(NETWORK_MS / 1000)

    window.show()
    window.close()
    QApplication.processEvents()
    assert window.isVisible()  # not closed: the import is still running
    assert "importing what was received" in window.statusBar().currentMessage()
    let_go.set()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=NETWORK_MS)
    assert not _listens(port) and not receiving.open
    assert instance_count(home) == 1  # in the library, as the sender was told
