"""Send to a DICOMweb server from the Export Package wizard, against a real Orthanc with its
DICOMweb plugin and HTTP basic sign-in: the recipients page lists the server by its URL and says
the images travel unencrypted over http (encrypted over https); Send stores them by STOW-RS,
de-identified (no identifier of the planted patient in what Orthanc holds); the result page and
the accounting of disclosures name the server; a wrong password is said plainly, nothing is
stored and nothing is accounted for."""

from __future__ import annotations

import io

import pydicom
import pytest

from desktop.app.network.nodes import save_node
from desktop.core.network.nodes import DicomNode, TlsFiles, WebNode
from desktop.ui.share.send_page import NodeChoice, node_text, transit_text
from tests.conftest import teaching
from tests.orthanc import DICOMWEB_PLUGIN, DICOMWEB_SKIP, ORTHANC, SKIP_REASON, running_orthanc
from tests.planting import PATIENT, assert_no_identity
from tests.ui.share.test_send_to_node import _disclosures, _planted_study, _to_node, send_fails
from tests.ui.share_helpers import click, next_page, open_wizard, page_title, result_texts, wait_export

needs_web_orthanc = pytest.mark.skipif(ORTHANC is None or not DICOMWEB_PLUGIN.exists(),
                                       reason=SKIP_REASON if ORTHANC is None else DICOMWEB_SKIP)
PASSWORD = "Tr0ub4dor&3-web"  # noqa: S105 - the test server's password
NODE = "Research archive"


def _server(orthanc) -> WebNode:  # noqa: ANN001
    return WebNode(NODE, orthanc.dicomweb, "basic", "veil")


@needs_web_orthanc
def test_the_study_goes_to_the_server_de_identified_and_the_server_is_accounted_for(qtbot, window, home, tmp_path):
    with running_orthanc(tmp_path / "orthanc", dicomweb=True, user=("veil", PASSWORD)) as orthanc:
        study = _planted_study(qtbot, window, tmp_path)
        teaching(home)
        save_node(home, _server(orthanc), secret=PASSWORD)
        wizard = open_wizard(qtbot, window, PATIENT.family)
        choice = _to_node(qtbot, wizard)
        where = f"{NODE} (DICOMweb {orthanc.dicomweb} (basic: veil))"
        assert choice.combo.currentText() == where and choice.combo.isEnabled()
        assert choice.transit.isVisible() and choice.transit.property("role") == "warning"
        assert choice.transit.text().startswith("Not encrypted on the network (http, not https)")
        assert "the images and the password travel readable" in choice.transit.text()
        assert wizard.problem_label.text() == "" and wizard.recipients_page.node() == NODE
        next_page(qtbot, wizard)

        assert page_title(wizard) == "Check and send" and wizard.next_button.text() == "Send"
        summary = "\n".join(w.text() for w in wizard.output_page.findChildren(type(wizard.title)))
        assert f"{where}: named as the recipient" in summary and "Not encrypted on the network" in summary
        click(qtbot, wizard.next_button)
        wait_export(qtbot, wizard)

        shown = result_texts(wizard)
        assert f"✓ Sent 1 de-identified image(s) to {NODE}." in shown, shown
        assert where in shown and f"naming {where} as the recipient" in shown
        assert wizard.last_report.sent == 1 and wizard.last_report.disclosure is not None
        assert PASSWORD not in shown and PASSWORD not in home.audit_path.read_text()

        stored = orthanc.stored()
        assert len(stored) == 1
        ds = pydicom.dcmread(io.BytesIO(stored[0]))
        assert ds.StudyInstanceUID != study and "PixelData" in ds
        assert_no_identity(stored[0])
        assert _disclosures(home) == [f"{NODE} (DICOMweb {orthanc.dicomweb} (basic: veil)) for Residents' "
                                      "teaching file"]


@needs_web_orthanc
def test_a_wrong_password_is_said_and_nothing_leaves(qtbot, window, home, tmp_path):  # noqa: ANN001
    with running_orthanc(tmp_path / "orthanc", dicomweb=True, user=("veil", PASSWORD)) as orthanc:
        _planted_study(qtbot, window, tmp_path)
        teaching(home)
        save_node(home, _server(orthanc), secret="not-the-password")
        why = send_fails(qtbot, window, home)
        assert why == f"{NODE} refused the sign-in (HTTP 401): check the user name and password or token.", why
        assert orthanc.stored() == []


def test_the_transit_line_says_http_is_not_encrypted_and_https_is(qtbot):
    plain = WebNode("Plain", "http://pacs.example.org/dicom-web")
    signed = WebNode("Signed", "http://pacs.example.org/dicom-web", "bearer")
    secure = WebNode("Secure", "https://pacs.example.org/dicom-web", "basic", "veil")
    dimse_tls = DicomNode("TLS node", "PACS", "pacs.example.org", 2762, TlsFiles("/etc/ca.pem"))
    assert transit_text(plain) == ("Not encrypted on the network (http, not https): the images travel readable; "
                                   "send only inside the hospital's network.", "warning")
    assert transit_text(signed)[0].startswith("Not encrypted on the network (http, not https): the images and the "
                                              "token travel readable")
    assert transit_text(secure) == ("Encrypted on the network (HTTPS).", "")
    assert transit_text(dimse_tls) == ("Encrypted on the network (TLS).", "")
    assert node_text(secure) == "Secure (DICOMweb https://pacs.example.org/dicom-web (basic: veil))"

    choice = NodeChoice()
    qtbot.addWidget(choice)
    choice.show()
    choice.set_nodes([plain, secure])
    assert [choice.combo.itemText(i) for i in range(2)] == [node_text(plain), node_text(secure)]
    choice.radio.setChecked(True)
    assert choice.node() == "Plain" and choice.transit.property("role") == "warning"
    choice.combo.setCurrentIndex(1)
    assert choice.node() == "Secure" and choice.problem() is None
    assert choice.transit.text() == "Encrypted on the network (HTTPS)." and choice.transit.property("role") == "muted"
