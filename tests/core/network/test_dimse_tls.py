"""DICOM over TLS with a real Orthanc and certificates the test makes: the echo and a query
pass with the right CA; a certificate from another CA, and a node that asks for Veil's
certificate when none is given, each fail with a message that names TLS."""

from __future__ import annotations

import pytest

from desktop.core.network.dimse import echo
from desktop.core.network.nodes import DicomNode, NodeError, TlsFiles
from desktop.core.network.query import StudyQuery, find_studies
from tests.orthanc import ORTHANC, SKIP_REASON, free_port, running_orthanc
from tests.tls_certs import make_certificates

pytestmark = pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON)


@pytest.fixture(scope="module")
def tls_orthanc(tmp_path_factory):  # noqa: ANN201 - (orthanc, certificates)
    root = tmp_path_factory.mktemp("tls")
    certs = make_certificates(root / "certs")
    options = {"DicomTlsCertificate": str(certs.server_cert), "DicomTlsPrivateKey": str(certs.server_key),
               "DicomTlsTrustedCertificates": str(certs.ca), "DicomTlsRemoteCertificateRequired": True}
    with running_orthanc(root / "server", {"veil": ("VEIL", free_port())}, tls=options) as server:
        yield server, certs, root


def _node(orthanc, tls: TlsFiles | None) -> DicomNode:  # noqa: ANN001
    return DicomNode("Secure PACS", orthanc.aet, "127.0.0.1", orthanc.dicom_port, tls)


def test_echo_and_query_over_mutual_tls(tls_orthanc):  # noqa: ANN001
    orthanc, certs, _root = tls_orthanc
    node = _node(orthanc, TlsFiles(str(certs.ca), str(certs.client_cert), str(certs.client_key)))
    echo(node)
    assert find_studies(node, StudyQuery()).matches == []


def test_a_certificate_from_another_ca_does_not_verify(tls_orthanc):  # noqa: ANN001
    orthanc, certs, root = tls_orthanc
    other = make_certificates(root / "other", "Another CA")
    node = _node(orthanc, TlsFiles(str(other.ca), str(certs.client_cert), str(certs.client_key)))
    with pytest.raises(NodeError, match="its TLS certificate does not verify"):
        echo(node)


def test_a_node_that_asks_for_veils_certificate_refuses_none(tls_orthanc):  # noqa: ANN001
    orthanc, certs, _root = tls_orthanc
    with pytest.raises(NodeError, match="(refused|closed) the TLS connection.*client certificate"):
        echo(_node(orthanc, TlsFiles(str(certs.ca))))


def test_plain_tcp_to_a_tls_node_fails_plainly(tls_orthanc):  # noqa: ANN001
    orthanc, _certs, _root = tls_orthanc
    with pytest.raises(NodeError, match="whether it expects TLS"):
        echo(_node(orthanc, None))


def test_unreadable_tls_files_are_named(tmp_path):  # noqa: ANN001
    node = DicomNode("Secure PACS", "ORTHANC", "127.0.0.1", free_port(), TlsFiles(str(tmp_path / "missing.pem")))
    with pytest.raises(NodeError, match="refused the connection|TLS files of Secure PACS cannot be used"):
        echo(node)
