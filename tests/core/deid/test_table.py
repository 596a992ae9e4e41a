"""Table E.1-1 as data: the rows, the patterns, and how options override the basic profile."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from desktop.core.common.errors import VeilError
from desktop.core.common.resources import resource_path
from desktop.core.deid.table import BASIC, OPTIONS, decide, load_table

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "ps3.15-annex-e-table-e.1-1.json"
#: SHA-256 of DICOM PS3.15 Table E.1-1 (2024e) as data, the file the team was given.
TABLE_SHA256 = "a99a35d1278e2bace8d90ff791b11aea2d45f1e3e1230388eb5224c9dbcd29e6"


def test_the_whole_table_is_read_from_resources():
    table = load_table()
    assert len(table.rows) == 621
    assert {r.basic for r in table.rows} == {"X", "D", "U", "Z", "X/D", "X/Z", "X/Z/D", "Z/D", "X/Z/U*"}


def test_the_copy_in_resources_is_the_standards_table():
    ours = resource_path("deid", SHARED.name).read_bytes()
    assert hashlib.sha256(ours).hexdigest() == TABLE_SHA256
    if SHARED.exists():  # beside the team's checkout: the reference itself, byte for byte
        assert ours == SHARED.read_bytes()


@pytest.mark.parametrize("tag, action", [
    (0x00100010, "Z"),      # Patient's Name
    (0x00100020, "Z/D"),    # Patient ID (Z, or a dummy where the IOD makes it Type 1)
    (0x00080050, "Z"),      # Accession Number
    (0x00080018, "U"),      # SOP Instance UID
    (0x0020000D, "U"),      # Study Instance UID
    (0x00181000, "X/Z/D"),  # Device Serial Number
    (0x00080080, "X/Z/D"),  # Institution Name
])
def test_basic_profile_actions_of_well_known_attributes(tag, action):
    decision = decide(load_table(), tag)
    assert decision is not None and decision.action == action and decision.rule == BASIC


def test_group_patterns_cover_overlays_and_curves():
    table = load_table()
    assert decide(table, 0x60003000).action == "X"      # Overlay Data, group 6000
    assert decide(table, 0x601E4000).action == "X"      # Overlay Comments, group 601E
    assert decide(table, 0x50102000).action == "X"      # a curve attribute
    assert decide(table, 0x60000010) is None            # Overlay Rows: not in the table


def test_private_attributes_are_removed_unless_safe_private_is_retained():
    table = load_table()
    private = decide(table, 0x00091001)                 # a GE private attribute
    assert private.action == "X" and private.row.name == "Private Attributes"
    assert decide(table, 0x00091001, {"retain_safe_private"}).action == "C"
    assert decide(table, 0x00100010).row.name == "Patient's Name"  # even groups are not private


def test_options_override_the_basic_action_as_their_columns_say():
    table = load_table()
    assert decide(table, 0x00181000, {"retain_device_identity"}).action == "K"
    assert decide(table, 0x00181000, {"retain_device_identity"}).rule == OPTIONS["retain_device_identity"][1]
    assert decide(table, 0x00080080, {"retain_institution_identity"}).action == "K"
    assert decide(table, 0x00080020, {"retain_full_dates"}).action == "K"      # Study Date
    assert decide(table, 0x00080020, {"retain_modified_dates"}).action == "C"
    assert decide(table, 0x0020000D, {"retain_uids"}).action == "K"
    assert decide(table, 0x00101010, {"retain_patient_characteristics"}).action == "K"  # Patient's Age
    assert decide(table, 0x00081030, {"clean_descriptors"}).action == "C"      # Study Description
    assert decide(table, 0x00081030).action == "X"                              # ...removed otherwise


def test_every_option_changes_something_and_unknown_options_are_refused():
    table = load_table()
    for option in OPTIONS:
        assert any(option in row.options for row in table.rows), option
    with pytest.raises(VeilError, match="Unknown de-identification option"):
        decide(table, 0x00100010, {"retain_everything"})
