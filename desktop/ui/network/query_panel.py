"""File > Query/Retrieve: find studies on a PACS and pull them into the library, as Horos'
"Query/Retrieve" window and Weasis' DICOM query do.

Choose a node (File > Network Nodes keeps them), fill the search fields (:mod:`.query_form`),
Search: a C-FIND (QIDO-RS on a DICOMweb server) per accession number (or one), the studies
merged. A study expands to its series, asked for when first expanded. Retrieve pulls the
selected studies or series by C-GET (the node sends back on Veil's own association) or C-MOVE
(to Veil's storage port), or by WADO-RS from a DICOMweb server, into the library, one after
the other, with progress and Cancel; each study is in the browser once it is imported
(``retrieved``). Every exchange with the node runs off the UI thread; closing the window while
it runs cancels it first (:class:`CancelThenClose`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from desktop.app.common.formatting import plural
from desktop.app.common.log_policy import describe_unexpected
from desktop.app.common.tasks import CancelToken
from desktop.app.library.home import VeilHome
from desktop.app.network.nodes import list_nodes, query_series, query_studies
from desktop.app.network.retrieving import RetrieveReport, retrieve
from desktop.core.common.errors import VeilError
from desktop.core.network.nodes import Node, WebNode
from desktop.core.network.query import MAX_MATCHES, Found, StudyMatch
from desktop.core.network.retrieve import What
from desktop.ui.common.background import run_in_background
from desktop.ui.common.cancel_then_close import CancelThenClose
from desktop.ui.common.errors import message_for
from desktop.ui.common.widgets import label, set_role, throttled
from desktop.ui.network.query_form import QueryForm
from desktop.ui.network.query_model import ASKING, KNOWN, QueryResultsModel, merge_studies

log = logging.getLogger("veil.ui")
#: The retrieve methods of a DICOM node: (label, retrieving's method, tooltip); C-GET first.
METHODS = (("C-GET", "get", "The node sends the images back on Veil's own connection: works where the PACS "
                            "cannot connect to this computer"),
           ("C-MOVE", "move", "The node sends the images to Veil's storage port (File > Network Nodes): the PACS "
                              "must know Veil's AE title, this computer and the port"))
#: A DICOMweb server's.
WEB_METHODS = (("WADO-RS", "wado", "The DICOMweb server sends the images over HTTP(S)"),)


def _said(exc: BaseException) -> str:
    """What the person reads for a failure (a VeilError's own words; a bug: generic, logged)."""
    if not isinstance(exc, VeilError):
        log.error("Unexpected error in Query/Retrieve: %s", describe_unexpected(exc))
    return message_for(exc)


@dataclass
class _Searched:
    """A search's answer: the studies merged, whether a node cut its answer, accession numbers
    that found nothing."""

    studies: list[StudyMatch]
    cut: bool
    unmatched: list[str]
    cancelled: bool = False


@dataclass
class _Retrieval:
    """One Retrieve's items and what has come of them (written by the worker, read by the UI)."""

    node: str
    whats: list[What]
    token: CancelToken = field(default_factory=CancelToken)
    current: int = 0
    reports: list[RetrieveReport] = field(default_factory=list)
    announced: int = 0


class QueryPanel(CancelThenClose, QDialog):
    """Query/Retrieve on the nodes of ``home`` (see the module)."""

    #: A retrieve imported something (a RetrieveReport): the library browser reloads.
    retrieved = Signal(object)
    #: The user asked for File > Network Nodes (no node yet, or to add one).
    nodes_requested = Signal()
    busy_changed = Signal(bool)

    def __init__(self, home: VeilHome, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("QueryPanel")
        self.setWindowTitle("Query/Retrieve")
        self.home = home
        self._busy = False
        self._token: CancelToken | None = None
        self._retrieval: _Retrieval | None = None
        #: The node the results shown came from (retrieves and series listings ask it).
        self.results_node: str | None = None
        self.node_combo = QComboBox(self)
        self.node_combo.setObjectName("QueryNode")
        self.node_combo.setMinimumWidth(220)
        self.nodes_button = QPushButton("Network Nodes…", self)
        self.nodes_button.setToolTip("Add, edit and test the PACS Veil knows")
        self.nodes_button.clicked.connect(self.nodes_requested)
        self.no_nodes = label("No node yet: add the PACS (its AE title, host and port, or its DICOMweb address) "
                              "in Network Nodes.", self, "warning", name="NoNodes")
        self.form = QueryForm(self)
        self.form.submitted.connect(self.search)
        self.form.problem.connect(lambda text: self.say(text, "danger"))
        self.search_button = QPushButton("Search", self)
        self.search_button.setObjectName("QuerySearch")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.clicked.connect(self.form.clear)
        self.model = QueryResultsModel(self)
        self.tree = QTreeView(self)
        self.tree.setObjectName("QueryResults")
        self.tree.setModel(self.model)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.expanded.connect(self._expanded)
        self.tree.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.method_combo = QComboBox(self)
        self.method_combo.setObjectName("RetrieveMethod")
        self._methods: tuple[tuple[str, str, str], ...] = ()
        self._nodes: dict[str, Node] = {}
        self.node_combo.currentTextChanged.connect(self._node_changed)
        self.retrieve_button = QPushButton("Retrieve", self)
        self.retrieve_button.setObjectName("Retrieve")
        self.retrieve_button.setToolTip("Retrieve the selected studies or series into the library")
        self.retrieve_button.clicked.connect(self.retrieve_selected)
        self.progress_label = QLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setFixedWidth(200)
        self.progress.setFormat("%v / %m")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("CancelRetrieve")
        self.cancel_button.setToolTip("Stop: what is being retrieved is not imported; what was, stays")
        self.cancel_button.clicked.connect(self.cancel_work)
        self.status = label("", self, "muted", name="QueryStatus", selectable=True)
        self._build_layout()
        self.resize(1100, 700)
        self.reload_nodes()
        self._set_busy(False)

    def _build_layout(self) -> None:
        nodes = QHBoxLayout()
        nodes.addWidget(QLabel("Node", self))
        nodes.addWidget(self.node_combo)
        nodes.addWidget(self.nodes_button)
        nodes.addWidget(self.no_nodes, 1)
        nodes.addStretch(1)
        search = QHBoxLayout()
        search.addStretch(1)
        search.addWidget(self.clear_button)
        search.addWidget(self.search_button)
        retrieve_row = QHBoxLayout()
        retrieve_row.addWidget(QLabel("Retrieve by", self))
        retrieve_row.addWidget(self.method_combo)
        retrieve_row.addWidget(self.retrieve_button)
        retrieve_row.addSpacing(12)
        retrieve_row.addWidget(self.progress_label)
        retrieve_row.addWidget(self.progress)
        retrieve_row.addWidget(self.cancel_button)
        retrieve_row.addStretch(1)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        retrieve_row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(nodes)
        layout.addWidget(self.form)
        layout.addLayout(search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.status)
        layout.addLayout(retrieve_row)

    # -- state -----------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A search or a retrieve runs (series listings do not count: they drop with the window)."""
        return self._busy

    def _set_busy(self, busy: bool, retrieving: bool = False) -> None:
        self._busy = busy
        for widget in (self.progress, self.progress_label):
            widget.setVisible(busy and retrieving)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self._update_buttons()
        self.busy_changed.emit(busy)

    def _update_buttons(self) -> None:
        has_node = self.node_combo.count() > 0
        for widget in (self.search_button, self.node_combo, self.form, self.method_combo):
            widget.setEnabled(has_node and not self._busy)
        self.retrieve_button.setEnabled(has_node and not self._busy and bool(self.selected()))

    def say(self, text: str, role: str = "muted") -> None:
        self.status.setText(text)
        set_role(self.status, role)

    def node(self) -> str | None:
        """The node chosen."""
        return self.node_combo.currentText() or None

    def reload_nodes(self) -> None:
        """The node list again (after File > Network Nodes), keeping the one chosen."""
        chosen = self.node_combo.currentText()
        self._nodes = {node.name: node for node in list_nodes(self.home)}
        names = list(self._nodes)
        self._offer_methods()
        self.no_nodes.setVisible(not names)
        self.nodes_button.setText("Network Nodes…" if names else "Add a Node…")
        if names != [self.node_combo.itemText(i) for i in range(self.node_combo.count())]:
            blocked = self.node_combo.blockSignals(True)  # one change of node, if any, not one per step
            self.node_combo.clear()
            self.node_combo.addItems(names)
            if chosen in names:
                self.node_combo.setCurrentText(chosen)
            self.node_combo.blockSignals(blocked)
            self._node_changed(self.node_combo.currentText())
        for number, name in enumerate(names):  # where each is, as edited (a node's kind may have changed)
            self.node_combo.setItemData(number, self._nodes[name].describe(), Qt.ItemDataRole.ToolTipRole)
        self._show_where()
        self._update_buttons()

    def _show_where(self) -> None:
        """The chosen node's address (AE@host:port, or the DICOMweb URL) as the chooser's tooltip."""
        node = self._nodes.get(self.node_combo.currentText())
        self.node_combo.setToolTip(node.describe() if node is not None else "The nodes of File > Network Nodes")

    def _node_changed(self, name: str) -> None:
        self._offer_methods()
        self._show_where()
        if self.results_node is not None and name != self.results_node and not self._busy:
            self.model.set_studies([])  # another node's studies: not to be retrieved from this one
            self.results_node = None
            self.say(f"Search {name} to see its studies." if name else "")

    def _offer_methods(self) -> None:
        """C-GET and C-MOVE for a DICOM node, WADO-RS for a DICOMweb server."""
        methods = WEB_METHODS if isinstance(self._nodes.get(self.node_combo.currentText()), WebNode) else METHODS
        if methods == self._methods:
            return
        self._methods = methods
        self.method_combo.clear()
        for number, (text, _method, tip) in enumerate(methods):
            self.method_combo.addItem(text)
            self.method_combo.setItemData(number, tip, Qt.ItemDataRole.ToolTipRole)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.WindowActivate and not self._busy:
            self.reload_nodes()  # a node added in Network Nodes meanwhile
        return super().event(event)

    def cancel_work(self) -> None:
        if self._token is not None and not self._token.cancelled:
            self._token.cancel()
            self.cancel_button.setEnabled(False)
            self.say("Cancelling… (the node is told to stop; nothing of what is being retrieved is imported)",
                     "warning")

    # -- search ----------------------------------------------------------------------------------
    def search(self) -> None:
        """Search: ask the chosen node (off the UI thread)."""
        name = self.node()
        if self._busy or name is None:
            return
        try:
            queries = self.form.queries()
        except VeilError as exc:
            self.say(str(exc), "danger")
            return
        home, token = self.home, CancelToken()

        def op(progress: Callable[[int, int], None]) -> _Searched:
            found: list[list[StudyMatch]] = []
            cut, unmatched = False, list[str]()
            for number, query in enumerate(queries):
                if token.cancelled:
                    return _Searched(merge_studies(found), cut, unmatched, cancelled=True)
                progress(number, len(queries))
                answer: Found = query_studies(home, name, query)
                found.append(answer.matches)
                cut = cut or answer.cut
                if query.accession and not answer.matches:
                    unmatched.append(query.accession)
            return _Searched(merge_studies(found), cut, unmatched, cancelled=token.cancelled)

        self._token = token
        self._set_busy(True)
        many = len(queries) > 1
        self.say(f"Asking {name} ({plural(len(queries), 'accession number')}, one query each)…" if many
                 else f"Asking {name}…")
        progress = (lambda done, total: self.say(f"Asking {name}: {done + 1} of {total} accession numbers…")) \
            if many else None
        run_in_background(op, lambda found: self._searched(name, found), self._search_failed, progress,
                          key=f"query-{id(self)}", context=self)

    def _searched(self, name: str, found: _Searched) -> None:
        self._token = None
        self._set_busy(False)
        if self.closed_after_work():
            return
        self.model.set_studies(found.studies)
        self.results_node = name
        for column in range(self.model.columnCount()):
            self.tree.resizeColumnToContents(column)
        count = plural(len(found.studies), "study", "studies")
        if found.cancelled:
            self.say(f"Search cancelled: {count} found before it.", "warning")
        elif found.cut:
            self.say(f"{name} has more matching studies than Veil shows: only the first {MAX_MATCHES:,} are listed. "
                     "Narrow the search (a date range, a modality, a patient).", "warning")
        elif not found.studies:
            self.say(f"No study on {name} matches.", "warning")
        elif found.unmatched:
            self.say(f"{count} on {name}. Nothing found for {plural(len(found.unmatched), 'accession number')}: "
                     f"{', '.join(found.unmatched[:10])}{'…' if len(found.unmatched) > 10 else ''}.", "warning")
        else:
            self.say(f"{count} on {name}. Expand a study for its series; select studies or series and Retrieve.",
                     "ok")
        if found.studies and not self.tree.selectionModel().hasSelection():
            self.tree.setCurrentIndex(self.model.index(0, 0))

    def _search_failed(self, exc: BaseException) -> None:
        self._token = None
        self._set_busy(False)
        if not self.closed_after_work():
            self.say(_said(exc), "danger")

    # -- series, when a study is expanded ----------------------------------------------------------
    def _expanded(self, index: QModelIndex) -> None:
        study = self.model.match_at(index)
        name = self.results_node
        if not isinstance(study, StudyMatch) or name is None or self.model.state_of(index) in (ASKING, KNOWN):
            return
        self.model.set_asking(study.study_uid)
        home, uid = self.home, study.study_uid

        def failed(exc: BaseException) -> None:
            self.model.series_failed(uid, _said(exc))

        run_in_background(lambda _p: query_series(home, name, uid),
                          lambda found: self.model.set_series(uid, found.matches, found.cut), failed,
                          key=f"series-{id(self)}-{uid}", context=self)

    # -- retrieve ----------------------------------------------------------------------------------
    def selected(self) -> list[What]:
        """What Retrieve would ask for: the selected studies and series."""
        return self.model.to_retrieve(self.tree.selectionModel().selectedRows())

    def method(self) -> str:
        """The retrieve method chosen (retrieving's name of it)."""
        return self._methods[max(self.method_combo.currentIndex(), 0)][1]

    def retrieve_selected(self) -> None:
        """Retrieve the selected studies and series, one after the other (off the UI thread)."""
        name, whats = self.results_node, self.selected()
        if self._busy or name is None or not whats:
            return
        home, method = self.home, self.method()
        run = self._retrieval = _Retrieval(name, whats)

        def op(progress: Callable[[int, int], None]) -> _Retrieval:
            for number, what in enumerate(whats):
                if run.token.cancelled:
                    break
                run.current = number
                progress(0, 0)
                report = retrieve(home, name, what, method, throttled(progress, 200), run.token)
                run.reports.append(report)
                if report.retrieved.cancelled:
                    break
            progress(0, 0)
            return run

        self._token = run.token
        self._set_busy(True, retrieving=True)
        self.progress.setRange(0, 0)
        self.progress_label.setText(self._item_text(run))
        self.say(f"Retrieving {plural(len(whats), 'item')} from {name} by {self.method_combo.currentText()}…")
        run_in_background(op, lambda r: self._retrieve_ended(r, None), lambda exc: self._retrieve_ended(run, exc),
                          lambda done, total: self._retrieve_progress(run, done, total),
                          key=f"retrieve-{id(self)}", context=self)

    def _item_text(self, run: _Retrieval) -> str:
        what = run.whats[min(run.current, len(run.whats) - 1)]
        kind = "series" if what.series_uid else "study"
        return (f"{kind.capitalize()} {run.current + 1} of {len(run.whats)}" if len(run.whats) > 1
                else f"Retrieving the {kind}")

    def _announce(self, run: _Retrieval) -> None:
        """Tell the window of each item imported since last time (the browser reloads)."""
        while run.announced < len(run.reports):
            report = run.reports[run.announced]
            run.announced += 1
            if report.imported is not None and not report.retrieved.cancelled:
                self.retrieved.emit(report)

    def _retrieve_progress(self, run: _Retrieval, done: int, total: int) -> None:
        self._announce(run)
        self.progress_label.setText(self._item_text(run) + (f": {done} of {plural(total, 'image')} received"
                                                            if total else ": asking the node…"))
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)

    def _retrieve_ended(self, run: _Retrieval, exc: BaseException | None) -> None:
        self._announce(run)
        self._token = None
        self._retrieval = None
        self._set_busy(False)
        if self.closed_after_work():
            return
        done = [r for r in run.reports if not r.retrieved.cancelled]
        before = (f" {plural(len(done), 'item')} retrieved before it stay in the library." if done else "")
        if exc is not None:
            self.say(_said(exc) + before, "danger")
        elif run.token.cancelled or any(r.retrieved.cancelled for r in run.reports):
            self.say(f"Retrieve from {run.node} cancelled: nothing of what was being retrieved was imported."
                     + before, "warning")
        elif len(done) == 1:
            self.say(done[0].headline(), "ok")
        else:
            received = sum(r.retrieved.received for r in done)
            new = sum(r.imported.imported for r in done if r.imported is not None)
            self.say(f"Retrieved {plural(len(done), 'item')} ({plural(received, 'object')}) from {run.node}: "
                     f"{new} new in the library.", "ok")
