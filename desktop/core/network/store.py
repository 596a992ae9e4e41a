"""C-STORE to a node (PS3.4 Annex B, the SCU side): the objects an export sends, over
associations proposing each object's storage class in its own transfer syntax and in the two
uncompressed ones, so a node that does not take a compressed syntax gets the image decompressed (a lossless
change: PS3.5 A.4 keeps the pixel values). Only the privacy gate's writers call this (an
import-linter contract): it is an exit.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context

from desktop.core.network.dimse import VEIL, Calling, associated_with
from desktop.core.network.nodes import DicomNode, NodeError
from desktop.core.network.outgoing import Outgoing, SharedWork, Stored
from desktop.core.network.retrieve import MAX_STORAGE_CLASSES

_UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
#: Associations that send at once (PS3.8 7.1: an AE may hold several; a node that refuses the
#: second gets everything over the first).
ASSOCIATIONS = 4


def _fit(ds: Dataset, accepted: str) -> Dataset:
    """``ds`` in the accepted transfer syntax: decompressed when the node took an uncompressed one."""
    syntax = ds.file_meta.TransferSyntaxUID
    if accepted == syntax or not syntax.is_compressed:
        return ds
    ds.decompress()
    return ds


def store(node: DicomNode, objects: Sequence[Outgoing], progress: Callable[[int, int], None] = lambda _d, _t: None,
          cancelled: Callable[[], bool] = lambda: False, calling: Calling = VEIL,
          leaving: Callable[[], None] = lambda: None, associations: int = ASSOCIATIONS) -> Stored:
    """Send every object to ``node``; what the node refused is listed, the others counted.
    ``leaving`` is called before each C-STORE: from then on an object may have reached the node.

    Up to ``associations`` associations send at once, each taking the next object (a PACS
    stores each object before it answers, so one association waits most of its time); a node
    that refuses the extra associations gets everything over the first."""
    classes: dict[str, set[str]] = {}
    for _name, opener in objects:
        header = dcmread(io.BytesIO(opener()), stop_before_pixels=True)
        classes.setdefault(str(header.SOPClassUID), set()).add(str(header.file_meta.TransferSyntaxUID))
    if len(classes) > MAX_STORAGE_CLASSES:
        raise NodeError(f"The images hold {len(classes)} kinds of object; one association carries "
                        f"{MAX_STORAGE_CLASSES}: send them study by study.")
    contexts = [build_context(uid, sorted(syntaxes | set(_UNCOMPRESSED))) for uid, syntaxes in classes.items()]
    sending = _Sending(node, objects, progress, cancelled, leaving)

    def extra() -> None:  # another association, opened while the first one sends
        try:
            with associated_with(node, contexts, calling) as assoc:
                sending.run(assoc)
        except NodeError:
            pass  # a node that takes one association at a time: the others send everything

    with associated_with(node, contexts, calling) as first:  # its refusal is the answer
        workers = [threading.Thread(target=extra, name=f"veil-c-store-{n}", daemon=True)
                   for n in range(1, min(associations, len(objects)))]
        for worker in workers:
            worker.start()
        sending.run(first)
        for worker in workers:
            worker.join()
    return sending.outcome()


class _Sending(SharedWork[Outgoing]):
    """The objects left to send, shared by the associations; each takes the next one."""

    def __init__(self, node: DicomNode, objects: Sequence[Outgoing], progress: Callable[[int, int], None],
                 cancelled: Callable[[], bool], leaving: Callable[[], None]) -> None:
        super().__init__(objects, len(objects), progress, cancelled)
        self.node, self.leaving = node, leaving

    def run(self, assoc: Any) -> None:
        with self.keeping_errors():
            accepted = {(cx.abstract_syntax, cx.transfer_syntax[0]) for cx in assoc.accepted_contexts}
            while (item := self.take()) is not None:
                self._send(assoc, accepted, *item)

    def _send(self, assoc: Any, accepted: set[tuple[str, str]], name: str, opener: Callable[[], bytes]) -> None:
        ds = dcmread(io.BytesIO(opener()))
        sop_class, syntax = str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)
        target = syntax if (sop_class, syntax) in accepted else next(
            (s for s in _UNCOMPRESSED if (sop_class, s) in accepted), None)
        failure = None
        if target is None:
            failure = "the node accepts neither this kind of object nor its transfer syntax"
        else:
            try:
                fitted = _fit(ds, target)
                self.leaving()
                status = assoc.send_c_store(fitted)
            except (ValueError, RuntimeError, NotImplementedError) as exc:
                failure = f"it could not be sent ({type(exc).__name__})"
            else:
                code = int(status.Status) if status and "Status" in status else None
                if code is None:
                    raise NodeError(f"{self.node.name} stopped answering after {self.result.sent} image(s); the "
                                    "accounting of disclosures counts every image that may have reached it.")
                if not (code == 0x0000 or 0xB000 <= code <= 0xBFFF):
                    failure = f"the node refused it (status 0x{code:04X})"
        self.count(1, [] if failure is None else [(name, failure)])
