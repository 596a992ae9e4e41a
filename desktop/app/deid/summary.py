"""What a de-identification did, for its report: each action with its reason and the
attributes it applied to, never a value (PS3.15 E.1.1 asks that the effect be known; the
report must not carry identity).

The walk tallies ``(attribute, action, rule)`` for every element of every output
(:class:`desktop.core.deid.walker.Walker`); here the tallies become lines a person reads:
what was removed and why (the profile's rule, or the default deny for text no row governs),
what was cleaned, and which option kept each kept attribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Kept because nothing in them can identify anyone: not worth a line each.
_ROUTINE_KEPT = ("not in Table E.1-1: a standard attribute", "not in Table E.1-1: its items")
_ORDER = {"removed": 0, "emptied": 1, "replaced": 2, "cleaned": 3, "shifted": 4, "kept": 5}


@dataclass(frozen=True)
class SummaryLine:
    """One action for one reason, and the attributes (by name) it was applied to."""

    action: str
    why: str
    attributes: tuple[str, ...]
    count: int  # elements it was applied to, over every output

    def text(self, limit: int = 12) -> str:
        names = ", ".join(self.attributes[:limit])
        if len(self.attributes) > limit:
            names += f" and {len(self.attributes) - limit} more"
        return f"{self.action} ({self.why}): {names}"


def _reason(rule: str) -> str:
    """The rule without the detail that makes every attribute its own group."""
    head = rule.split(": X", 1)[0].split(": Z/", 1)[0]
    for marker in (" → ", "; pseudonym"):
        head = head.split(marker, 1)[0]
    return head.strip()


def summarise(actions: Mapping[tuple[str, str, str], int], routine: bool = False) -> list[SummaryLine]:
    """Group ``actions`` (``(attribute, action, rule) -> count``) by action and reason.

    Without ``routine``, standard attributes kept because no rule touches them are left out."""
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for (name, action, rule), count in actions.items():
        if not routine and action == "kept" and rule.startswith(_ROUTINE_KEPT):
            continue
        names = groups.setdefault((action, _reason(rule)), {})
        names[name] = names.get(name, 0) + count
    lines = [SummaryLine(action, why, tuple(sorted(names)), sum(names.values()))
             for (action, why), names in groups.items()]
    return sorted(lines, key=lambda line: (_ORDER.get(line.action, 9), line.why))
