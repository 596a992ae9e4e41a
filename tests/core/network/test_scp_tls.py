"""Veil's storage SCP over TLS (PS3.15 B.1): a sender over TLS is kept; a plain-TCP sender is
not; with a CA, a sender without a client certificate, or with one another CA signed, is
refused; stopping ends cleanly with an association open and with a TLS connection that never
asked to associate (pytest fails a test on an exception in any thread); a bad file is named."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from pathlib import Path

import pydicom
import pytest
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from desktop.core.network.nodes import NodeError
from desktop.core.network.scp import StorageServer
from desktop.core.network.server_tls import ServerTls, server_tls_context
from tests.conftest import pydicom_test_files
from tests.orthanc import free_port
from tests.tls_certs import Certificates, make_certificates


class Kept:
    """What the server kept, and how each association ended."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.ended_with: list[bool] = []
        self.ended = threading.Event()

    def keep(self, name: str, data: bytes) -> None:
        self.kept.append(name)

    def ended_as(self, whole: bool) -> None:
        self.ended_with.append(whole)
        self.ended.set()


class _Receiver:
    def __init__(self, into: Kept) -> None:
        self.into = into

    def keep(self, name: str, data: bytes) -> None:
        self.into.keep(name, data)

    def ended(self, whole: bool) -> None:
        self.into.ended_as(whole)


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "tls")


def _server(certificates: Certificates, kept: Kept, mutual: bool = False) -> StorageServer:
    tls = ServerTls(str(certificates.server_cert), str(certificates.server_key),
                    str(certificates.ca) if mutual else "")
    server = StorageServer("VEIL", free_port(), lambda _peer: _Receiver(kept), host="127.0.0.1", timeout=5,
                           tls=server_tls_context(tls))
    server.start()
    return server


def _client_context(ca: Path, certificate: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    if certificate is not None:
        context.load_cert_chain(str(certificate), str(key))
    return context


def _send(port: int, context: ssl.SSLContext | None) -> bool:
    """Associate (over TLS when ``context``), send CT_small.dcm and release: whether it was kept."""
    ae = AE(ae_title="SENDER")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", port, ae_title="VEIL",
                         tls_args=(context, "localhost") if context is not None else None)
    if not assoc.is_established:
        return False
    status = assoc.send_c_store(pydicom.dcmread(pydicom_test_files() / "CT_small.dcm"))
    if not assoc.is_established:
        return False
    assoc.release()
    return bool(status) and status.Status == 0x0000


def test_a_sender_over_tls_is_kept(certificates: Certificates):
    kept = Kept()
    server = _server(certificates, kept)
    try:
        assert _send(server.port, _client_context(certificates.ca)) is True
        assert kept.ended.wait(10)
        assert kept.kept and kept.ended_with == [True]
    finally:
        assert server.stop(timeout=10)


def test_a_plain_tcp_sender_is_not_kept(certificates: Certificates):
    kept = Kept()
    server = _server(certificates, kept)
    try:
        assert _send(server.port, None) is False
        assert kept.kept == []
    finally:
        assert server.stop(timeout=10)


def test_with_a_ca_a_client_certificate_is_required_and_must_be_signed_by_it(certificates: Certificates,
                                                                             tmp_path: Path):
    other = make_certificates(tmp_path / "other", "Other CA")
    kept = Kept()
    server = _server(certificates, kept, mutual=True)
    try:
        assert _send(server.port, _client_context(certificates.ca)) is False
        assert _send(server.port, _client_context(certificates.ca, other.client_cert, other.client_key)) is False
        assert kept.kept == []
        assert _send(server.port, _client_context(certificates.ca, certificates.client_cert,
                                                  certificates.client_key)) is True
        assert kept.ended.wait(10)
        assert len(kept.kept) == 1 and kept.ended_with == [True]
    finally:
        assert server.stop(timeout=10)


def test_stopping_with_an_association_open_over_tls_ends_cleanly(certificates: Certificates):
    kept = Kept()
    server = _server(certificates, kept)
    ae = AE(ae_title="SENDER")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", server.port, ae_title="VEIL",
                         tls_args=(_client_context(certificates.ca), "localhost"))
    assert assoc.is_established
    assert assoc.send_c_store(pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")).Status == 0x0000
    assert server.stop(timeout=10) is True
    assert kept.ended_with == [False]  # not whole: nothing of it is imported
    assoc.join(10)  # pynetdicom's reactor ends at the provider abort
    assert assoc.is_aborted


def _wait_for_association(server: StorageServer):  # noqa: ANN202 - pynetdicom's Association
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server._server is not None and server._server.active_associations:
            return server._server.active_associations[0]
        time.sleep(0.05)
    raise AssertionError("the server never saw the connection")


@pytest.mark.parametrize("shakes_hands", [True, False], ids=["after-the-handshake", "before-the-handshake"])
def test_stopping_with_a_tls_connection_that_never_asked_to_associate(certificates: Certificates,
                                                                       shakes_hands: bool):
    """A TLS connection (or a bare TCP one, a port check) with no A-ASSOCIATE-RQ (Sta2): Veil
    hangs it up, and neither the acceptor nor the association thread raises."""
    kept = Kept()
    server = _server(certificates, kept)
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    waiting = _client_context(certificates.ca).wrap_socket(raw, server_hostname="localhost",
                                                           do_handshake_on_connect=shakes_hands)
    try:
        assoc = _wait_for_association(server)
        assert not assoc.is_established
        started = time.monotonic()
        assert server.stop(timeout=10) is True
        assert time.monotonic() - started < 4  # not held until the connection's ACSE timeout (5 s)
        try:
            assert waiting.recv(1) == b""  # Veil hung up
        except (ssl.SSLError, OSError):
            pass  # hung up mid-TLS: the same, as the sender sees it
        assoc.join(10)  # its thread ends (at its ACSE timeout) without an error
        assert not assoc.is_alive()
        assert kept.ended_with == [] and kept.kept == []
    finally:
        waiting.close()


def test_a_bare_connection_does_not_hold_up_other_senders(certificates: Certificates):
    """The handshake runs in each connection's own thread: one that never shakes hands (a port
    check) does not keep a real sender waiting."""
    kept = Kept()
    server = _server(certificates, kept)
    idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        assert _send(server.port, _client_context(certificates.ca)) is True
    finally:
        idle.close()
        assert server.stop(timeout=10)


def test_bad_files_are_named(certificates: Certificates, tmp_path: Path):
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(NodeError, match=r"Veil's TLS certificate \(.*missing.pem\) cannot be read"):
        server_tls_context(ServerTls(missing, str(certificates.server_key)))
    with pytest.raises(NodeError, match=r"Veil's TLS certificate \(.*server.key\) holds no PEM certificate"):
        server_tls_context(ServerTls(str(certificates.server_key), str(certificates.server_key)))
    with pytest.raises(NodeError, match=r"Veil's TLS key \(.*client.key\) does not belong to"):
        server_tls_context(ServerTls(str(certificates.server_cert), str(certificates.client_key)))
    with pytest.raises(NodeError, match=r"Veil's TLS key \(.*ca.pem\) is not an unencrypted PEM private key"):
        server_tls_context(ServerTls(str(certificates.server_cert), str(certificates.ca)))
    with pytest.raises(NodeError, match=r"The CA certificate for senders \(.*server.key\) holds no PEM"):
        server_tls_context(ServerTls(str(certificates.server_cert), str(certificates.server_key),
                                     str(certificates.server_key)))
    with pytest.raises(NodeError, match="both Veil's certificate and its key"):
        ServerTls(str(certificates.server_cert), "")
