"""``veil case``: teaching cases from the command line, for sites that build teaching files in
batches: ``new`` (from a study, with its text and key images), ``list``, ``show``, and
``export`` as a PowerPoint deck through the privacy gate."""

from __future__ import annotations

import argparse

from desktop.cli.consent import add_purpose_arguments, print_refusal
from desktop.cli.support import STUDY_HELP, cancellable, open_home, safe
from desktop.core.common.errors import VeilError


def _key_argument(text: str) -> tuple[str, int]:
    """SOP_UID or SOP_UID:FRAME (frames counted from 1, as the viewer shows them)."""
    uid, _, frame = text.partition(":")
    if not frame:
        return uid, 0
    if not frame.isdigit() or int(frame) < 1:
        raise argparse.ArgumentTypeError(f"{text}: the frame after ':' is a number from 1")
    return uid, int(frame) - 1


def cmd_case_new(args: argparse.Namespace) -> int:
    from desktop.app.cases import casebook
    from desktop.core.cases.case import KeyView

    home = open_home(args)
    case = casebook.new_case(home, tuple(args.study), args.title, author=args.author or "")
    fields = {name: getattr(args, name) for name in ("history", "findings", "diagnosis", "differential",
                                                      "teaching_points", "difficulty") if getattr(args, name)}
    if args.keyword:
        fields["keywords"] = tuple(args.keyword)
    case = case.with_fields(**fields)
    for uid, frame in args.key or ():
        case = casebook.mark(home, case, uid, frame, KeyView())
    case_id = casebook.save(home, case)
    print(f"Case {case_id}: {safe(case.title)} ({len(case.key_images)} key image"
          f"{'' if len(case.key_images) == 1 else 's'}; {case.modality or 'no modality'}).")
    return 0


def cmd_case_list(args: argparse.Namespace) -> int:
    from desktop.app.cases import casebook

    home = open_home(args)
    rows = casebook.listing(home, args.search or "", args.modality or "")
    if not rows:
        print("No teaching case" + (" matches." if args.search or args.modality else " yet: veil case new."))
        return 0
    for item in rows:
        row = item.row
        mark = "  [consent withdrawn: cannot be exported]" if item.withdrawn else ""
        print(f"{row.id:>4}  {safe(row.title)}  ·  {safe(row.diagnosis) or '(no diagnosis)'}  ·  "
              f"{row.modality or '-'}  ·  {row.key_images} key image{'' if row.key_images == 1 else 's'}  ·  "
              f"{item.consent.title}{mark}")
    return 0


def cmd_case_show(args: argparse.Namespace) -> int:
    from desktop.app.cases import casebook

    home = open_home(args)
    case = casebook.load(home, args.case)
    print(f"Case {args.case}: {safe(case.title)}")
    for label, value in (("Modality", case.modality), ("Anatomy", case.anatomy),
                         ("Difficulty", case.difficulty.value), ("Author", case.author),
                         ("Keywords", ", ".join(case.keywords))):
        if value:
            print(f"  {label}: {safe(value)}")
    for label, value in (("History", case.history), ("Findings", case.findings), ("Diagnosis", case.diagnosis),
                         ("Differential", case.differential), ("Teaching points", case.teaching_points)):
        if value:
            print(f"  {label}:")
            for line in value.splitlines():
                print(f"    {safe(line)}")
    print(f"  Studies: {', '.join(case.study_uids)}")
    for n, key in enumerate(case.key_images, 1):
        caption = f" — {safe(key.caption)}" if key.caption else ""
        print(f"  Key image {n}: {key.sop_uid}, frame {key.frame + 1}, "
              f"{len(key.annotations.items)} annotation{'' if len(key.annotations.items) == 1 else 's'}{caption}")
    return 0


def cmd_case_export(args: argparse.Namespace) -> int:
    from desktop.app.cases.case_slides import CaseSlidesReport, export_case_slides
    from desktop.app.cases.deck import DeckReport, export_deck
    from desktop.app.cases.passage import CaseExport
    from desktop.app.common.tasks import CancelToken
    from desktop.app.consent.export_consent import ExportPurpose

    if args.override:
        raise VeilError("A teaching case leaves de-identified and is not for the patient's care; "
                        "--override does not apply.")
    if sum(x is not None for x in (args.pptx, args.slides, args.zip, args.package, args.archive)) != 1:
        raise VeilError("Say what to write: --pptx DECK.pptx, --slides DIR, --zip FILE.zip, "
                        "--package FILE.veil (with --to or --passphrase-file) or --archive FILE.zip.")
    if args.package is not None or args.archive is not None:
        return _export_teaching_file(args)
    home = open_home(args)
    purpose = ExportPurpose(args.purpose, args.recipient or "", args.protocol or "")

    def run(cancel: CancelToken) -> CaseExport:
        if args.pptx is not None:
            return export_deck(home, args.case, purpose, args.pptx, unknown=args.unknown,
                               confirm_burned_in=args.confirm_burned_in, cancel=cancel)
        return export_case_slides(home, args.case, purpose, args.slides, zip_path=args.zip, fmt=args.format,
                                  confirm_burned_in=args.confirm_burned_in, cancel=cancel)

    report = cancellable(run)
    if report is None:
        return 130
    written = bool(report.written) if isinstance(report, DeckReport) else isinstance(report, CaseSlidesReport) and bool(
        report.files)
    print(report.headline())
    if report.refused:
        print_refusal(report.consent, report.flagged, args.confirm_burned_in, report.residual)
        return 1
    if written:
        print("  recorded in the accounting of disclosures")
        return 0
    return 1


def _export_teaching_file(args: argparse.Namespace) -> int:
    """One case as a DICOM teaching file (IHE TCE): its de-identified key images, a Key Object
    Selection and its report, in an encrypted package or a journal's plain ZIP."""
    from pathlib import Path

    from desktop.app.cases import casebook
    from desktop.app.consent.export_consent import ExportPurpose
    from desktop.app.keys.contacts import find_contact
    from desktop.app.share.sharing import ShareRequest, export_package
    from desktop.cli.packages import passphrase_of
    from desktop.core.deid.profiles import preset

    if len(args.case) != 1:
        raise VeilError("A teaching-file package holds one case; export each case on its own.")
    if args.archive is not None and (args.to or args.passphrase_file):
        raise VeilError("--archive writes a plain, de-identified FILE.zip: give neither --to nor --passphrase-file.")
    if args.package is not None and bool(args.to) == bool(args.passphrase_file):
        raise VeilError("Say who can open the package: --to CONTACT (repeat for several) or --passphrase-file FILE.")
    home = open_home(args)
    case = casebook.load(home, args.case[0])
    recipients = tuple(find_contact(home, name) for name in args.to or ())
    purpose = ExportPurpose(args.purpose, args.recipient or (recipients[0].name if recipients else ""),
                            args.protocol or "")
    request = ShareRequest(case.study_uids, purpose, Path(args.package or args.archive).resolve(), preset(args.profile),
                           instance_uids=tuple(k.sop_uid for k in case.key_images), recipients=recipients,
                           passphrase=passphrase_of(args.passphrase_file) if args.passphrase_file else None,
                           confirm_burned_in=args.confirm_burned_in, unencrypted=args.archive is not None,
                           teaching_case=case)
    report = cancellable(lambda cancel: export_package(home, request, cancel=cancel))
    if report is None:
        return 130
    print(report.headline())
    print_refusal(report.consent, report.flagged, args.confirm_burned_in, report.residual)
    if report.package is None:
        return 1
    print(f"  with the case's key object selection and report (IHE TCE) and case.html; package id "
          f"{report.package.manifest.package_id}; recorded in the accounting of disclosures")
    return 0


def add_case_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("case", help="teaching cases: new, list, show, export",
                       description="Teaching cases kept in the library: their text, key images and annotations. "
                                   "They leave only through the privacy gate, de-identified.")
    cases = p.add_subparsers(dest="case_command", required=True)

    q = cases.add_parser("new", help="make a teaching case from a study")
    q.add_argument("--study", action="append", required=True, metavar="STUDY",
                   help="the study it is made from: " + STUDY_HELP + "; repeat for several of one patient")
    q.add_argument("--title", required=True, help="the case's title, e.g. 'Tension pneumothorax'")
    for name in ("history", "findings", "diagnosis", "differential"):
        q.add_argument(f"--{name}", help=f"the case's {name}")
    q.add_argument("--teaching-points", dest="teaching_points", help="what the case teaches")
    q.add_argument("--keyword", action="append", metavar="K", help="a keyword; repeat for several")
    q.add_argument("--difficulty", choices=("beginner", "intermediate", "advanced"))
    q.add_argument("--author", help="who made the case")
    q.add_argument("--key", action="append", type=_key_argument, metavar="SOP_UID[:FRAME]",
                   help="a key image (frame counted from 1 for a multi-frame image); repeat, in order")
    q.set_defaults(func=cmd_case_new)

    q = cases.add_parser("list", help="the teaching cases, with each one's consent state")
    q.add_argument("--search", metavar="TEXT", help="only cases whose text, keywords or diagnosis hold TEXT")
    q.add_argument("--modality", help="only cases of this modality (CT, MR, ...)")
    q.set_defaults(func=cmd_case_list)

    q = cases.add_parser("show", help="one case: its text and key images")
    q.add_argument("case", type=int, metavar="CASE", help="the case's number in 'veil case list'")
    q.set_defaults(func=cmd_case_show)

    q = cases.add_parser("export", help="export cases as a PowerPoint deck or slide images through the privacy gate",
                         description="One deck of the cases (a title slide each, their key images at their view "
                                     "with annotations and captions, the history, findings and diagnosis in "
                                     "the speaker notes), or their key images as annotated PNG/JPEG files. "
                                     "Consent must allow a de-identified export for the purpose; typed text that "
                                     "names the patient refuses it.")
    q.add_argument("case", type=int, nargs="+", metavar="CASE", help="the cases' numbers in 'veil case list'")
    add_purpose_arguments(q)
    q.add_argument("--pptx", metavar="DECK.pptx", help="write a PowerPoint deck (the file must not exist)")
    q.add_argument("--slides", metavar="DIR",
                   help="write the key images as annotated slide images, DIR/case-N/K.png")
    q.add_argument("--zip", metavar="FILE.zip", help="the same slide images in a zip")
    q.add_argument("--format", choices=("png", "jpeg"), default="png", help="slide images: png (default) or jpeg")
    q.add_argument("--package", metavar="FILE.veil",
                   help="a DICOM teaching file (key images, key object selection, report, case.html) in an "
                        "encrypted package")
    q.add_argument("--archive", "--unencrypted", dest="archive", metavar="FILE.zip",
                   help="the same DICOM teaching file in a plain, de-identified ZIP (for a journal)")
    q.add_argument("--to", action="append", metavar="CONTACT", help="--package: a colleague from 'veil contacts list'")
    q.add_argument("--passphrase-file", metavar="FILE", help="--package: encrypt with the passphrase in FILE instead")
    q.add_argument("--profile", default="teaching", choices=("teaching", "research", "publication"),
                   help="--package, --archive: the de-identification profile (default teaching)")
    q.add_argument("--unknown", action="store_true",
                   help="a deck of unknown cases: each diagnosis only on a last reveal slide, not in the notes")
    q.add_argument("--confirm-burned-in", action="store_true",
                   help="include key images that may carry burned-in text and have no redaction mask "
                        "(you checked them)")
    q.set_defaults(func=cmd_case_export)
