"""Stopping Veil's storage SCP (the app quitting, Receive unticked, Ctrl+C on `veil listen`):
an import of what a sender released whole is waited for, never cut off by the exit (pynetdicom's
association threads are daemons); an association still sending is aborted, so its sender
knows, and its receiver hears that it was not whole."""

from __future__ import annotations

import socket
import threading
import time

import pydicom
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from desktop.core.network.scp import Peer, StorageServer
from tests.conftest import pydicom_test_files
from tests.orthanc import free_port


class SlowReceiver:
    """Keeps objects; its ``ended`` (the import, in the app) waits until the test lets it go."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.ended_with: list[bool] = []
        self.importing = threading.Event()
        self.let_go = threading.Event()

    def keep(self, name: str, data: bytes) -> None:
        self.kept.append(name)

    def ended(self, whole: bool) -> None:
        if whole:
            self.importing.set()
            self.let_go.wait(30)
        self.ended_with.append(whole)


def _server(receiver: SlowReceiver) -> StorageServer:
    def receiver_for(_peer: Peer) -> SlowReceiver:
        return receiver

    server = StorageServer("VEIL", free_port(), receiver_for, host="127.0.0.1", timeout=5)
    server.start()
    return server


def _associate(server: StorageServer):  # noqa: ANN202 - pynetdicom's Association
    ae = AE(ae_title="SENDER")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", server.port, ae_title="VEIL")
    assert assoc.is_established
    return assoc


def test_stopping_waits_for_the_import_of_what_was_released_whole():
    receiver = SlowReceiver()
    server = _server(receiver)
    assoc = _associate(server)
    status = assoc.send_c_store(pydicom.dcmread(pydicom_test_files() / "CT_small.dcm"))
    assert status.Status == 0x0000  # the sender is told the object is kept
    assoc.release()
    assert receiver.importing.wait(10)
    stopped = threading.Event()
    stopping = threading.Thread(target=lambda: server.stop() and stopped.set())
    stopping.start()
    time.sleep(1.0)
    assert not stopped.is_set()  # the import is still running: stop waits for it
    receiver.let_go.set()
    stopping.join(10)
    assert stopped.is_set() and receiver.ended_with == [True]


def test_a_stop_that_cannot_wait_long_enough_says_so():
    receiver = SlowReceiver()
    server = _server(receiver)
    assoc = _associate(server)
    assoc.send_c_store(pydicom.dcmread(pydicom_test_files() / "CT_small.dcm"))
    assoc.release()
    assert receiver.importing.wait(10)
    try:
        assert server.stop(timeout=0.5) is False
    finally:
        receiver.let_go.set()


def test_stopping_aborts_an_association_still_sending_and_keeps_nothing_of_it():
    receiver = SlowReceiver()
    server = _server(receiver)
    assoc = _associate(server)
    assert assoc.send_c_store(pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")).Status == 0x0000
    assert server.stop(timeout=10) is True
    assert receiver.ended_with == [False]  # not whole: the app discards it and audits the cut
    for _ in range(50):
        if assoc.is_aborted:
            break
        time.sleep(0.1)
    assert assoc.is_aborted  # the sender knows


def test_stopping_with_a_connection_that_has_not_yet_asked_to_associate_hangs_it_up():
    """A port check, or a sender between its connect and its A-ASSOCIATE-RQ (Sta2): an A-ABORT
    is not allowed there (PS3.8 Table 9-10), so Veil closes the connection; the association's
    thread ends without an error (pytest fails the test on an exception in any thread)."""
    receiver = SlowReceiver()
    server = _server(receiver)
    waiting = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        for _ in range(50):
            if server._server is not None and server._server.active_associations:
                break
            time.sleep(0.1)
        [assoc] = server._server.active_associations
        assert assoc.dul.state_machine.current_state == "Sta2"
        assert server.stop(timeout=10) is True
        assert waiting.recv(1) == b""  # Veil hung up
        for _ in range(50):
            if assoc.dul.state_machine.current_state == "Sta1":
                break
            time.sleep(0.1)
        assert assoc.dul.state_machine.current_state == "Sta1"  # the connection's end, handled without error
        assert receiver.ended_with == [] and receiver.kept == []
    finally:
        waiting.close()
