"""What one de-identification run holds constant (the profile, Table E.1-1 of PS3.15, the
attribute Types of PS3.3, the safe private attributes of PS3.15 Table E.3.10-1) and what it
holds per patient (pseudonym and date shift)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from desktop.core.deid.attribute_types import AttributeTypes
from desktop.core.deid.profiles import Profile
from desktop.core.deid.safe_private import SafeKey
from desktop.core.deid.table import ConfidentialityTable, Decision, decide
from desktop.core.deid.text_policy import TextPolicy, load_text_policy


@dataclass(frozen=True)
class DeidSettings:
    """What stays the same for every instance of one run."""

    profile: Profile
    table: ConfidentialityTable
    types: AttributeTypes
    safe_private: frozenset[SafeKey]
    uid_key: bytes
    #: Elements written into every output after de-identification (e.g. the consent the export
    #: relies on, PS3.3 C.7.1.3): they are the export's, not the patient's, so never cleaned.
    extra: Dataset | None = None
    #: Attributes emptied under C, and public text kept (cleaned) without a row.
    text_policy: TextPolicy = field(default_factory=load_text_policy)
    #: Per tag: the table's decision under this profile (filled as tags are met).
    decisions: dict[int, Decision | None] = field(default_factory=dict, compare=False, repr=False)

    def decision(self, tag: int) -> Decision | None:
        try:
            return self.decisions[tag]
        except KeyError:
            found = self.decisions[tag] = decide(self.table, tag, self.profile.options)
            return found


@dataclass(frozen=True)
class PatientPlan:
    """The patient's pseudonym and date shift (whole days)."""

    pseudonym: str
    shift_days: int
