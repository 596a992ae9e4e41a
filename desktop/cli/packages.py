"""``veil export`` and ``veil open``: encrypted, signed share packages."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from desktop.cli.consent import add_purpose_arguments, print_refusal
from desktop.cli.support import STUDY_HELP, cancellable, open_home, safe
from desktop.core.common.errors import VeilError


def passphrase_of(path: str) -> str:
    """The passphrase in the file ``path`` (its first line)."""
    from desktop.core.keys.keystore import passphrase_from_file

    return passphrase_from_file(path)


def cmd_export(args: argparse.Namespace) -> int:
    from desktop.app.consent.export_consent import ExportPurpose
    from desktop.app.keys.contacts import find_contact
    from desktop.app.share.sharing import ShareRequest, export_package
    from desktop.core.deid.profiles import preset

    if args.unencrypted and (args.to or args.passphrase_file):
        raise VeilError("--unencrypted writes a plain NAME.zip: give neither --to nor --passphrase-file.")
    if not args.unencrypted and bool(args.to) == bool(args.passphrase_file):
        raise VeilError("Say who can open the package: --to CONTACT (repeat for several), --passphrase-file FILE, "
                        "or --unencrypted for a de-identified NAME.zip (for a journal).")
    home = open_home(args)
    recipients = tuple(find_contact(home, name) for name in args.to or ())
    purpose = ExportPurpose(args.purpose, args.recipient or (recipients[0].name if recipients else ""),
                            args.protocol or "", args.override or "")
    profile = None if args.profile == "identifiable" else preset(args.profile)
    request = ShareRequest(tuple(args.study), purpose, Path(args.output).resolve(), profile,
                           series_uids=tuple(args.series or ()), instance_uids=tuple(args.instance or ()),
                           recipients=recipients,
                           passphrase=passphrase_of(args.passphrase_file) if args.passphrase_file else None,
                           confirm_burned_in=args.confirm_burned_in, unencrypted=args.unencrypted)
    for contact in recipients:
        if not contact.verified:  # said before anything goes
            print(f"Warning: {safe(contact.name)}'s key was never verified with them (veil contacts verify); "
                  "the package opens only with that key.", file=sys.stderr)
    report = cancellable(lambda cancel: export_package(home, request, cancel=cancel))
    if report is None:
        return 130
    print(report.headline())
    print_refusal(report.consent, report.flagged, args.confirm_burned_in, report.residual)
    if report.review is not None and report.review.candidates:
        print(f"  {report.review.note()}")
    if report.package is not None:
        for limit in report.consent.limits if report.consent else ():
            print(f"  consent limit: {safe(limit)}")
        print(f"  package id {report.package.manifest.package_id}; recorded in the accounting of disclosures")
    return 0 if report.package is not None else 1


def cmd_open(args: argparse.Namespace) -> int:
    from desktop.app.share.receiving import open_received
    from desktop.core.share.reader import ForwardedPackageError

    home = open_home(args)
    passphrase = passphrase_of(args.passphrase_file) if args.passphrase_file else None
    try:
        received = open_received(home, args.package, passphrase, confirm_forwarded=args.accept_forwarded)
    except ForwardedPackageError as exc:
        print(f"veil: {safe(str(exc))}", file=sys.stderr)
        print("If you know where it came from and want its images anyway, run again with --accept-forwarded "
              "(recorded in the audit log).", file=sys.stderr)
        return 1
    m = received.manifest
    if received.forwarded:
        print(f"FORWARDED: {safe(received.forwarded_text)}")
        print("  imported because you gave --accept-forwarded (recorded in the audit log)")
    print(f"Verified package {m.package_id} ({len(m.files)} files), created {m.created}")
    print(f"  from {safe(received.sender_text)}")
    print(f"  purpose: {safe(m.details.purpose)}; de-identification: "
          f"{safe(str(m.details.deidentification.get('profile', 'not said')))}")
    consent = m.details.consent_basis
    for record in consent.get("records", []) if isinstance(consent, dict) else []:
        print(f"  consent relied on: {safe(str(record.get('basis')))} for {safe(', '.join(record.get('purposes', [])))}"
              + (f"; limits: {safe(str(record['limits']))}" if record.get("limits") else ""))
    r = received.imported
    print(f"Imported {r.imported} new instance(s); {r.already_present} already in the library.")
    return 0


def add_package_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write an encrypted, signed share package of library studies",
                       description="Package library studies for a colleague (encrypted to their key) or for "
                                   "someone with a passphrase: consent is checked, the images are de-identified "
                                   "(or sent identifiable, for care only), and the package is signed with your key.")
    p.add_argument("--study", action="append", required=True, metavar="STUDY",
                   help="a library study: " + STUDY_HELP + "; repeat for several")
    p.add_argument("--series", action="append", metavar="SERIES_UID", help="only these series of the studies")
    p.add_argument("--instance", action="append", metavar="SOP_INSTANCE_UID", help="only these images")
    add_purpose_arguments(p)
    p.add_argument("--profile", default="teaching",
                   help="teaching, research, publication, or identifiable (care only); default teaching")
    p.add_argument("--to", action="append", metavar="CONTACT", help="a colleague from 'veil contacts list' (repeat)")
    p.add_argument("--passphrase-file", metavar="FILE", help="encrypt with the passphrase in FILE instead")
    p.add_argument("--unencrypted", action="store_true",
                   help="write a plain, signed NAME.zip of de-identified images (a journal, an archive); "
                        "not for care or identifiable images; --recipient names who receives it")
    p.add_argument("--confirm-burned-in", action="store_true",
                   help="send images that declare burned-in text and have no redaction mask (you checked them)")
    p.add_argument("-o", "--output", required=True, metavar="NAME.veil|NAME.zip")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("open", help="verify a share package and import its images")
    p.add_argument("package", metavar="NAME.veil|NAME.zip")
    p.add_argument("--passphrase-file", metavar="FILE", help="the package was made with the passphrase in FILE")
    p.add_argument("--accept-forwarded", action="store_true",
                   help="import a package that was not encrypted to you by its signer (forwarded, re-encrypted, "
                        "or a plain .zip archive) after reading who signed it and whom it was for")
    p.set_defaults(func=cmd_open)
