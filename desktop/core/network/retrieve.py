"""C-GET (PS3.4 C.4.3): the node sends a study, series or image back over Veil's own
association, for sites where the PACS cannot connect back to Veil (C-MOVE needs it to).

Veil proposes the storage SOP classes the study holds (asked first with C-FIND at image level;
PS3.4 C.4.3 has the retriever offer each as an SCP role, PS3.7 D.3.3.4) in every transfer syntax
pydicom can read, compressed included, so each object arrives and is kept as the node had it.
Each object goes to ``keep(name, bytes)`` as a DICOM file (its File Meta Information built from
the association), never to a file here. Progress follows the node's pending responses; a
cancel sends C-CANCEL; a node that stops mid-transfer is a NodeError naming how many arrived.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import build_context, build_role, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from desktop.core.network.dimse import VEIL, Calling, associated_with
from desktop.core.network.nodes import DicomNode, NodeError

#: Every transfer syntax an object may arrive in and be kept as it is.
ACCEPTED_SYNTAXES: list[str | UID] = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian,
                     ExplicitVRBigEndian, JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLosslessSV1, JPEGLSLossless,
                     JPEGLSNearLossless, JPEG2000Lossless, JPEG2000, RLELossless]
#: PS3.8 9.3.2.2: an association carries at most 128 presentation contexts (one is the C-GET's).
MAX_STORAGE_CLASSES = 127
_PENDING = (0xFF00, 0xFF01)

Keep = Callable[[str, bytes], None]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class What:
    """What to retrieve: a study, or one series of it, or one image of that series."""

    study_uid: str
    series_uid: str = ""
    sop_uid: str = ""

    @property
    def level(self) -> str:
        return "IMAGE" if self.sop_uid else "SERIES" if self.series_uid else "STUDY"

    def identifier(self) -> Dataset:
        ds = Dataset()
        ds.QueryRetrieveLevel = self.level
        ds.StudyInstanceUID = self.study_uid
        if self.series_uid:
            ds.SeriesInstanceUID = self.series_uid
        if self.sop_uid:
            ds.SOPInstanceUID = self.sop_uid
        return ds


@dataclass
class Retrieved:
    """How a retrieve ended: objects received, and what the node counted."""

    received: int = 0
    failed: int = 0
    warnings: int = 0
    cancelled: bool = False


def storage_classes(node: DicomNode, what: What, calling: Calling = VEIL) -> list[str]:
    """The SOP classes of the images to retrieve (C-FIND at image level)."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "IMAGE"
    ds.StudyInstanceUID = what.study_uid
    ds.SeriesInstanceUID = what.series_uid or ""
    ds.SOPInstanceUID = what.sop_uid or ""
    ds.SOPClassUID = ""
    found: set[str] = set()
    with associated_with(node, [build_context(StudyRootQueryRetrieveInformationModelFind)], calling) as assoc:
        for status, answer in assoc.send_c_find(ds, StudyRootQueryRetrieveInformationModelFind):
            if not status:
                raise NodeError(f"{node.name} stopped answering while Veil asked what the study holds.")
            if int(status.Status) in _PENDING and answer is not None and answer.get("SOPClassUID"):
                found.add(str(answer.SOPClassUID))
    if not found:
        raise NodeError(f"{node.name} holds no image of that {what.level.lower()}.")
    if len(found) > MAX_STORAGE_CLASSES:
        raise NodeError(f"The {what.level.lower()} holds {len(found)} kinds of object; one association carries "
                        f"{MAX_STORAGE_CLASSES}: retrieve it series by series.")
    return sorted(found)


def get(node: DicomNode, what: What, keep: Keep, progress: Progress = lambda _d, _t: None,
        cancelled: Callable[[], bool] = lambda: False, calling: Calling = VEIL) -> Retrieved:
    """C-GET ``what`` from ``node``; each object to ``keep`` (see the module)."""
    classes = storage_classes(node, what, calling)
    contexts = [build_context(StudyRootQueryRetrieveInformationModelGet)]
    contexts += [build_context(uid, ACCEPTED_SYNTAXES) for uid in classes]
    roles = [build_role(uid, scp_role=True) for uid in classes]
    result = Retrieved()

    def on_store(event: evt.Event) -> int:
        try:
            data = event.encoded_dataset(include_meta=True)
            keep(str(getattr(event.request, "AffectedSOPInstanceUID", "") or "object"), data)
        except Exception:  # noqa: BLE001 - an object Veil cannot keep is counted; the node is told
            return 0xC211  # Refused: out of resources / cannot understand
        result.received += 1
        return 0x0000

    handlers = [(evt.EVT_C_STORE, on_store)]
    with associated_with(node, contexts, calling, roles=roles, handlers=handlers) as assoc:
        responses = assoc.send_c_get(what.identifier(), StudyRootQueryRetrieveInformationModelGet)
        _follow(node, assoc, responses, StudyRootQueryRetrieveInformationModelGet, result, progress, cancelled,
                calling, lambda: result.received)
    return result


def move(node: DicomNode, what: What, destination: str, progress: Progress = lambda _d, _t: None,
         cancelled: Callable[[], bool] = lambda: False, calling: Calling = VEIL,
         received: Callable[[], int] = lambda: 0) -> Retrieved:
    """C-MOVE ``what`` from ``node`` to the AE ``destination`` (PS3.4 C.4.2): the node opens
    its own association to it (Veil's storage SCP, :mod:`.scp`, which keeps the objects);
    ``received`` counts what that SCP took so far."""
    result = Retrieved()
    with associated_with(node, [build_context(StudyRootQueryRetrieveInformationModelMove)], calling) as assoc:
        responses = assoc.send_c_move(what.identifier(), destination, StudyRootQueryRetrieveInformationModelMove)
        _follow(node, assoc, responses, StudyRootQueryRetrieveInformationModelMove, result, progress, cancelled,
                calling, received)
    result.received = received()
    return result


def _follow(node: DicomNode, assoc: Any, responses: Any, model: str, result: Retrieved, progress: Progress,
            cancelled: Callable[[], bool], calling: Calling, received: Callable[[], int]) -> None:
    """Read a C-GET's or C-MOVE's responses to the end (PS3.4 C.4.2.1.6, C.4.3.1.6)."""
    started = time.monotonic()
    for status, _identifier in responses:
        if not status:
            quick = assoc.is_aborted or time.monotonic() - started < calling.timeout * 0.9
            raise NodeError(f"{node.name} stopped mid-transfer after {received()} image(s)"
                            f"{' (it broke off the association)' if quick else ''}: nothing of it is shown as "
                            "complete; retrieve it again.")
        code = int(status.Status)
        remaining = int(status.get("NumberOfRemainingSuboperations", 0) or 0)
        done = sum(int(status.get(k, 0) or 0) for k in ("NumberOfCompletedSuboperations",
                                                          "NumberOfFailedSuboperations",
                                                          "NumberOfWarningSuboperations"))
        progress(done, done + remaining)
        if code in _PENDING:
            if cancelled() and not result.cancelled:
                assoc.send_c_cancel(1, query_model=model)
                result.cancelled = True
            continue
        result.failed = int(status.get("NumberOfFailedSuboperations", 0) or 0)
        result.warnings = int(status.get("NumberOfWarningSuboperations", 0) or 0)
        if code == 0xFE00:
            result.cancelled = True
        elif code == 0xA801:  # PS3.4 C.4.2.1.6: Refused, Move Destination unknown
            raise NodeError(f"{node.name} does not know where to send to Veil's AE title: add Veil (its AE title, "
                            "host and storage port) to the node's modalities, or retrieve with C-GET.")
        elif code not in (0x0000, 0xB000):
            raise NodeError(f"{node.name} refused the retrieve (status 0x{code:04X}) after {received()} image(s).")
        started = time.monotonic()
