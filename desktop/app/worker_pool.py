"""What the worker pools of import and de-identification share: whether a forkserver can start.

multiprocessing's forkserver listens on a Unix socket at TMPDIR/pymp-XXXXXXXX/listener-XXXXXXXX;
a TMPDIR long enough to push that past sun_path's 108 bytes (NUL included, unix(7)) makes
``bind()`` fail with "AF_UNIX path too long". The pools then run their work in this process
instead of failing the whole import or export.
"""

from __future__ import annotations

import tempfile

#: The longest path of a Unix socket on Linux (sun_path, 108 bytes with its NUL).
MAX_SOCKET_PATH = 107
_SOCKET_TAIL = len("/pymp-xxxxxxxx/listener-xxxxxxxx")


def forkserver_usable() -> bool:
    """Whether the forkserver's socket path fits under the temp folder in use."""
    return len(tempfile.gettempdir().encode()) + _SOCKET_TAIL <= MAX_SOCKET_PATH
