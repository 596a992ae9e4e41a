"""``veil slides``: slide-ready PNG/JPEG images of library studies, de-identified and
with the redactions burned in, for teaching, talks and journals."""

from __future__ import annotations

import argparse
import sys

from desktop.cli.consent import add_purpose_arguments, print_refusal
from desktop.cli.support import STUDY_HELP, cancellable, open_home, safe
from desktop.core.common.errors import VeilError


def cmd_slides(args: argparse.Namespace) -> int:
    from desktop.app.consent.export_consent import ExportPurpose
    from desktop.app.share.slides import export_slides

    if bool(args.out_dir) == bool(args.zip):
        raise VeilError("Say where the slide images go: an output folder, or --zip FILE.zip.")
    if args.override:
        raise VeilError("Slide images are not for the patient's care; --override does not apply.")
    home = open_home(args)
    purpose = ExportPurpose(args.purpose, args.recipient or "", args.protocol or "")
    report = cancellable(lambda cancel: export_slides(
        home, tuple(args.study), purpose, args.out_dir, tuple(args.series or ()), fmt=args.format,
        frames=args.frames, cancel=cancel, zip_path=args.zip, confirm_burned_in=args.confirm_burned_in))
    if report is None:
        return 130
    print(report.headline())
    if report.refused:
        print_refusal(report.consent, report.flagged, args.confirm_burned_in, report.residual)
    for label, reason in report.failed:
        print(f"  {safe(label)}: {safe(reason)}", file=sys.stderr)
    if report.files:
        for limit in report.consent.limits if report.consent else ():
            print(f"  consent limit: {safe(limit)}")
        print("  recorded in the accounting of disclosures")
    return 0 if report.files else 1


def add_slides_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("slides", help="write slide-ready PNG/JPEG images of library studies (de-identified)",
                       description="Render library images as Veil shows them, with every redaction mask burned "
                                   "in and no metadata, into OUT_DIR/case-N/SERIES-IMAGE-FRAME.png or a zip. "
                                   "Consent must allow a de-identified export for the purpose (never care).")
    p.add_argument("--study", action="append", required=True, metavar="STUDY",
                   help="a library study: " + STUDY_HELP + "; repeat for several")
    p.add_argument("--series", action="append", metavar="SERIES_UID", help="only these series of the studies")
    add_purpose_arguments(p)
    p.add_argument("--format", choices=("png", "jpeg"), default="png", help="default png (lossless)")
    p.add_argument("--frames", choices=("all", "middle"), default="all",
                   help="every frame of each image, or only the middle frame of each multi-frame image")
    p.add_argument("--confirm-burned-in", action="store_true",
                   help="include images that declare burned-in text and have no redaction mask (you checked them)")
    p.add_argument("out_dir", nargs="?", metavar="OUT_DIR", help="the folder to write (its case-N names must be free)")
    p.add_argument("--zip", metavar="FILE.zip", help="write a zip of the images instead of a folder")
    p.set_defaults(func=cmd_slides)
