"""``veil deid``, ``veil verify``, ``veil redact`` and ``veil profiles``: de-identified copies
(DICOM PS3.15 Annex E), the leak check, headless pixel redaction, and the profiles on offer."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from desktop.cli.consent import add_purpose_arguments, print_refusal
from desktop.cli.progress import TerminalProgress as _TerminalProgress
from desktop.cli.support import STUDY_HELP
from desktop.cli.support import open_home as _open
from desktop.cli.support import safe as _safe
from desktop.core.common.errors import VeilError

if TYPE_CHECKING:  # annotations only: the commands import the app late, so the command line starts fast
    from desktop.app.deid.runner import Redaction
    from desktop.core.deid.profiles import Profile
    from desktop.core.redaction.templates import Template


def _profile(args: argparse.Namespace) -> Profile:
    from desktop.core.deid.profiles import preset

    profile = preset(args.profile)
    extra = set(args.option or [])
    if extra or args.prefix:
        profile = profile.with_options(set(profile.options) | extra, args.prefix)
    return profile


def cmd_deid(args: argparse.Namespace) -> int:
    from desktop.app.common.tasks import CancelToken
    from desktop.app.consent.export_consent import ExportPurpose
    from desktop.app.deid.deidentifying import deidentify_paths, deidentify_studies

    profile = _profile(args)
    purpose = ExportPurpose(args.purpose, args.recipient or "", args.protocol or "", args.override or "")
    if args.study:
        inputs, out = args.study, args.paths[-1] if args.paths else None
        if not out or len(args.paths) != 1:
            raise VeilError("With --study, give only the output folder: veil deid --study STUDY OUT_DIR")
    else:
        if len(args.paths) < 2:
            raise VeilError("Give what to de-identify and where to write it: veil deid IN_DIR OUT_DIR")
        inputs, out = args.paths[:-1], args.paths[-1]
    if args.study and (args.redact or args.detect or args.template_file):
        raise VeilError("--redact is for files: library images are redacted in the viewer's Redact mode.")
    redaction = None if args.study else _redaction(args)
    home = _open(args)  # each --study is now the Study Instance UID it names
    cancel = CancelToken()
    try:
        if args.study:
            report = deidentify_studies(home, profile, args.study, out, _TerminalProgress(), cancel, args.workers,
                                        purpose=purpose, series_uids=args.series or (),
                                        instance_uids=args.instance or (),
                                        confirm_burned_in=args.confirm_burned_in)
        else:
            if args.series or args.instance:
                raise VeilError("--series and --instance choose from library studies: use them with --study.")
            report = deidentify_paths(home, profile, inputs, out, _TerminalProgress(), cancel, args.workers,
                                      purpose=purpose, confirm_burned_in=args.confirm_burned_in,
                                      redaction=redaction, follow_links_out=args.follow_links)
    except KeyboardInterrupt:
        cancel.cancel()
        print("\nCancelled. Nothing was written.", file=sys.stderr)
        return 130
    print(report.headline())
    if report.review is not None and report.review.candidates:
        print(f"  {report.review.note()}")
        if report.flagged and report.confirm_burned_in:
            print(f"  {len(report.flagged)} image(s) flagged for burned-in text, "
                  "confirmed as checked (--confirm-burned-in)")
    if report.redaction:
        print(f"  {report.redacted} image(s) redacted in memory before de-identification (Clean Pixel Data recorded)")
    elif report.redacted:
        print(f"  {report.redacted} image(s) left as their redacted versions (Clean Pixel Data recorded)")
    print_refusal(report.consent if report.refused_by_consent else None, report.flagged,
                  report.confirm_burned_in, report.residual)
    if report.consent is not None and not report.refused_by_consent:
        if report.consent.overridden:
            print("  consent overridden for the patient's care; the justification is in the audit log")
        for limit in report.consent.limits:
            print(f"  consent limit: {_safe(limit)}")
    if report.written:
        print(f"  written to {_safe(str(report.out_dir))}: "
              + ", ".join(f"{p} ({n})" for p, n in sorted(report.pseudonyms.items())))
    if report.leaks or (report.residual and not report.all_or_nothing):
        print("Left out, still identifying after cleaning (nothing of them was written):"
              if not report.refused else "Still identifying after cleaning:")
    for label, leaks in report.leaks:
        print(f"  {_safe(label)}:")
        for leak in leaks:
            print(f"    {leak.describe()}")
    if not report.all_or_nothing:
        for refusal in report.residual:
            print(f"  {_safe(refusal.label)}: {refusal.why}")
    if report.written and report.actions:
        from desktop.app.deid.summary import summarise

        print("What de-identification did (attribute names only; the preview shows values):")
        for line in summarise(report.actions):
            print(f"  {line.text(limit=8 if not args.details else 1000)}")
    if report.duplicates:
        print("Skipped, the same instance as another input:")
        for label in report.duplicates:
            print(f"  {_safe(label)}")
    if report.rejected:
        print("Not de-identified:")
        for r in report.rejected:
            print(f"  {_safe(r.label)}: {r.reason}")
    return 1 if report.refused or report.left_out else 0


def _templates(args: argparse.Namespace) -> list[Template]:
    """Veil's scanner templates (with --templates or --redact) and those of --template-file."""
    from pathlib import Path

    from desktop.core.common.resources import resource_path
    from desktop.core.redaction.templates import load_templates

    templates = (load_templates(resource_path("redaction", "templates.json"))
                 if getattr(args, "templates", False) or getattr(args, "redact", False) else [])
    if templates:  # with Veil's own: those the site file adds ('veil site')
        from desktop.app.site.defaults import site_defaults

        for site_file in site_defaults().templates:
            templates += load_templates(site_file)
    for extra in args.template_file or []:
        templates += load_templates(Path(extra))
    return templates


def _redaction(args: argparse.Namespace) -> Redaction | None:
    """``veil deid --redact [--detect] [--template-file F]``: burned in memory, never on disk."""
    from desktop.app.deid.deidentifying import Redaction

    if not args.redact:
        if args.detect or args.template_file:
            raise VeilError("--detect and --template-file go with --redact: veil deid --redact --detect IN_DIR OUT_DIR")
        return None
    return Redaction(tuple(_templates(args)), args.detect)


def cmd_verify(args: argparse.Namespace) -> int:
    from desktop.app.deid.leak_check import verify_paths

    uid_key = _open(args).keys.deid_key if not args.no_library else None
    report = verify_paths([args.original], [args.output], _TerminalProgress(), uid_key=uid_key)
    print(report.headline())
    for label, leaks in sorted(report.leaks.items()):
        print(f"  {_safe(label)}:")
        for leak in leaks:
            print(f"    {leak.describe()}")
    for label in report.not_deidentified:
        print(f"  {_safe(label)}: no Patient Identity Removed = YES")
    for r in report.unreadable:
        print(f"  {_safe(r.label)}: {r.reason}")
    return 0 if report.clean else 1


def cmd_redact(args: argparse.Namespace) -> int:
    from desktop.app.common.tasks import CancelToken
    from desktop.app.redaction.redacting_files import redact_paths

    if len(args.paths) < 2:
        raise VeilError("Give what to redact and where to write it: veil redact IN_DIR OUT_DIR")
    templates = _templates(args)
    detector = None
    if args.detect:
        from desktop.app.redaction.detecting import high_risk_detector

        detector = high_risk_detector()
    if not templates and detector is None:
        raise VeilError("Nothing to redact with: give --templates, --template-file and/or --detect.")
    home = _open(args)
    cancel = CancelToken()
    try:
        report = redact_paths(home, args.paths[:-1], args.paths[-1], templates, detector, args.dry_run,
                              _TerminalProgress(), cancel)
    except KeyboardInterrupt:
        cancel.cancel()
        print("\nCancelled.", file=sys.stderr)
        return 130
    print(report.headline())
    sheet = f" and {_safe(str(report.sheet_path))}" if report.sheet_path else ""
    print(f"  review: {_safe(str(report.report_path))}{sheet}")
    for r in report.rejected:
        print(f"  {_safe(r.label)}: {r.reason}")
    return 0


def cmd_profiles(args: argparse.Namespace) -> int:
    from desktop.core.deid.profiles import load_presets
    from desktop.core.deid.table import OPTIONS

    for key, profile in load_presets().items():
        print(f"{key}: {profile.title} (pseudonyms {profile.pseudonym_prefix}-0001...)")
        print(f"  {profile.description}")
        print(f"  options: {', '.join(sorted(profile.options)) or 'none (Basic Profile only)'}")
    print("options for --option: " + ", ".join(OPTIONS))
    return 0


def add_deid_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``deid``, ``verify``, ``redact`` and ``profiles``."""
    p = sub.add_parser("deid", help="write de-identified copies (PS3.15 Basic Profile + options)",
                       description="De-identify DICOM files, folders, zips or DICOMDIRs (or library studies "
                                   "with --study) into OUT_DIR. A file that still holds an identifier of its "
                                   "original after cleaning is left out and named; the others are written.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="inputs, then the output folder last")
    p.add_argument("--profile", default="teaching", help="teaching, research or publication (default: teaching)")
    p.add_argument("--option", action="append", help="add a PS3.15 option (see 'veil profiles')")
    p.add_argument("--prefix", help="pseudonym prefix, e.g. TEACH gives TEACH-0007")
    p.add_argument("--study", action="append", metavar="STUDY", help="de-identify this library study: " + STUDY_HELP)
    p.add_argument("--series", action="append", metavar="SERIES_UID", help="only this series of the --study")
    p.add_argument("--instance", action="append", metavar="SOP_UID", help="only this image of the --study")
    p.add_argument("--confirm-burned-in", action="store_true",
                   help="send images flagged for burned-in text: you looked at each and found no identity")
    p.add_argument("--redact", action="store_true",
                   help="first burn Veil's scanner-template regions into each file's pixels, in memory "
                        "(files only; the outputs record the Clean Pixel Data Option)")
    p.add_argument("--detect", action="store_true",
                   help="with --redact: also burn in text that OCR finds matching the header's identifiers")
    p.add_argument("--template-file", action="append", metavar="FILE",
                   help="with --redact: also these rules (Veil JSON or an RSNA CTP DicomPixelAnonymizer.script)")
    add_purpose_arguments(p)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--follow-links", action="store_true",
                   help="also read what symlinks in the folders point at outside them (not followed by default)")
    p.add_argument("--details", action="store_true",
                   help="list every attribute in the summary of what was removed, cleaned or kept, and why")
    p.set_defaults(func=cmd_deid)

    p = sub.add_parser("verify", help="look for any identifier of ORIGINAL left in OUTPUT (leak check)")
    p.add_argument("original", help="the original files or folder")
    p.add_argument("output", help="the de-identified files or folder")
    p.add_argument("--no-library", action="store_true",
                   help="do not open the library: check every output against every original "
                        "(for output made elsewhere; stricter, so more coincidences are reported)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("redact", help="burn template regions and detected identifying text into copies of images",
                       description="Headless pixel redaction for folders: applies scanner templates (--templates) "
                                   "and text found by OCR that matches the header's identifiers (--detect), writes "
                                   "the redacted files under OUT_DIR and copies every other readable input there "
                                   "unchanged (OUT_DIR is complete), with a review report (JSON and a PNG contact "
                                   "sheet of every redacted frame) that a person checks afterwards. The copies "
                                   "still identify the patient: de-identify them with 'veil deid' to share them.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="inputs, then the output folder last")
    p.add_argument("--templates", action="store_true", help="apply Veil's scanner templates "
                   "(resources/redaction/templates.json)")
    p.add_argument("--template-file", action="append", metavar="FILE",
                   help="also apply these rules: Veil JSON or an RSNA CTP DicomPixelAnonymizer.script")
    p.add_argument("--detect", action="store_true", help="also redact text that matches the header's identifiers (OCR)")
    p.add_argument("--dry-run", action="store_true", help="write only the review report and contact sheet")
    p.set_defaults(func=cmd_redact)

    p = sub.add_parser("profiles", help="list the de-identification profiles and options")
    p.set_defaults(func=cmd_profiles)
