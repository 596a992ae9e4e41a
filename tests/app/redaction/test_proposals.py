"""Detection's proposals as the person reviews them (no Qt): one line per box of an image,
whatever number of frames it was found on, saying where, how large and what was read."""

from __future__ import annotations

from desktop.app.redaction.proposals import TEXT_SHOWN, ProposalGroup, group_proposals
from desktop.core.redaction.detect import Proposal


def test_the_same_box_on_many_frames_is_one_proposal():
    found = [Proposal(f, (2, 90, 30, 98), "text", "low", "Other text") for f in (3, 0, 1, 2, 3)]
    found.append(Proposal(0, (2, 2, 30, 10), "name", "high", "Matches the patient's name", text="DOE^JANE"))
    groups = group_proposals(found, 11, (100, 100, 4))
    assert [(g.risk, g.frames) for g in groups] == [("high", [0]), ("low", [0, 1, 2, 3])]  # high risk first
    assert groups[1].label() == "Low risk · text · bottom left, 28×8 px · frames 1–4\nOther text"
    assert groups[0].label() == ("High risk · name · top left, 28×8 px · frame 1\n"
                                 "“DOE^JANE” — Matches the patient's name")


def test_frames_that_are_not_consecutive_are_counted():
    group = ProposalGroup(1, (45, 45, 55, 55), "low", "text", "Other text", [0, 2, 7], (100, 100, 8))
    assert group.label() == "Low risk · text · centre, 10×10 px · 3 frames\nOther text"


def test_long_text_is_shortened_in_the_line_and_whole_in_the_tooltip():
    text = "X" * (TEXT_SHOWN + 10)
    group = ProposalGroup(1, (0, 0, 10, 10), "high", "id", "Matches the patient ID", [0], text=text)
    line = group.label().split("\n")[1]
    assert line == f"“{'X' * (TEXT_SHOWN - 1)}…” — Matches the patient ID"
    assert group.tooltip() == f"Text read: “{text}”\nMatches the patient ID"
    assert text not in repr(group)  # what was read may be the patient's identity: never in a log line


def test_no_text_read_shows_the_reason_alone():
    group = ProposalGroup(1, (0, 0, 10, 10), "low", "text", "Other text", [0])
    assert group.label() == "Low risk · text\nOther text" and group.tooltip() == "Other text"
