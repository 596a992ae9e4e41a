"""``veil consent add|list|withdraw|form`` and ``veil report disclosures|audit``, and
the purpose arguments every export takes."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.cli.support import STUDY_HELP, open_home, safe
from desktop.core.common.disk_full import is_disk_full
from desktop.core.common.errors import VeilError
from desktop.core.common.portable import BINARY

if TYPE_CHECKING:  # annotations only: the commands import the app late, so the command line starts fast
    from desktop.app.consent.report_files import ReportTable
    from desktop.app.gate.review import Flagged, Refusal
    from desktop.app.library.home import VeilHome
    from desktop.core.consent import ConsentRecord, Decision, Scope

PURPOSES = ("care", "teaching", "conference", "publication", "research", "public")
METHODS = ("written", "electronic", "verbal-witnessed")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("dates are written YYYY-MM-DD") from None


def add_purpose_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--purpose", required=True, choices=PURPOSES,
                   help="why the images leave; every study needs a valid consent, waiver or site policy for it")
    p.add_argument("--recipient", help="who receives them (for care: the colleague the consent names)")
    p.add_argument("--protocol", help="the research protocol's ID (for research)")
    p.add_argument("--override", metavar="JUSTIFICATION",
                   help="care only: export without consent where the law permits it; the justification "
                        "(a sentence) goes into the audit log")


def print_refusal(consent: Decision | None, flagged: Sequence[Flagged] = (), confirmed: bool = False,
                  residual: Sequence[Refusal] = ()) -> None:
    """Why an export was refused, on stderr: each study consent does not allow (and how to
    override for care), each image whose pixels would still show the patient, or each image
    that may carry burned-in identity (``consent``: a Decision; ``flagged``: Flagged images;
    ``residual``: (image, why) pairs of the privacy gate's residual check)."""
    import sys

    if consent is not None and not consent.allowed:
        for line in consent.message.splitlines():
            print(safe(line), file=sys.stderr)
        if consent.override_allowed:
            print("To override for the patient's care, add --override \"WHY\" (a sentence).", file=sys.stderr)
        return
    if residual:
        for refusal in residual:
            print(f"  {safe(refusal.label)}: {refusal.why}", file=sys.stderr)
        print("Paint a redaction mask over the text in the viewer (Shift+R), or leave those images out.",
              file=sys.stderr)
        return
    if flagged and not confirmed:
        for item in flagged:
            print(f"  {safe(item.label)}", file=sys.stderr)
        print("Redact them in the viewer (Shift+R), or add --confirm-burned-in once you have checked them.",
              file=sys.stderr)


# -- consent -------------------------------------------------------------------------------------
def _scope(args: argparse.Namespace, home: VeilHome) -> tuple[Scope, str]:
    """Whose consent ``args`` records (every patient, a patient, or some of their studies or
    series), and that said for the confirmation."""
    from desktop.app.consent.consenting import find_patient
    from desktop.core.consent import EVERY_PATIENT, Scope

    if args.site_wide:
        if args.patient or args.study or args.series:
            raise VeilError("--site-wide covers every patient: give no --patient, --study or --series.")
        return Scope(EVERY_PATIENT), "every patient"
    if args.study:
        patients = {find_patient(home, study_uid=uid) for uid in args.study}
        if len(patients) > 1:
            raise VeilError("These studies belong to different patients; record one consent per patient.")
        patient = patients.pop()
        if args.patient and patient.patient_id != args.patient:
            raise VeilError("These studies are not of the patient given with --patient.")
        return Scope(patient.key, frozenset(args.study), frozenset(args.series or ())), patient.title
    if args.series:
        raise VeilError("--series needs the --study it belongs to.")
    if not args.patient:
        raise VeilError("Say whose consent it is: --patient PATIENT_ID, --study STUDY or --site-wide.")
    patient = find_patient(home, patient_id=args.patient)
    return Scope(patient.key), patient.title


def cmd_consent_add(args: argparse.Namespace) -> int:
    from desktop.app.consent.consenting import add_consent
    from desktop.core.audit.log import os_user
    from desktop.core.consent import Basis, ConsentRecord

    if args.not_required == "":  # --not-required alone: the site's own policy
        from desktop.app.site.defaults import site_policy

        policy = site_policy()
        if policy is None:
            raise VeilError("Name the site policy (--not-required POLICY): the site file names none ('veil site').")
        args.not_required = policy.name
    kinds = [k for k in (args.consent, args.waiver, args.not_required) if k]
    if len(kinds) != 1:
        raise VeilError("Give exactly one of --consent METHOD, --waiver REFERENCE or --not-required POLICY.")
    try:  # opening a library on a full disk fails too (SQLite makes its shared-memory file)
        home = open_home(args)
    except Exception as exc:
        from desktop.app.consent.consenting import library_full
        from desktop.app.library.home import resolve_home
        from desktop.core.common.disk_full import is_disk_full

        where = resolve_home(args.home)
        if not is_disk_full(exc, where):
            raise
        form_size = os.path.getsize(args.form) if args.form and os.path.isfile(args.form) else 0
        raise library_full(where, "the consent was not recorded", form_size) from None
    scope, whose = _scope(args, home)
    basis = Basis.CONSENT if args.consent else Basis.WAIVER if args.waiver else Basis.NOT_REQUIRED
    record = ConsentRecord(
        basis=basis, scope=scope, purposes=frozenset(args.purpose), obtained_on=args.obtained_on or date.today(),
        recorded_by=args.by or os_user(), colleague=args.colleague or "", protocol_id=args.protocol or "",
        method=args.consent, witness=args.witness or "", obtained_by=args.obtained_by or "",
        valid_from=args.valid_from, valid_until=args.valid_until, limits=args.limits or "",
        waiver_reference=args.waiver or "", committee=args.committee or "", policy=args.not_required or "")
    record = add_consent(home, record, args.form)
    print(f"Recorded {record.basis.noun} {record.id} for {safe(whose)}: {_purposes(record)}"
          + (f", valid until {record.valid_until.isoformat()}" if record.valid_until else ""))
    return 0


def _purposes(record: ConsentRecord) -> str:
    from desktop.core.consent import purposes_text

    return purposes_text(record.purposes)


def _resolve(home: VeilHome, prefix: str) -> ConsentRecord:
    from desktop.app.consent.consenting import consents_of

    matches = [r for r in consents_of(home) if r.id.startswith(prefix.strip().lower())]
    if len(prefix.strip()) < 6 or len(matches) != 1:
        raise VeilError("Give a consent id (or its first 6 or more characters) as 'veil consent list' shows it"
                        + (f"; {len(matches)} records start with it." if len(matches) > 1 else "."))
    return matches[0]


def _scope_text(record: ConsentRecord, names: dict[str, str]) -> str:
    scope = record.scope
    if scope.site_wide:
        return "every patient"
    who = names.get(scope.patient_key, "(patient not in the library)")
    if scope.whole_patient:
        return who
    if scope.series_only:
        return f"{who}, {len(scope.series_uids)} series"
    return f"{who}, {len(scope.study_uids)} stud{'y' if len(scope.study_uids) == 1 else 'ies'}"


def cmd_consent_list(args: argparse.Namespace) -> int:
    from desktop.app.consent.consenting import consents_of, find_patient, list_patients
    from desktop.core.consent import state_on

    home = open_home(args)
    keys = None
    if args.patient or args.study:
        keys = [find_patient(home, args.patient, args.study).key]
    records = consents_of(home, keys)
    names = {p.key: p.title for p in list_patients(home)}
    today = date.today()
    if not records:
        print("No consent records.")
    for r in records:
        state = state_on(r, today)
        until = f" until {r.valid_until.isoformat()}" if r.valid_until else ""
        print(f"{r.id}  {state.value:9}  {r.basis.noun:11}  {_purposes(r)}{until}")
        print(f"    {safe(_scope_text(r, names))}; obtained {r.obtained_on.isoformat()}"
              + (f" by {safe(r.obtained_by)} ({r.method.value})" if r.method else "")
              + (f"; ref {safe(r.waiver_reference)}" if r.waiver_reference else "")
              + (f"; policy {safe(r.policy)}" if r.policy else "")
              + (f"; colleague {safe(r.colleague)}" if r.colleague else "")
              + (f"; protocol {safe(r.protocol_id)}" if r.protocol_id else "")
              + ("; scanned form attached" if r.form else ""))
        if r.limits:
            print(f"    limits: {safe(r.limits)}")
        if r.withdrawn_on:
            print(f"    withdrawn on {r.withdrawn_on.isoformat()}: {safe(r.withdrawal_reason)}")
    return 0


def cmd_consent_withdraw(args: argparse.Namespace) -> int:
    from desktop.app.consent.consenting import withdraw_consent

    home = open_home(args)
    record = _resolve(home, args.id)
    done = withdraw_consent(home, record.id, args.on or date.today(), args.reason)
    print(f"Withdrew {record.basis.noun} {record.id} from {(args.on or date.today()).isoformat()}.")
    if not done.disclosures:
        print("No disclosure relied on it.")
    else:
        print(f"{len(done.disclosures)} disclosure(s) relied on it; their recipients may need to be told:")
        for d in done.disclosures:
            print(f"  {d.disclosed_at[:10]}  {d.purpose:11}  to {safe(d.recipient or '(no recipient recorded)')}"
                  f"  {safe(d.destination)}  ({sum(i.instances for i in d.items)} instances)")
    return 0


def cmd_consent_form(args: argparse.Namespace) -> int:
    from desktop.app.consent.consenting import read_form
    from desktop.core.common.atomic_files import temp_name

    home = open_home(args)
    data = read_form(home, _resolve(home, args.id))
    out = os.path.abspath(args.output)
    temp = os.path.join(os.path.dirname(out), temp_name())
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | BINARY, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temp, out)
    print(f"Wrote the scanned form ({len(data):,} bytes) to {safe(out)}.")
    return 0


def add_consent_commands(sub: argparse._SubParsersAction) -> None:
    consent = sub.add_parser("consent", help="record, list and withdraw patients' consent")
    csub = consent.add_subparsers(dest="consent_command", required=True)
    p = csub.add_parser("add", help="record a consent, an ethics waiver or a 'not required' site policy",
                        description="Record what a patient (or an ethics committee, or the site's policy) allows. "
                                    "Whose: --patient (all their images), --study (those studies), --study with "
                                    "--series (only those series), or --site-wide (waivers and policies only).")
    p.add_argument("--patient", metavar="PATIENT_ID")
    p.add_argument("--study", action="append", metavar="STUDY",
                   help="a library study: " + STUDY_HELP + "; repeat for several")
    p.add_argument("--series", action="append", metavar="SERIES_UID")
    p.add_argument("--site-wide", action="store_true", help="a waiver or site policy for every patient")
    p.add_argument("--purpose", action="append", required=True, choices=PURPOSES, help="allowed purpose (repeat)")
    p.add_argument("--consent", choices=METHODS, help="the patient consented, this way")
    p.add_argument("--waiver", metavar="REFERENCE", help="an ethics committee / IRB waiver, by its reference")
    p.add_argument("--committee", help="the committee that granted the waiver")
    p.add_argument("--not-required", metavar="POLICY", nargs="?", const="",
                   help="not required for de-identified exports under this site policy (alone: the policy "
                        "the site file names, see 'veil site')")
    p.add_argument("--obtained-by", help="who obtained the consent")
    p.add_argument("--witness", help="the witness of a verbal consent")
    p.add_argument("--obtained-on", type=_day, help="the day it was given (default: today)")
    p.add_argument("--valid-from", type=_day)
    p.add_argument("--valid-until", type=_day)
    p.add_argument("--colleague", help="care: the colleague the patient agreed to share with")
    p.add_argument("--protocol", help="research: the protocol's ID")
    p.add_argument("--limits", help="limits in the patient's words, e.g. 'no facial images'")
    p.add_argument("--form", metavar="FILE", help="the scanned form (PDF, PNG or JPEG), kept encrypted")
    p.add_argument("--by", help="who records it (default: your user name)")
    p.set_defaults(func=cmd_consent_add)
    p = csub.add_parser("list", help="list consent records (of one patient)")
    p.add_argument("--patient", metavar="PATIENT_ID")
    p.add_argument("--study", metavar="STUDY", help="the patient of this library study: " + STUDY_HELP)
    p.set_defaults(func=cmd_consent_list)
    p = csub.add_parser("withdraw", help="withdraw a consent; lists the disclosures that relied on it")
    p.add_argument("id", help="the consent id (or its first 6+ characters)")
    p.add_argument("--reason", required=True)
    p.add_argument("--on", type=_day, help="the day of the withdrawal (default: today)")
    p.set_defaults(func=cmd_consent_withdraw)
    p = csub.add_parser("form", help="write a record's scanned form to a file")
    p.add_argument("id")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_consent_form)


# -- reports -------------------------------------------------------------------------------------
def _write(table: ReportTable, args: argparse.Namespace, csv_table: ReportTable | None = None,
           blocks: bool = False) -> None:
    """Write ``table`` as --csv (``csv_table`` instead when given) and --pdf, or print it: a row a
    line, or with ``blocks`` a row as "Column: value" lines."""
    from desktop.app.consent.report_files import write_csv, write_pdf

    for name, write in ((args.csv, lambda path: write_csv(csv_table or table, path)),
                        (args.pdf, lambda path: write_pdf(table, path))):
        if not name:
            continue
        try:
            write(name)
        except OSError as exc:  # a full disk, a folder that is not there: said, and nothing half written
            where = Path(name).expanduser().absolute().parent
            full = " (the disk holding it is full)" if is_disk_full(exc) else ""
            raise VeilError(f"{safe(str(name))} could not be written in {safe(str(where))}{full}: "
                            f"{exc.strerror or type(exc).__name__}.") from None
        print(f"Wrote {safe(name)}")
    if not args.csv and not args.pdf:
        print(table.title)
        print(table.subtitle)
        for row in table.rows:
            if not blocks:
                print("  " + " | ".join(safe(c.replace("\n", "; ")) for c in row))
                continue
            print()
            for column, cell in zip(table.columns, row):
                print(f"  {column}: " + "\n      ".join(safe(line) for line in cell.split("\n")))
        if blocks:
            print()
        for note in table.notes:
            print(note)


def cmd_report_disclosures(args: argparse.Namespace) -> int:
    from desktop.app.consent.consenting import find_patient
    from desktop.app.consent.reporting import disclosure_report

    given = [name for name in ("patient", "study", "recipient", "package") if getattr(args, name)]
    if len(given) != 1:
        raise VeilError("Say whose disclosures to list with exactly one of --patient PATIENT_ID, --study STUDY "
                        "(a patient's accounting), --recipient NAME or --package ID (what went to someone)"
                        + (f"; you gave {' and '.join('--' + g for g in given)}." if given else "."))
    home = open_home(args)
    if args.recipient or args.package:
        from desktop.app.consent.breach_report import breach_report

        report = breach_report(home, recipient=args.recipient, package=args.package)
        _write(report.table, args, csv_table=report.per_image, blocks=True)
        return 0
    patient = find_patient(home, args.patient, args.study)
    _write(disclosure_report(home, patient.key), args)
    return 0


def cmd_report_audit(args: argparse.Namespace) -> int:
    from desktop.app.consent.reporting import audit_report

    home = open_home(args)
    start = datetime.combine(args.start, time.min).astimezone()
    end = datetime.combine(args.end + timedelta(days=1), time.min).astimezone()
    _write(audit_report(home, start, end), args)
    return 0


def add_report_commands(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="the accounting of disclosures, and audit reports")
    rsub = report.add_subparsers(dest="report_command", required=True)
    p = rsub.add_parser("disclosures", help="every disclosure of a patient's images (when, why, to whom, what), "
                                            "or every image that went to a recipient or in a package",
                        description="A patient's accounting of disclosures (--patient or --study), or, when "
                                    "something went to the wrong person, every patient, study and image sent to a "
                                    "recipient (--recipient) or in a package (--package): the facts a breach "
                                    "assessment needs (HIPAA 45 CFR 164.404(c), GDPR Art. 33(3)). Give one.")
    p.add_argument("--patient", metavar="PATIENT_ID")
    p.add_argument("--study", metavar="STUDY", help="the patient of this library study: " + STUDY_HELP)
    p.add_argument("--recipient", metavar="NAME",
                   help="disclosures to recipients whose name, key fingerprint, or e-mail or institution in the "
                        "address book contains NAME (case-insensitive)")
    p.add_argument("--package", metavar="ID",
                   help="the disclosure of this package (its id, or its first 8 or more characters)")
    p.add_argument("--csv", metavar="FILE", help="with --recipient or --package: one row per image")
    p.add_argument("--pdf", metavar="FILE")
    p.set_defaults(func=cmd_report_disclosures)
    p = rsub.add_parser("audit", help="every audited event in a date range (local days, inclusive)")
    p.add_argument("--from", dest="start", type=_day, required=True)
    p.add_argument("--to", dest="end", type=_day, required=True)
    p.add_argument("--csv", metavar="FILE")
    p.add_argument("--pdf", metavar="FILE")
    p.set_defaults(func=cmd_report_audit)
