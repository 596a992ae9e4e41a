"""STOW-RS (PS3.18 10.5): the objects an export sends, posted to a DICOMweb server in batches
(multipart/related; type="application/dicom"), each object in its own transfer syntax. The
server's answer (PS3.18 10.5.3, the Store Instances Response Module) names what it refused
(Failed SOP Sequence) with a reason. Only the privacy gate's writers call this (an
import-linter contract): it is an exit.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence

import requests
from dicomweb_client.api import DICOMwebClient
from pydicom import dcmread
from pydicom.dataset import Dataset

from desktop.core.network.dicomweb import client_for, speaking
from desktop.core.network.nodes import WebNode
from desktop.core.network.outgoing import Outgoing, SharedWork, Stored

#: Objects per request: small enough for progress and Cancel, large enough to keep HTTP cheap.
BATCH = 16
#: Requests in flight at once, each on a connection of its own.
REQUESTS = 3
_REASONS = {0xA700: "the server is out of resources", 0xA900: "the data set does not match the SOP class",
            0xC000: "the server cannot understand it", 0xC122: "the server does not take this kind of object",
            0xA770: "the server has no room", 0x0110: "the server failed to process it"}


def _batches(count: int) -> list[range]:
    return [range(start, min(start + BATCH, count)) for start in range(0, count, BATCH)]


def _refused(answer: Dataset | None) -> dict[str, str]:
    """SOP Instance UID -> reason, for each object the server listed as failed."""
    refused: dict[str, str] = {}
    for item in (answer.get("FailedSOPSequence", []) if answer is not None else []):
        code = int(item.get("FailureReason", 0x0110))
        refused[str(item.get("ReferencedSOPInstanceUID", ""))] = _REASONS.get(code, f"status 0x{code:04X}")
    return refused


def _reachable(node: WebNode, client: DICOMwebClient) -> None:
    """Before anything is posted: the server answers and takes the sign-in (one-match QIDO-RS).
    A refusal, an unknown host, a certificate or a sign-in the server refuses is raised here,
    when nothing has left; a server that offers no search (404, 405) is tried all the same."""
    with speaking(node, "signing in"):
        try:
            client.search_for_studies(limit=1)
        except requests.exceptions.HTTPError as exc:
            if exc.response is not None and exc.response.status_code in (401, 403):
                raise
        except ValueError:
            pass


def stow(node: WebNode, objects: Sequence[Outgoing], progress: Callable[[int, int], None] = lambda _d, _t: None,
         cancelled: Callable[[], bool] = lambda: False, secret: str = "",
         leaving: Callable[[], None] = lambda: None, requests_at_once: int | None = None) -> Stored:
    """Post every object to ``node``; what the server refused is listed, the others counted.
    ``leaving`` is called before each request: from then on objects may have reached the server.

    Up to ``requests_at_once`` (default :data:`REQUESTS`) requests are in flight, each on a
    connection of its own taking the next batch (a server stores a batch before it answers, so
    one connection waits most of its time, as one association does for C-STORE)."""
    _reachable(node, client_for(node, secret, timeout=120.0))
    posting = _Posting(node, objects, progress, cancelled, leaving)
    workers = [threading.Thread(target=posting.run, args=(client_for(node, secret, timeout=120.0),),
                                name=f"veil-stow-{n}", daemon=True)
               for n in range(1, min(requests_at_once or REQUESTS, len(posting.items)))]
    for worker in workers:
        worker.start()
    posting.run(client_for(node, secret, timeout=120.0))
    for worker in workers:
        worker.join()
    return posting.outcome()


class _Posting(SharedWork[range]):
    """The batches left to post, shared by the connections; each takes the next one."""

    def __init__(self, node: WebNode, objects: Sequence[Outgoing], progress: Callable[[int, int], None],
                 cancelled: Callable[[], bool], leaving: Callable[[], None]) -> None:
        super().__init__(_batches(len(objects)), len(objects), progress, cancelled)
        self.node, self.objects, self.leaving = node, objects, leaving

    def run(self, client: DICOMwebClient) -> None:
        with self.keeping_errors():
            while (batch := self.take()) is not None:
                self._post(client, batch)

    def _post(self, client: DICOMwebClient, batch: range) -> None:
        datasets = [dcmread(io.BytesIO(self.objects[i][1]())) for i in batch]
        failed: list[tuple[str, str]] = []
        with speaking(self.node, "storing the images"):
            try:
                self.leaving()
                answer = client.store_instances(datasets)
            except requests.exceptions.HTTPError as exc:
                if exc.response is None or exc.response.status_code != 409:
                    raise
                answer = None  # 409 Conflict: none of the batch was stored
                failed = [(self.objects[i][0], "the server refused it (HTTP 409)") for i in batch]
        if answer is not None:
            refused = _refused(answer)
            failed = [(self.objects[i][0], refused[str(ds.SOPInstanceUID)])
                      for i, ds in zip(batch, datasets, strict=True) if refused.get(str(ds.SOPInstanceUID))]
        self.count(len(batch), failed)
