"""``veil nodes add|list|remove|echo`` and ``veil query``: the DICOM nodes and DICOMweb servers
and their studies."""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
from pathlib import Path

from desktop.app.common.formatting import dicom_date, person_name
from desktop.app.network.nodes import (
    echo_node,
    is_site_node,
    list_nodes,
    parse_day,
    query_accessions,
    query_series,
    read_accessions,
    remove_node,
    save_node,
)
from desktop.cli.consent import add_purpose_arguments
from desktop.cli.support import STUDY_HELP, open_home
from desktop.core.common.errors import VeilError
from desktop.core.network.nodes import DicomNode, Node, NodeError, TlsFiles, WebNode
from desktop.core.network.query import StudyQuery


def _read_secret(node: WebNode, from_stdin: bool) -> str | None:
    """The password or token: one line of standard input (``--secret-stdin``), or typed at a
    prompt that does not echo; never a command-line argument (other users see those)."""
    if not node.needs_secret:
        return None
    what = "password" if node.auth == "basic" else "token"
    if from_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        secret = getpass.getpass(f"The {what} of {node.name}: ")
    else:
        raise NodeError(f"{node.name} signs in with a {what}: pipe it with --secret-stdin, or run in a terminal.")
    if not secret:
        raise NodeError(f"No {what} was given.")
    return secret


def cmd_nodes_add(args: argparse.Namespace) -> int:
    home = open_home(args)
    node: Node
    if args.dicomweb:
        if args.aet or args.host or args.port:
            raise NodeError("A DICOMweb server has an address (--dicomweb URL), not an AE title, host and port.")
        node = WebNode(args.name, args.dicomweb, args.auth, args.user or "", args.ca or "")
        save_node(home, node, secret=_read_secret(node, args.secret_stdin))
    else:
        if not (args.aet and args.host and args.port):
            raise NodeError("A DICOM node needs --aet, --host and --port (or give --dicomweb URL for a DICOMweb "
                            "server).")
        tls = TlsFiles(args.tls_ca, args.tls_cert or "", args.tls_key or "") if args.tls_ca else None
        node = DicomNode(args.name, args.aet, args.host, args.port, tls)
        save_node(home, node)
    print(f"Added {node.name}: {node.describe()}. Test it with: veil nodes echo {node.name!r}")
    return 0


def cmd_nodes_list(args: argparse.Namespace) -> int:
    nodes = list_nodes(open_home(args))
    if not nodes:
        print("No node yet. Add one: veil nodes add NAME --aet AE --host HOST --port PORT")
    for node in nodes:
        print(f"{node.name}\t{node.describe()}" + ("\t(from the site)" if is_site_node(node) else ""))
    return 0


def cmd_nodes_remove(args: argparse.Namespace) -> int:
    node = remove_node(open_home(args), args.name)
    print(f"Removed {node.name}.")
    return 0


def cmd_nodes_echo(args: argparse.Namespace) -> int:
    node = echo_node(open_home(args), args.name)
    how = "QIDO-RS" if isinstance(node, WebNode) else "C-ECHO"
    print(f"{node.name} answered ({how}, {node.describe()}).")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    home = open_home(args)
    accessions = list(args.accession or [])
    if args.accession_file:
        try:
            accessions += read_accessions(Path(args.accession_file).read_text(encoding="utf-8", errors="replace"))
        except OSError as exc:
            raise VeilError(f"{args.accession_file} cannot be read: {exc.strerror}.") from None
    query = StudyQuery(args.patient_name or "", args.patient_id or "", "",
                       parse_day(args.date_from), parse_day(args.date_to), args.modality or "", args.description or "")
    found = query_accessions(home, args.name, query, accessions)
    for m in found.matches:
        counts = f"{m.series if m.series is not None else '?'} series, " \
                 f"{m.instances if m.instances is not None else '?'} images"
        print(f"{m.study_uid}\t{person_name(m.patient_name)}\t{m.patient_id}\t{dicom_date(m.study_date)}\t"
              f"{m.modalities}\t{m.accession}\t{m.description}\t{counts}")
        if args.series:
            for s in query_series(home, args.name, m.study_uid).matches:
                print(f"  {s.series_uid}\t{s.number if s.number is not None else ''}\t{s.modality}\t{s.description}"
                      f"\t{s.instances if s.instances is not None else '?'} images")
    print(f"{len(found.matches)} stud{'y' if len(found.matches) == 1 else 'ies'}"
          + (" (the first ones only: narrow the query)" if found.cut else "") + ".")
    return 0


def cmd_retrieve(args: argparse.Namespace) -> int:
    from desktop.app.network.retrieving import retrieve
    from desktop.cli.progress import TerminalProgress
    from desktop.cli.support import cancellable
    from desktop.core.network.retrieve import What

    home = open_home(args)
    what = What(args.remote_study, args.series or "", args.image or "")
    printer = TerminalProgress()
    report = cancellable(lambda token: retrieve(home, args.name, what, args.method, printer, token),
                         "Cancelled. Nothing of the retrieve was imported.")
    if report is None:
        return 130
    print(report.headline())
    return 0 if not report.retrieved.cancelled else 1


def cmd_listen(args: argparse.Namespace) -> int:
    import threading

    from desktop.app.network.listening import listen_settings, listening, set_listen_settings, set_listen_tls
    from desktop.core.network.server_tls import ServerTls

    home = open_home(args)
    settings = listen_settings(home)
    if args.no_tls and (args.tls_certificate or args.tls_key or args.tls_ca):
        raise NodeError("--no-tls goes back to plain TCP: give it without --tls-certificate, --tls-key or --tls-ca.")
    if args.no_tls_ca and args.tls_ca:
        raise NodeError("--no-tls-ca stops asking senders for client certificates: give it without --tls-ca.")
    if args.tls_ca and not (args.tls_certificate or settings.tls):
        raise NodeError("--tls-ca asks senders for client certificates over TLS: give --tls-certificate and "
                        "--tls-key too.")
    if args.port is not None and not 1 <= args.port <= 65535:  # checked before anything is saved
        raise NodeError("The storage port is a number from 1 to 65535.")
    if args.no_tls:
        set_listen_tls(home, None)
    elif args.tls_certificate or args.tls_key or args.tls_ca or args.no_tls_ca:
        # what is not given is kept: a renewed certificate keeps the senders' CA (mutual TLS)
        # unless --no-tls-ca says otherwise
        old = settings.tls
        certificate = args.tls_certificate or (old.certificate if old else "")
        key = args.tls_key or (old.key if old else "")
        ca = "" if args.no_tls_ca else (args.tls_ca or (old.ca if old else ""))
        set_listen_tls(home, ServerTls(certificate, key, ca))
    if args.port is not None or args.allow_any is not None:
        set_listen_settings(home, args.port or settings.port,
                            settings.allow_any if args.allow_any is None else args.allow_any)
    settings = listen_settings(home)

    def done(peer, report) -> None:  # noqa: ANN001 - a Peer and an ImportReport (None: nothing kept)
        if report is None:
            print(f"{peer.ae_title} ({peer.address}): the association ended early; nothing of it was kept.",
                  flush=True)
        else:
            print(f"{peer.ae_title} ({peer.address}): {report.imported} new image(s), "
                  f"{report.already_present + len(report.duplicates)} already in the library"
                  f"{f', {len(report.rejected)} rejected' if report.rejected else ''}.", flush=True)

    def terminate(_signum: int, _frame: object) -> None:  # systemd's stop, kill: as Ctrl+C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    with listening(home, done):  # leaving it stops the server, which finishes the imports it owes
        who = "any sender" if settings.allow_any else "the configured nodes"
        try:  # the line inside: Ctrl+C as soon as it is read still stops cleanly
            print(f"Listening as {settings.ae_title} on port {settings.port} for {who}, {settings.describe()}; "
                  "Ctrl+C stops.", flush=True)
            threading.Event().wait()
        except KeyboardInterrupt:
            print("Stopped.")
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    from desktop.app.consent.export_consent import ExportPurpose
    from desktop.app.network.sending import send_studies
    from desktop.cli.consent import print_refusal
    from desktop.cli.progress import TerminalProgress
    from desktop.cli.support import cancellable
    from desktop.core.deid.profiles import preset

    if args.override:
        raise VeilError("Images for the patient's care never go to a DICOM node; --override does not apply.")
    home = open_home(args)
    purpose = ExportPurpose(args.purpose, args.recipient or "", args.protocol or "")
    report = cancellable(lambda token: send_studies(home, args.to, tuple(args.study), purpose, preset(args.profile),
                                                    args.confirm_burned_in, TerminalProgress(), token),
                         "Cancelled. Nothing more was sent.")
    if report is None:
        return 130
    print(report.headline())
    if report.refused:
        print_refusal(report.consent, report.flagged, args.confirm_burned_in, report.residual)
        return 1
    if report.sent:
        print("  recorded in the accounting of disclosures")
    return 0 if report.sent and not report.failed else 1


def add_network_commands(sub: argparse._SubParsersAction) -> None:
    nodes = sub.add_parser("nodes", help="the DICOM nodes (PACS) Veil knows").add_subparsers(dest="nodes_command",
                                                                                             required=True)
    p = nodes.add_parser("add", help="add a DICOM node (--aet --host --port) or a DICOMweb server (--dicomweb URL)")
    p.add_argument("name", help="what to call it in Veil, e.g. PACS")
    p.add_argument("--aet", help="its AE title")
    p.add_argument("--host", help="its host name or IP address")
    p.add_argument("--port", type=int, help="its DICOM port")
    p.add_argument("--tls-ca", type=kept_path, metavar="FILE",
                   help="TLS: the CA certificate (PEM) that signed the node's")
    p.add_argument("--tls-cert", type=kept_path, metavar="FILE",
                   help="TLS: Veil's client certificate (PEM), if the node asks")
    p.add_argument("--tls-key", type=kept_path, metavar="FILE", help="TLS: its private key (PEM)")
    p.add_argument("--dicomweb", metavar="URL", help="a DICOMweb server instead: its base URL, e.g. "
                   "https://pacs.example.org/dicom-web")
    p.add_argument("--auth", choices=("none", "basic", "bearer"), default="none",
                   help="how Veil signs in to the DICOMweb server (the password or token is asked for, or read "
                        "with --secret-stdin, and kept in the keyring or the library's sealed store)")
    p.add_argument("--user", help="the user name for basic sign-in")
    p.add_argument("--ca", type=kept_path, metavar="FILE",
                   help="the CA bundle (PEM) of an https server signed by the site's own CA")
    p.add_argument("--secret-stdin", action="store_true", help="read the password or token from standard input")
    p.set_defaults(func=cmd_nodes_add)
    p = nodes.add_parser("list", help="list the nodes")
    p.set_defaults(func=cmd_nodes_list)
    p = nodes.add_parser("remove", help="forget a node")
    p.add_argument("name")
    p.set_defaults(func=cmd_nodes_remove)
    p = nodes.add_parser("echo", help="test a node (C-ECHO, or a QIDO-RS search): says plainly what failed")
    p.add_argument("name")
    p.set_defaults(func=cmd_nodes_echo)

    p = sub.add_parser("query", help="find studies on a node (C-FIND or QIDO-RS), each printed with its UID")
    p.add_argument("name", help="the node, as 'veil nodes list' names it")
    p.add_argument("--patient-id")
    p.add_argument("--patient-name", help="wildcards allowed: 'SMITH*'")
    p.add_argument("--accession", action="append", help="an accession number; repeat for several")
    p.add_argument("--accession-file", metavar="FILE", help="a file of accession numbers, one per line")
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="studies on or after this day")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="studies on or before this day")
    p.add_argument("--modality", help="e.g. CT")
    p.add_argument("--description", help="the study description (wildcards allowed)")
    p.add_argument("--series", action="store_true", help="list each study's series too")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("retrieve", help="retrieve a study, series or image from a node into the library")
    p.add_argument("name", help="the node, as 'veil nodes list' names it")
    p.add_argument("--study", dest="remote_study", required=True, metavar="UID",
                   help="the Study Instance UID on the node ('veil query' prints it)")
    p.add_argument("--series", metavar="UID", help="only this series of it")
    p.add_argument("--image", metavar="UID", help="only this image of that series")
    p.add_argument("--method", choices=("get", "move", "wado"),
                   help="get: C-GET over Veil's own association (the default for a DICOM node); move: C-MOVE to "
                        "Veil's storage SCP (the node must know Veil's AE title, host and port: 'veil listen "
                        "--help'); wado: WADO-RS (a DICOMweb server's only way, its default)")
    p.set_defaults(func=cmd_retrieve)

    p = sub.add_parser("send", help="send library studies, de-identified, to a node (C-STORE or STOW-RS)",
                       description="A disclosure like any other: consent for the purpose, redaction masks burned in, "
                                   "the burned-in review, de-identification with a profile, the residual check; the "
                                   "accounting of disclosures names the node. Never for care.")
    p.add_argument("--to", required=True, metavar="NODE", help="the node, as 'veil nodes list' names it")
    p.add_argument("--study", action="append", required=True, metavar="STUDY",
                   help="a library study: " + STUDY_HELP + "; repeat for several")
    add_purpose_arguments(p)
    p.add_argument("--profile", choices=("teaching", "research", "publication"), default="teaching",
                   help="the de-identification profile (default teaching)")
    p.add_argument("--confirm-burned-in", action="store_true",
                   help="include images that declare burned-in text and have no redaction mask (you checked them)")
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("listen", help="receive images (C-STORE) into the library until Ctrl+C")
    p.add_argument("--port", type=int, help="the storage port, remembered (default 11112)")
    p.add_argument("--any", dest="allow_any", action="store_true",
                   help="accept any sender, not only the configured nodes (remembered)")
    p.add_argument("--nodes-only", dest="allow_any", action="store_false",
                   help="accept only the configured nodes again")
    p.add_argument("--tls-certificate", type=kept_path, metavar="PEM",
                   help="receive over TLS (PS3.15 B.1) with this certificate of Veil's (remembered; with --tls-key)")
    p.add_argument("--tls-key", type=kept_path, metavar="PEM", help="the certificate's private key (PEM, unencrypted)")
    p.add_argument("--tls-ca", type=kept_path, metavar="PEM",
                   help="over TLS, accept only senders whose client certificate this CA signed (remembered)")
    p.add_argument("--no-tls-ca", action="store_true",
                   help="over TLS, stop asking senders for a client certificate (forgets the senders' CA)")
    p.add_argument("--no-tls", action="store_true", help="receive over plain TCP again (forgets the TLS files)")
    p.set_defaults(func=cmd_listen, allow_any=None)


def kept_path(text: str) -> str:
    """A file path Veil remembers (a TLS certificate, key or CA), made absolute, so that it
    still names the file when Veil later runs from another folder or from the menu."""
    return os.path.abspath(os.path.expanduser(text))
