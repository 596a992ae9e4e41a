"""Send to a DICOM node from the Export Package wizard, as a person does it, against
a real Orthanc: the node chosen on the recipients page, the send with progress, what Orthanc
stored read back (no identifier of the planted patient), the result page and the accounting of
disclosures naming the node; never for care; no node configured said on the choice; a node on
a closed port said plainly."""

from __future__ import annotations

import io
import urllib.request

import pydicom
import pytest

from desktop.app.network.nodes import save_node
from desktop.core.consent import Purpose
from desktop.core.network.nodes import DicomNode
from desktop.ui.share.result import RunPage
from desktop.ui.share.send_page import CARE_TO_NODE, NO_NODE, NodeChoice
from tests.conftest import pydicom_test_files, teaching
from tests.orthanc import ORTHANC, SKIP_REASON, free_port, running_orthanc
from tests.planting import PATIENT, assert_no_identity
from tests.planting.pixels import plant_file
from tests.ui.share_helpers import (
    click,
    import_folder,
    next_page,
    open_wizard,
    page_title,
    result_texts,
    tick,
    to_recipients,
    wait_export,
)
from tests.ui.ui_helpers import IMPORT_TIMEOUT_MS

needs_orthanc = pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON)
NODE = "Teaching PACS"


def _planted_study(qtbot, window, tmp_path) -> str:  # noqa: ANN001
    """The planted patient's CT in the library (header identity, overlays, icon): its study UID."""
    planted = plant_file(pydicom_test_files() / "CT_small.dcm", tmp_path / "in", hidden_bits=False, comments=False)
    import_folder(qtbot, window, tmp_path / "in")
    return str(pydicom.dcmread(planted.path, stop_before_pixels=True).StudyInstanceUID)


def _stored(orthanc) -> list[bytes]:  # noqa: ANN001
    out = []
    for instance in orthanc.rest("GET", "/instances"):
        with urllib.request.urlopen(f"{orthanc.url}/instances/{instance}/file", timeout=30) as answer:  # noqa: S310
            out.append(answer.read())
    return out


def _disclosures(home) -> list[str]:  # noqa: ANN001
    conn = home.connect()
    try:
        return [str(r[0]) for r in conn.execute("SELECT recipient FROM disclosures")]
    finally:
        conn.close()


def _to_node(qtbot, wizard) -> NodeChoice:  # noqa: ANN001
    """From the purpose page to the recipients page; the nodes read; the node choice ticked."""
    wizard.purpose_page.form.recipient.setText("Residents' teaching file")
    qtbot.waitUntil(lambda: not wizard.consent_pending, timeout=IMPORT_TIMEOUT_MS)
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    assert page_title(wizard) == "Redaction review"
    if wizard.redaction_page.confirm.isVisible():
        tick(qtbot, wizard.redaction_page.confirm)  # looked at: as for every other exit
    next_page(qtbot, wizard)
    assert page_title(wizard) == "Recipients"
    choice = wizard.recipients_page.node_choice
    qtbot.waitUntil(lambda: choice.loaded, timeout=IMPORT_TIMEOUT_MS)
    tick(qtbot, choice.radio)
    assert choice.radio.isChecked(), choice.radio.toolTip()
    return choice


@needs_orthanc
def test_the_study_goes_to_the_node_de_identified_and_the_node_is_accounted_for(qtbot, window, home, tmp_path):
    with running_orthanc(tmp_path / "orthanc", {"veil": ("VEIL", free_port())}) as orthanc:
        study = _planted_study(qtbot, window, tmp_path)
        teaching(home)
        save_node(home, DicomNode(NODE, orthanc.aet, "127.0.0.1", orthanc.dicom_port))
        wizard = open_wizard(qtbot, window, PATIENT.family)
        choice = _to_node(qtbot, wizard)
        where = f"{NODE} (ORTHANC@127.0.0.1:{orthanc.dicom_port})"
        assert choice.combo.currentText() == where and choice.combo.isEnabled()
        assert "Not encrypted on the network" in choice.transit.text()
        assert wizard.problem_label.text() == "" and wizard.recipients_page.node() == NODE
        next_page(qtbot, wizard)

        assert page_title(wizard) == "Check and send" and not wizard.output_page.path_edit.isVisible()
        assert wizard.next_button.text() == "Send" and wizard.steps[6].text().endswith("Send")
        assert "About to send" in [w.text() for w in wizard.output_page.findChildren(type(wizard.title))]
        summary = "\n".join(w.text() for w in wizard.output_page.findChildren(type(wizard.title)))
        assert f"{where}: named as the recipient" in summary and "Who can open it" not in summary
        click(qtbot, wizard.next_button)
        wait_export(qtbot, wizard)

        shown = result_texts(wizard)
        assert f"✓ Sent 1 de-identified image(s) to {NODE}." in shown, shown
        assert where in shown and f"naming {where} as the recipient" in shown
        assert not wizard.back_button.isVisible() and wizard.close_button.text() == "Close"  # sent: final
        assert wizard.last_report.sent == 1 and wizard.last_report.disclosure is not None
        # The Redaction page's review (OCR) is the one the send kept: the images were read once.
        assert wizard.last_report.review is wizard.redaction_page.panel.review is not None

        stored = _stored(orthanc)
        assert len(stored) == 1
        ds = pydicom.dcmread(io.BytesIO(stored[0]))
        assert ds.StudyInstanceUID != study and "PixelData" in ds
        assert_no_identity(stored[0])
        recipients = _disclosures(home)
        assert len(recipients) == 1 and recipients[0].startswith(f"{NODE} (DICOM node ORTHANC@127.0.0.1:")


@needs_orthanc
def test_care_never_chooses_the_node(qtbot, window, home, tmp_path):
    with running_orthanc(tmp_path / "orthanc") as orthanc:
        _planted_study(qtbot, window, tmp_path)
        teaching(home)
        save_node(home, DicomNode(NODE, orthanc.aet, "127.0.0.1", orthanc.dicom_port))
        wizard = open_wizard(qtbot, window, PATIENT.family)
        choice = _to_node(qtbot, wizard)  # teaching: offered, and chosen
        for _ in range(3):
            click(qtbot, wizard.back_button)
        assert page_title(wizard) == "Purpose and consent"
        form = wizard.purpose_page.form
        form.combo.setCurrentIndex(list(Purpose).index(Purpose.CARE))
        form.recipient.setText("Dr Bob")
        assert not choice.radio.isEnabled() and not choice.radio.isChecked()
        assert wizard.recipients_page.contacts_radio.isChecked() and wizard.recipients_page.node() is None
        assert choice.radio.toolTip() == CARE_TO_NODE == choice.note.text()
        assert CARE_TO_NODE.startswith("Care goes as a package encrypted to the colleague")
        tick(qtbot, choice.radio)  # a click on the disabled choice does nothing
        assert not choice.radio.isChecked() and wizard.recipients_page.node() is None
        assert _stored(orthanc) == []


def test_without_a_node_the_choice_says_where_to_add_one(qtbot, window, home, tmp_path):
    _planted_study(qtbot, window, tmp_path)
    teaching(home)
    wizard = open_wizard(qtbot, window, PATIENT.family)
    wizard.purpose_page.form.recipient.setText("Residents' teaching file")
    qtbot.waitUntil(lambda: not wizard.consent_pending, timeout=IMPORT_TIMEOUT_MS)
    to_recipients(qtbot, wizard)
    choice = wizard.recipients_page.node_choice
    qtbot.waitUntil(lambda: choice.loaded, timeout=IMPORT_TIMEOUT_MS)
    assert not choice.radio.isEnabled() and not choice.combo.isVisible()
    assert choice.note.text() == NO_NODE == "No DICOM node configured — File > Network Nodes"
    assert choice.radio.toolTip() == NO_NODE


def test_a_node_once_chosen_has_no_problem_left(qtbot):
    choice = NodeChoice()
    qtbot.addWidget(choice)
    choice.show()
    choice.set_nodes([DicomNode(NODE, "PACS", "127.0.0.1", 104)])
    assert choice.node() is None  # not ticked: the images go elsewhere
    choice.radio.setChecked(True)
    assert choice.problem() is None and choice.node() == NODE


@needs_orthanc
def test_a_node_on_a_closed_port_is_said_plainly(qtbot, window, home, tmp_path):
    _planted_study(qtbot, window, tmp_path)
    teaching(home)
    port = free_port()  # nothing listens there
    save_node(home, DicomNode("Closed PACS", "NOBODY", "127.0.0.1", port))
    why = send_fails(qtbot, window, home)
    assert "Closed PACS" in why and f"127.0.0.1:{port}" in why and "refused the connection" in why, why


def send_fails(qtbot, window, home) -> str:  # noqa: ANN001
    """Send the planted study to the node chosen in the wizard, expecting a failure: what the
    result page says; no disclosure (nothing reached the node) and no write left pending."""
    wizard = open_wizard(qtbot, window, PATIENT.family)
    _to_node(qtbot, wizard)
    next_page(qtbot, wizard)
    click(qtbot, wizard.next_button)
    wait_export(qtbot, wizard)
    shown = result_texts(wizard)
    assert "Send failed." in shown, shown
    assert wizard.back_button.isVisible() and wizard.last_report is None
    assert _disclosures(home) == []  # refused before anything left: nothing owed
    conn = home.connect()
    try:
        assert conn.execute("SELECT COUNT(*) FROM write_intents WHERE state = 'pending'").fetchone()[0] == 0
    finally:
        conn.close()
    return str(wizard.run_page.findChild(type(wizard.title), "ExportError").text())


def test_the_send_shows_its_phases_and_what_a_cancel_leaves(qtbot):
    page = RunPage()
    qtbot.addWidget(page)
    page.show()
    page.start(None, True, NODE, f"{NODE} (PACS@127.0.0.1:104)")
    for done in (1, 3):
        page.set_progress(done, 3)
        assert page.progress_label.text() == "De-identifying the images…"
    page.set_progress(1, 3)  # the images counted again: now they leave
    assert page.progress_label.text() == f"Sending to {NODE}…" and page.progress_bar.value() == 333
    page.cancelling()
    assert page.progress_label.text() == "Cancelling… (images already sent stay on the node)"
    page.show_stopped("The send was cancelled; nothing was sent.", cancelled=True)
    assert page.headline.text() == "Send cancelled." and page.findChild(type(page.headline), "SendLeft").text() == (
        "Nothing was sent.")
