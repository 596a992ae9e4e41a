"""The purpose form on its own (no main window, no library): what it asks for as the purpose
changes, and the verdict it shows for a consent decision handed to it, as the purpose or the
recipient changes."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog, QLabel

from desktop.core.consent import Decision, Purpose, StudyResult
from desktop.ui.consent import purpose_form
from desktop.ui.consent.purpose_form import PurposeForm

CT = StudyResult("CT 2024-03-01 'CHEST'", "1.2.3", True, ("rec-1",))
MR = StudyResult("MR 2024-04-02 'HEAD'", "1.2.4", True, ("rec-1",))


def decision(purpose: Purpose, allowed: bool, *studies: StudyResult, limits: tuple[str, ...] = (),
             message: str = "") -> Decision:
    """A consent decision as the background check hands it to the form."""
    return Decision(purpose, allowed, studies or (CT,), ("rec-1",) if allowed else (), limits,
                    override_allowed=not allowed and purpose is Purpose.CARE, message=message)


@pytest.fixture
def form(qtbot) -> PurposeForm:
    widget = PurposeForm()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def choose(form: PurposeForm, purpose: Purpose) -> None:
    form.combo.setCurrentIndex(form.combo.findData(purpose))


def test_it_asks_for_what_each_purpose_needs(qtbot, form):
    assert form.current() is Purpose.TEACHING and form.recipient_label.text() == "Recipient"
    assert not form.protocol.isVisible()
    assert form.problem() == "Checking consent…" and form.purpose() is not None

    with qtbot.waitSignal(form.changed):
        choose(form, Purpose.CARE)
    assert form.recipient_label.text() == "Colleague" and not form.protocol.isVisible()
    assert form.problem() == "Name the colleague this is for." and form.purpose() is None
    assert form.check_key() is None  # nothing to check until the colleague is named

    choose(form, Purpose.RESEARCH)
    assert form.recipient_label.text() == "Recipient" and form.protocol.isVisible()
    assert form.problem() == "Give the research protocol's ID."
    form.protocol.setText(" ONC-2024-07 ")
    assert form.check_key() == (Purpose.RESEARCH, "", "ONC-2024-07")
    assert form.problem() == "Checking consent…"


def test_the_verdict_follows_the_decision_and_clears_when_the_purpose_changes(form):
    form.show_decision(decision(Purpose.TEACHING, True, CT, MR, limits=("No use on social media",)))
    assert form.verdict.text() == "✓ Consent allows teaching for all 2 studies."
    assert form.limits.isVisible() and form.limits.text() == "Limit set by the patient: No use on social media"
    assert not form.override_button.isVisible() and form.problem() is None

    choose(form, Purpose.PUBLICATION)
    assert form.verdict.text() == "Checking consent…" and form.decision is None
    assert not form.limits.isVisible()

    form.show_decision(decision(Purpose.PUBLICATION, False,
                                message="CT 2024-03-01 'CHEST': no consent or waiver for journal publication"))
    assert form.verdict.text() == "✗ CT 2024-03-01 'CHEST': no consent or waiver for journal publication"
    assert not form.override_button.isVisible()  # only care may be overridden
    assert form.problem() == "Consent does not allow this export (see Purpose and consent)."

    form.show_failure("the library is locked")
    assert form.verdict.text() == "Consent could not be checked: the library is locked"
    assert form.problem() == "Checking consent…"


def test_a_care_refusal_is_overridden_with_a_justification_until_the_recipient_changes(form, monkeypatch):
    choose(form, Purpose.CARE)
    form.recipient.setText("Dr Bob")
    form.show_decision(decision(Purpose.CARE, False, message="the care consent names Dr Anna Jones, not Dr Bob"))
    assert form.verdict.text() == "✗ the care consent names Dr Anna Jones, not Dr Bob"
    assert form.override_button.isVisible()

    def justify(box: purpose_form.OverrideDialog) -> QDialog.DialogCode:
        assert "the care consent names Dr Anna Jones, not Dr Bob" in [w.text() for w in box.findChildren(QLabel)]
        box.text.setPlainText("Patient transferred tonight; the on-call surgeon must see the scan.")
        assert box.ok.isEnabled()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(purpose_form.OverrideDialog, "exec", justify)
    assert form.ask_override()
    assert form.verdict.text().startswith("⚠ Overridden for the patient's care: Patient transferred tonight")
    assert not form.override_button.isVisible() and form.problem() is None
    assert form.purpose().justification.startswith("Patient transferred")

    form.recipient.setText("Dr Anna Jones")  # another colleague: the justification no longer holds
    assert form.justification == "" and form.verdict.text() == "Checking consent…"
    assert form.problem() == "Checking consent…"


def test_a_short_justification_does_not_unlock_the_override(qtbot):
    box = purpose_form.OverrideDialog("the care consent names Dr Anna Jones, not Dr Bob")
    qtbot.addWidget(box)
    box.text.setPlainText("asdf asdf")
    assert not box.ok.isEnabled()
    box.text.setPlainText("The on-call neurosurgeon needs the scan before surgery tonight.")
    assert box.ok.isEnabled()
