"""Use case: "when something went to the wrong person". Every disclosure to a
recipient, or of one package, with every patient, study and image it sent: the facts a breach
assessment needs (HIPAA 45 CFR 164.402 risk assessment and 164.404(c) content of the notice:
what happened, the date of the disclosure, the types of identifiers involved; 164.408/164.410
for the Secretary and business associates; GDPR Art. 33(3) the categories and number of data
subjects and records, Art. 34 telling the patients).

The report is internal to the covered entity: it names the patients (name, Patient ID, date
of birth, as the library holds them), because those are what a notification needs. Making it
reads identifiable data, so it is audited (``report.breach``), with patients and studies as
keyed hashes as every audit line names them.

Two tables: one row per image (CSV, to mail-merge notification letters) and one row per
disclosure and patient (screen, PDF and terminal).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from desktop.app.common.formatting import dicom_date, plural
from desktop.app.consent.consenting import consents_of, patient_of_key
from desktop.app.consent.report_files import ReportTable
from desktop.app.consent.reporting import _generated, _local, _purpose, _relied
from desktop.app.keys.contacts import Contact, list_contacts
from desktop.app.library.home import VeilHome
from desktop.core.common.errors import VeilError
from desktop.core.library.database import Connection
from desktop.core.library.disclosures import (
    Disclosure,
    SentImage,
    disclosures_of_package,
    images_sent,
    load_disclosures,
    package_ids_starting,
    recipients_recorded,
)

#: A package id is given by at least this many characters (of its 32 hex digits).
MIN_PACKAGE_PREFIX = 8
#: A recipient is searched by at least this many characters (one letter would match everyone).
MIN_RECIPIENT_QUERY = 3

IMAGE_COLUMNS = ("Disclosed", "Recipient", "Institution", "Key fingerprint", "How", "Destination", "Purpose",
                 "Consent relied on", "What was sent", "Package id", "Patient name", "Patient ID", "Birth date",
                 "Study date", "Study description", "Accession", "Study UID", "Series", "Series UID", "Instance",
                 "SOP Instance UID", "Image list", "Matched", "Disclosure")
GROUPED_COLUMNS = ("Disclosed", "To", "How", "Purpose and consent", "What was sent", "Patient",
                   "Studies and images")


class BreachReportError(VeilError):
    """The report cannot be made as asked (no selector, two, or an unknown package)."""


@dataclass(frozen=True)
class Party:
    """One recipient of a disclosure, as recorded (``fingerprint``: their key's, or the start of a
    bare age recipient) with the address book's institution and e-mail where it knows them."""

    name: str
    fingerprint: str = ""
    institution: str = ""
    email: str = ""

    @property
    def title(self) -> str:
        text = self.name or "(no recipient recorded)"
        text += f" [{self.fingerprint}]" if self.fingerprint else ""
        return text + (f" ({self.institution})" if self.institution else "")


@dataclass(frozen=True)
class BreachReport:
    """Both tables and the summary counts (``images``: as the disclosures recorded them)."""

    table: ReportTable
    per_image: ReportTable
    disclosures: int
    patients: int
    studies: int
    images: int
    recipients: tuple[str, ...]


_KEYED = re.compile(r"(?:^|, )(.+?) \[([^\]]*)\]")
_CHANNEL = re.compile(r"^(.*) \((passphrase|unencrypted archive)\)$")


def parties(recipient: str) -> list[Party]:
    """The recipients a disclosure names, from its recorded text: "Name [FINGERPRINT], ..." for
    a package to keys, "Name (passphrase)", "Name (unencrypted archive)" or just a name."""
    text = recipient.strip()
    keyed = [Party(m.group(1).strip(), m.group(2).strip()) for m in _KEYED.finditer(text)]
    if keyed and "".join(m.group(0) for m in _KEYED.finditer(text)) == text:
        return keyed
    channel = _CHANNEL.match(text)
    return [Party(channel.group(1).strip() if channel else text)]


def _bare(text: str) -> str:
    return re.sub(r"[\s\-…]", "", text).casefold()


def _enrich(party: Party, contacts: Sequence[Contact]) -> tuple[Party, Contact | None]:
    """The party with the address book's institution and e-mail (its key first, else its name)."""
    bare = _bare(party.fingerprint)
    for c in contacts:
        if bare and ((c.fingerprint and _bare(c.fingerprint) == bare) or _bare(c.age_recipient).startswith(bare)):
            return replace(party, institution=c.institution, email=c.email), c
    for c in contacts:
        if party.name and c.name.casefold() == party.name.casefold():
            return replace(party, institution=c.institution, email=c.email), c
    return party, None


def _why(query: str, party: Party, contact: Contact | None) -> str:
    """How ``party`` matches ``query`` ("" when it does not)."""
    q, bare = query.casefold(), _bare(query)
    if q in party.name.casefold():
        return f"name '{party.name}' contains '{query}'"
    if len(bare) >= 4 and bare in _bare(party.fingerprint):
        return f"key fingerprint {party.fingerprint} contains '{query}'"
    if contact is not None:
        for what, value in (("e-mail", contact.email), ("institution", contact.institution),
                            ("address-book name", contact.name)):
            if value and q in value.casefold():
                return f"{what} '{value}' of the address book's contact for this key contains '{query}'"
    return ""


#: A disclosure's recipient that matched: as recorded (with the address book's details), how it
#: matched, and who they are (the address book's contact, else their key, else their name).
Match = tuple[Party, str, str]


def _who(party: Party, contact: Contact | None) -> str:
    if contact is not None:
        return f"contact {contact.id}"
    return _bare(party.fingerprint) or party.name.casefold()


def _match_recipient(conn: Connection, query: str, contacts: Sequence[Contact]) -> dict[int, list[Match]]:
    """Disclosure id -> its recipients that match, each with how it matched."""
    out: dict[int, list[Match]] = {}
    for ref, text in recipients_recorded(conn):
        found = []
        for party in parties(text):
            party, contact = _enrich(party, contacts)
            why = _why(query, party, contact)
            if why:
                found.append((party, why, _who(party, contact)))
        if not found and query.casefold() in text.casefold():
            found = [(p, f"the recorded recipient '{text}' contains '{query}'", _who(p, c))
                     for p, c in (_enrich(p, contacts) for p in parties(text))]
        if found:
            out[ref] = found
    return out


def _distinct(found: Sequence[Match], contacts: Sequence[Contact]) -> tuple[str, ...]:
    """Each different recipient once: the address book's contact (name, key, institution) when
    it knows them, else as recorded."""
    by_id = {f"contact {c.id}": c for c in contacts}
    out: dict[str, str] = {}
    for party, _, who in found:
        contact = by_id.get(who)
        out.setdefault(who, Party(contact.name, contact.fingerprint or "", contact.institution).title
                       if contact else party.title)
    return tuple(out.values())


def _package(conn: Connection, prefix: str) -> str:
    bare = _bare(prefix)
    if len(bare) < MIN_PACKAGE_PREFIX or not re.fullmatch(r"[0-9a-f]+", bare):
        raise BreachReportError(f"Give the package id, or at least its first {MIN_PACKAGE_PREFIX} characters, as "
                                "Veil showed it when the package was made (or as 'veil verify' shows it).")
    found = package_ids_starting(conn, bare)
    if not found:
        raise BreachReportError(
            f"No disclosure in this library was of a package whose id starts with {prefix.strip()}. Check the id "
            "against the package ('veil verify PACKAGE' shows it), or search by the recipient with --recipient "
            "(packages made before Veil recorded their ids are found only that way).")
    if len(found) > 1:
        raise BreachReportError(f"{len(found)} packages have ids starting with {prefix.strip()} "
                                f"({', '.join(found)}): give more of the id.")
    return found[0]


def _how(d: Disclosure, to: Sequence[Party]) -> str:
    keys = ", ".join(f"{p.name} ({p.fingerprint})" for p in to if p.fingerprint)
    text = {
        "share.package": (f"Package encrypted to the key of {keys}" if keys else
                          "Package encrypted with a passphrase (whoever has it can open it)"
                          if "(passphrase)" in d.recipient else "Encrypted package"),
        "share.archive": "Unencrypted archive (whoever has the file can read it)",
        "deid.export": "Folder of DICOM files (not encrypted)",
        "slides.export": "Slides (not encrypted)",
        "image.png": "Image file (not encrypted)",
        "share.received": "Package received by this library",
    }.get(d.kind, d.kind)
    return f"{text}\nto {d.destination}" if d.destination else text


def _sent(profile: str) -> str:
    """What went out, for the types of identifiers involved (45 CFR 164.404(c)(1)(B))."""
    if profile == "identifiable":
        return "Identifiable originals (name, patient ID, birth date and every header identifier)"
    if profile in ("slides", "image"):
        return "Images only (no DICOM header), redactions applied"
    if profile:
        return f"De-identified copies, '{profile}' profile (DICOM PS3.15 Annex E; a pseudonym for the name)"
    return "(not recorded)"


def _numbers(images: Sequence[SentImage]) -> str:
    """"series 2 (CT): images 1-3, 5" lines, one per series."""
    by_series: dict[str, list[SentImage]] = {}
    for image in images:
        by_series.setdefault(image.series_uid, []).append(image)
    lines = []
    for series_uid, group in by_series.items():
        if not series_uid:
            lines.append(f"{plural(len(group), 'image')} no longer in the library: "
                         + ", ".join(i.sop_uid for i in group))
            continue
        head = group[0]
        name = f"series {head.series_number}" if head.series_number is not None else f"series {series_uid}"
        numbers = sorted(i.instance_number for i in group if i.instance_number is not None)
        spans: list[str] = []
        for n in numbers:
            if spans and spans[-1].split("-")[-1] == str(n - 1):
                spans[-1] = spans[-1].split("-")[0] + f"-{n}"
            else:
                spans.append(str(n))
        unnumbered = len(group) - len(numbers)
        text = f"images {', '.join(spans)}" if spans else ""
        text += (", " if text and unnumbered else "") + (plural(unnumbered, "image") + " without a number"
                                                          if unnumbered else "")
        lines.append(f"{name}{f' ({head.modality})' if head.modality else ''}: {text}")
    return "\n".join(lines)


def _rows(conn: Connection, d: Disclosure, who: list[Party], to: list[Match], records: dict,
          ) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], int]:
    """(grouped rows, image rows, items whose images were inferred) of one disclosure; ``who``:
    everyone it went to, ``to``: those of them that matched, and how."""
    recipient = "; ".join(p.name or "(not recorded)" for p in who)
    institution = "; ".join(p.institution for p in who if p.institution)
    fingerprint = "; ".join(p.fingerprint for p in who if p.fingerprint)
    how, sent, purpose = _how(d, who), _sent(d.profile), _purpose(d.purpose)
    relied = _relied([r for i in d.items for r in i.consent_ids], records)
    if d.override_reason:
        relied = (relied + "\n" if relied else "") + f"OVERRIDE for care: {d.override_reason}"
    relied = relied or "(none)"
    matched = "; ".join(dict.fromkeys(why for _, why, _ in to))
    when = _local(d.disclosed_at)
    head = (when, recipient, institution, fingerprint, how, d.destination, purpose, relied, sent, d.package_id)
    grouped: list[tuple[str, ...]] = []
    per_image: list[tuple[str, ...]] = []
    inferred = 0
    by_patient: dict[str, list[str]] = {}
    for item in d.items:
        patient = patient_of_key(conn, item.patient_key)
        study = conn.execute("SELECT study_date, description, accession_number FROM studies WHERE study_uid = ?",
                             (item.study_uid,)).fetchone() or ("", "", "")
        images, recorded = images_sent(conn, item, d.disclosed_at)
        if recorded:
            listed = "as recorded"
        else:
            inferred += 1
            listed = (f"inferred: the disclosure recorded {plural(item.instances, 'image')}; the library held "
                      f"{len(images)} of the series sent then")
        people = (patient.name, patient.patient_id, patient.birth_date) if patient else \
            ("(patient no longer in the library)", "", "")
        about = people + (dicom_date(study[0]), study[1], study[2], item.study_uid)
        rows_of: list[SentImage | None] = list(images) or [None]  # a study with no image left: one row
        for image in rows_of:
            picture = ("", "", "", "") if image is None else (
                "" if image.series_number is None else str(image.series_number), image.series_uid,
                "" if image.instance_number is None else str(image.instance_number), image.sop_uid)
            per_image.append(head + about + picture + (listed, matched, str(d.id)))
        label = f"{dicom_date(study[0]) or '(no date)'}" + (f" '{study[1]}'" if study[1] else "") \
            + (f" · accession {study[2]}" if study[2] else "")
        shown = _numbers(images) or "(no image of it is in the library now)"
        count = plural(item.instances, "image") + ("" if recorded else " (listed from the library: see the notes)")
        by_patient.setdefault(item.patient_key, []).append(f"{label}: {count}\n{shown}")
    to_text = "\n".join(p.title for p in who)
    for key, studies in by_patient.items():
        patient = patient_of_key(conn, key)
        person = "\n".join(x for x in (patient.name, f"ID {patient.patient_id}" if patient.patient_id else "",
                                       f"born {patient.birth_date}" if patient.birth_date else "") if x) \
            if patient else "(patient no longer in the library)"
        disclosed = f"{when}\ndisclosure #{d.id}" + (f"\npackage {d.package_id}" if d.package_id else "")
        grouped.append((disclosed, to_text, how, f"{purpose}\n{relied}", sent, person, "\n".join(studies)))
    return grouped, per_image, inferred


def breach_report(home: VeilHome, recipient: str | None = None, package: str | None = None) -> BreachReport:
    """Every disclosure to a recipient matching ``recipient`` (name, key fingerprint, or the
    address book's e-mail or institution for their key; case-insensitive, part of it is enough)
    or of the package whose id starts with ``package`` (at least 8 characters): every patient,
    study and image it sent, for a breach assessment (HIPAA 45 CFR 164.404(c), GDPR Art. 33(3))."""
    recipient, package = (recipient or "").strip(), (package or "").strip()
    if bool(recipient) == bool(package):
        raise BreachReportError("Say whose disclosures to list: a recipient (--recipient NAME) or a package "
                                "(--package ID), one of the two.")
    if recipient and len(recipient) < MIN_RECIPIENT_QUERY:
        raise BreachReportError(f"Give at least {MIN_RECIPIENT_QUERY} characters of the recipient's name, e-mail "
                                "or key fingerprint.")
    contacts = list_contacts(home)
    conn = home.connect()
    try:
        if recipient:
            matches = _match_recipient(conn, recipient, contacts)
            disclosures = load_disclosures(conn, list(matches))
            selector = f"Disclosures to a recipient matching '{recipient}'"
        else:
            package_id = _package(conn, package)
            disclosures = disclosures_of_package(conn, package_id)
            matches = {d.id: [(p, f"package id {package_id}", _who(p, c))
                              for p, c in (_enrich(p, contacts) for p in parties(d.recipient))]
                       for d in disclosures if d.id is not None}
            selector = f"Package {package_id}"
        records = {r.id: r for r in consents_of(home, list({i.patient_key for d in disclosures for i in d.items}))}
        grouped, per_image, inferred = [], [], 0
        for d in disclosures:
            everyone = [_enrich(p, contacts)[0] for p in parties(d.recipient)]
            g, rows, n = _rows(conn, d, everyone, matches[d.id or 0], records)
            grouped += g
            per_image += rows
            inferred += n
        patient_keys = sorted({i.patient_key for d in disclosures for i in d.items})
        study_uids = sorted({i.study_uid for d in disclosures for i in d.items})
        images = sum(i.instances for d in disclosures for i in d.items)
        home.record(conn, "report.breach", **({"recipient": recipient} if recipient else {"package": package_id}),
                    disclosures=[d.id for d in disclosures], instances=images,
                    patients=[home.audit.pseudonym(k) for k in patient_keys],
                    studies=[home.audit.pseudonym(u) for u in study_uids])
    finally:
        conn.close()
    found = [m for d in disclosures for m in matches[d.id or 0]]
    names = _distinct(found, contacts)
    summary = (f"{plural(len(disclosures), 'disclosure')} · {plural(len(patient_keys), 'patient')}, "
               f"{plural(len(study_uids), 'study', 'studies')}, {plural(images, 'image')}"
               + (f" · to {'; '.join(names)}" if names else ""))
    notes = _notes(recipient, names, [why for _, why, _ in found], inferred,
                   disclosures, home.verify_audit().message)
    title = "Disclosures for a breach assessment"
    subtitle = f"{selector} · {summary} · {_generated()}"
    return BreachReport(
        ReportTable(title, subtitle, GROUPED_COLUMNS, tuple(grouped), notes, (1.3, 1.7, 1.7, 1.9, 1.6, 1.4, 2.8)),
        ReportTable(title, subtitle, IMAGE_COLUMNS, tuple(per_image), notes),
        len(disclosures), len(patient_keys), len(study_uids), images, names)


def _notes(query: str, names: Sequence[str], whys: Sequence[str], inferred: int, disclosures: Sequence[Disclosure],
           audit: str) -> tuple[str, ...]:
    notes = []
    if query and not disclosures:
        notes.append(f"No disclosure went to a recipient matching '{query}'. Check the spelling, or search by "
                     "part of their key fingerprint or their e-mail as the address book has it.")
    if query and len(names) > 1:
        notes.append(f"'{query}' matches {len(names)} different recipients: {'; '.join(names)}. Every disclosure "
                     "to each is listed; check which of them received in error before notifying.")
    if whys:
        notes.append("Matched: " + "; ".join(dict.fromkeys(whys)) + ".")
    notes.append("This report is internal to the covered entity: it names the patients (name, Patient ID, date of "
                 "birth, as the library holds them) because those are the facts needed to assess the breach and "
                 "notify them (HIPAA 45 CFR 164.402-164.410; GDPR Art. 33 and 34). Keep it as the library is kept; "
                 "do not send it to the recipient.")
    notes.append("For the notice (45 CFR 164.404(c); GDPR Art. 33(3)): what happened and the date of discovery "
                 "are yours to add; the date of each disclosure, the identifiers involved (identifiable originals, "
                 "or de-identified copies and the profile applied: the risk differs, 164.402(2)) and the number of "
                 "patients and images are above.")
    if inferred:
        notes.append(f"The images of {plural(inferred, 'study', 'studies')} above were not recorded one by one "
                     "(sent before Veil did): they are the library's originals of the series sent, imported by "
                     "that day; the count recorded with the disclosure is shown beside them.")
    notes.append(f"Audit log: {audit}")
    return tuple(notes)
