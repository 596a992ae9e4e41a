"""Consent records as plain JSON objects, for the library's encrypted database.

Format version 1: dates as ISO ``YYYY-MM-DD``, ``recorded_at`` as ISO 8601 with its offset,
sets as sorted lists, absent values as ``null`` or ``""``. Reading validates the record again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from desktop.core.consent.errors import ConsentError
from desktop.core.consent.model import ConsentRecord, FormRef, Purpose, Scope

FORMAT_VERSION = 1

_TEXT_FIELDS = ("colleague", "protocol_id", "witness", "obtained_by", "limits", "waiver_reference",
                "committee", "policy", "withdrawal_reason")
_OPTIONAL_DATES = ("valid_from", "valid_until", "withdrawn_on")


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def to_json(record: ConsentRecord) -> dict[str, Any]:
    """The record as a JSON-ready dict (``json.dumps`` it as is)."""
    data: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "id": record.id,
        "basis": str(record.basis),
        "scope": {
            "patient_key": record.scope.patient_key,
            "study_uids": sorted(record.scope.study_uids),
            "series_uids": sorted(record.scope.series_uids),
        },
        "purposes": [str(p) for p in Purpose if p in record.purposes],
        "method": None if record.method is None else str(record.method),
        "obtained_on": record.obtained_on.isoformat(),
        "form": None if record.form is None else {
            "sha256": record.form.sha256, "file_name": record.form.file_name,
            "media_type": record.form.media_type, "size": record.form.size,
        },
        "recorded_at": record.recorded_at.isoformat(),
        "recorded_by": record.recorded_by,
    }
    for name in _TEXT_FIELDS:
        data[name] = getattr(record, name)
    for name in _OPTIONAL_DATES:
        data[name] = _iso(getattr(record, name))
    return data


def _day(data: dict[str, Any], name: str) -> date | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ConsentError(f"The stored consent record has a malformed date ({name}).")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConsentError(f"The stored consent record has a malformed date ({name}).") from None


def from_json(data: dict[str, Any]) -> ConsentRecord:
    """The record stored by :func:`to_json`; ConsentError when it is damaged or of another version."""
    if not isinstance(data, dict):
        raise ConsentError("The stored consent record is not a JSON object.")
    version = data.get("version")
    if version != FORMAT_VERSION:
        raise ConsentError(f"The stored consent record has format version {version!r}; this Veil "
                           f"reads version {FORMAT_VERSION}. Update Veil to read it.")
    missing = [k for k in ("id", "basis", "scope", "purposes", "obtained_on", "recorded_at", "recorded_by")
               if k not in data]
    if missing:
        raise ConsentError(f"The stored consent record is incomplete (missing: {', '.join(missing)}).")
    try:
        scope_data = data["scope"]
        scope = Scope(patient_key=scope_data["patient_key"],
                      study_uids=frozenset(scope_data.get("study_uids") or ()),
                      series_uids=frozenset(scope_data.get("series_uids") or ()))
        form_data = data.get("form")
        form = None if form_data is None else FormRef(
            sha256=form_data["sha256"], file_name=form_data["file_name"],
            media_type=form_data["media_type"], size=form_data["size"])
        recorded_at = datetime.fromisoformat(data["recorded_at"])
        texts = {name: data.get(name) or "" for name in _TEXT_FIELDS}
        obtained_on = _day(data, "obtained_on")
        return ConsentRecord(
            id=data["id"], basis=data["basis"], scope=scope, purposes=frozenset(data["purposes"]),
            method=data.get("method"), obtained_on=obtained_on,  # type: ignore[arg-type]
            valid_from=_day(data, "valid_from"), valid_until=_day(data, "valid_until"),
            withdrawn_on=_day(data, "withdrawn_on"), form=form, recorded_at=recorded_at,
            recorded_by=data["recorded_by"], **texts)
    except KeyError as exc:
        raise ConsentError(f"The stored consent record is incomplete (missing: {exc.args[0]}).") from None
    except (TypeError, ValueError, AttributeError):
        raise ConsentError("The stored consent record is damaged (a value has the wrong form).") from None
