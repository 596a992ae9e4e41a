"""Keyed, repeatable pseudonyms for de-identification (PS3.15 E.3.6, E.3.10 / E.3.11 of the
options): UIDs and date shifts derived with HMAC-SHA256 from a secret that never leaves the
keyring, so the same input always maps to the same output for the same key, across sessions,
and nobody without the key can reverse or predict the mapping.

- UIDs become ``2.25.<decimal>`` (PS3.5 B.2: a UUID-derived UID root), from 128 bits of
  HMAC(key, "uid" || original UID). References between files stay consistent because every
  occurrence of a UID maps the same way.
- Dates shift by a whole number of days, the same for every date of one patient (derived from
  the patient's identity), so intervals within a patient are kept. Whole days leave times of
  day unchanged, so times and date-times stay consistent with the dates.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, timedelta

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

#: Dates move back between one and ten years (whole days).
MIN_SHIFT_DAYS = 365
MAX_SHIFT_DAYS = 3652


def _mac(key: bytes, purpose: bytes, value: str) -> bytes:
    return hmac.new(key, purpose + b"\x00" + value.encode("utf-8"), hashlib.sha256).digest()


def map_uid(key: bytes, uid: str) -> str:
    """The replacement for ``uid``: always the same for the same key; at most 44 characters."""
    number = int.from_bytes(_mac(key, b"uid", uid.strip().rstrip("\x00"))[:16], "big")
    return f"2.25.{number}"


def date_shift_days(key: bytes, patient: str) -> int:
    """Days to add to every date of this patient (negative: into the past)."""
    n = int.from_bytes(_mac(key, b"date-shift", patient)[:8], "big")
    return -(MIN_SHIFT_DAYS + n % (MAX_SHIFT_DAYS - MIN_SHIFT_DAYS + 1))


def _shift_one_date(text: str, days: int) -> str:
    if not text:
        return text
    if len(text) != 8 or not text.isdigit():
        raise ValueError("not a DICOM date (YYYYMMDD)")
    day = date(int(text[:4]), int(text[4:6]), int(text[6:8])) + timedelta(days=days)
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def shift_date(value: str, days: int) -> str:
    """Shift a DA value: single dates, ranges (``A-B``) and multiple values (``\\``)."""
    parts = []
    for item in value.split("\\"):
        item = item.strip()
        if "-" in item:
            start, _, end = item.partition("-")
            parts.append(f"{_shift_one_date(start.strip(), days)}-{_shift_one_date(end.strip(), days)}")
        else:
            parts.append(_shift_one_date(item, days))
    return "\\".join(parts)


def shift_datetime(value: str, days: int) -> str:
    """Shift a DT value's date part (its time and UTC offset are kept: whole days)."""
    parts = []
    for item in value.split("\\"):
        item = item.strip()
        if len(item) < 8:
            raise ValueError("a DT value without a full date cannot be shifted")
        parts.append(_shift_one_date(item[:8], days) + item[8:])
    return "\\".join(parts)


def patient_token(key: bytes, patient: str) -> bytes:
    """What the library stores to recognise a patient again for pseudonyms (never the identity)."""
    return _mac(key, b"patient", patient)[:16]


def patient_key(patient_id: str, issuer: str, name: str, birth_date: str) -> str:
    """The patient's identity as the library keys it: the ID with its issuer, else the name with
    the birth date. Pseudonyms and date shifts are derived from it."""
    parts = [p.strip(" \x00") for p in (patient_id, issuer, name, birth_date)]
    if parts[0]:
        return "\x00".join(["id", parts[1], parts[0]])
    return "\x00".join(["name", parts[2], parts[3]])


def _text_of(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - pydicom converts a hostile raw value lazily, raising any kind
        return ""
    if value is None:
        return ""
    if isinstance(value, MultiValue):
        value = "\\".join(str(v) for v in value)
    return str(value).strip(" \x00")


def patient_key_of(ds: Dataset) -> str:
    return patient_key(_text_of(ds, "PatientID"), _text_of(ds, "IssuerOfPatientID"),
                       _text_of(ds, "PatientName"), _text_of(ds, "PatientBirthDate"))
