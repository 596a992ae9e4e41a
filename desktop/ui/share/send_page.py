"""Send to a DICOM node: the export wizard's exit to a teaching-file PACS or a research archive.
The recipients page offers it beside the colleagues, the passphrase and the plain ZIP
(:class:`NodeChoice`); the wizard then runs
:func:`desktop.app.network.sending.send_studies` off the UI thread (:func:`send_op`), which
passes the privacy gate as every exit does and records the disclosure naming the node.

Identifiable images never go to a node: care goes as a package encrypted to the colleague. The
node receives what is ticked on What leaves (whole studies, some series, or some images).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QRadioButton, QVBoxLayout, QWidget

from desktop.app.common.tasks import CancelToken, Progress
from desktop.app.consent.purpose_rules import needs_colleague
from desktop.app.library.home import VeilHome
from desktop.app.network.sending import SendReport, send_studies
from desktop.app.share.sharing import ShareReport, ShareRequest
from desktop.core.common.errors import VeilError
from desktop.core.consent import Purpose
from desktop.core.network.nodes import WebNode
from desktop.ui.common.widgets import indented, label, set_role, throttled, visible_indicator

NODE_CHOICE = "Send to a DICOM node: de-identified images, to a teaching-file PACS or a research archive"
NODE_HINT = ("Veil de-identifies the images and sends them by C-STORE (STOW-RS to a DICOMweb server). The node "
             "is named as the recipient in the accounting of disclosures.")
NO_NODE = "No DICOM node configured — File > Network Nodes"
CARE_TO_NODE = ("Care goes as a package encrypted to the colleague: identifiable images never go to a DICOM "
                "node.")
IDENTIFIABLE_TO_NODE = "Identifiable images never go to a DICOM node: choose a de-identification profile."
CHOOSE_NODE = "Choose the DICOM node to send to."


def node_text(node: object) -> str:
    """A node as the person knows it: its name, and where it is (AE@host:port, or its URL)
    when the node says."""
    name = str(getattr(node, "name", node))
    describe = getattr(node, "describe", None)
    where = describe() if callable(describe) else str(getattr(node, "url", "") or getattr(node, "base_url", ""))
    return f"{name} ({where})" if where else name


def transit_text(node: object) -> tuple[str, str]:
    """(words, theme role): whether the images travel encrypted to ``node``: a DICOM node's
    TLS, a DICOMweb server's https (over http its sign-in travels readable too)."""
    if isinstance(node, WebNode):
        if urlsplit(node.url).scheme == "https":
            return "Encrypted on the network (HTTPS).", ""
        signed = {"none": "", "basic": " and the password", "bearer": " and the token"}[node.auth]
        return (f"Not encrypted on the network (http, not https): the images{signed} travel readable; send only "
                "inside the hospital's network.", "warning")
    if getattr(node, "tls", None) is not None:
        return "Encrypted on the network (TLS).", ""
    return ("Not encrypted on the network (the node has no TLS): send only inside the hospital's network.",
            "warning")


def node_refusal(purpose: Purpose, identifiable: bool) -> str | None:
    """Why the images may not go to a node for ``purpose`` (None: they may)."""
    if needs_colleague(purpose):
        return CARE_TO_NODE
    if identifiable:
        return IDENTIFIABLE_TO_NODE
    return None


class NodeChoice(QWidget):
    """The recipients page's "Send to a DICOM node" choice: a radio button (in the page's
    group), the configured nodes to choose from, and a line saying what it does or why it is
    not offered."""

    #: The radio, or the node chosen, changed.
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.nodes: list[object] = []
        self.loaded = False
        self._refusal: str | None = None
        self._failure: str | None = None
        self.radio = QRadioButton(NODE_CHOICE, self)
        self.radio.setObjectName("NodeChoice")
        visible_indicator(self.radio)
        self.combo = QComboBox(self)
        self.combo.setObjectName("NodeCombo")
        self.combo.setMinimumWidth(320)
        self.combo.setToolTip("The nodes of File > Network Nodes")
        self.note = label(NODE_HINT, self, "muted", name="NodeNote")
        self.transit = label("", self, "muted", name="NodeTransit")
        self.radio.toggled.connect(self._update)
        self.combo.currentIndexChanged.connect(self._update)
        row = QHBoxLayout()
        row.addWidget(self.combo)
        row.addStretch(1)
        inset = indented(self.note, self.transit)
        inset.insertLayout(0, row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.radio)
        layout.addLayout(inset)
        self._update()

    def set_nodes(self, nodes: Sequence[object]) -> None:
        """The configured nodes (File > Network Nodes), keeping the one chosen if still there."""
        current = self.chosen()
        self.nodes, self.loaded, self._failure = list(nodes), True, None
        self.combo.blockSignals(True)
        self.combo.clear()
        for node in self.nodes:
            self.combo.addItem(node_text(node), str(getattr(node, "name", node)))
        if current is not None and (index := self.combo.findData(current)) >= 0:
            self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self._update()

    def show_failure(self, message: str) -> None:
        """The nodes could not be read."""
        self._failure = f"Cannot read the network nodes: {message}"
        self._update()

    def allow(self, refusal: str | None) -> None:
        """Offer the choice (``refusal`` None), or not, saying why."""
        self._refusal = refusal
        self._update()

    def unavailable(self) -> str | None:
        """Why the choice is not offered now (None: it is)."""
        if self._refusal is not None:
            return self._refusal
        if self._failure is not None:
            return self._failure
        if self.loaded and not self.nodes:
            return NO_NODE
        return None

    def chosen(self) -> str | None:
        """The name of the node chosen in the list (None: none)."""
        data = self.combo.currentData()
        return str(data) if data is not None and self.combo.currentIndex() >= 0 else None

    def chosen_node(self) -> object | None:
        name = self.chosen()
        return next((n for n in self.nodes if str(getattr(n, "name", n)) == name), None)

    def node(self) -> str | None:
        """The node the images go to: chosen and offered; None otherwise."""
        return self.chosen() if self.radio.isChecked() and self.unavailable() is None else None

    def _update(self) -> None:
        why = self.unavailable()
        self.radio.setEnabled(why is None)
        self.radio.setToolTip(why or "")
        self.combo.setEnabled(why is None and self.radio.isChecked() and bool(self.nodes))
        self.combo.setVisible(bool(self.nodes))
        if why is not None:
            text, role = why, "muted" if self._refusal is not None else "warning"
        else:
            text, role = NODE_HINT, "muted"
        self.note.setText(text)
        set_role(self.note, role)
        node = self.chosen_node() if why is None else None
        words, transit_role = transit_text(node) if node is not None else ("", "muted")
        self.transit.setText(words)
        set_role(self.transit, transit_role or "muted")
        self.transit.setVisible(bool(words))
        self.changed.emit()

    def problem(self) -> str | None:
        """What keeps the send from going on, when this choice is ticked."""
        why = self.unavailable()
        if why is not None:
            return why
        if self.chosen() is None:
            return CHOOSE_NODE
        return None


def final(report: ShareReport | SendReport | None) -> bool:
    """The export left something (a package written, images sent): it cannot be taken back."""
    if isinstance(report, SendReport):
        return report.sent > 0
    return report is not None and report.package is not None


def send_op(home: VeilHome, node: str, request: ShareRequest,
            token: CancelToken) -> Callable[[Progress], SendReport]:
    """The background work of sending ``request``'s studies to ``node`` (worker thread)."""
    profile = request.profile

    def op(progress: Progress) -> SendReport:
        if profile is None:
            raise VeilError(IDENTIFIABLE_TO_NODE)
        return send_studies(home, node, request.study_uids, request.purpose, profile,
                            confirm_burned_in=request.confirm_burned_in, progress=throttled(progress), cancel=token,
                            series_uids=request.series_uids, instance_uids=request.instance_uids,
                            shown=request.review, seen=request.reviewed or ())

    return op
