"""Fault-injection points for the crash tests.

Code that writes something a crash could leave half done calls :func:`fault_point` at each step
boundary that matters ("deid.staged", "share.renamed", ...). In normal use this is a
dictionary lookup that does nothing. The crash tests start a ``veil`` subprocess with
``VEIL_FAULT=<name>``: when that point is reached the process kills itself with SIGKILL, the
way a power cut or the OOM killer would (no ``finally``, no ``atexit``), and the test then
checks what a restart finds. ``VEIL_FAULT=<name>@<n>`` kills at the n-th time the point is
reached (1 = the first).

The variable is read once, at import; a name that no code reaches does nothing.
"""

from __future__ import annotations

import os
import signal

#: SIGKILL on POSIX; Windows has none, and there ``os.kill`` with any other signal is
#: TerminateProcess, which no ``finally`` or ``atexit`` survives either.
KILL: int = getattr(signal, "SIGKILL", signal.SIGTERM)

_ARMED = os.environ.get("VEIL_FAULT", "")
_NAME, _, _NTH = _ARMED.partition("@")
_COUNT = {"n": int(_NTH) if _NTH.isdigit() and int(_NTH) > 0 else 1}


def fault_point(name: str) -> None:
    """Die here, at once, if the crash tests armed ``name``."""
    if not _NAME or name != _NAME:
        return
    _COUNT["n"] -= 1
    if _COUNT["n"] <= 0:
        os.kill(os.getpid(), KILL)
