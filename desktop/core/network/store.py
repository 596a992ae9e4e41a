"""C-STORE to a node (PS3.4 Annex B, the SCU side): the objects an export sends, one association
proposing each object's storage class in its own transfer syntax and in the two uncompressed
ones, so a node that does not take a compressed syntax gets the image decompressed (a lossless
change: PS3.5 A.4 keeps the pixel values). Only the privacy gate's writers call this (an
import-linter contract): it is an exit.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context

from desktop.core.network.dimse import VEIL, Calling, associated_with
from desktop.core.network.nodes import DicomNode, NodeError
from desktop.core.network.outgoing import Outgoing, Stored
from desktop.core.network.retrieve import MAX_STORAGE_CLASSES

_UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


def _fit(ds: Dataset, accepted: str) -> Dataset:
    """``ds`` in the accepted transfer syntax: decompressed when the node took an uncompressed one."""
    syntax = ds.file_meta.TransferSyntaxUID
    if accepted == syntax or not syntax.is_compressed:
        return ds
    ds.decompress()
    return ds


def store(node: DicomNode, objects: Sequence[Outgoing], progress: Callable[[int, int], None] = lambda _d, _t: None,
          cancelled: Callable[[], bool] = lambda: False, calling: Calling = VEIL,
          leaving: Callable[[], None] = lambda: None) -> Stored:
    """Send every object to ``node``; what the node refused is listed, the others counted.
    ``leaving`` is called before each C-STORE: from then on an object may have reached the node."""
    classes: dict[str, set[str]] = {}
    for _name, opener in objects:
        header = dcmread(io.BytesIO(opener()), stop_before_pixels=True)
        classes.setdefault(str(header.SOPClassUID), set()).add(str(header.file_meta.TransferSyntaxUID))
    if len(classes) > MAX_STORAGE_CLASSES:
        raise NodeError(f"The images hold {len(classes)} kinds of object; one association carries "
                        f"{MAX_STORAGE_CLASSES}: send them study by study.")
    contexts = [build_context(uid, sorted(syntaxes | set(_UNCOMPRESSED))) for uid, syntaxes in classes.items()]
    result = Stored()
    with associated_with(node, contexts, calling) as assoc:
        accepted = {(cx.abstract_syntax, cx.transfer_syntax[0]) for cx in assoc.accepted_contexts}
        for n, (name, opener) in enumerate(objects, 1):
            if cancelled():
                result.cancelled = True
                break
            ds = dcmread(io.BytesIO(opener()))
            sop_class, syntax = str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)
            target = syntax if (sop_class, syntax) in accepted else next(
                (s for s in _UNCOMPRESSED if (sop_class, s) in accepted), None)
            if target is None:
                result.failed.append((name, "the node accepts neither this kind of object nor its transfer syntax"))
                continue
            try:
                fitted = _fit(ds, target)
                leaving()
                status = assoc.send_c_store(fitted)
            except (ValueError, RuntimeError, NotImplementedError) as exc:
                result.failed.append((name, f"it could not be sent ({type(exc).__name__})"))
                continue
            code = int(status.Status) if status and "Status" in status else None
            if code is None:
                raise NodeError(f"{node.name} stopped answering after {result.sent} image(s); the accounting of "
                                "disclosures counts every image that may have reached it.")
            if code == 0x0000 or 0xB000 <= code <= 0xBFFF:
                result.sent += 1
            else:
                result.failed.append((name, f"the node refused it (status 0x{code:04X})"))
            progress(n, len(objects))
    return result
