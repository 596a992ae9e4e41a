"""Send cleaned studies to a DICOM node (C-STORE) or a DICOMweb server (STOW-RS): a
teaching-file PACS, a research archive. A disclosure like any other, through the privacy gate.
Consent for the purpose, masks burned in, the burned-in review, de-identification with a
profile into sealed staging (the residual check included), then the gate's network writer
(C-STORE or STOW-RS); the accounting of disclosures names the
node as the recipient. Identifiable images never go to a node: care goes as a package encrypted
to the colleague. Without TLS the transfer is not encrypted, as a journal ZIP is not.

The disclosure is expected in the write-ahead log once the images are staged, and the intent is
marked *leaving* (committed) just before the first object is transmitted: a crash from then on
still accounts for every image that may have reached the node, and a restart after a crash
before it records no disclosure for images that never left (the staging is removed).
"""

from __future__ import annotations

import secrets
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from desktop.app.common.formatting import megabytes
from desktop.app.common.tasks import CancelToken, Progress, no_progress
from desktop.app.consent.disclosing import Sent, pending_disclosure, record_disclosure
from desktop.app.consent.export_consent import ExportPurpose
from desktop.app.deid.deidentifying import DeidReport, deidentify_inputs, inputs_of
from desktop.app.durability import write_ahead
from desktop.app.gate import Channel, Delivery, Flagged, Review, Selection, enter, review_prepared, writers
from desktop.app.gate.review import Reviewed
from desktop.app.library.home import VeilHome
from desktop.app.library.instance_identity import library_key
from desktop.app.network.nodes import calling, find_node, node_secret
from desktop.core.common.errors import Cancelled
from desktop.core.common.faults import fault_point
from desktop.core.common.sealed import SealedReader
from desktop.core.consent import Decision
from desktop.core.deid.profiles import Profile
from desktop.core.network.nodes import WebNode

SEND_KIND = write_ahead.NETWORK_SEND


@dataclass
class SendReport(Reviewed):
    node: str
    purpose: ExportPurpose
    review: Review | None = None
    consent: Decision | None = None
    deid: DeidReport | None = None
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    disclosure: int | None = None
    confirm_burned_in: bool = False
    library: str = ""  # the Veil library, where the images are de-identified before they go

    @property
    def refused(self) -> bool:
        return ((self.consent is not None and not self.consent.allowed) or bool(self.residual)
                or (bool(self.flagged) and not self.confirm_burned_in)
                or (self.deid is not None and (self.deid.refused or bool(self.deid.rejected))))

    def headline(self) -> str:
        if self.consent is not None and not self.consent.allowed:
            return f"Send to {self.node} refused: consent does not allow it. Nothing was sent."
        if self.residual:
            return (f"Send to {self.node} refused: {len(self.residual)} image(s) would still show the patient's "
                    "identity in the pixels; redact them. Nothing was sent.")
        if self.flagged and not self.confirm_burned_in:
            return (f"{len(self.flagged)} image(s) may carry burned-in identity and have no redaction mask: redact "
                    "them, or confirm you checked them. Nothing was sent.")
        if self.deid is not None and self.deid.disk_full:  # the staging, in the library: not the node's disk
            return (f"Send to {self.node} stopped: the disk holding the Veil library ({self.library}) is full (the "
                    f"images are de-identified there before they go: about {megabytes(self.deid.disk_full)} "
                    "needed). Nothing was sent; free some space and send again.")
        if self.deid is not None and (self.deid.refused or self.deid.rejected):
            return self.deid.headline().replace("written", "sent")
        if self.cancelled and not self.sent:
            return f"Send to {self.node} cancelled. Nothing was sent."
        failed = f"; {len(self.failed)} refused by the node ({self.failed[0][1]})" if self.failed else ""
        stopped = " before it was cancelled" if self.cancelled else ""
        return f"Sent {self.sent} de-identified image(s) to {self.node}{stopped}{failed}."


def _open_staged(path: Path, key: bytes) -> bytes:
    with SealedReader(open(path, "rb", buffering=0), key) as fh:
        return fh.read()


def send_studies(home: VeilHome, name: str, study_uids: Sequence[str], purpose: ExportPurpose, profile: Profile,
                 confirm_burned_in: bool = False, progress: Progress = no_progress,
                 cancel: CancelToken | None = None, series_uids: Sequence[str] = (),
                 instance_uids: Sequence[str] = (), shown: Review | None = None,
                 seen: Sequence[Flagged] = ()) -> SendReport:
    """Send ``study_uids`` (only ``series_uids`` or ``instance_uids`` of them, when given),
    de-identified with ``profile``, to the node called ``name`` (see the module). ``shown`` and
    ``seen``: the burned-in review the person was shown and the images flagged on their page
    (the wizard), reused rather than read again when it read exactly the images that leave."""
    cancel = cancel or CancelToken()
    node = find_node(home, name)
    report = SendReport(node.name, purpose, confirm_burned_in=confirm_burned_in, library=str(home.path))
    web = isinstance(node, WebNode)
    recipient = f"{node.name} ({'' if web else 'DICOM node '}{node.describe()})" + (
        f" for {purpose.recipient}" if purpose.recipient else "")
    destination = node.url if isinstance(node, WebNode) else f"dicom://{node.describe()}"
    selection = Selection(tuple(study_uids), tuple(series_uids), tuple(instance_uids))
    cleared = enter(home, selection, purpose, Delivery(Channel.NETWORK), cancel=cancel)
    report.consent = cleared.decision
    images = cleared.resolved.images
    if cleared.decision.allowed:
        report.review = review_prepared(home, images, shown=shown, seen=seen, cancel=cancel)
    if report.refused:
        _audit(home, report, "refused")
        return report
    staging = write_ahead.staging_folder(home, "send", secrets.token_hex(8))
    intent = write_ahead.begin(home, SEND_KIND, home.path / "network" / node.name, staging)
    leaving: list[Sent] = []  # set once objects may reach the node: from then on, always accounted for
    first = threading.Lock()
    # (a node that refuses the connection, or the sign-in, received nothing: no disclosure)
    try:
        key = secrets.token_bytes(32)  # lives only in memory: the staged copies die with it
        staging.mkdir(mode=0o700, parents=True)
        inputs = inputs_of(images)
        report.deid = deidentify_inputs(home, profile, inputs, staging, progress, cancel, purpose=cleared.purpose,
                                        seal_key=key, account=False, reviewed=report.review,
                                        confirm_burned_in=confirm_burned_in)
        if report.deid.cancelled:
            raise Cancelled("The send was cancelled; nothing was sent.")
        if report.refused or report.deid.disk_full:
            write_ahead.settle(home, intent, write_ahead.ABANDONED)
            _audit(home, report, "failed-disk-full" if report.deid.disk_full else "refused")
            return report
        write = writers(cleared, report.review, confirm_burned_in)
        sent = [Sent(library_key(i.patient_key), i.study_uid, i.series_uid, i.sop_uid) for i in inputs]
        write_ahead.expect(home, intent, disclosure=pending_disclosure(
            SEND_KIND, cleared.request, cleared.decision, sent, recipient=recipient,
            destination=destination, profile=profile.key), leaving=False)
        fault_point("network.expected")

        def on_leaving() -> None:  # an object is about to be transmitted (on any of the associations' threads)
            with first:  # the first is committed before it goes: a crash from here on is accounted for
                if not leaving:
                    write_ahead.mark_leaving(home, intent)
                    leaving[:] = sent

        def sending_progress(done: int, total: int) -> None:
            progress(done, total)
            fault_point("network.object-sent")  # the crash tests: killed with objects on the node

        objects = [(f"image {n}", partial(_open_staged, staging / rel, key))
                   for n, (rel, _size, _sha, _crc) in enumerate(report.deid.outputs, 1)]
        secret = node_secret(home, node) if isinstance(node, WebNode) else ""
        stored = write.send_dicom(node, objects, calling(home), sending_progress, lambda: cancel.cancelled, secret,
                                  on_leaving)
        report.sent, report.failed, report.cancelled = stored.sent, stored.failed, stored.cancelled
    except BaseException:
        if leaving:  # some images may have reached the node before it stopped: account for them all
            record_disclosure(home, SEND_KIND, cleared.request, cleared.decision, leaving, recipient=recipient,
                              destination=destination, profile=profile.key, intent=intent)
            _audit(home, report, "interrupted")
        else:
            write_ahead.settle(home, intent, write_ahead.ABANDONED)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    fault_point("network.sent")
    if leaving:  # transmitted, even if the node then refused to keep some: accounted for
        report.disclosure = record_disclosure(home, SEND_KIND, cleared.request, cleared.decision, sent,
                                              recipient=recipient, destination=destination,
                                              profile=profile.key, intent=intent)
    else:
        write_ahead.settle(home, intent, write_ahead.ABANDONED)
    _audit(home, report, "completed" if report.sent and not report.failed else "failed")
    return report


def _audit(home: VeilHome, report: SendReport, outcome: str) -> None:
    conn = home.connect()
    try:
        home.record(conn, "network.send", node=report.node, outcome=outcome, purpose=str(report.purpose.purpose),
                    sent=report.sent, failed=len(report.failed), flagged=len(report.flagged))
    finally:
        conn.close()

