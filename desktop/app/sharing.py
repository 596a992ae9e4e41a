"""Use case: export a selection as an encrypted, signed share package (issue 7).

selection -> purpose and consent check (issue 6) -> identifiable originals (care only) or a
de-identified copy (staged sealed under a key that lives only in memory) -> redaction review
(images that say they carry burned-in text and have no mask must be confirmed) -> the package,
written by :func:`desktop.core.share.writer.write_package` straight into age ciphertext ->
audit line and the accounting of disclosures.

No plaintext copy of the package, or of what goes in it, is ever written to disk.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop.app.consenting import check_items, consents_of, override_refusal, selection_items
from desktop.app.contacts import Contact
from desktop.app.deidentifying import DeidReport, deidentify_inputs, library_inputs
from desktop.app.disclosing import Sent, record_disclosure
from desktop.app.export_consent import ExportPurpose
from desktop.app.home import VeilHome
from desktop.app.identity import my_card, my_identity
from desktop.app.instance_identity import library_key
from desktop.app.tasks import CancelToken, Progress, no_progress
from desktop.core.consent import ConsentRecord, Decision, ExportItem, Purpose, distribution_type
from desktop.core.deid.profiles import Profile
from desktop.core.errors import Cancelled, VeilError
from desktop.core.library.sealed import SealedReader, peek_unsealed
from desktop.core.share.manifest import PackageDetails
from desktop.core.share.member_names import dicom_member_name
from desktop.core.share.sources import PackageSource, StreamSource
from desktop.core.share.writer import ARCHIVE_SUFFIX, WrittenPackage, write_archive, write_package


@dataclass(frozen=True)
class Flagged:
    """An image that may carry burned-in identity and has no redaction mask in the library: it
    says so (BurnedInAnnotation YES, PS3.3 C.7.6.1.1), or it is of a kind that usually does
    (ultrasound, secondary capture, photographs, scanned documents) and does not say NO."""

    label: str  # "CT 2004-01-19 'e+1', series 2, image 14: declares burned-in text"
    series_uid: str
    instance_ref: int


#: Modalities whose images usually carry burned-in text (banners, annotations, captured
#: screens, photographs): flagged unless they declare BurnedInAnnotation NO.
TEXT_PRONE_MODALITIES = ("US", "IVUS", "SC", "OT", "XC", "ES", "GM", "SM", "DOC", "OP", "OPT")


@dataclass(frozen=True)
class ShareRequest:
    """What to send, why, how, to whom."""

    study_uids: tuple[str, ...]
    purpose: ExportPurpose
    output: Path
    profile: Profile | None = None  # None: the originals, identifiable (care only)
    series_uids: tuple[str, ...] = ()  # only these series of the studies, when given
    instance_uids: tuple[str, ...] = ()  # only these images (SOP Instance UIDs), when given
    recipients: tuple[Contact, ...] = ()
    passphrase: str | None = None
    confirm_burned_in: bool = False  # the person looked at the flagged images and sends them anyway
    #: A plain NAME.zip (de-identified only, never for care): for a journal or an archive.
    unencrypted: bool = False
    #: The images flagged for review as the person saw them (headers and text read in the pixels, as
    #: the wizard's redaction page lists them); None: :func:`export_package` reads the pixels itself.
    reviewed: tuple[Flagged, ...] | None = None

    @property
    def identifiable(self) -> bool:
        return self.profile is None


@dataclass
class ShareReport:
    """How an export ended."""

    request: ShareRequest
    consent: Decision | None = None
    flagged: list[Flagged] = field(default_factory=list)
    package: WrittenPackage | None = None
    disclosure: int | None = None
    deid: DeidReport | None = None

    @property
    def refused(self) -> bool:
        return self.package is None

    def headline(self) -> str:
        if self.consent is not None and not self.consent.allowed:
            return "Export refused: consent does not allow it. No package was written."
        if self.flagged and not self.request.confirm_burned_in:
            return (f"{len(self.flagged)} image(s) may carry burned-in identity and have no redaction mask: "
                    "redact them, leave them out, or confirm you checked them. No package was written.")
        if self.deid is not None and self.deid.refused:
            return self.deid.headline()
        if self.package is None:
            return "No package was written."
        images = sum(f.path.startswith("DICOM/") for f in self.package.manifest.files)
        how = "de-identified and signed, not encrypted" if self.request.unencrypted else "encrypted and signed"
        return (f"Wrote {self.package.path.name}: {images} image{'s' if images != 1 else ''}, "
                f"{self.package.size / 1e6:.1f} MB, {how}.")


def flagged_images(home: VeilHome, items: Sequence[ExportItem], instance_uids: Sequence[str] = ()) -> list[Flagged]:
    """The images of the selection (only ``instance_uids`` of them, when given) that may carry
    burned-in identity and have no redaction mask (see :class:`Flagged`); Veil's redacted
    copies declare NO and are never flagged."""
    only = set(instance_uids)
    series = sorted({i.series_uid for i in items if i.series_uid})
    labels = {i.series_uid: i.label for i in items}
    prone = ",".join("?" * len(TEXT_PRONE_MODALITIES))
    conn = home.connect()
    try:
        out = []
        for uid in series:
            rows = conn.execute(
                f"""SELECT i.id, i.instance_number, se.series_number, upper(trim(i.burned_in_annotation)), se.modality,
                           i.sop_instance_uid
                    FROM instances i JOIN series se ON i.series_ref = se.id
                    WHERE se.series_uid = ? AND (upper(trim(i.burned_in_annotation)) = 'YES'
                          OR (upper(trim(i.burned_in_annotation)) != 'NO' AND se.modality IN ({prone})))
                      AND NOT EXISTS (SELECT 1 FROM masks m JOIN instances j ON m.instance_ref = j.id
                                      WHERE j.series_ref = se.id)
                    ORDER BY i.instance_number, i.id""", (uid, *TEXT_PRONE_MODALITIES)).fetchall()
            for ref, n, number, declared, modality, sop in rows:
                if only and sop not in only:
                    continue
                why = ("declares burned-in text" if declared == "YES" else
                       f"{modality} image without BurnedInAnnotation NO: may carry burned-in text")
                out.append(Flagged(f"{labels[uid]}, series {number or '?'}, image {n or ref}: {why}", uid, ref))
        return out
    finally:
        conn.close()


def _consent_basis(decision: Decision, records: Sequence[ConsentRecord]) -> dict:
    """What the manifest says of the consent the package relies on (no patient identifier)."""
    by_id = {r.id: r for r in records}
    relied = []
    for rid in decision.relied_on:
        r = by_id.get(rid)
        if r is None:
            continue
        relied.append({"id": r.id, "basis": str(r.basis), "purposes": sorted(str(p) for p in r.purposes),
                       "obtained_on": r.obtained_on.isoformat(),
                       "valid_until": r.valid_until.isoformat() if r.valid_until else None,
                       "reference": r.waiver_reference or r.policy or None, "limits": r.limits or None,
                       "site_wide": r.scope.site_wide})
    out = {"purpose": str(decision.purpose), "distribution_type": distribution_type(decision.purpose),
           "records": relied, "limits": list(decision.limits)}
    if decision.overridden:
        out["override"] = {"by": decision.overridden_by, "justification": decision.justification}
    return out


def _library_sources(home: VeilHome, items: Sequence[ExportItem],
                     instance_uids: Sequence[str] = ()) -> tuple[list[PackageSource], list[Sent]]:
    """The originals (sealed objects, decrypted as the writer reads them); only
    ``instance_uids`` of them when given."""
    only = set(instance_uids)
    conn = home.connect()
    try:
        sources: list[PackageSource] = []
        sent: list[Sent] = []
        for item in items:
            rows = conn.execute(
                """SELECT i.object_sha256, i.size_bytes, i.crc32, i.sop_instance_uid FROM instances i
                   JOIN series se ON i.series_ref = se.id
                   WHERE se.series_uid = ? ORDER BY i.instance_number, i.id""", (item.series_uid,)).fetchall()
            for sha, size, crc, sop in rows:
                if only and sop not in only:
                    continue
                name = dicom_member_name(len(sources))
                sources.append(StreamSource(name, size, lambda sha=sha: home.objects.open(sha), sha256=sha,
                                            crc32=crc, peek=lambda n, sha=sha: home.objects.peek(sha, n)))
                sent.append(Sent(item.patient_key, item.study_uid, item.series_uid or ""))
        return sources, sent
    finally:
        conn.close()


def _staged_sources(folder: Path, key: bytes, report: DeidReport) -> list[PackageSource]:
    def peek(path: Path, size: int) -> bytes:
        with open(path, "rb") as fh:
            return peek_unsealed(fh, key, size)

    return [StreamSource(dicom_member_name(n), size, lambda p=folder / rel: SealedReader(open(p, "rb", buffering=0), key),
                         sha256=sha, crc32=crc, peek=lambda size, p=folder / rel: peek(p, size))
            for n, (rel, size, sha, crc) in enumerate(report.outputs)]


MIN_PASSPHRASE = 12


def passphrase_problem(passphrase: str) -> str | None:
    """Why a package passphrase is too weak to protect someone's images, or None. It must be
    long (12+ characters: several words are best) and not a run or repeat of one pattern."""
    text = passphrase.strip()
    if len(text) < MIN_PASSPHRASE:
        return (f"The passphrase is too short ({len(text)} characters): use at least {MIN_PASSPHRASE}, "
                "for example four unrelated words.")
    if len(set(text.casefold())) < 6:
        return "The passphrase repeats a few characters; use several unrelated words."
    lowered = text.casefold()
    for run in ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm"):
        if any(lowered[i:i + 6] in run for i in range(len(lowered) - 5)):
            return "The passphrase contains a keyboard or alphabet run; use several unrelated words."
    return None


def export_package(home: VeilHome, request: ShareRequest, progress: Progress = no_progress,
                   cancel: CancelToken | None = None) -> ShareReport:
    """Check, prepare and write the package; a refusal, a cancel or a failure leaves no file."""
    cancel = cancel or CancelToken()
    report = ShareReport(request)
    purpose = request.purpose
    if request.identifiable and purpose.purpose is not Purpose.CARE:
        raise VeilError("Identifiable images leave only for the patient's care; choose a de-identification profile.")
    if request.unencrypted:
        _check_unencrypted(request)
    elif not request.recipients and not request.passphrase:
        raise VeilError("Choose who can open the package: colleagues from the address book, or a passphrase.")
    if request.passphrase is not None and (problem := passphrase_problem(request.passphrase)):
        raise VeilError(problem)
    items = selection_items(home, request.study_uids, request.series_uids)
    req, decision = check_items(home, purpose.purpose, items, deidentified=not request.identifiable,
                                colleague=purpose.recipient if purpose.purpose is Purpose.CARE else None,
                                protocol_id=purpose.protocol_id or None)
    if not decision.allowed and purpose.justification and decision.override_allowed:
        decision = override_refusal(home, req, decision, purpose.justification)
    report.consent = decision
    report.flagged = _flags(home, items, request, cancel) if decision.allowed else []
    if not decision.allowed or (report.flagged and not request.confirm_burned_in):
        _audit_refusal(home, report)
        return report
    records = consents_of(home, {i.patient_key for i in items})
    staging = home.path / "tmp" / f"share-{secrets.token_hex(8)}"
    try:
        if request.identifiable:
            sources, sent = _library_sources(home, items, request.instance_uids)
            deid_details: dict = {"profile": "identifiable"}
        else:
            key = secrets.token_bytes(32)  # lives only in memory: the staged copies die with it
            staging.mkdir(mode=0o700, parents=True)
            chosen = {i.series_uid for i in items}
            only = set(request.instance_uids)
            inputs = [i for i in library_inputs(home, request.study_uids)
                      if i.series_uid in chosen and (not only or i.sop_uid in only)]
            deid = deidentify_inputs(home, request.profile, inputs, staging, progress, cancel, purpose=purpose,
                                     seal_key=key, account=False)
            report.deid = deid
            if deid.refused or deid.cancelled or deid.rejected:
                if deid.cancelled:
                    raise Cancelled("The export was cancelled; no package was written.")
                _audit_refusal(home, report)
                return report
            sources = _staged_sources(staging, key, deid)
            sent = [Sent(library_key(inp.patient_key), inp.study_uid, inp.series_uid) for inp in inputs]
            deid_details = {"profile": request.profile.key, "options": sorted(request.profile.options),
                            "pseudonyms": sorted(deid.pseudonyms)}
        details = PackageDetails(str(purpose.purpose), _consent_basis(decision, records), deid_details,
                                 {"confirmed_burned_in": len(report.flagged) if request.confirm_burned_in else 0})
        if request.unencrypted:
            report.package = write_archive(request.output, sources, details, my_identity(home), my_card(home),
                                           progress=progress, cancelled=lambda: cancel.cancelled)
        else:
            report.package = write_package(
                request.output, sources, details, my_identity(home), my_card(home),
                recipients=[c.card or c.age_recipient for c in request.recipients], passphrase=request.passphrase,
                progress=progress, cancelled=lambda: cancel.cancelled)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report.disclosure = record_disclosure(
        home, "share.archive" if request.unencrypted else "share.package", req, decision, sent,
        recipient=_recipients_text(request),
        destination=str(report.package.path), profile=request.profile.key if request.profile else "identifiable")
    return report


def _flags(home: VeilHome, items: Sequence[ExportItem], request: ShareRequest, cancel: CancelToken) -> list[Flagged]:
    """The images to be confirmed: flagged by their headers (checked again here), and those the
    person reviewed, or, without a review, those on which OCR reads text (:mod:`text_flags`)."""
    from desktop.app.text_flags import text_flags  # it builds on this module

    flagged = flagged_images(home, items, request.instance_uids)
    seen = {f.instance_ref for f in flagged}
    if request.reviewed is None:
        more = text_flags(home, items, request.instance_uids, already=seen, cancelled=lambda: cancel.cancelled)
    else:
        more = list(request.reviewed)
    for flag in more:
        if flag.instance_ref not in seen:
            seen.add(flag.instance_ref)
            flagged.append(flag)
    return flagged


def _check_unencrypted(request: ShareRequest) -> None:
    """A plain archive holds de-identified images only, never for care, and has no recipients."""
    if request.identifiable or request.purpose.purpose is Purpose.CARE:
        raise VeilError("Only de-identified images, for teaching, publication or research, leave without "
                        "encryption; send images for care as an encrypted package.")
    if request.recipients or request.passphrase:
        raise VeilError("An unencrypted archive has no recipients or passphrase; choose one or the other.")
    if request.output.suffix.lower() != ARCHIVE_SUFFIX:
        raise VeilError(f"Name the unencrypted archive NAME{ARCHIVE_SUFFIX}.")


def _recipients_text(request: ShareRequest) -> str:
    if request.unencrypted:
        return f"{request.purpose.recipient or 'unnamed recipient'} (unencrypted archive)"
    if request.passphrase:
        names = request.purpose.recipient or "someone with the passphrase"
        return f"{names} (passphrase)"
    return ", ".join(f"{c.name} [{c.fingerprint or c.age_recipient[:16] + '…'}]" for c in request.recipients)


def _audit_refusal(home: VeilHome, report: ShareReport) -> None:
    reason = ("consent" if report.consent is not None and not report.consent.allowed else
              "burned-in" if report.flagged and not report.request.confirm_burned_in else "de-identification")
    conn = home.connect()
    try:
        home.record(conn, "share.refused", reason=reason, purpose=str(report.request.purpose.purpose),
                    studies=[home.audit.pseudonym(u) for u in report.request.study_uids], flagged=len(report.flagged))
    finally:
        conn.close()
