"""Use case: write de-identified copies of files or library studies to a folder.

1. Every input is found (folders, files, zip, DICOMDIR; or library studies).
2. A quick pass reads each input's patient group (0010) to know its patients; each patient gets
   the scheme's pseudonym (``TEACH-0007``, the same in every export) and a date shift.
3. Worker processes (both cores) de-identify each instance and run the leak check on the
   bytes they produced; output is staged as temp files in the output folder.
4. An output that still holds an identifier of its original (in its header or bytes, or read
   by OCR in its pixels) is refused alone: its temp file is removed, the report names it and
   the element or pixel region that carries the identifier, and the others go on. Staged for
   a package (``seal_key``) it is all or nothing: any such output refuses the whole export.
   One ``syncfs`` makes the staged files durable, they are renamed into place
   (``PSEUDONYM/STUDY/SERIES/INSTANCE.dcm``, named by the new UIDs, never by identity), and the
   folders are flushed.
5. The export is recorded in the audit log: profile, counts, pseudonyms; never identity.

With a :class:`desktop.app.deid.runner.Redaction` (``veil deid --redact``, files only), each
file's regions are planned after the consent check (scanner templates; with ``detect``, OCR of
every frame for text matching its header's identifiers) and burned into its pixels in memory
whenever it is read: the gate's review and residual check read the redacted pixels, the engine
de-identifies the redacted instance and records the Clean Pixel Data Option (PS3.15 E.3.1).
An image counts as redacted for the review's header rule only when regions were burned into
it. No identifiable redacted intermediate is written anywhere.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop.app.common.formatting import megabytes, plural
from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.consent.disclosing import Sent, pending_disclosure, record_disclosure
from desktop.app.consent.export_consent import ExportPurpose, check_identities
from desktop.app.deid.reading import Reading, review_inputs
from desktop.app.deid.runner import (
    Done,
    Input,
    LibraryInstance,
    Output,
    Redaction,
    Runner,
    commit,
    discard,
    identity_of_input,
    plan_redactions,
    read_input,
)
from desktop.app.durability import write_ahead
from desktop.app.gate import (
    Channel,
    Delivery,
    Image,
    Review,
    Selection,
    bind,
    redact_masked,
    resolve,
)
from desktop.app.gate.review import Reviewed
from desktop.app.library.home import VeilHome
from desktop.app.library.instance_identity import Identity
from desktop.app.library.source_files import file_inputs
from desktop.core.common.errors import Cancelled, VeilError
from desktop.core.common.faults import fault_point
from desktop.core.consent import Decision, ExportRequest
from desktop.core.deid.engine import Change, PatientPlan, deidentify, make_settings, patient_key
from desktop.core.deid.leaks import Leak
from desktop.core.deid.mapping import date_shift_days, patient_token
from desktop.core.deid.profiles import Profile
from desktop.core.library.pseudonyms import assign_pseudonyms, pseudonym_text
from desktop.core.library.sources import Rejected

__all__ = ["DeidReport", "Input", "LibraryInstance", "Redaction", "deidentify_inputs", "deidentify_paths",
           "deidentify_studies", "file_inputs", "inputs_of", "library_inputs", "plans_for", "preview", "read_input"]



@dataclass
class DeidReport(Reviewed):
    """What an export did, for a person."""

    profile: Profile
    out_dir: Path
    total: int = 0
    written: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    #: Outputs that still held an identifier: (input label, leaks). Left out of a folder; any
    #: refuses a package (``all_or_nothing``).
    leaks: list[tuple[str, list[Leak]]] = field(default_factory=list)
    #: A package: one output that cannot be cleaned refuses them all.
    all_or_nothing: bool = False
    #: (attribute, action, rule) -> how many outputs: what de-identification did, without values.
    actions: dict[tuple[str, str, str], int] = field(default_factory=dict)
    #: Inputs that are the same instance as another input (same new SOP Instance UID).
    duplicates: list[str] = field(default_factory=list)
    pseudonyms: dict[str, int] = field(default_factory=dict)  # pseudonym -> instances
    files: list[str] = field(default_factory=list)  # written, relative to out_dir
    cancelled: bool = False
    seconds: float = 0.0
    purpose: ExportPurpose = field(kw_only=True)
    #: The consent check: a refusal means nothing was read further, nothing written.
    consent: Decision | None = None
    disclosure: int | None = None  # the accounting of disclosures' id of this export
    #: Staged for a package: (path under out_dir, size, SHA-256, CRC-32) of each output, sealed.
    outputs: list[tuple[str, int, str, int]] = field(default_factory=list)
    account: bool = True
    #: The burned-in review (the privacy gate's step 3) and what it flagged; the residual
    #: check's refusals (step 5: the patient's name, ID or a date read in pixels that would leave).
    review: Review | None = None
    confirm_burned_in: bool = False
    redacted: int = 0  # outputs whose pixels Veil redacted
    #: ``veil deid --redact``: what was burned in on the way (for the audit log), else "".
    redaction: str = ""
    #: The output disk filled up: about how many bytes the whole export needed (it stopped).
    disk_full: int = 0

    @property
    def refused_by_consent(self) -> bool:
        return self.consent is not None and not self.consent.allowed

    @property
    def refused_for_review(self) -> bool:
        """Images may carry burned-in identity and nobody confirmed they were checked."""
        return self.review is not None and self.review.needs_confirmation and not self.confirm_burned_in

    @property
    def refused(self) -> bool:
        return (self.refused_by_consent or self.refused_for_review or bool(self.disk_full)
                or (self.all_or_nothing and (bool(self.leaks) or bool(self.residual))))

    @property
    def left_out(self) -> int:
        """Outputs of a folder export left out because they still identify the patient."""
        return 0 if self.all_or_nothing else len(self.leaks) + len(self.residual)

    def headline(self) -> str:
        if self.disk_full:
            return (f"Export stopped: the disk holding {self.out_dir} is full (the export needs about "
                    f"{megabytes(self.disk_full)}). Nothing was written; free some space and export again.")
        if self.refused_by_consent:
            return "Export refused: consent does not allow it. Nothing was written."
        if self.residual and self.all_or_nothing:
            return (f"Export refused: {plural(len(self.residual), 'image')} would still show the patient's "
                    "identity in the pixels; redact them or leave them out. Nothing was written.")
        if self.refused_for_review:
            what = (f"{plural(len(self.flagged), 'image')} may carry burned-in identity"
                    if self.flagged else "the pixels could not be read for text")
            return (f"Export refused: {what}. Redact them, leave them out, or confirm you checked them "
                    "(--confirm-burned-in). Nothing was written.")
        if self.refused:
            return (f"Export refused: {plural(len(self.leaks), 'output file')} still held an identifier "
                    "of the original. Nothing was written.")
        if self.cancelled:
            return "Export cancelled. Nothing was written."
        text = (f"De-identified {plural(self.written, 'instance')} of "
                f"{plural(len(self.pseudonyms), 'patient')} with the {self.profile.title} profile")
        if self.left_out:
            text += (f"; {plural(self.left_out, 'file')} left out: still identifying after cleaning "
                     "(listed below)")
        if self.rejected:
            text += f"; {plural(len(self.rejected), 'file')} could not be de-identified"
        return text + "."


# -- inputs ------------------------------------------------------------------------------------
def library_inputs(home: VeilHome, study_uids: Iterable[str], series_uids: Iterable[str] = (),
                   instance_uids: Iterable[str] = ()) -> list[Input]:
    """The current version of every image of these library studies (only of ``series_uids``
    and ``instance_uids``, when given): redacted versions where Veil made them, never the
    originals beside them (:func:`desktop.app.gate.resolve`)."""
    resolved = resolve(home, Selection(tuple(study_uids), tuple(series_uids), tuple(instance_uids)))
    return list(inputs_of(resolved.images))


def inputs_of(images: Iterable[Image]) -> list[LibraryInstance]:
    """De-identification inputs for library images the gate resolved."""
    return [LibraryInstance(i.sha256, i.label, patient_key(*i.identity), i.series_uid,
                            i.instance_number, i.study_uid, i.sop_uid, i.modality, i.burned_in, i.redacted,
                            i.instance_ref)
            for i in images]


# -- the use case ------------------------------------------------------------------------------
def plans_for(home: VeilHome, profile: Profile, patient_keys: Iterable[str]) -> dict[str, PatientPlan]:
    """Each patient's pseudonym (assigned once, kept in the library) and date shift."""
    keys = list(dict.fromkeys(patient_keys))
    secret = home.keys.deid_key
    tokens = {k: patient_token(secret, k) for k in keys}
    conn = home.connect()
    try:
        names = assign_pseudonyms(conn, profile.pseudonym_prefix, tokens.values())
    finally:
        conn.close()
    return {k: PatientPlan(names[tokens[k]], date_shift_days(secret, k)) for k in keys}


def deidentify_inputs(home: VeilHome, profile: Profile, inputs: Sequence[Input], out_dir: str | os.PathLike[str],
                      progress: Progress = no_progress, cancel: CancelToken | None = None,
                      workers: int | None = None, rejected: list[Rejected] | None = None, *,
                      purpose: ExportPurpose, seal_key: bytes | None = None, account: bool = True,
                      confirm_burned_in: bool = False, reviewed: Review | None = None,
                      redaction: Redaction | None = None) -> DeidReport:
    """De-identify ``inputs`` into ``out_dir`` for ``purpose``: nothing is written when a study
    has no consent for it, when images may carry burned-in identity and ``confirm_burned_in``
    is not given, and all or nothing when a leak is found (in the header, the bytes, or read by
    OCR in the pixels: the privacy gate's steps 3 to 5, :mod:`desktop.app.gate`). ``reviewed``:
    the review the caller already ran on these inputs (else it is run here).

    With ``seal_key`` the outputs are sealed (staged for a package: no plaintext on disk) and
    :attr:`DeidReport.outputs` says each one's size and SHA-256; without ``account`` the caller
    audits and accounts for the disclosure itself (the package is what leaves).

    With ``redaction`` (files only) each file's pixels are redacted in memory on the way and its
    output records the Clean Pixel Data Option (PS3.15 E.3.1): see the module docstring."""
    if redaction is not None and (reviewed is not None or any(isinstance(i, LibraryInstance) for i in inputs)):
        raise VeilError("Redaction on the way is for files: library images are redacted in Redact mode.")
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VeilError(f"The output folder cannot be created ({exc.strerror or type(exc).__name__}).") from None
    report = DeidReport(profile, out, total=len(inputs), rejected=list(rejected or []), purpose=purpose,
                        review=reviewed, confirm_burned_in=confirm_burned_in, all_or_nothing=seal_key is not None)
    progress(0, len(inputs))
    settings = make_settings(profile, home.keys.deid_key, home.path / "cache", extra=purpose.dicom_elements())
    store_args = None
    if any(isinstance(i, LibraryInstance) for i in inputs):
        store_args = (home.objects.root, home.objects.tmp, home.keys.object_key, home.keys.object_name_key)
    workers = workers or max(1, min(os.cpu_count() or 1, 8))
    runner = Runner(settings, Output(str(out), seal_key), store_args, workers, len(inputs))
    report.account = account
    report.redaction = redaction.describe() if redaction is not None else ""
    try:
        return _run(home, profile, inputs, out, runner, report, progress, cancel, started, redaction)
    finally:
        runner.close()


def _run(home: VeilHome, profile: Profile, inputs: Sequence[Input], out: Path, runner: Runner,
         report: DeidReport, progress: Progress, cancel: CancelToken, started: float,
         redaction: Redaction | None = None) -> DeidReport:
    keys: dict[int, str] = {}
    own_review: Review | None = None
    reading: Reading | None = None
    readable: list[Input] = []
    identities: dict[str, Identity] = {}
    # A cancel cuts the identities short: the inputs after them are not read.
    for item, (identity, reason) in zip(inputs, runner.identities(inputs, cancel), strict=False):
        if identity is None:
            report.rejected.append(Rejected(item.label, reason or "cannot be read"))
        else:
            keys[id(item)] = identity.patient_key
            identities[item.label] = identity
            readable.append(item)
    interrupted = cancel.cancelled
    request = None
    if readable and not interrupted:
        request, report.consent = check_identities(home, report.purpose, list(identities.values()),
                                                   list(identities), deidentified=True)
        if not report.consent.allowed:
            report.seconds = time.perf_counter() - started
            if report.account:
                _audit(home, report)
            return report
        if redaction is not None:  # burned in memory from here on: what is reviewed is what leaves
            planned, refused = plan_redactions(readable, redaction, cancel)
            report.rejected.extend(refused)
            for redacted_item in planned:
                keys[id(redacted_item)] = identities[redacted_item.label].patient_key
                identities[redacted_item.label] = redacted_item.identity(identities[redacted_item.label])
            readable = list(planned)
        if report.review is None:
            # The headers first (no pixel read): images they flag refuse the export before any work.
            header = review_inputs(home, readable, identities, cancel, ocr=False)
            if header.flagged and not report.confirm_burned_in:
                report.review = header
            else:  # the pixels are read while the workers de-identify; the verdict comes before the commit
                reading = Reading(lambda stop: review_inputs(home, readable, identities, cancel, stop=stop))
        if report.refused_by_consent or (report.residual and report.all_or_nothing) or (
                report.refused_for_review and not unreadable_only(report)):
            report.seconds = time.perf_counter() - started
            if report.account:
                _audit(home, report)
            return report
    plans = plans_for(home, profile, keys.values())
    staged: list[Done] = []
    finals: dict[str, str] = {}
    done = 0
    intent = write_ahead.begin(home, "folder", out) if report.account else None
    last = 0.0
    try:
        for result in runner.results(readable, keys, plans, cancel):
            done += 1
            if result.disk_full:
                if not report.disk_full:
                    cancel.cancel()  # nothing more fits: stop, and remove what was staged
                report.disk_full += result.disk_full
            elif result.error:
                report.rejected.append(Rejected(result.label, result.error))
            elif result.leaks:
                report.leaks.append((result.label, list(result.leaks)))
            elif result.final in finals:
                report.duplicates.append(result.label)
                os.unlink(result.temp)
            else:
                finals[result.final] = result.label
                staged.append(result)
            for key, count in result.tally:  # a batch's, of its staged files (deid_runner)
                report.actions[key] = report.actions.get(key, 0) + count
            now = time.perf_counter()
            if now - last > 0.05 or done == len(readable):
                progress(done, len(inputs))
                last = now
        report.cancelled = not report.disk_full and (interrupted or (cancel.cancelled and done < len(readable)))
        if report.disk_full:  # what was staged, what failed, and what was never tried
            written = sum(item.size for item in staged) + report.disk_full
            report.disk_full = written * len(readable) // max(len(staged) + 1, 1)
        if reading is not None:
            try:
                report.review = own_review = reading.result()
            except Cancelled:
                report.cancelled = True
        if own_review is not None:  # an image the engine refused does not leave: nothing to review
            gone = {r.label for r in report.rejected}
            own_review.flagged = [f for f in own_review.flagged if readable[f.instance_ref].label not in gone]
        if report.cancelled or report.refused:
            discard(staged)
            staged = []
        else:
            if report.residual:  # a folder: what OCR still reads the patient in stays out
                gone = {readable[r.key].label for r in report.residual}
                discard([item for item in staged if item.label in gone])
                staged = [item for item in staged if item.label not in gone]
            fault_point("deid.staged")
            _expect(home, intent, report, request, staged, identities, readable)
            commit(out, staged)
            fault_point("deid.renamed")
    except BaseException:
        write_ahead.settle(home, intent, write_ahead.ABANDONED)
        discard(staged)
        if reading is not None:
            reading.stop()
        raise
    redacted = {label for label, identity in identities.items() if identity.redacted}
    report.redacted = sum(item.label in redacted for item in staged)
    for output in staged:
        report.files.append(output.final)
        report.outputs.append((output.final, output.size, output.sha256, output.crc32))
        pseudonym = output.final.split("/", 1)[0]
        report.pseudonyms[pseudonym] = report.pseudonyms.get(pseudonym, 0) + 1
    report.written = len(staged)
    report.seconds = time.perf_counter() - started
    if not report.account:
        return report
    _audit(home, report)
    if staged and request is not None and report.consent is not None:
        report.disclosure = record_disclosure(home, "deid.export", request, report.consent,
                                              _sent(staged, identities, readable), recipient=report.purpose.recipient,
                                              destination=str(out), profile=report.profile.key, intent=intent)
    else:
        write_ahead.settle(home, intent, write_ahead.DONE if staged else write_ahead.ABANDONED)
    return report


def _sent(staged: list[Done], identities: dict[str, Identity], inputs: Sequence[Input]) -> list[Sent]:
    sops = {i.label: getattr(i, "sop_uid", "") for i in inputs}  # library instances know theirs
    return [Sent(identities[i.label].library_key, identities[i.label].study_uid, identities[i.label].series_uid,
                 sops.get(i.label, "")) for i in staged]


def _expect(home: VeilHome, intent: int | None, report: DeidReport, request: ExportRequest | None,
            staged: list[Done], identities: dict[str, Identity], inputs: Sequence[Input]) -> None:
    """Write ahead, before the files are renamed into place: which files will appear, and the
    disclosure and audit line a restart writes if this process dies before it does."""
    if intent is None or not staged:
        return
    disclosure = None
    if request is not None and report.consent is not None:
        disclosure = pending_disclosure("deid.export", request, report.consent, _sent(staged, identities, inputs),
                                        recipient=report.purpose.recipient, destination=str(report.out_dir),
                                        profile=report.profile.key)
    write_ahead.expect(home, intent, [i.final for i in staged], disclosure,
                       ("deid.export", {"outcome": "completed", "profile": report.profile.key,
                                        "written": len(staged)}))


def unreadable_only(report: DeidReport) -> bool:
    """Every flag is an image the review could not decode (the engine may refuse it too)."""
    return bool(report.flagged) and all(": could not be read for text" in f.label for f in report.flagged)


def _audit(home: VeilHome, report: DeidReport) -> None:
    outcome = ("failed-disk-full" if report.disk_full else
               "refused-consent" if report.refused_by_consent else
               "refused-pixels" if report.residual and report.all_or_nothing else
               "refused-burned-in" if report.refused_for_review else
               "refused-leak" if report.refused else "cancelled" if report.cancelled else "completed")
    conn = home.connect()
    try:
        home.record(conn, "deid.export", outcome=outcome, profile=report.profile.key,
                    purpose=str(report.purpose.purpose) if report.purpose else "",
                    options=sorted(report.profile.options), written=report.written,
                    rejected=len(report.rejected), leaks=len(report.leaks), left_out=report.left_out,
                    pseudonyms=sorted(report.pseudonyms), flagged=len(report.flagged),
                    confirmed_burned_in=report.confirm_burned_in and bool(report.flagged),
                    read_for_text=report.review.read if report.review else 0, redacted=report.redacted,
                    **({"pixel_redaction": report.redaction} if report.redaction else {}))
    finally:
        conn.close()


def _audit_preview(home: VeilHome, profile: Profile, item: Input) -> None:
    """A preview shows the original's identifying values: accounted for like a view."""
    where = item.sha256 if isinstance(item, LibraryInstance) else item.label
    conn = home.connect()
    try:
        home.record(conn, "deid.preview", profile=profile.key, instance=home.audit.pseudonym(where))
    finally:
        conn.close()


def deidentify_paths(home: VeilHome, profile: Profile, paths: Iterable[str | os.PathLike[str]],
                     out_dir: str | os.PathLike[str], progress: Progress = no_progress,
                     cancel: CancelToken | None = None, workers: int | None = None, *,
                     purpose: ExportPurpose, confirm_burned_in: bool = False,
                     redaction: Redaction | None = None, follow_links_out: bool = False) -> DeidReport:
    """De-identify every DICOM file under ``paths`` into ``out_dir``, through the privacy gate
    (:mod:`desktop.app.gate`: a folder never goes to a colleague for care). With ``redaction``
    the regions are burned into each file's pixels in memory first (``veil deid --redact``; the
    outputs record the Clean Pixel Data Option, PS3.15 E.3.1)."""
    bind(purpose, Delivery(Channel.FOLDER))
    out = Path(out_dir).resolve()
    for path in paths:
        if out == Path(path).resolve() or Path(path).resolve() in out.parents:
            raise VeilError("Write the de-identified copies outside the folder being read.")
    inputs, rejected = file_inputs(paths, cancel, follow_links_out)
    return deidentify_inputs(home, profile, inputs, out_dir, progress, cancel, workers, rejected, purpose=purpose,
                             confirm_burned_in=confirm_burned_in, redaction=redaction)


def deidentify_studies(home: VeilHome, profile: Profile, study_uids: Iterable[str],
                       out_dir: str | os.PathLike[str], progress: Progress = no_progress,
                       cancel: CancelToken | None = None, workers: int | None = None, *,
                       purpose: ExportPurpose, series_uids: Iterable[str] = (), instance_uids: Iterable[str] = (),
                       confirm_burned_in: bool = False) -> DeidReport:
    """De-identify library studies (only ``series_uids`` and ``instance_uids`` of them, when
    given) into ``out_dir`` through the privacy gate: images with masks leave as their redacted
    versions, never beside them (:mod:`desktop.app.gate`)."""
    bind(purpose, Delivery(Channel.FOLDER))
    study_uids = tuple(study_uids)
    redact_masked(home, study_uids, cancel=cancel)
    inputs = library_inputs(home, study_uids, series_uids, instance_uids)
    return deidentify_inputs(home, profile, inputs, out_dir, progress, cancel, workers, purpose=purpose,
                             confirm_burned_in=confirm_burned_in)


# -- preview -----------------------------------------------------------------------------------
def preview(home: VeilHome, profile: Profile, item: Input) -> list[Change]:
    """What the profile does to every attribute of one instance, without writing anything.

    The patient's pseudonym is shown as it will be (an existing one, or the next number), but
    not assigned until an export runs.
    """
    data = read_input(item, home.objects if isinstance(item, LibraryInstance) else None)
    key = identity_of_input(item).patient_key
    secret = home.keys.deid_key
    token = patient_token(secret, key)
    conn = home.connect()
    try:
        row = conn.execute("SELECT number FROM pseudonyms WHERE scheme = ? AND patient_token = ?",
                           (profile.pseudonym_prefix, token)).fetchone()
        if row is None:
            (last,) = conn.execute("SELECT COALESCE(MAX(number), 0) FROM pseudonyms WHERE scheme = ?",
                                   (profile.pseudonym_prefix,)).fetchone()
            number = last + 1
        else:
            (number,) = row
    finally:
        conn.close()
    plan = PatientPlan(pseudonym_text(profile.pseudonym_prefix, number), date_shift_days(secret, key))
    _audit_preview(home, profile, item)
    result = deidentify(data, make_settings(profile, secret, home.path / "cache"), lambda _key: plan, record=True)
    return result.changes
