"""Retrieve a study, series or image from a node into the encrypted library (C-GET, or C-MOVE
to Veil's own storage SCP, :mod:`.listening`, or WADO-RS from a DICOMweb server), through
the same import path as files: each object is staged sealed as it arrives, then indexed as one
import (duplicates recognised, bad objects rejected with a reason). A retrieve that fails
half-way (the node stops, refuses, or the user cancels) imports nothing of it: the staged
objects are removed, so no study is shown as complete with images missing. Audited with the
node's name and counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import ImportReport
from desktop.app.network.listening import receiving_for
from desktop.app.network.nodes import calling, find_node, node_secret
from desktop.app.share.package_import import StagedMembers, import_members
from desktop.core.common.errors import VeilError
from desktop.core.network.dicomweb import wado
from desktop.core.network.nodes import NodeError, WebNode
from desktop.core.network.retrieve import Retrieved, What, get, move

METHODS = ("get", "move", "wado")


@dataclass
class RetrieveReport:
    node: str
    what: What
    retrieved: Retrieved
    imported: ImportReport | None = None
    method: str | None = "get"

    def headline(self) -> str:
        if self.retrieved.cancelled:
            return f"Retrieve from {self.node} cancelled: nothing of it was imported."
        imported = self.imported
        assert imported is not None
        failed = f"; {self.retrieved.failed} the node could not send" if self.retrieved.failed else ""
        rejected = f"; {len(imported.rejected)} rejected" if imported.rejected else ""
        return (f"Retrieved {self.retrieved.received} object(s) from {self.node}: {imported.imported} new, "
                f"{imported.already_present + len(imported.duplicates)} already in the library{rejected}{failed}.")


def retrieve(home: VeilHome, name: str, what: What, method: str | None = None, progress: Progress = no_progress,
             cancel: CancelToken | None = None) -> RetrieveReport:
    """Retrieve ``what`` from the node called ``name`` (see the module): by C-GET, C-MOVE, or
    WADO-RS from a DICOMweb server; ``method`` None: WADO-RS for a server, C-GET for a node."""
    cancel = cancel or CancelToken()
    node = find_node(home, name)
    web = isinstance(node, WebNode)
    method = method or ("wado" if web else "get")
    if method not in METHODS:
        raise VeilError(f"Retrieve by {method!r} is not available; use: {', '.join(METHODS)}.")
    if web != (method == "wado"):
        kind = "a DICOMweb server: retrieve by wado" if web else "a DICOM node: retrieve by get or move"
        raise VeilError(f"{node.name} is {kind}.")
    members = StagedMembers(home, f"{node.name} ({'WADO-RS' if web else 'C-' + method.upper()})")
    report = RetrieveReport(node.name, what, Retrieved(), method=method)
    try:
        if isinstance(node, WebNode):
            report.retrieved = wado(node, what, members.keep, progress, lambda: cancel.cancelled,
                                    node_secret(home, node))
        elif method == "move":
            with receiving_for(home, members, node.ae_title) as listen:
                report.retrieved = move(node, what, listen.ae_title, progress, lambda: cancel.cancelled,
                                        calling(home), lambda: members.staged)
        else:
            report.retrieved = get(node, what, members.keep, progress, lambda: cancel.cancelled, calling(home))
        if report.retrieved.cancelled or cancel.cancelled:
            report.retrieved.cancelled = True
            members.discard()
            _audit(home, report, "cancelled")
            return report
        report.imported, _sent = import_members(home, members, cancel, source="network")
    except NodeError:
        members.discard()
        report.retrieved.received = members.staged
        _audit(home, report, "failed")
        raise
    except BaseException:
        members.discard()
        raise
    _audit(home, report, "completed")
    return report


def _audit(home: VeilHome, report: RetrieveReport, outcome: str, **more: object) -> None:
    conn = home.connect()
    try:
        home.record(conn, "network.retrieve", node=report.node, method=report.method, level=report.what.level,
                    outcome=outcome, received=report.retrieved.received, failed=report.retrieved.failed,
                    study=home.audit.pseudonym(report.what.study_uid), **more)
    finally:
        conn.close()
