"""File > Receive Images from the Network: Veil's storage SCP while the action is ticked.

Off when Veil starts, always: a port opens only when the person asks, in this session (the
choice is not remembered, so that no launch ever listens unasked). Starting and stopping run
off the UI thread (binding reads the library's settings; pynetdicom's shutdown waits for its
accept loop); the server itself runs on pynetdicom's threads. Each association it imports is
reported from such a thread and reaches the UI thread through a queued signal: the browser
reloads and the status bar says what came. While it runs, a permanent indicator in the status
bar says as whom and on which port, and (tooltip, click) which senders may send.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QStatusBar, QToolButton, QWidget

from desktop.app.common.formatting import plural
from desktop.app.library.home import VeilHome
from desktop.app.library.importing import ImportReport
from desktop.app.network.listening import allowed_senders, listen_settings, listening
from desktop.app.network.nodes import list_nodes
from desktop.core.common.errors import VeilError
from desktop.core.network.nodes import DicomNode, NodeError
from desktop.core.network.scp import Peer, StorageServer
from desktop.core.network.server_tls import ServerTls
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import show_error
from desktop.ui.common.theme import OK
from desktop.ui.library.notice_bar import NoticeBar

NO_SENDER = ("No node may send images to Veil yet. Add the PACS in File > Network Nodes, or tick "
             "'Accept images from any sender' there, then receive again.")
FIX_PORT = ("Choose another storage port in File > Network Nodes (and give the PACS the same port), "
            "or stop the program that uses this one.")


class ReceivingHost(Protocol):
    """What the receiver asks of the main window."""

    home: VeilHome | None
    notice: NoticeBar

    def refresh(self) -> None: ...
    def say(self, text: str) -> None: ...
    def show_report(self, report: ImportReport) -> object: ...
    def statusBar(self) -> QStatusBar: ...  # noqa: N802 - Qt's name


@dataclass(frozen=True)
class Listening:
    """A running storage SCP and what stops it."""

    server: StorageServer
    stack: ExitStack
    senders: str  # who may send, for a person
    tls: ServerTls | None = None  # the TLS files it was started with (None: plain TCP)
    how: str = "plain TCP, not encrypted"  # how senders connect, for a person


def arrival_text(peer: Peer, report: ImportReport | None) -> str:
    """What one association brought, in the status bar's words."""
    if report is None:
        return (f"The transfer from {peer.ae_title} ({peer.address}) stopped before its end; nothing of it "
                "was kept (the PACS can send it again).")
    parts = [f"{report.imported} new"]
    if old := report.already_present + len(report.duplicates):
        parts.append(f"{old} already in the library")
    if report.rejected:
        parts.append(f"{len(report.rejected)} rejected")
    return f"Received {report.total} image(s) from {peer.ae_title} ({', '.join(parts)})."


def _senders_text(home: VeilHome, allowed: list[str]) -> str:
    if not allowed:
        return "any sender (File > Network Nodes: 'Accept images from any sender')"
    names: dict[str, list[str]] = {}
    for node in list_nodes(home):
        if isinstance(node, DicomNode):
            names.setdefault(node.ae_title, []).append(node.name)
    return "the configured nodes only: " + ", ".join(
        f"{', '.join(names[ae])} ({ae})" if ae in names else ae for ae in allowed)


def start_listening(home: VeilHome, done: Callable[[Peer, ImportReport | None], None], host: str) -> Listening:
    """Veil's storage SCP on ``host`` (worker thread): bound, or a :class:`NodeError` saying why not."""
    settings = listen_settings(home)
    if not settings.allow_any and not allowed_senders(home, settings):
        raise NodeError(NO_SENDER)
    stack = ExitStack()
    try:
        server = stack.enter_context(listening(home, done, host))
    except NodeError as exc:
        if not str(exc).startswith("Veil cannot listen"):
            raise
        # the port is taken, or below 1024 without the rights
        rights = " Ports below 1024 need administrator rights." if settings.port < 1024 else ""
        raise NodeError(f"{exc}{rights} {FIX_PORT}") from None
    return Listening(server, stack, _senders_text(home, list(server.allowed)), settings.tls, settings.describe())


def _dot(color: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    painter.drawEllipse(2, 2, 8, 8)
    painter.end()
    return QIcon(pixmap)


class Receiving(QObject):
    """Runs Veil's storage SCP while ``action`` is ticked (see the module)."""

    #: One association ended: (Peer, ImportReport or None). Emitted on pynetdicom's threads.
    arrived = Signal(object, object)
    #: The server started (True) or stopped (False), on the UI thread.
    running_changed = Signal(bool)

    def __init__(self, action: QAction, host: ReceivingHost, parent: QWidget,
                 show_nodes: Callable[[], object]) -> None:
        super().__init__(parent)
        self.action, self.host, self.parent_widget, self.show_nodes = action, host, parent, show_nodes
        #: Where to listen: every interface (a PACS connects from elsewhere); tests use loopback.
        self.listen_host = "0.0.0.0"  # noqa: S104
        self.running: Listening | None = None
        self.starting = self.stopping = self._closed = False
        self._tip = ""
        self.indicator = QToolButton(parent)
        self.indicator.setObjectName("ReceivingIndicator")
        self.indicator.setAutoRaise(True)
        self.indicator.setIcon(_dot(OK))
        self.indicator.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.indicator.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.indicator.setStyleSheet(f"QToolButton#ReceivingIndicator {{ color: {OK}; }}"
                                     "QToolButton#ReceivingIndicator::menu-indicator { image: none; }")
        self.menu = QMenu(self.indicator)
        self.menu.setToolTipsVisible(True)
        self.indicator.setMenu(self.menu)
        self.indicator.hide()
        host.statusBar().insertPermanentWidget(0, self.indicator)
        self.arrived.connect(self._on_arrived, Qt.ConnectionType.QueuedConnection)
        action.toggled.connect(self._toggled)

    # -- starting and stopping -----------------------------------------------------------
    def _toggled(self, on: bool) -> None:
        if on:
            self.start()
        else:
            self.stop()

    def start(self) -> None:
        home = self.host.home
        if home is None or self._closed:
            self._untick()
            return
        if self.running is not None or self.starting or self.stopping:
            return  # a stop that ends starts again (see _stopped)
        self.starting = True
        self._show("Starting to receive…", "Opening Veil's storage port")
        run_in_background(lambda _p: start_listening(home, self._relay, self.listen_host), self._started,
                          self._failed, context=self, on_dropped=self._drop)

    def _started(self, running: Listening) -> None:
        self.starting = False
        if self._closed or not self.action.isChecked():  # unticked, or closed, while it started
            self._stop(running)
            return
        self.running = running
        server = running.server
        base = f"as {server.ae_title} on port {server.port}"
        where = base + (" over TLS" if running.tls else "")
        self._show(f"Receiving {where}",
                   f"Veil's storage SCP accepts images (C-STORE), {running.how}, from {running.senders}. "
                   "Click for more.")
        self.menu.clear()
        for line in (f"Receiving {where}", f"Senders connect {running.how}",
                     f"Accepting images from {running.senders}"):
            self.menu.addAction(line).setEnabled(False)
        self.menu.addSeparator()
        self.menu.addAction("Network Nodes…", self.show_nodes)
        self.menu.addAction("Stop Receiving", lambda: self.action.setChecked(False))
        self.host.say(f"Receiving images {base}, {running.how}, from {running.senders}.")
        self.running_changed.emit(True)

    def _failed(self, exc: BaseException) -> None:
        self.starting = False
        self._hide()
        self._untick()
        self.running_changed.emit(False)
        if not self._closed:
            show_error(self.parent_widget, exc, "Cannot receive images")

    @property
    def open(self) -> bool:
        """The storage SCP runs, starts or stops (a window that closes waits until it has stopped:
        stopping imports what senders were already told is stored, however long that takes)."""
        return self.running is not None or self.starting or self.stopping

    def stop(self) -> None:
        """Stop the server (off the UI thread); the indicator goes once the port is free."""
        running, self.running = self.running, None
        if running is not None:
            self._stop(running)

    def _stop(self, running: Listening) -> None:
        self.stopping = True
        self._show("Stopping receiving…", "Closing Veil's storage port")
        run_in_background(lambda _p: running.stack.close(), self._stopped, self._stop_failed, context=self,
                          on_dropped=lambda _r: None)

    def _stopped(self, _result: object = None) -> None:
        self.stopping = False
        if self.running is None and not self.starting:
            self._hide()
        self.running_changed.emit(False)
        if self._closed:
            return
        if self.action.isChecked():  # ticked again while it stopped, or restarting with new settings
            self.start()
        else:
            self.host.say("Stopped receiving images.")

    def _stop_failed(self, exc: BaseException) -> None:
        self._stopped()
        show_error(self.parent_widget, exc, "Stopping the receiver")

    @staticmethod
    def _drop(running: Listening) -> None:
        """Started after its window went: stop it at once."""
        running.stack.close()

    def settings_changed(self) -> None:
        """Network Nodes closed: if Veil's AE title, port, TLS files or the allowed senders changed, the
        running server restarts with them."""
        running, home = self.running, self.host.home
        if running is None or home is None:
            return
        try:
            settings = listen_settings(home)
            senders = allowed_senders(home, settings)
        except VeilError:
            return
        server = running.server
        if (settings.ae_title, settings.port, senders, settings.tls) != (server.ae_title, server.port,
                                                                          list(server.allowed), running.tls):
            self.stop()  # still ticked: it starts again once stopped

    def close(self) -> None:
        """The window closes: stop receiving."""
        self._closed = True
        self._untick()
        self.stop()

    def _untick(self) -> None:
        blocked = self.action.blockSignals(True)
        self.action.setChecked(False)
        self.action.blockSignals(blocked)

    # -- what arrives ----------------------------------------------------------------------
    def _relay(self, peer: Peer, report: ImportReport | None) -> None:
        """pynetdicom's thread: hand the news to the UI thread."""
        try:
            self.arrived.emit(peer, report)
        except RuntimeError:  # the window is gone
            pass

    def _on_arrived(self, peer: Peer, report: ImportReport | None) -> None:
        text = arrival_text(peer, report)
        self.host.say(text)
        if self.running is not None:
            self.indicator.setToolTip(f"{self._tip}\nLast: {text}")
        if report is None:
            return
        self.host.refresh()
        if report.rejected:
            self.host.notice.show_message(
                f"{text} {plural(len(report.rejected), 'object')} could not be kept.", warning=True,
                action_text="Show report…", action=lambda: self.host.show_report(report),
                action_tooltip="List every rejected and duplicate object with the reason")

    # -- the indicator ---------------------------------------------------------------------
    def _show(self, text: str, tip: str) -> None:
        self.indicator.setText(text)
        self._tip = tip
        self.indicator.setToolTip(tip)
        self.indicator.show()

    def _hide(self) -> None:
        self.indicator.hide()
        self.menu.clear()
