"""May this selection be exported for this purpose, and if not, why (HIPAA 45 CFR 164.508, GDPR Art. 9(2)).

Every selected series (or whole study, when the item names no series) must be allowed by at
least one record of the same patient that, on the export day,

- is valid (not pending, expired or withdrawn: withdrawal wins from its date on),
- lists the export's purpose (purposes are explicit; none implies another),
- covers the item: a record scoped to some series of a study does not cover the whole study,
- for research, names the export's protocol; for care, names the export's colleague
  (both compared ignoring case, spacing and full stops: "Dr. A  Jones" is "dr a jones"),
- and, if it is a "not required" site policy, the export is de-identified and not for care.

A waiver works like a consent for the purposes (and protocol) it lists. A study is refused
when any of its items is; the reason names what is missing, by the study's on-screen label.
Only a refusal for care can be overridden (:func:`override`), with a written justification.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from desktop.core.consent.errors import ConsentError
from desktop.core.consent.model import Basis, ConsentRecord, Purpose, RecordState, state_on


@dataclass(frozen=True)
class ExportItem:
    """One series (or a whole study when ``series_uid`` is None) in an export.

    The app should list every series of a whole-study selection: then a consent that covers
    only some of them is reported as "covers only 2 of 3 series".
    """

    patient_key: str
    study_uid: str
    series_uid: str | None
    label: str  # the study's on-screen name, e.g. "CT chest 2024-03-01"; used in messages

    def __post_init__(self) -> None:
        for name in ("patient_key", "study_uid", "label"):
            object.__setattr__(self, name, str(getattr(self, name) or "").strip())
        series = "" if self.series_uid is None else str(self.series_uid).strip()
        object.__setattr__(self, "series_uid", series or None)
        if not self.label:
            raise ConsentError("Each study in an export needs a label to show in messages.")
        if not self.patient_key or not self.study_uid:
            raise ConsentError(f"{self.label}: the export does not say which patient and study this is.")


@dataclass(frozen=True)
class ExportRequest:
    """What is to leave, for which purpose, on which day, to whom."""

    purpose: Purpose
    items: tuple[ExportItem, ...]
    deidentified: bool
    on: date
    colleague: str | None = None  # the recipient, for CARE
    protocol_id: str | None = None  # for RESEARCH

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "purpose", Purpose(self.purpose))
        except ValueError:
            raise ConsentError("The export's purpose is not one Veil knows.") from None
        object.__setattr__(self, "items", tuple(self.items))
        for name in ("colleague", "protocol_id"):
            value = str(getattr(self, name) or "").strip()
            object.__setattr__(self, name, value or None)
        if not self.items:
            raise ConsentError("Choose at least one study to export.")


@dataclass(frozen=True)
class StudyResult:
    """The decision for one study of the export."""

    label: str
    study_uid: str
    allowed: bool
    relied_on: tuple[str, ...] = ()  # ids of the records that allow (some of) its series
    reason: str = ""  # why it is refused, without the label

    @property
    def message(self) -> str:
        """``"<label>: <reason>"``, or ``"<label>: allowed"``."""
        return f"{self.label}: {self.reason if not self.allowed else 'allowed'}"


@dataclass(frozen=True)
class Decision:
    """The answer for a whole export."""

    purpose: Purpose
    allowed: bool
    studies: tuple[StudyResult, ...]
    relied_on: tuple[str, ...]  # every record id relied on, in order, once
    limits: tuple[str, ...]  # the free-text limits of those records, to show before export
    override_allowed: bool  # refused, and for care of the patient
    message: str  # a summary for a person, naming each refused study and what is missing
    overridden: bool = False
    justification: str = ""
    overridden_by: str = ""

    @property
    def refused(self) -> tuple[StudyResult, ...]:
        return tuple(s for s in self.studies if not s.allowed)


# How telling a refusal is: the most telling reasons come first in a message.
_WITHDRAWN, _EXPIRED, _PENDING, _POLICY, _PROTOCOL, _COLLEAGUE, _PARTIAL = range(7)


@dataclass(frozen=True)
class _Verdict:
    allows: bool
    rank: int = 0
    text: str = ""


def _compact(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


def same_person(a: str | None, b: str | None) -> bool:
    """Whether two names are the same, ignoring case, spacing and full stops."""
    return bool(a and b) and _compact(str(a).replace(".", " ")) == _compact(str(b).replace(".", " "))


def same_protocol(a: str | None, b: str | None) -> bool:
    """Whether two protocol IDs are the same, ignoring case and spacing."""
    return bool(a and b) and _compact(a) == _compact(b)


def _mismatch(record: ConsentRecord, request: ExportRequest) -> _Verdict | None:
    noun = record.basis.noun
    if record.basis is Basis.NOT_REQUIRED:
        if request.purpose is Purpose.CARE:
            return _Verdict(False, _POLICY, "a site policy never allows care consultation without consent")
        if not request.deidentified:
            return _Verdict(False, _POLICY, "the site policy allows this only for de-identified exports")
    if request.purpose is Purpose.RESEARCH and not same_protocol(record.protocol_id, request.protocol_id):
        wanted = f"not {request.protocol_id}" if request.protocol_id else "but this export names no protocol"
        return _Verdict(False, _PROTOCOL, f"the research {noun} is for protocol {record.protocol_id}, {wanted}")
    if request.purpose is Purpose.CARE and not same_person(record.colleague, request.colleague):
        wanted = f"not {request.colleague}" if request.colleague else "but this export names no colleague"
        return _Verdict(False, _COLLEAGUE, f"the care {noun} names {record.colleague}, {wanted}")
    return None


def _judge(record: ConsentRecord, item: ExportItem, request: ExportRequest) -> _Verdict | None:
    """Whether ``record`` allows ``item``; None when the record has nothing to say about it."""
    if not record.scope.applies_to(item.patient_key) or request.purpose not in record.purposes:
        return None
    noun, what = record.basis.noun, request.purpose.title
    if not record.scope.covers(item.study_uid, item.series_uid):
        if item.series_uid is None and record.scope.touches(item.study_uid):
            return _Verdict(False, _PARTIAL, f"the {noun} for {what} covers only some series of this study")
        return None
    state = state_on(record, request.on)
    if state is RecordState.WITHDRAWN:
        assert record.withdrawn_on is not None
        return _Verdict(False, _WITHDRAWN, f"the {noun} for {what} was withdrawn on "
                                           f"{record.withdrawn_on.isoformat()}")
    if state is RecordState.EXPIRED:
        assert record.valid_until is not None
        return _Verdict(False, _EXPIRED, f"the {noun} for {what} expired on {record.valid_until.isoformat()}")
    if state is RecordState.PENDING:
        return _Verdict(False, _PENDING, f"the {noun} for {what} starts only on {record.starts_on.isoformat()}")
    return _mismatch(record, request) or _Verdict(True)


def _plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _study(label: str, study_uid: str, items: list[ExportItem], records: tuple[ConsentRecord, ...],
           request: ExportRequest) -> StudyResult:
    what = request.purpose.title
    relied: list[ConsentRecord] = []
    reasons: dict[str, int] = {}
    covered = bare = 0
    for item in items:
        verdicts = [(r, v) for r in records if (v := _judge(r, item, request)) is not None]
        allowing = [r for r, v in verdicts if v.allows]
        if allowing:
            covered += 1
            relied.extend(allowing)
            continue
        if not verdicts:
            bare += 1
        for _, v in verdicts:
            reasons.setdefault(v.text, v.rank)
    relied_ids = _unique(r.id for r in relied)
    if covered == len(items):
        return StudyResult(label, study_uid, True, relied_ids)
    texts = sorted(reasons, key=reasons.__getitem__)
    if covered:
        nouns = {r.basis.noun for r in relied}
        noun = nouns.pop() if len(nouns) == 1 else "consent"
        partial = f"the {noun} for {what} covers only {covered} of {len(items)} series"
        texts = [partial + (f" (for the others, {'; '.join(texts)})" if texts else "")]
    elif bare and texts:
        texts.append(f"{bare} of {len(items)} series have no consent or waiver for {what}")
    elif bare:
        texts.append(f"no consent or waiver for {what}")
    return StudyResult(label, study_uid, False, relied_ids, "; ".join(texts))


def _summary(purpose: Purpose, studies: tuple[StudyResult, ...], override_allowed: bool) -> str:
    refused = [s for s in studies if not s.allowed]
    if not refused:
        return f"{_plural(len(studies), 'study', 'studies')} may be exported for {purpose.title}."
    lines = [f"Not exported for {purpose.title}:" if len(refused) == len(studies) else
             f"Not exported for {purpose.title}: {len(refused)} of "
             f"{_plural(len(studies), 'study', 'studies')} may not be shared."]
    lines += [f"- {s.message}" for s in refused]
    if override_allowed:
        lines.append("For the patient's care, where the law permits it, you may override this "
                     "with a written justification; it is kept in the audit log.")
    return "\n".join(lines)


def check_export(request: ExportRequest, records: Iterable[ConsentRecord]) -> Decision:
    """Whether every study of ``request`` may be exported for its purpose, relying on ``records``."""
    records = tuple(records)
    by_study: dict[tuple[str, str], list[ExportItem]] = {}
    for item in request.items:
        group = by_study.setdefault((item.patient_key, item.study_uid), [])
        if all(i.series_uid != item.series_uid for i in group):
            group.append(item)
    studies = tuple(_study(items[0].label, study_uid, items, records, request)
                    for (_, study_uid), items in by_study.items())
    allowed = all(s.allowed for s in studies)
    relied_on = _unique(rid for s in studies for rid in s.relied_on)
    by_id = {r.id: r for r in records}
    limits = _unique(by_id[rid].limits for rid in relied_on)
    override_allowed = not allowed and request.purpose is Purpose.CARE
    return Decision(request.purpose, allowed, studies, relied_on, limits, override_allowed,
                    _summary(request.purpose, studies, override_allowed))


_WORD = re.compile(r"[^\W\d_]{2,}")


def is_real_justification(text: str) -> bool:
    """At least 20 non-blank characters in at least three different words, not one key held down."""
    compact = "".join(text.split())
    words = {w.casefold() for w in _WORD.findall(text)}
    return len(compact) >= 20 and len(words) >= 3 and len(set(compact.casefold())) >= 6


def override(decision: Decision, request: ExportRequest, justification: str, by: str) -> Decision:
    """Allow a refused care export anyway ("care of the patient where the law permits it").

    ``justification`` must be a real sentence (:func:`is_real_justification`); the result keeps
    it and ``by`` for the audit log. Any other purpose, or an export already allowed, raises.
    """
    if decision.overridden:
        raise ConsentError("This export was already overridden.")
    if decision.allowed:
        raise ConsentError("This export is allowed by consent; it needs no override.")
    if decision.purpose is not request.purpose or {s.study_uid for s in decision.studies} != {
            i.study_uid for i in request.items}:
        raise ConsentError("This decision was made for another export; check the export again.")
    if not decision.override_allowed:
        raise ConsentError(f"Only sharing for the patient's care can be overridden. Record the patient's "
                           f"consent (or a waiver) for {request.purpose.title} first.")
    justification = " ".join(str(justification or "").split())
    if not is_real_justification(justification):
        raise ConsentError("Write why the patient's care needs this export without consent, as a sentence "
                           "of at least 20 characters (spaces not counted).")
    by = " ".join(str(by or "").split())
    if not by:
        raise ConsentError("An override needs the name of the person who makes it.")
    refused = decision.refused
    lines = [f"Exported for {request.purpose.title} on override by {by}: "
             f"{len(refused)} of {_plural(len(decision.studies), 'study', 'studies')} without consent."]
    lines += [f"- {s.message}" for s in refused]
    lines.append(f"Justification: {justification}")
    return replace(decision, allowed=True, override_allowed=False, overridden=True,
                   justification=justification, overridden_by=by, message="\n".join(lines))
