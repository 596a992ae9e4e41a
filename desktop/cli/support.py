"""What the command line's commands share: opening the home (asking for the passphrase on a
terminal) and taking each ``--study`` as the study it names, a progress bar on stderr, and
printing names safely."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from desktop.core.common.errors import VeilError

if TYPE_CHECKING:  # annotations only: the commands import the app late, so the command line starts fast
    from desktop.app.common.tasks import CancelToken
    from desktop.app.library.home import VeilHome

T = TypeVar("T")


def _prompt(creating: bool) -> str | None:
    print("No system keyring is available: Veil protects this library with a passphrase.", file=sys.stderr)
    first = getpass.getpass("New library passphrase: " if creating else "Library passphrase: ")
    if creating and getpass.getpass("Repeat the passphrase: ") != first:
        raise VeilError("The two passphrases differ; nothing was created.")
    return first


def open_home(args: argparse.Namespace) -> VeilHome:
    """Open the library the command names, settle what a crash left, and turn each ``--study``
    the command was given into the Study Instance UID it names (see :func:`resolve_study_args`)."""
    from desktop.app.library.home import VeilHome
    from desktop.app.startup.recovery import recover

    # Without a terminal there is nobody to ask: the keystore then explains VEIL_PASSPHRASE_FILE.
    home = VeilHome.open(args.home, prompt=_prompt if sys.stdin.isatty() else None)
    # Work a crash interrupted is settled before anything else: outputs that became
    # visible are accounted for, the rest removed; `veil check --repair` shows it again.
    args.recovery = recover(home)
    for line in args.recovery.lines():
        print(f"veil: {line}", file=sys.stderr)
    _OPENED.append(home)
    resolve_study_args(home, args)
    return home


#: What ``--study`` takes, for the commands' help (after "a library study: " or the like).
STUDY_HELP = ("its number in 'veil ls', its Study Instance UID, its accession number, or its patient's ID "
              "if that patient has one study")


def resolve_study_args(home: VeilHome, args: argparse.Namespace) -> None:
    """Replace ``args.study`` (one reference, or a list of them) by the Study Instance UIDs they
    name (:func:`desktop.app.browsing.catalogue.find_study`), so every command that takes ``--study`` takes
    a number of ``veil ls``, an accession number or a patient ID as well as a UID. Each reference
    that was not a UID is said on stderr with the study it was taken for, before anything is done."""
    refs = getattr(args, "study", None)
    if not refs:
        return
    from desktop.app.browsing.catalogue import StudyMatch, find_study
    from desktop.app.common.formatting import dicom_date

    def one(ref: str) -> str:
        match: StudyMatch = find_study(home, ref)
        if match.how != ("Study Instance UID",):
            st = match.study
            what = ", ".join(x for x in (dicom_date(st.study_date), st.modalities) if x)
            how = "" if match.how == ("study number",) else f" ({' and '.join(match.how)})"
            print(f"veil: --study {safe(ref)}{how} is study {match.number} of 'veil ls': {st.study_uid}"
                  + (f" ({what})" if what else ""), file=sys.stderr)
            for other in match.also:
                print(f"veil: --study {safe(ref)} is also {other}: give that study's UID to mean it", file=sys.stderr)
        return match.study.study_uid

    if isinstance(refs, str):
        args.study = one(refs)
    else:
        args.study = list(dict.fromkeys(one(ref) for ref in refs))  # the same study named twice: once


_OPENED: list[VeilHome] = []  # the homes this command opened, whose new audit events go to the collector


def forward_audit() -> None:
    """Send the audit events this command recorded to the syslog collector, if one is set
    (``veil audit forward``); a collector that is down is retried by the next command."""
    if not _OPENED:
        return
    from desktop.app.audit.forwarding import forward_pending

    for home in _OPENED:
        try:
            forward_pending(home)
        except Exception:  # noqa: BLE001 - deliberate: forwarding never fails a command whose work is done
            pass  # the forwarding status says what went wrong; the next command retries
    _OPENED.clear()


def safe(label: str) -> str:
    """A file name on one line: control characters (a newline in a name) shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in label)


def disk_full_message(args: argparse.Namespace) -> str:
    """What to say when a disk filled where no command foresaw it: the Veil home's disk when it
    has almost no room left, else a disk the command wrote to."""
    from desktop.app.library.home import resolve_home
    from desktop.core.common.disk_full import LOW_ROOM, free_bytes

    home = resolve_home(getattr(args, "home", None))
    room = free_bytes(home) if home.exists() else None
    where = f"the disk holding the Veil library ({home})" if room is not None and room < LOW_ROOM * 4 \
        else "a disk this command writes to"
    return (f"{where} is full; the command stopped. What it had finished is kept and accounted for, what it "
            "had started is removed at the next start. Free some room and run it again.")


def cancellable(work: Callable[[CancelToken], T], said: str = "Cancelled. Nothing was written.") -> T | None:
    """Run ``work`` with a fresh cancel token: Ctrl+C cancels it (the work stops at its next
    step and writes nothing), says ``said`` on stderr and gives None (the command exits 130)."""
    from desktop.app.common.tasks import CancelToken

    cancel = CancelToken()
    try:
        return work(cancel)
    except KeyboardInterrupt:
        cancel.cancel()
        print(f"\n{said}", file=sys.stderr)
        return None

