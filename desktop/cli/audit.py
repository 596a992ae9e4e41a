"""``veil audit verify`` (the hash chain whole, and not rolled back) and ``veil audit forward``:
send the audit trail to a syslog collector as it is written (RFC 5424 over TCP or TLS,
RFC 6587 / RFC 5425; events as DICOM PS3.15 Annex A.5 audit messages, the IHE ATNA way).
Argument parsing only: the work is :mod:`desktop.app.audit.forwarding`'s."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.cli.support import open_home, safe
from desktop.core.common.errors import VeilError

if TYPE_CHECKING:  # annotations only: the commands import the app late, so the command line starts fast
    from desktop.app.audit.forwarding import ForwardResult
    from desktop.app.library.home import VeilHome


def parse_host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT`` as (host, port)."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("give the collector as HOST:PORT, for example audit.example.org:6514")
    return host, int(port)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    home = open_home(args)
    result = home.verify_audit()
    # A rollback is about the whole library, not only audit.log: say so first.
    print(result.message if result.rolled_back else f"audit.log: {result.message}")
    return 0 if result.ok else 1


def add_audit_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``audit verify`` and ``audit forward``."""
    audit = sub.add_parser("audit", help="the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    p = audit_sub.add_parser("verify", help="prove the audit log untouched, or name the first altered line")
    p.set_defaults(func=cmd_audit_verify)
    add_audit_forward_command(audit_sub)


def add_audit_forward_command(audit_sub: argparse._SubParsersAction) -> None:
    """Add ``forward`` under ``veil audit``."""
    p = audit_sub.add_parser(
        "forward", help="send the audit trail to a syslog collector (IHE ATNA: RFC 5424 over TCP or TLS)",
        description="Forward every audit event, as it is written, to a syslog collector: RFC 5424 messages "
                    "over TCP or TLS (RFC 6587 octet counting, RFC 5425), each event a DICOM audit message "
                    "(PS3.15 Annex A.5) naming studies and patients only by keyed hashes. Veil remembers "
                    "the last event the collector took and resends from there, in order, after an outage. "
                    "Without an option: the status.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--to", type=parse_host_port, metavar="HOST:PORT",
                      help="forward to this collector from now on (a new collector receives the whole trail)")
    what.add_argument("--off", action="store_true", help="stop forwarding (the position is kept)")
    what.add_argument("--status", action="store_true",
                      help="show the destination, the last event forwarded against the last recorded, the last error")
    p.add_argument("--tls", action="store_true", help="use TLS (RFC 5425); needs --ca")
    p.add_argument("--ca", type=Path, metavar="FILE", help="the CA certificate(s) that signed the collector's (PEM)")
    p.add_argument("--cert", type=Path, metavar="FILE",
                   help="a client certificate, if the collector asks for one (PEM)")
    p.add_argument("--key", type=Path, metavar="FILE", help="the client certificate's private key (PEM)")
    p.add_argument("--now", action="store_true", help="send what is waiting now, without waiting out a back-off")
    p.set_defaults(func=cmd_audit_forward)


def cmd_audit_forward(args: argparse.Namespace) -> int:
    from desktop.app.audit.forwarding import configure, forward_pending
    from desktop.core.audit.syslog import Destination

    if not args.to and (args.tls or args.ca or args.cert or args.key):
        raise VeilError("--tls, --ca, --cert and --key go with --to HOST:PORT.")
    if args.ca and not args.tls:
        raise VeilError("--ca is for TLS: add --tls.")
    home = open_home(args)
    if args.to:
        host, port = args.to
        destination = Destination(host, port, "tls" if args.tls else "tcp", args.ca, args.cert, args.key)
        configure(home, destination)
        print(f"Audit events are forwarded to {safe(str(destination))} from now on.")
    elif args.off:
        configure(home, None)
        print("Audit forwarding is off; the position is kept for when it is turned on again.")
    if args.now:
        code = _forward_now(home, forward_pending)
        if code:
            return code
    if args.status or not (args.to or args.off or args.now):
        _print_status(home)
    return 0


def _forward_now(home: VeilHome, forward_pending: Callable[..., ForwardResult]) -> int:
    sent = 0
    while True:
        result = forward_pending(home, force=True)
        sent += result.sent
        if result.state != "done" or not result.more or not result.sent:
            break
    if result.state == "off":
        print("Audit forwarding is off: turn it on with --to HOST:PORT.", file=sys.stderr)
        return 1
    if result.state == "busy":
        print("Another Veil process is forwarding the audit trail right now; try again in a moment.")
        return 0
    if result.state == "failed":
        print(f"veil: {safe(result.error)}", file=sys.stderr)
        print(f"Sent {sent} event(s); {result.more} still waiting (they go when the collector is back).",
              file=sys.stderr)
        return 1
    print(f"Sent {sent} event(s); the collector has every event up to {result.position} of {result.head}.")
    return 0


def _print_status(home: VeilHome) -> None:
    from desktop.app.audit.forwarding import forwarding_status

    status = forwarding_status(home)
    if status.destination is None:
        print("Audit forwarding: off")
    else:
        dest = status.destination
        print(f"Audit forwarding: to {safe(str(dest))}")
        if dest.ca_file:
            print(f"  CA file: {safe(str(dest.ca_file))}")
        if dest.cert_file:
            print(f"  client certificate: {safe(str(dest.cert_file))}")
    print(f"  forwarded: up to event {status.position} of {status.head} ({status.pending} waiting)")
    if status.sent_at:
        print(f"  last sent: {status.sent_at}")
    if status.error:
        print(f"  last error ({status.error_at}): {safe(status.error)}")
