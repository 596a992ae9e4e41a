"""``veil import``, ``veil ls`` and ``veil check``: bring studies into the library, list them
(numbered, with the Study Instance UIDs ``--study`` takes), and check the library whole."""

from __future__ import annotations

import argparse
import sys

from desktop.cli.progress import size_argument
from desktop.cli.support import open_home as _open
from desktop.cli.support import safe as _safe


def cmd_import(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from desktop.app.common.tasks import CancelToken
    from desktop.app.library.importing import headline, import_paths
    from desktop.app.library.samples import is_sample_import, sample_folders, sample_summary
    from desktop.cli.progress import ImportProgressLines
    from desktop.core.dicom.input_budget import DEFAULT_BUDGET

    paths = list(args.paths)
    if args.samples:
        paths.extend(sample_folders())
    if not paths:
        print("veil import: give one or more paths, or --samples", file=sys.stderr)
        return 2
    home = _open(args)
    cancel = CancelToken()
    budget = replace(DEFAULT_BUDGET, max_file_size=args.max_file_size) if args.max_file_size else DEFAULT_BUDGET
    shown = ImportProgressLines(force=args.progress)
    try:
        report = import_paths(home, paths, cancel=cancel, workers=args.workers, follow_links_out=args.follow_links,
                              budget=budget, status=shown)
    except KeyboardInterrupt:
        cancel.cancel()
        print("\nCancelled.", file=sys.stderr)
        return 130
    if is_sample_import(paths) and not args.verbose:  # the samples' broken test files, counted
        print(sample_summary(home, report))
        if report.imported and (report.rejected or report.duplicates):
            print("  (veil import --samples -v lists each of them)")
        return 1 if report.disk_full else 0
    print(headline(report))
    for d in report.directories:
        print(f"  read DICOMDIR {_safe(d.label)} ({d.entries} entries)")
    if report.already_present_files and args.verbose:
        print("Already in the library (same bytes; nothing added):")
        for label in report.already_present_files:
            print(f"  {_safe(label)}")
    if report.duplicates:
        print("Not imported, duplicates (same SOP Instance UID as an instance already in the "
              "library, other bytes; kept the first):")
        for label in report.duplicates:
            print(f"  {_safe(label)}")
    if report.rejected:
        print("Rejected:")
        for r in report.rejected:
            print(f"  {_safe(r.label)}: {_safe(r.reason)}")
        if any("limit for one file" in r.reason for r in report.rejected):
            print("  (--max-file-size raises the limit for one file)")
    return 1 if report.disk_full else 0


def cmd_ls(args: argparse.Namespace) -> int:
    """Patients, their studies (each with its number and Study Instance UID: what ``--study``
    takes, see :mod:`desktop.app.browsing.catalogue`) and the studies' series, with counts."""
    from desktop.app.browsing.catalogue import load_catalogue
    from desktop.app.common.formatting import dicom_date, plural
    from desktop.core.library import index

    home = _open(args)
    cat = load_catalogue(home)
    conn = home.connect()
    try:
        legacy = set(index.legacy_redacted_series(conn))
    finally:
        conn.close()

    def redacted(count: int) -> str:  # each image is counted once: its redacted version where Veil made one
        return f" ({count:,} redacted in Veil)" if count else ""

    c = cat.counts
    print(f"{plural(c.patients, 'patient')}, {plural(c.studies, 'study', 'studies')}, "
          f"{plural(c.series, 'series', 'series')}, {plural(c.instances, 'instance')}{redacted(c.redacted)}")
    if cat.empty:
        print("The library is empty. Bring studies in with: veil import PATH... (or veil import --samples, "
              "for the sample studies).")
        return 0
    width = len(str(len(cat.studies)))
    pad = " " * (width + 4)
    last_patient = None
    for number, st in enumerate(cat.studies, 1):
        patient = (st.patient_name, st.patient_id, st.birth_date)
        if patient != last_patient:
            born = f", born {dicom_date(st.birth_date)}" if st.birth_date else ""
            print(f"{_safe(st.patient_name) or '(no name)'} [{_safe(st.patient_id) or 'no ID'}{born}]")
            last_patient = patient
        series = cat.series_by_study.get(st.study_ref, [])
        print(f"  {number:>{width}}  {dicom_date(st.study_date) or '(no date)'}  {st.modalities or '-':<8} "
              f"{_safe(st.description) or '(no description)'}  — {plural(st.series_count, 'series', 'series')}, "
              f"{plural(st.image_count, 'instance')}{redacted(sum(se.redacted_count for se in series))}")
        accession = f", accession {_safe(st.accession_number)}" if st.accession_number.strip() else ""
        print(f"{pad}UID {st.study_uid}{accession}")
        for se in series:
            number_text = "" if se.series_number is None else f"#{se.series_number} "
            note = "  [redacted copies, made by Veil before redacted versions]" if se.series_ref in legacy else ""
            print(f"{pad}  {number_text}{se.modality or '-':<4} {_safe(se.description) or '(no description)'}"
                  f"  — {plural(se.image_count, 'instance')}{redacted(se.redacted_count)}, "
                  f"{plural(se.frame_count, 'frame')}{note}")
    print(f"--study takes a number above (1 to {len(cat.studies)}), a Study Instance UID, an accession number or "
          "a patient ID.\nImporting can renumber the studies: run veil ls again before giving a number.")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from desktop.app.library.checking import check_home

    home = _open(args)
    if args.repair:
        from desktop.app.startup.recovery import recover

        done = recover(home)  # again: another process may have died since this one started
        lines = args.recovery.lines() + done.lines()
        print("repaired: " + ("; ".join(lines) if lines else "nothing was left by interrupted work"))
    report = check_home(home, prune=args.prune or args.repair)
    print(f"index integrity: {report.integrity}")
    print(f"objects checked: {report.objects_checked}, damaged: {len(report.damaged)}, "
          f"unreferenced: {report.unreferenced}")
    if report.pruned:
        print(f"pruned {report.pruned} unreferenced object(s) left by an interrupted import")
    for line in report.damaged:
        print(f"  {line}")
    return 0 if report.ok else 1


def add_library_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``import``, ``ls`` and ``check``."""
    p = sub.add_parser("import", help="import DICOM files, folders, .zip archives or DICOMDIRs")
    p.add_argument("paths", nargs="*", help="files, folders, .zip archives or DICOMDIR files")
    p.add_argument("--samples", action="store_true", help="also import the sample studies shipped with pydicom")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also list the files already in the library (and, with --samples, every file left out)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--follow-links", action="store_true",
                   help="also import what symlinks in the folders point at outside them (not followed by default)")
    p.add_argument("--progress", action="store_true",
                   help="show progress on stderr even when it is not a terminal (files done, rate, slow file)")
    p.add_argument("--max-file-size", type=size_argument, default=None, metavar="SIZE",
                   help="refuse files larger than this (default 2G; e.g. 512M, 8G)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("ls", help="list patients, studies and series with counts")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("check", help="check the index and every stored object")
    p.add_argument("--prune", action="store_true",
                   help="delete stored objects that nothing refers to (left by an interrupted import)")
    p.add_argument("--repair", action="store_true",
                   help="settle work a crash interrupted (account for outputs that became visible, remove "
                        "what never completed, sweep staging) and --prune; reports what it did")
    p.set_defaults(func=cmd_check)
