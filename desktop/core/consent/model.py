"""Consent records: who allowed which purpose for which images, how, when, until when.

A record has a *basis*: the patient's consent, an ethics committee (IRB) waiver, or "not
required" under a named site policy (de-identified exports only). Records are immutable and
validated when built: an incomplete or contradictory record raises :class:`ConsentError`
naming the missing field in words. Withdrawal makes a new record (:func:`withdraw`).

Purposes are explicit: a record allows exactly the purposes it lists and nothing else (no
purpose implies another; publication does not imply teaching, nothing implies public release).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import StrEnum

from desktop.core.consent.errors import ConsentError


class Purpose(StrEnum):
    """What a disclosure is for."""

    CARE = "care"
    TEACHING = "teaching"
    CONFERENCE = "conference"
    PUBLICATION = "publication"
    RESEARCH = "research"
    PUBLIC = "public"

    @property
    def title(self) -> str:  # type: ignore[override]
        """Short words for messages: "the consent for <title>"."""
        return _PURPOSE_TITLES[self]

    @property
    def description(self) -> str:
        """The longer wording for the consent form on screen."""
        return _PURPOSE_DESCRIPTIONS[self]


_PURPOSE_TITLES = {
    Purpose.CARE: "care consultation",
    Purpose.TEACHING: "teaching",
    Purpose.CONFERENCE: "conference",
    Purpose.PUBLICATION: "journal publication",
    Purpose.RESEARCH: "research",
    Purpose.PUBLIC: "public release",
}
_PURPOSE_DESCRIPTIONS = {
    Purpose.CARE: "Care consultation with a named colleague",
    Purpose.TEACHING: "Internal teaching",
    Purpose.CONFERENCE: "Conference talks and slides",
    Purpose.PUBLICATION: "Publication in a journal",
    Purpose.RESEARCH: "Research under a named protocol",
    Purpose.PUBLIC: "Public release (open data sets, public websites)",
}


class Method(StrEnum):
    """How the patient gave consent."""

    WRITTEN = "written"
    ELECTRONIC = "electronic"
    VERBAL = "verbal-witnessed"

    @property
    def title(self) -> str:  # type: ignore[override]
        return {Method.WRITTEN: "written, signed form", Method.ELECTRONIC: "electronic",
                Method.VERBAL: "verbal, with a witness"}[self]


class Basis(StrEnum):
    """What allows the disclosure: the patient, an ethics committee, or the site's policy."""

    CONSENT = "consent"
    WAIVER = "waiver"
    NOT_REQUIRED = "not-required"

    @property
    def title(self) -> str:  # type: ignore[override]
        return {Basis.CONSENT: "Patient consent", Basis.WAIVER: "Ethics committee waiver",
                Basis.NOT_REQUIRED: "Not required (site policy, de-identified only)"}[self]

    @property
    def noun(self) -> str:
        """The word used in sentences: "the <noun> for teaching expired on ..."."""
        return {Basis.CONSENT: "consent", Basis.WAIVER: "waiver",
                Basis.NOT_REQUIRED: "site policy"}[self]


class RecordState(StrEnum):
    """A record on a given day."""

    PENDING = "pending"  # before it starts (valid_from, else obtained_on)
    VALID = "valid"
    EXPIRED = "expired"  # after valid_until (that day itself is still valid)
    WITHDRAWN = "withdrawn"  # from withdrawn_on on; wins over everything else


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _is_day(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


#: The patient key of a site-wide record: a waiver (an ethics committee's decision for a whole
#: protocol) or a site policy ("not required: fully de-identified under policy X") covers
#: every patient, present and future. A patient's consent never does.
EVERY_PATIENT = "*"


@dataclass(frozen=True)
class Scope:
    """Which images of one patient (or, site-wide, of every patient) a record covers.

    - :data:`EVERY_PATIENT`: every image of every patient (no studies or series then);
    - no studies and no series: every image of the patient, present and future;
    - studies only: those whole studies;
    - series (with the studies they belong to in ``study_uids``): only those series.
    To cover a whole study and some series of another, record two scopes.
    """

    patient_key: str
    study_uids: frozenset[str] = frozenset()
    series_uids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "patient_key", _text(self.patient_key))
        for name in ("study_uids", "series_uids"):
            raw = getattr(self, name)
            if isinstance(raw, str):
                raise ConsentError("A consent scope lists studies and series as a set, not as one text.")
            object.__setattr__(self, name, frozenset(_text(u) for u in raw if _text(u)))
        if not self.patient_key:
            raise ConsentError("A consent scope needs the patient it belongs to.")
        if self.series_uids and not self.study_uids:
            raise ConsentError("A consent for some series needs the studies those series belong to.")
        if self.site_wide and (self.study_uids or self.series_uids):
            raise ConsentError("A site-wide record covers every patient; it cannot list studies or series.")

    @property
    def site_wide(self) -> bool:
        return self.patient_key == EVERY_PATIENT

    def applies_to(self, patient_key: str) -> bool:
        """Whether the scope is about this patient (theirs, or site-wide)."""
        return self.site_wide or self.patient_key == patient_key

    @property
    def whole_patient(self) -> bool:
        return not self.study_uids and not self.series_uids

    @property
    def series_only(self) -> bool:
        """Only some series of its studies (a whole study is never covered by this scope)."""
        return bool(self.series_uids)

    def covers(self, study_uid: str, series_uid: str | None = None) -> bool:
        """Whether the scope covers this series, or the whole study when ``series_uid`` is None."""
        if self.whole_patient:
            return True
        if study_uid not in self.study_uids:
            return False
        if not self.series_only:
            return True
        return series_uid is not None and series_uid in self.series_uids

    def touches(self, study_uid: str) -> bool:
        """Whether the scope covers the study or at least one series of it."""
        return self.whole_patient or study_uid in self.study_uids


_SHA256 = re.compile(r"[0-9a-f]{64}")
FORM_MEDIA_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})


@dataclass(frozen=True)
class FormRef:
    """A scanned consent form kept in the encrypted object store (referenced, not stored here)."""

    sha256: str
    file_name: str
    media_type: str
    size: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", _text(self.sha256).lower())
        object.__setattr__(self, "file_name", _text(self.file_name))
        object.__setattr__(self, "media_type", _text(self.media_type).lower())
        if not _SHA256.fullmatch(self.sha256):
            raise ConsentError("The consent form's reference is not a SHA-256 digest; attach the form again.")
        if not self.file_name:
            raise ConsentError("The consent form needs its original file name.")
        if self.media_type not in FORM_MEDIA_TYPES:
            raise ConsentError("The consent form must be a PDF, PNG or JPEG file.")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size <= 0:
            raise ConsentError("The consent form is empty; attach the scanned form again.")


def new_record_id() -> str:
    """A fresh, random record id (32 hex digits)."""
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class ConsentRecord:
    """One consent, waiver or "not required" decision; validated on construction.

    Texts are stripped (one-line ones also collapse inner spaces); an empty text means "not
    given". ``id`` and ``recorded_at`` default to a new random id and the current time (UTC).
    """

    basis: Basis
    scope: Scope
    purposes: frozenset[Purpose]
    obtained_on: date
    recorded_by: str
    colleague: str = ""  # CARE: the colleague the patient agreed to share with
    protocol_id: str = ""  # RESEARCH: the protocol the consent or waiver is for
    method: Method | None = None  # CONSENT only
    witness: str = ""  # CONSENT; required when verbal
    obtained_by: str = ""  # CONSENT
    valid_from: date | None = None  # None: from obtained_on
    valid_until: date | None = None  # None: no end date; the day itself is included
    limits: str = ""  # free text shown before every export relying on the record
    waiver_reference: str = ""  # WAIVER: the committee's reference
    committee: str = ""  # WAIVER, optional
    policy: str = ""  # NOT_REQUIRED: the site policy's name
    form: FormRef | None = None
    withdrawn_on: date | None = None
    withdrawal_reason: str = ""
    id: str = field(default_factory=new_record_id)
    recorded_at: datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        self._normalise()
        self._check_common()
        {Basis.CONSENT: self._check_consent, Basis.WAIVER: self._check_waiver,
         Basis.NOT_REQUIRED: self._check_not_required}[self.basis]()
        self._check_purpose_details()
        self._check_dates()

    @property
    def starts_on(self) -> date:
        """The first day the record allows anything."""
        return self.valid_from or self.obtained_on

    def _normalise(self) -> None:
        for name in ("colleague", "protocol_id", "witness", "obtained_by", "waiver_reference", "committee",
                     "policy", "recorded_by", "id"):  # one-line texts: inner runs of spaces collapse
            object.__setattr__(self, name, " ".join(_text(getattr(self, name)).split()))
        for name in ("limits", "withdrawal_reason"):
            object.__setattr__(self, name, _text(getattr(self, name)))
        try:
            object.__setattr__(self, "basis", Basis(self.basis))
            if self.method is not None and _text(self.method):
                object.__setattr__(self, "method", Method(self.method))
            else:
                object.__setattr__(self, "method", None)
            raw = self.purposes
            if isinstance(raw, str):
                raw = [raw]
            object.__setattr__(self, "purposes", frozenset(Purpose(p) for p in raw))
        except (TypeError, ValueError) as exc:
            raise ConsentError(f"A consent record has an unknown basis, method or purpose ({exc}).") from None

    def _check_common(self) -> None:
        if not self.id:
            raise ConsentError("A consent record needs an id.")
        if not isinstance(self.scope, Scope):
            raise ConsentError("A consent record needs a scope (the patient, studies or series it covers).")
        if not self.purposes:
            raise ConsentError("Choose at least one purpose the consent allows.")
        if not self.recorded_by:
            raise ConsentError("A consent record needs the name of the person who recorded it.")
        if not isinstance(self.recorded_at, datetime) or self.recorded_at.tzinfo is None:
            raise ConsentError("The time a consent is recorded must be a date and time with its time zone.")
        if self.form is not None and not isinstance(self.form, FormRef):
            raise ConsentError("The consent form reference is not valid; attach the form again.")

    def _check_purpose_details(self) -> None:
        noun = self.basis.noun
        if Purpose.CARE in self.purposes and not self.colleague:
            raise ConsentError(f"A {noun} for care consultation needs the colleague's name.")
        if Purpose.CARE not in self.purposes and self.colleague:
            raise ConsentError("A colleague is named only for care consultation; tick that purpose or "
                               "clear the colleague.")
        if Purpose.RESEARCH in self.purposes and not self.protocol_id:
            raise ConsentError(f"A {noun} for research needs the research protocol's ID.")
        if Purpose.RESEARCH not in self.purposes and self.protocol_id:
            raise ConsentError("A protocol ID is recorded only for research; tick that purpose or clear "
                               "the protocol.")

    def _check_consent(self) -> None:
        if self.method is None:
            raise ConsentError("Say how the consent was given: written, electronic or verbal with a witness.")
        if self.method is Method.VERBAL and not self.witness:
            raise ConsentError("A verbal consent needs the witness's name.")
        if not self.obtained_by:
            raise ConsentError("A consent needs the name of the person who obtained it.")
        if self.waiver_reference or self.committee or self.policy:
            raise ConsentError("A patient's consent has no waiver reference, committee or site policy; "
                               "clear those fields.")
        if self.scope.site_wide:
            raise ConsentError("A consent is given by one patient; only a waiver or a site policy can "
                               "cover every patient.")

    def _check_waiver(self) -> None:
        if not self.waiver_reference:
            raise ConsentError("A waiver needs the ethics committee's (IRB) reference.")
        self._check_no_consent_fields()
        if self.policy:
            raise ConsentError("A waiver has no site policy; clear that field.")

    def _check_not_required(self) -> None:
        if not self.policy:
            raise ConsentError("A 'not required' record needs the name of the site policy that allows it.")
        if Purpose.CARE in self.purposes:
            raise ConsentError("A site policy cannot allow care consultation: sharing for care needs "
                               "the patient's consent (or an override with a justification).")
        self._check_no_consent_fields()
        if self.waiver_reference or self.committee:
            raise ConsentError("A 'not required' record has no waiver reference or committee; clear those fields.")

    def _check_no_consent_fields(self) -> None:
        if self.method is not None or self.witness:
            raise ConsentError(f"A {self.basis.noun} is not given by the patient: it has no consent "
                               "method or witness.")

    def _check_dates(self) -> None:
        if not _is_day(self.obtained_on):
            raise ConsentError(f"A {self.basis.noun} needs the date it was obtained or granted.")
        for name, words in (("valid_from", "start date"), ("valid_until", "end date"),
                            ("withdrawn_on", "withdrawal date")):
            value = getattr(self, name)
            if value is not None and not _is_day(value):
                raise ConsentError(f"The {words} must be a calendar date.")
        if self.valid_from is not None and self.valid_from < self.obtained_on:
            raise ConsentError(f"The {self.basis.noun} cannot start ({self.valid_from.isoformat()}) before "
                               f"it was obtained ({self.obtained_on.isoformat()}).")
        if self.valid_until is not None and self.valid_until < self.starts_on:
            raise ConsentError(f"The {self.basis.noun} cannot end ({self.valid_until.isoformat()}) before "
                               f"it starts ({self.starts_on.isoformat()}).")
        if self.withdrawn_on is not None:
            if self.withdrawn_on < self.obtained_on:
                raise ConsentError(f"The {self.basis.noun} cannot be withdrawn before it was obtained.")
            if not self.withdrawal_reason:
                raise ConsentError("A withdrawal needs a reason.")
        elif self.withdrawal_reason:
            raise ConsentError("A withdrawal reason needs the date of the withdrawal.")


def withdraw(record: ConsentRecord, on: date, reason: str) -> ConsentRecord:
    """The record withdrawn (a consent) or revoked (a waiver or policy) from ``on``, for ``reason``."""
    if record.withdrawn_on is not None:
        raise ConsentError(f"This {record.basis.noun} was already withdrawn on "
                           f"{record.withdrawn_on.isoformat()}.")
    if not _text(reason):
        raise ConsentError("A withdrawal needs a reason.")
    if not _is_day(on):
        raise ConsentError("The withdrawal date must be a calendar date.")
    return replace(record, withdrawn_on=on, withdrawal_reason=reason)


def state_on(record: ConsentRecord, day: date) -> RecordState:
    """The record's state on ``day``: withdrawn from its withdrawal date on, else pending before
    it starts, expired after ``valid_until``, valid otherwise."""
    if record.withdrawn_on is not None and day >= record.withdrawn_on:
        return RecordState.WITHDRAWN
    if day < record.starts_on:
        return RecordState.PENDING
    if record.valid_until is not None and day > record.valid_until:
        return RecordState.EXPIRED
    return RecordState.VALID


def purposes_text(purposes: Iterable[Purpose]) -> str:
    """Purposes in their fixed order, in words: "teaching, conference and research"."""
    titles = [p.title for p in Purpose if p in set(purposes)]
    if len(titles) <= 1:
        return "".join(titles)
    return ", ".join(titles[:-1]) + " and " + titles[-1]
