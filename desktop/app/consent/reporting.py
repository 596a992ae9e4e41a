"""Use cases: the accounting of disclosures of a patient, and the audit report of a date range
(HIPAA 45 CFR 164.528, 164.312(b)), as tables a person reads on screen or saves as CSV and PDF.

The audit log names patients and studies only by keyed hashes; these reports, made inside the
library for someone allowed to see it, name them again from the library (a hash of a patient
or study no longer in the library stays a hash).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from desktop.app.consent.consenting import Patient, consents_of, patient_of_key, study_label
from desktop.app.consent.report_files import ReportTable
from desktop.app.library.home import VeilHome
from desktop.core.audit.events import AuditEvent, describe, read_events
from desktop.core.audit.log import os_user
from desktop.core.consent import ConsentRecord, Purpose, purposes_text
from desktop.core.library.database import Connection
from desktop.core.library.disclosures import Disclosure, disclosures_of_patient

DISCLOSURE_COLUMNS = ("Date", "Purpose", "Recipient", "What was sent", "Consent relied on", "By", "Where")
AUDIT_COLUMNS = ("#", "Time", "User", "Action", "Patient / study", "Details")
#: Audit detail keys holding keyed hashes of patients or studies (resolved from the library).
PATIENT_KEYS, STUDY_KEYS = ("patient", "patients"), ("study", "studies")


def _local(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _generated() -> str:
    return f"generated {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')} by {os_user()}"


def _study_labels(conn: Connection) -> dict[str, str]:
    rows = conn.execute(
        """SELECT st.study_uid, st.study_date, st.description,
                  COALESCE((SELECT group_concat(m, '/') FROM (SELECT DISTINCT se.modality AS m FROM series se
                            WHERE se.study_ref = st.id AND se.modality != '' ORDER BY se.modality)), '')
           FROM studies st""").fetchall()
    return {uid: study_label(modalities, when, description) for uid, when, description, modalities in rows}


def _relied(ids: Iterable[str], records: dict[str, ConsentRecord]) -> str:
    out = []
    for rid in dict.fromkeys(ids):
        r = records.get(rid)
        if r is None:
            out.append(f"record {rid[:8]} (no longer in the library)")
            continue
        text = f"{r.basis.noun} of {r.obtained_on.isoformat()} for {purposes_text(r.purposes)}"
        if r.waiver_reference:
            text += f" (ref {r.waiver_reference})"
        if r.policy:
            text += f" ({r.policy})"
        if r.withdrawn_on:
            text += f"; withdrawn {r.withdrawn_on.isoformat()}"
        out.append(f"{text} [{r.id[:8]}]")
    return "\n".join(out)


def _purpose(value: str) -> str:
    try:
        title = Purpose(value).title
    except ValueError:
        return value
    return title[:1].upper() + title[1:]


def disclosure_rows(d: Disclosure, labels: dict[str, str], records: dict[str, ConsentRecord]) -> tuple[str, ...]:
    sent = "\n".join(f"{labels.get(i.study_uid, 'a study no longer in the library')}: "
                     + (f"{len(i.series_uids)} series, " if i.series_uids else "")
                     + f"{i.instances:,} image{'s' if i.instances != 1 else ''}" for i in d.items)
    relied = _relied([rid for i in d.items for rid in i.consent_ids], records)
    if d.override_reason:
        relied = (relied + "\n" if relied else "") + f"OVERRIDE for care: {d.override_reason}"
    how = "de-identified, " + d.profile + " profile" if d.profile and d.profile != "identifiable" else "identifiable"
    return (_local(d.disclosed_at), _purpose(d.purpose), d.recipient or "(not recorded)", f"{sent}\n({how})",
            relied or "(none)", d.os_user, d.destination)


def disclosure_report(home: VeilHome, patient_key: str) -> ReportTable:
    """Every disclosure of the patient's images, oldest first: date, purpose, recipient, what
    was sent, the consent relied on (HIPAA 45 CFR 164.528)."""
    conn = home.connect()
    try:
        patient = patient_of_key(conn, patient_key)
        disclosures = disclosures_of_patient(conn, patient_key)
        labels = _study_labels(conn)
        home.record(conn, "report.disclosures", patient=home.audit.pseudonym(patient_key),
                    disclosures=len(disclosures))
    finally:
        conn.close()
    records = {r.id: r for r in consents_of(home, [patient_key])}
    who = patient.title if patient else "a patient no longer in the library"
    count = f"{len(disclosures)} disclosure{'s' if len(disclosures) != 1 else ''}"
    return ReportTable(
        "Accounting of disclosures", f"Patient: {who} · {count} · {_generated()}", DISCLOSURE_COLUMNS,
        tuple(disclosure_rows(d, labels, records) for d in disclosures),
        ("Every export that left Veil with this patient's images, from the library's accounting of "
         "disclosures (HIPAA 45 CFR 164.528; GDPR Art. 15 and 30).",
         f"Audit log: {home.verify_audit().message}"),
        (1.3, 1.2, 1.6, 2.6, 2.6, 0.8, 1.9))


def _names(home: VeilHome, conn: Connection) -> tuple[dict[str, Patient], dict[str, str]]:
    """Keyed hashes of every patient and study of the library, to what they name."""
    patients = {}
    for (key,) in conn.execute("SELECT patient_key FROM patients"):
        found = patient_of_key(conn, key)
        if found is not None:
            patients[home.audit.pseudonym(key)] = found
    labels = _study_labels(conn)
    owner = dict(conn.execute(
        "SELECT st.study_uid, p.patient_key FROM studies st JOIN patients p ON st.patient_ref = p.id").fetchall())
    studies = {}
    for uid, label in labels.items():
        patient = patient_of_key(conn, owner[uid]) if uid in owner else None
        studies[home.audit.pseudonym(uid)] = f"{patient.name if patient else '?'}: {label}"
    return patients, studies


def _who(event: AuditEvent, patients: dict[str, Patient], studies: dict[str, str]) -> str:
    out = []
    for key in PATIENT_KEYS:
        values = event.details.get(key)
        for v in values if isinstance(values, list) else [values] if values else []:
            out.append("every patient" if v == "*" else patients[v].title if v in patients
                       else f"patient {str(v)[:8]}…")
    for key in STUDY_KEYS:
        values = event.details.get(key)
        for v in values if isinstance(values, list) else [values] if values else []:
            out.append(studies.get(str(v), f"study {str(v)[:8]}…"))
    return "\n".join(dict.fromkeys(out))


def audit_report(home: VeilHome, start: datetime, end: datetime) -> ReportTable:
    """Every audited event with ``start <= time < end``, patients and studies named from the
    library, with the verification of the whole log."""
    events = read_events(home.audit_path, start, end)
    conn = home.connect()
    try:
        patients, studies = _names(home, conn)
        home.record(conn, "report.audit", start=start.astimezone(UTC).isoformat(),
                    end=end.astimezone(UTC).isoformat(), events=len(events))
    finally:
        conn.close()
    rows = tuple((str(e.seq), e.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"), e.user, e.action,
                  _who(e, patients, studies), describe(e)) for e in events)
    last = end.astimezone()
    if (last.hour, last.minute, last.second, last.microsecond) == (0, 0, 0, 0):
        last -= timedelta(days=1)  # a range ending at midnight: its last whole day
        span = f"{start.astimezone():%Y-%m-%d} to {last:%Y-%m-%d}"
    else:
        span = f"{start.astimezone():%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"
    return ReportTable("Audit report", f"{span} · {len(rows)} events · {_generated()}", AUDIT_COLUMNS, rows,
                       (f"Audit log: {home.verify_audit().message}",), (0.5, 1.4, 0.8, 1.3, 2.6, 3.4))
