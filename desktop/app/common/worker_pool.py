"""What the worker pools of import and de-identification share: whether a forkserver can start,
and how their tasks are fed and drained (:func:`pooled_results`).

multiprocessing's forkserver listens on a Unix socket at TMPDIR/pymp-XXXXXXXX/listener-XXXXXXXX;
a TMPDIR long enough to push that past sun_path's 108 bytes (NUL included, unix(7)) makes
``bind()`` fail with "AF_UNIX path too long". Windows has no forkserver at all. The pools then
run their work in this process instead of failing the whole import or export.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from desktop.core.common.portable import process_alive

T = TypeVar("T")
R = TypeVar("R")

#: The longest path of a Unix socket on Linux (sun_path, 108 bytes with its NUL).
MAX_SOCKET_PATH = 107
_SOCKET_TAIL = len("/pymp-xxxxxxxx/listener-xxxxxxxx")


def forkserver_usable() -> bool:
    """Whether a forkserver can start here: multiprocessing has one on this platform (not on
    Windows, where the pools' callers then work in this process) and its socket path fits under
    the temp folder in use."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    return len(tempfile.gettempdir().encode()) + _SOCKET_TAIL <= MAX_SOCKET_PATH


def pooled_results(items: Sequence[T], task_size: int, max_pending: int,
                   submit: Callable[[list[T]], Future], cancelled: Callable[[], bool],
                   leftovers: list[T]) -> Iterator[R]:
    """The results of ``items`` run in a pool, ``task_size`` at a time, at most ``max_pending``
    tasks in flight (each task's future returns a list of results). If the pool breaks (a worker
    killed by the OS, say), every item not yet done goes into ``leftovers`` for the caller to
    finish in its own process, and the results stop."""
    tasks = iter([list(items[i:i + task_size]) for i in range(0, len(items), task_size)])
    pending: dict[Future, list[T]] = {}
    while True:
        while not cancelled() and len(pending) < max_pending:
            task = next(tasks, None)
            if task is None:
                break
            pending[submit(task)] = task
        if not pending:
            return
        done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        broken = False
        for future in done:
            task = pending.pop(future)
            try:
                yield from future.result()
            except BrokenProcessPool:
                leftovers.extend(task)
                broken = True
        if broken:
            for task in [*pending.values(), *tasks]:
                leftovers.extend(task)
            return


_PR_SET_PDEATHSIG = 1  # prctl(2)


def die_with_parent(main_pid: int) -> None:
    """Called first in a worker process: end it when the process that started the pool ends, even
    by SIGKILL (a killed export must not leave workers writing into its folder).

    Linux delivers SIGKILL to the worker when its parent (the forkserver, which itself exits when
    the main process goes) dies (``PR_SET_PDEATHSIG``, prctl(2)); a watchdog thread also checks
    every half second that ``main_pid`` still runs, for platforms without it.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if not process_alive(main_pid):
                os._exit(1)

    threading.Thread(target=watch, name="veil-parent-watch", daemon=True).start()
