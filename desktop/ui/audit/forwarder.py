"""The desktop app's side of audit forwarding: every few seconds, off the UI thread,
the events recorded since are sent to the syslog collector set with ``veil audit forward``
(:func:`desktop.app.audit.forwarding.forward_pending`; one settings read when it is off, a
growing back-off when the collector is down)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from desktop.app.audit.forwarding import forward_pending
from desktop.app.library.home import VeilHome
from desktop.ui.common.background import run_in_background

#: How often the app looks for new events to forward (milliseconds).
INTERVAL_MS = 5_000


class AuditForwarder(QObject):
    """Forwards the audit trail of the open library while the app runs."""

    def __init__(self, parent: QObject, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.home: VeilHome | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.forward_now)

    def set_home(self, home: VeilHome) -> None:
        self.home = home
        self.timer.start()
        self.forward_now()  # what an earlier session could not send

    def forward_now(self) -> None:
        home = self.home
        if home is None:
            return
        run_in_background(lambda _progress: forward_pending(home), lambda _result: None, lambda _exc: None,
                          key=f"audit-forward-{id(self)}", context=self)
