"""Use case: export a selection as an encrypted, signed share package, or a signed
plain ZIP for a journal, through the privacy gate (:mod:`desktop.app.gate`).

selection (nothing outside its studies) and recipients bound to the purpose (care: only the
colleague the consent names, by their key) -> consent check (HIPAA 45 CFR 164.508) -> redacted versions ->
burned-in review and residual OCR check -> identifiable current versions (care only) or a
de-identified copy (staged sealed under a key that lives only in memory) -> the package,
written straight into age ciphertext -> audit line and the accounting of disclosures naming
the contacts it was really encrypted to.

No plaintext copy of the package, or of what goes in it, is ever written to disk.
"""

from __future__ import annotations

import io
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO, cast

from pydicom import dcmread
from pydicom.dataset import Dataset

from desktop.app.cases.tce_members import case_members
from desktop.app.common.formatting import megabytes
from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.consent.consenting import consents_of
from desktop.app.consent.disclosing import Sent, pending_disclosure, record_disclosure
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.consent.purpose_rules import unencrypted_allowed
from desktop.app.deid.deidentifying import DeidReport, deidentify_inputs, inputs_of
from desktop.app.durability import write_ahead
from desktop.app.gate import (
    ARCHIVE_SUFFIX,
    TEXT_PRONE_MODALITIES,
    Channel,
    Delivery,
    Flagged,
    Image,
    Review,
    Selection,
    TypedLeak,
    WrittenPackage,
    enter,
    find_typed_leaks,
    patient_identifiers,
    review_prepared,
    unverified,
    writers,
)
from desktop.app.gate.review import Reviewed
from desktop.app.keys.contacts import Contact
from desktop.app.keys.identity import my_card, my_identity
from desktop.app.library.home import VeilHome
from desktop.app.library.instance_identity import library_key
from desktop.core.cases.case import TeachingCase
from desktop.core.common.disk_full import DiskFullError, free_bytes, is_disk_full
from desktop.core.common.errors import Cancelled, VeilError
from desktop.core.common.faults import fault_point
from desktop.core.common.sealed import SealedReader, peek_unsealed
from desktop.core.consent import ConsentRecord, Decision, distribution_type
from desktop.core.deid.profiles import Profile
from desktop.core.share.manifest import PackageDetails, new_package_id
from desktop.core.share.member_names import dicom_member_name
from desktop.core.share.sources import PackageSource, StreamSource

__all__ = ["Flagged", "ShareReport", "ShareRequest", "TEXT_PRONE_MODALITIES", "export_package",
           "passphrase_problem"]


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
    #: the wizard's redaction page lists them); added to what the export's own review flags.
    reviewed: tuple[Flagged, ...] | None = None
    #: The gate's review the person saw: reused when it read exactly the images that leave (same
    #: bytes), else the export reviews them again.
    review: Review | None = None
    #: A teaching case whose key images these are: its Key Object Selection and report go into
    #: the package beside them (IHE TCE; :mod:`desktop.app.cases.tce_members`).
    teaching_case: TeachingCase | None = None

    @property
    def identifiable(self) -> bool:
        return self.profile is None


@dataclass
class ShareReport(Reviewed):
    """How an export ended."""

    request: ShareRequest
    consent: Decision | None = None
    package: WrittenPackage | None = None
    disclosure: int | None = None
    deid: DeidReport | None = None
    review: Review | None = None
    recipient: str = ""  # who the accounting names: the contacts it was really encrypted to
    unverified: list[Contact] = field(default_factory=list)  # recipients whose key was never checked
    typed: list[TypedLeak] = field(default_factory=list)  # a teaching case's text that names the patient

    @property
    def refused(self) -> bool:
        return self.package is None

    def headline(self) -> str:
        if self.consent is not None and not self.consent.allowed:
            return "Export refused: consent does not allow it. No package was written."
        if self.typed:
            return ("Export refused: " + "; ".join(t.describe() for t in self.typed)
                    + ". Rewrite it without the patient's identity. No package was written.")
        if self.residual:
            return (f"Export refused: {len(self.residual)} image(s) would still show the patient's identity in the "
                    "pixels; redact them or leave them out. No package was written.")
        if self.flagged and not self.request.confirm_burned_in:
            return (f"{len(self.flagged)} image(s) may carry burned-in identity and have no redaction mask: "
                    "redact them, leave them out, or confirm you checked them. No package was written.")
        if self.deid is not None and self.deid.refused:
            return self.deid.headline()
        if self.package is None:
            return "No package was written."
        images = sum(f.path.startswith("DICOM/") for f in self.package.manifest.files)
        case = ""
        if self.request.teaching_case is not None:  # its key object selection and report are DICOM files too
            images -= 2
            case = f", the teaching case \u201c{self.request.teaching_case.title}\u201d"
        how = "de-identified and signed, not encrypted" if self.request.unencrypted else "encrypted and signed"
        return (f"Wrote {self.package.path.name}: {images} image{'s' if images != 1 else ''}{case}, "
                f"{self.package.size / 1e6:.1f} MB, {how}.")


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
    out: dict[str, object] = {"purpose": str(decision.purpose),
                              "distribution_type": distribution_type(decision.purpose),
                              "records": relied, "limits": list(decision.limits)}
    if decision.overridden:
        out["override"] = {"by": decision.overridden_by, "justification": decision.justification}
    return out


def _library_sources(home: VeilHome, images: Sequence[Image]) -> tuple[list[PackageSource], list[Sent]]:
    """The current versions, identifiable (sealed objects, decrypted as the writer reads them)."""
    sources: list[PackageSource] = []
    sent: list[Sent] = []
    for image in images:
        name = dicom_member_name(len(sources))
        sources.append(StreamSource(name, image.size, partial(_open_object, home, image.sha256),
                                    sha256=image.sha256, crc32=image.crc32,
                                    peek=partial(home.objects.peek, image.sha256)))
        sent.append(Sent(image.patient_key, image.study_uid, image.series_uid, image.sop_uid))
    return sources, sent


def _staged_sources(folder: Path, key: bytes, report: DeidReport) -> list[PackageSource]:
    def peek(path: Path, size: int) -> bytes:
        with open(path, "rb") as fh:
            return peek_unsealed(fh, key, size)

    return [StreamSource(dicom_member_name(n), size, partial(_open_staged, folder / rel, key),
                         sha256=sha, crc32=crc, peek=partial(peek, folder / rel))
            for n, (rel, size, sha, crc) in enumerate(report.outputs)]


def _staged_headers(folder: Path, key: bytes, report: DeidReport) -> tuple[dict[str, Dataset], dict[str, str]]:
    """The header of every staged output, and its member name in the package (as
    :func:`_staged_sources` names it), by its SOP Instance UID (read from the sealed copies)."""
    headers: dict[str, Dataset] = {}
    member_of: dict[str, str] = {}
    for n, (rel, _size, _sha, _crc) in enumerate(report.outputs):
        with _open_staged(folder / rel, key) as fh:  # a sealed stream does not seek: read it whole, in memory
            ds = dcmread(io.BytesIO(fh.read()), stop_before_pixels=True)
        headers[str(ds.SOPInstanceUID)] = ds
        member_of[str(ds.SOPInstanceUID)] = dicom_member_name(n)
    return headers, member_of


# A SealedReader is a binary stream (io.RawIOBase), what StreamSource reads; the BinaryIO its
# opener is annotated with is a narrower protocol than the streams it is given.
def _open_object(home: VeilHome, sha256: str) -> BinaryIO:
    """A library object's plaintext, each chunk authenticated as it is read."""
    return cast(BinaryIO, home.objects.open(sha256))


def _open_staged(path: Path, key: bytes) -> BinaryIO:
    """A staged de-identified copy's plaintext, each chunk authenticated as it is read."""
    return cast(BinaryIO, SealedReader(open(path, "rb", buffering=0), key))


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


def _delivery(request: ShareRequest) -> Delivery:
    if request.unencrypted:
        _check_unencrypted(request)
        return Delivery(Channel.ARCHIVE)
    if request.recipients and request.passphrase:
        raise VeilError("A package opens either with colleagues' keys or with a passphrase, not both; choose one.")
    if request.passphrase is not None:
        if problem := passphrase_problem(request.passphrase):
            raise VeilError(problem)
        return Delivery(Channel.PASSPHRASE)
    if not request.recipients:
        raise VeilError("Choose who can open the package: colleagues from the address book, or a passphrase.")
    return Delivery(Channel.KEYS, tuple(request.recipients))


def export_package(home: VeilHome, request: ShareRequest, progress: Progress = no_progress,
                   cancel: CancelToken | None = None) -> ShareReport:
    """Check, prepare and write the package through the privacy gate; a refusal, a cancel or a
    failure leaves no file."""
    cancel = cancel or CancelToken()
    report = ShareReport(request)
    delivery = _delivery(request)
    report.unverified = unverified(delivery.contacts)
    cleared = enter(home, Selection(request.study_uids, request.series_uids, request.instance_uids),
                    request.purpose, delivery, identifiable=request.identifiable, cancel=cancel)
    purpose, decision = cleared.purpose, cleared.decision
    report.consent = decision
    report.recipient = delivery.recipient_text(purpose)
    images = cleared.resolved.images
    case = request.teaching_case
    if case is not None and request.identifiable:
        raise VeilError("A teaching case leaves de-identified: choose a de-identification profile.")
    if decision.allowed:
        report.review = _review(home, images, request, cancel)
        if case is not None:
            report.typed = find_typed_leaks(case.typed_texts(), patient_identifiers(home, images))
    if not decision.allowed or report.residual or report.typed or (
            report.review is not None and report.review.needs_confirmation and not request.confirm_burned_in):
        _audit_refusal(home, report)
        return report
    records = consents_of(home, {i.patient_key for i in cleared.resolved.items})
    staging = write_ahead.staging_folder(home, "share", secrets.token_hex(8))
    kind = "share.archive" if request.unencrypted else "share.package"
    intent = write_ahead.begin(home, kind, request.output, staging)
    try:
        profile = request.profile
        if profile is None:  # identifiable: the current versions themselves (care only)
            sources, sent = _library_sources(home, images)
            deid_details: dict = {"profile": "identifiable"}
        else:
            key = secrets.token_bytes(32)  # lives only in memory: the staged copies die with it
            staging.mkdir(mode=0o700, parents=True)
            inputs = inputs_of(images)
            deid = deidentify_inputs(home, profile, inputs, staging, progress, cancel, purpose=purpose,
                                     seal_key=key, account=False, reviewed=report.review,
                                     confirm_burned_in=request.confirm_burned_in)
            report.deid = deid
            if deid.disk_full:  # the sealed staging is under the Veil home
                raise DiskFullError(f"The disk holding the Veil library ({home.path}) is full: the package's "
                                    f"images need about {megabytes(deid.disk_full)} there while it is written. "
                                    "Nothing was written; free some room and export again.")
            if deid.refused or deid.cancelled or deid.rejected:
                if deid.cancelled:
                    raise Cancelled("The export was cancelled; no package was written.")
                _audit_refusal(home, report)
                write_ahead.settle(home, intent, write_ahead.ABANDONED)
                return report
            sources = _staged_sources(staging, key, deid)
            if case is not None:
                headers, member_of = _staged_headers(staging, key, deid)
                sources += case_members(case, images, headers, home.keys.deid_key, len(sources),
                                        patient_identifiers(home, images), member_of)
            sent = [Sent(library_key(inp.patient_key), inp.study_uid, inp.series_uid, inp.sop_uid) for inp in inputs]
            deid_details = {"profile": profile.key, "options": sorted(profile.options),
                            "pseudonyms": sorted(deid.pseudonyms)}
        redaction = {"confirmed_burned_in": len(report.flagged) if request.confirm_burned_in else 0,
                     "redacted_in_veil": sum(i.redacted for i in images),
                     "read_for_text": report.review.read if report.review else 0}
        details = PackageDetails(str(purpose.purpose), _consent_basis(decision, records), deid_details, redaction)
        write = writers(cleared, None if request.identifiable else report.review, request.confirm_burned_in)
        package_id = new_package_id()  # recorded before the first byte, so a crash still names it
        write_ahead.expect(home, intent, disclosure=pending_disclosure(
            kind, cleared.request, decision, sent, recipient=report.recipient, destination=str(request.output),
            profile=request.profile.key if request.profile else "identifiable", package_id=package_id))
        if request.unencrypted:
            report.package = write.write_archive(request.output, sources, details, my_identity(home), my_card(home),
                                                 progress=progress, cancelled=lambda: cancel.cancelled,
                                                 addressed_for=purpose.recipient, package_id=package_id)
        else:
            report.package = write.write_package(
                request.output, sources, details, my_identity(home), my_card(home),
                recipients=[c.card or c.age_recipient for c in delivery.contacts], passphrase=request.passphrase,
                progress=progress, cancelled=lambda: cancel.cancelled, addressed_for=report.recipient,
                package_id=package_id)
    except BaseException as exc:
        write_ahead.settle(home, intent, write_ahead.ABANDONED)
        if is_disk_full(exc):
            raise _disk_full(home, request.output, images) from None
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if report.package is None:  # refused or cancelled before writing: nothing left
        write_ahead.settle(home, intent, write_ahead.ABANDONED)
        return report
    fault_point("share.written")
    report.disclosure = record_disclosure(
        home, kind, cleared.request, decision, sent,
        recipient=report.recipient, destination=str(report.package.path),
        profile=request.profile.key if request.profile else "identifiable", intent=intent,
        package_id=report.package.manifest.package_id)
    return report


def _disk_full(home: VeilHome, output: Path, images: Sequence[Image]) -> DiskFullError:
    """A full disk under the package or under the library (its staging, its index): the one with
    less room is named, with about how much the package needs (the images' size)."""
    size = sum(i.size for i in images)
    need = f" (the package needs about {megabytes(size)})" if size else ""
    room_home, room_out = free_bytes(home.path), free_bytes(output.parent)
    if room_home is not None and room_out is not None and room_home < room_out:
        return DiskFullError(f"The disk holding the Veil library ({home.path}) is full{need}. Nothing was written; "
                             "free some room on it and export again.")
    return DiskFullError(f"The disk holding {output.parent} is full{need}. Nothing was written; free some room "
                         "or choose another folder, and export again.")


def _review(home: VeilHome, images: Sequence[Image], request: ShareRequest, cancel: CancelToken) -> Review:
    """The gate's review of what leaves (:func:`review_prepared`). Identifiable images for care
    carry the patient's identity by design: only de-identified exports are reviewed."""
    if request.identifiable:
        return Review(candidates=len(images), ocr=True)
    return review_prepared(home, images, shown=request.review, seen=request.reviewed or (), cancel=cancel)


def _check_unencrypted(request: ShareRequest) -> None:
    """A plain archive holds de-identified images only, never for care, and has no recipients."""
    if not unencrypted_allowed(request.purpose.purpose, request.identifiable):
        raise VeilError("Only de-identified images, for teaching, publication or research, leave without "
                        "encryption; send images for care as an encrypted package.")
    if request.recipients or request.passphrase:
        raise VeilError("An unencrypted archive has no recipients or passphrase; choose one or the other.")
    if request.output.suffix.lower() != ARCHIVE_SUFFIX:
        raise VeilError(f"Name the unencrypted archive NAME{ARCHIVE_SUFFIX}.")


def _audit_refusal(home: VeilHome, report: ShareReport) -> None:
    reason = ("consent" if report.consent is not None and not report.consent.allowed else
              "pixels" if report.residual else
              "burned-in" if report.flagged and not report.request.confirm_burned_in else "de-identification")
    conn = home.connect()
    try:
        home.record(conn, "share.refused", reason=reason, purpose=str(report.request.purpose.purpose),
                    studies=[home.audit.pseudonym(u) for u in report.request.study_uids], flagged=len(report.flagged))
    finally:
        conn.close()
