"""The privacy gate's pixel review of a de-identification's inputs, run on a thread of its own
while the worker processes de-identify (:mod:`desktop.app.deid.deidentifying`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from desktop.app.common.tasks import CancelToken
from desktop.app.deid.runner import Input, LibraryInstance, read_input
from desktop.app.gate import Candidate, Review, run_review
from desktop.app.library.home import VeilHome
from desktop.app.library.instance_identity import Identity
from desktop.core.redaction.ocr import TextReader


class Reading:
    """The pixel review, run on a thread of its own while the workers de-identify."""

    def __init__(self, work: Callable[[threading.Event], Review]) -> None:
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="veil-review")
        self._future = self._pool.submit(work, self._stop)
        self._pool.shutdown(wait=False)

    def result(self) -> Review:
        return self._future.result()

    def stop(self) -> None:
        self._stop.set()


def review_inputs(home: VeilHome, readable: list[Input], identities: dict[str, Identity], cancel: CancelToken,
            ocr: bool = True, stop: threading.Event | None = None) -> Review:
    """The privacy gate's burned-in review and residual pixel check of these inputs, series by
    series in Instance Number order (:func:`desktop.app.gate.run_review`)."""
    store = home.objects if any(isinstance(i, LibraryInstance) for i in readable) else None
    order = sorted(range(len(readable)), key=lambda n: (identities[readable[n].label].series_uid,
                                                        identities[readable[n].label].instance_number is None,
                                                        identities[readable[n].label].instance_number or 0, n))
    candidates = []
    for n in order:
        item, identity = readable[n], identities[readable[n].label]
        candidates.append(Candidate(n, identity.series_uid or "?", item.label, identity.modality, identity.burned_in,
                                    identity.redacted, partial(read_input, item, store)))
    cancelled = lambda: cancel.cancelled or (stop is not None and stop.is_set())  # noqa: E731
    if not ocr:
        return run_review(candidates, ocr=False, cancelled=cancelled)
    # One OCR thread: the worker processes have the cores; the read runs beside them.
    with TextReader(threads=1) as reader:
        return run_review(candidates, reader=reader, cancelled=cancelled)


