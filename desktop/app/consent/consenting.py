"""Use cases of the consent ledger (GDPR Art. 7): record a consent, waiver or "not required"
decision (with its scanned form, kept encrypted), withdraw it and see every disclosure that
relied on it, the badge of every study, and the check an export must pass.

Records are stored as the consent domain writes them, in the encrypted index; every change is
a line of the audit log, which names the patient only by a keyed hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from desktop.app.common.formatting import dicom_date, megabytes, person_name, plural
from desktop.app.library.home import VeilHome
from desktop.core.audit.log import os_user
from desktop.core.common.disk_full import DiskFullError, Reserve, is_disk_full
from desktop.core.common.errors import VeilError
from desktop.core.common.faults import fault_point
from desktop.core.consent import (
    EVERY_PATIENT,
    Basis,
    ConsentError,
    ConsentRecord,
    Decision,
    ExportItem,
    ExportRequest,
    FormRef,
    Purpose,
    RecordState,
    StudyBadge,
    check_export,
    from_json,
    override,
    purposes_text,
    state_on,
    study_badge,
    to_json,
    withdraw,
)
from desktop.core.library import consents as store
from desktop.core.library.database import Connection, DatabaseError
from desktop.core.library.disclosures import Disclosure, disclosures_relying_on

MAX_FORM_BYTES = 50 * 1024 * 1024
#: Room a change of the index needs on top of what it stores (WAL frames, the shared-memory
#: file of a new connection, the audit line): generous, as a person frees space once.
INDEX_ROOM = 1_000_000
#: Room held back while a record is stored, for its audit line (or for taking it back).
AUDIT_ROOM = 256 * 1024
_FORM_TYPES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


@dataclass(frozen=True)
class Patient:
    """A patient of the library, as a person picks them."""

    key: str
    name: str  # as shown: "Doe, Jane"
    patient_id: str
    birth_date: str  # YYYY-MM-DD, or as stored

    @property
    def title(self) -> str:
        parts = [self.name or "(no name)"]
        if self.patient_id:
            parts.append(f"ID {self.patient_id}")
        if self.birth_date:
            parts.append(f"born {self.birth_date}")
        return " · ".join(parts)


@dataclass(frozen=True)
class Withdrawal:
    """A withdrawn record and the disclosures that relied on it (to act on)."""

    record: ConsentRecord
    disclosures: list[Disclosure]


# -- patients and studies ---------------------------------------------------------------------
def _patient(row: tuple) -> Patient:
    key, name, pid, birth = row
    return Patient(key, person_name(name), pid, dicom_date(birth))


def list_patients(home: VeilHome) -> list[Patient]:
    conn = home.connect()
    try:
        return [_patient(r) for r in conn.execute(
            "SELECT patient_key, name, patient_id, birth_date FROM patients ORDER BY name, patient_id, id")]
    finally:
        conn.close()


def find_patient(home: VeilHome, patient_id: str | None = None, study_uid: str | None = None) -> Patient:
    """The library's patient with this Patient ID, or the patient of this study."""
    if not (patient_id or "").strip() and not (study_uid or "").strip():
        raise VeilError("Say which patient: their Patient ID, or one of their studies.")
    conn = home.connect()
    try:
        if study_uid:
            rows = conn.execute(
                """SELECT p.patient_key, p.name, p.patient_id, p.birth_date FROM patients p
                   JOIN studies st ON st.patient_ref = p.id WHERE st.study_uid = ?""", (study_uid,)).fetchall()
            missing = "No study with this Study Instance UID in the library."
        else:
            rows = conn.execute("SELECT patient_key, name, patient_id, birth_date FROM patients WHERE patient_id = ?",
                                (patient_id or "",)).fetchall()
            missing = "No patient with this Patient ID in the library."
    finally:
        conn.close()
    if not rows:
        raise VeilError(missing)
    if len(rows) > 1:
        raise VeilError(f"{len(rows)} patients have this Patient ID (from different issuers); "
                        "choose one of their studies with --study instead.")
    return _patient(rows[0])


def patient_of_key(conn: Connection, key: str) -> Patient | None:
    row = conn.execute("SELECT patient_key, name, patient_id, birth_date FROM patients WHERE patient_key = ?",
                       (key,)).fetchone()
    return _patient(row) if row else None


def study_label(modalities: str, study_date: str, description: str) -> str:
    """A study as messages name it: "CT 2024-03-01 'CHEST W/O'" (no patient identifier)."""
    text = f"{modalities or 'Study'} {dicom_date(study_date) or '(no date)'}"
    return f"{text} '{description.strip()}'" if description.strip() else text


def selection_items(home: VeilHome, study_uids: Iterable[str], series_uids: Iterable[str] = ()) -> list[ExportItem]:
    """Export items for library studies: each series of the study (only ``series_uids`` of it,
    when some of them are given)."""
    wanted_series = set(series_uids)
    conn = home.connect()
    try:
        out: list[ExportItem] = []
        for uid in dict.fromkeys(study_uids):
            rows = conn.execute(
                """SELECT p.patient_key, st.study_date, st.description, se.series_uid,
                          COALESCE((SELECT group_concat(m, '/') FROM (SELECT DISTINCT s2.modality AS m FROM series s2
                                    WHERE s2.study_ref = st.id AND s2.modality != '' ORDER BY s2.modality)), '')
                   FROM studies st JOIN patients p ON st.patient_ref = p.id
                   LEFT JOIN series se ON se.study_ref = st.id WHERE st.study_uid = ? ORDER BY se.id""",
                (uid,)).fetchall()
            if not rows:
                raise VeilError("No such study in the library (check the Study Instance UID).")
            chosen = [r for r in rows if r[3] in wanted_series] or rows
            for key, when, description, series, modalities in chosen:
                out.append(ExportItem(key, uid, series, study_label(modalities, when, description)))
        return out
    finally:
        conn.close()


# -- records ----------------------------------------------------------------------------------
def _load(rows: list[store.StoredConsent]) -> list[ConsentRecord]:
    return [from_json(json.loads(r.record_json)) for r in rows]


def consents_of(home: VeilHome, patient_keys: Iterable[str] | None = None) -> list[ConsentRecord]:
    """Consent records of these patients and the site-wide ones (every record when None), oldest
    first."""
    conn = home.connect()
    try:
        return _load(store.consents_of(conn, None if patient_keys is None else [*patient_keys, EVERY_PATIENT]))
    finally:
        conn.close()


def get_consent(home: VeilHome, consent_id: str) -> ConsentRecord:
    conn = home.connect()
    try:
        row = store.get_consent(conn, consent_id)
    finally:
        conn.close()
    if row is None:
        raise ConsentError("No consent record with this id.")
    return _load([row])[0]


def attach_form(home: VeilHome, path: str | os.PathLike[str]) -> FormRef:
    """Keep a scanned form (PDF, PNG or JPEG) encrypted in the library; its reference."""
    data, ref = _read_form(path)
    try:
        conn = home.connect()
    except Exception as exc:
        if is_disk_full(exc, home.path):
            raise library_full(home.path, "the scanned form was not stored", len(data)) from None
        raise
    created = False
    try:
        created = home.objects.put_bytes(data, ref.sha256)
        conn.execute("BEGIN IMMEDIATE")
        store.add_form(conn, ref.sha256, ref.media_type, ref.size)
        conn.execute("COMMIT")
    except BaseException as exc:
        _rollback(conn)
        _forget_form(conn, home, ref.sha256, created)
        if is_disk_full(exc, home.path):
            raise library_full(home.path, "the scanned form was not stored", len(data)) from None
        raise
    finally:
        conn.close()
    return ref


def _read_form(path: str | os.PathLike[str]) -> tuple[bytes, FormRef]:
    """A scanned form's bytes, checked (size, type), and its reference."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FORM_BYTES:
            raise ConsentError(f"{path.name}: the scanned form is larger than {MAX_FORM_BYTES >> 20} MB.")
        data = path.read_bytes()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ConsentError(f"{path.name}: the scanned form cannot be read ({why}).") from None
    media = next((kind for magic, kind in _FORM_TYPES if data.startswith(magic)), None)
    if media is None:
        raise ConsentError(f"{path.name}: a scanned form must be a PDF, PNG or JPEG file.")
    if not data:
        raise ConsentError(f"{path.name}: the file is empty.")
    return data, FormRef(hashlib.sha256(data).hexdigest(), path.name, media, len(data))


def _forget_form(conn: Connection, home: VeilHome, sha256_hex: str, created: bool) -> None:
    """After a failure: remove the sealed form this call stored, unless the library notes it
    (another record attached the same scan meanwhile). Best effort: ``veil check --prune``
    removes an object nothing refers to."""
    if not created:
        return
    try:
        if not store.form_in_use(conn, sha256_hex):
            home.objects.discard(sha256_hex)
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass


def _rollback(conn: Connection) -> None:
    """Roll back what is left of a transaction: SQLite has rolled it back itself after some
    errors (a full disk), and a failing ROLLBACK must never hide the error that caused it."""
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except DatabaseError:
        pass


def library_full(home: Path, what: str, size: int = 0) -> DiskFullError:
    """The error of a full disk under the Veil home: ``what`` was not done (it needed about
    ``size`` bytes, with room for the index to grow)."""
    return DiskFullError(f"The disk holding the Veil library ({home}) is full; {what}. "
                         f"Free about {megabytes(size + INDEX_ROOM)} and try again.")


def read_form(home: VeilHome, record: ConsentRecord) -> bytes:
    """The scanned form's bytes (showing it is accounted for, like a view)."""
    if record.form is None:
        raise ConsentError("This record has no scanned form attached.")
    data = home.objects.read(record.form.sha256, verify=True)
    conn = home.connect()
    try:
        home.record(conn, "consent.form_viewed", consent=record.id, patient=_patient_ref(home, record))
    finally:
        conn.close()
    return data


def _save(conn: Connection, record: ConsentRecord, with_form: bool = False) -> bool:
    """Store ``record`` (and note its scanned form, ``with_form``) in one transaction; whether
    the form was noted now (not already, for another record)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        noted = with_form and record.form is not None and store.add_form(
            conn, record.form.sha256, record.form.media_type, record.form.size)
        store.save_consent(conn, record.id, record.scope.patient_key, json.dumps(to_json(record), sort_keys=True),
                           record.recorded_at.isoformat())
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise
    return noted


def _patient_ref(home: VeilHome, record: ConsentRecord) -> str:
    """The patient as the audit log names them: a keyed hash, or "*" for a site-wide record."""
    key = record.scope.patient_key
    return key if key == EVERY_PATIENT else home.audit.pseudonym(key)


def _scope_words(record: ConsentRecord) -> str:
    scope = record.scope
    if scope.site_wide:
        return "site-wide"
    if scope.whole_patient:
        return "patient"
    if scope.series_only:
        return f"series:{len(scope.series_uids)}"
    return f"studies:{len(scope.study_uids)}"


def add_consent(home: VeilHome, record: ConsentRecord, form: str | os.PathLike[str] | None = None) -> ConsentRecord:
    """Store a new record (attaching the scanned form at ``form``, if given) and account for it.

    All or nothing: the sealed form, its note, the record and the audit line are all kept, or
    none is (a full disk raises :class:`DiskFullError` naming the home)."""
    data = None
    if form is not None:
        data, ref = _read_form(form)
        record = replace(record, form=ref)
    try:
        conn = home.connect()
    except Exception as exc:
        if is_disk_full(exc, home.path):
            raise library_full(home.path, "the consent was not recorded", len(data or b"")) from None
        raise
    created = False
    try:
        if store.get_consent(conn, record.id) is not None:
            raise ConsentError("A consent record with this id exists already.")
        # Room held back for the audit line (or for taking the record back): a full disk then
        # stops the change before it is stored, or leaves it whole and accounted for.
        with Reserve(home.objects.tmp / f".w-{os.getpid()}-reserve-{secrets.token_hex(8)}", AUDIT_ROOM) as room:
            if data is not None and record.form is not None:
                created = home.objects.put_bytes(data, record.form.sha256)
                fault_point("consent.form-sealed")
            room.release()
            _record(home, conn, record)
    except BaseException as exc:
        _forget_form(conn, home, record.form.sha256 if record.form else "", created)
        if is_disk_full(exc, home.path):
            raise library_full(home.path, "the consent was not recorded", len(data or b"")) from None
        raise
    finally:
        conn.close()
    return record


def _record(home: VeilHome, conn: Connection, record: ConsentRecord) -> None:
    """Store the record (noting its scanned form) and its audit line in one transaction: a
    crash or a full disk keeps both or neither."""

    def change(c: Connection) -> None:
        if record.form is not None:
            store.add_form(c, record.form.sha256, record.form.media_type, record.form.size)
        store.save_consent(c, record.id, record.scope.patient_key, json.dumps(to_json(record), sort_keys=True),
                           record.recorded_at.isoformat())
        fault_point("consent.stored")

    home.record(conn, "consent.add", change, consent=record.id, basis=str(record.basis),
                purposes=sorted(str(p) for p in record.purposes), scope=_scope_words(record),
                patient=_patient_ref(home, record), form=record.form is not None)


def withdraw_consent(home: VeilHome, consent_id: str, on: date, reason: str) -> Withdrawal:
    """Withdraw a record from ``on``; the disclosures that relied on it, for the user to act on."""
    record = withdraw(get_consent(home, consent_id), on, reason)
    conn = home.connect()
    try:
        _save(conn, record)  # keeps its form as noted when it was added
        relied = disclosures_relying_on(conn, consent_id)
        home.record(conn, "consent.withdraw", consent=consent_id, on=on.isoformat(),
                    patient=_patient_ref(home, record), disclosures_relying=len(relied))
    finally:
        conn.close()
    return Withdrawal(record, relied)


# -- badges and the export check ----------------------------------------------------------------
def study_badges(home: VeilHome, on: date | None = None) -> dict[str, StudyBadge]:
    """The consent badge of every study of the library, by Study Instance UID.

    The badge is the patient's own consent (and waivers for them): site-wide waivers and site
    policies cover every study alike, so they would make every badge green and hide what the
    patient agreed to. They are named in the tooltip instead; the export check counts them."""
    on = on or date.today()
    conn = home.connect()
    try:
        records = _load(store.consents_of(conn))
        rows = conn.execute(
            """SELECT p.patient_key, st.study_uid, se.series_uid FROM studies st
               JOIN patients p ON st.patient_ref = p.id LEFT JOIN series se ON se.study_ref = st.id""").fetchall()
    finally:
        conn.close()
    studies: dict[str, tuple[str, list[str]]] = {}
    for key, study, series in rows:
        studies.setdefault(study, (key, []))[1].extend([series] if series else [])
    by_patient: dict[str, list[ConsentRecord]] = {}
    for r in records:
        by_patient.setdefault(r.scope.patient_key, []).append(r)
    site = [r for r in by_patient.get(EVERY_PATIENT, []) if state_on(r, on) is RecordState.VALID]
    note = ("\nSite-wide: " + "; ".join(f"{r.basis.noun} for {purposes_text(r.purposes)}"
                                        + (", de-identified only" if r.basis is Basis.NOT_REQUIRED else "")
                                        for r in site)) if site else ""
    out = {}
    for uid, (key, series) in studies.items():
        badge = study_badge(key, uid, series, by_patient.get(key, []), on)
        out[uid] = StudyBadge(badge.status, badge.tooltip + note) if note else badge
    return out


def check_items(home: VeilHome, purpose: Purpose, items: list[ExportItem], deidentified: bool,
                colleague: str | None = None, protocol_id: str | None = None, on: date | None = None
                ) -> tuple[ExportRequest, Decision]:
    """May these items leave for ``purpose``? (The request, and the decision with its reasons.)"""
    request = ExportRequest(Purpose(purpose), tuple(items), deidentified, on or date.today(), colleague, protocol_id)
    records = consents_of(home, {i.patient_key for i in items})
    return request, check_export(request, records)


def override_refusal(home: VeilHome, request: ExportRequest, decision: Decision, justification: str) -> Decision:
    """Allow a refused care export on a written justification, kept in the audit log."""
    allowed = override(decision, request, justification, os_user())
    conn = home.connect()
    try:
        home.record(conn, "consent.override", purpose=str(request.purpose), justification=allowed.justification,
                    studies=[home.audit.pseudonym(s.study_uid) for s in decision.refused],
                    patients=sorted({home.audit.pseudonym(i.patient_key) for i in request.items}))
    finally:
        conn.close()
    return allowed


def refusal_text(decision: Decision) -> str:
    """The refusal as a person reads it (the policy's summary, counted)."""
    return f"{plural(len(decision.refused), 'study', 'studies')} cannot be exported.\n{decision.message}"
