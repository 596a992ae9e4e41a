"""The DICOM nodes this library knows (File > Network Nodes, ``veil nodes``), kept in the
encrypted library's settings (a node's host and AE title say where a hospital's images are;
they stay inside the library), and the use cases that reach them: echo and query, each
recorded in the audit log with the node's name, never a query's patient values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from desktop.app.library.home import VeilHome
from desktop.core.library.settings import get_setting, get_settings, set_settings
from desktop.core.network.dimse import Calling, echo
from desktop.core.network.nodes import DEFAULT_CALLING_AE, DicomNode, NodeError, check_ae_title
from desktop.core.network.query import Found, StudyQuery, find_series, find_studies

NODE_PREFIX = "network.node."
CALLING_AE_SETTING = "network.calling_ae"
MAX_NODES = 200


def list_nodes(home: VeilHome) -> list[DicomNode]:
    """Every node, by name."""
    conn = home.connect()
    try:
        stored = get_settings(conn, NODE_PREFIX)
    finally:
        conn.close()
    nodes = []
    for _key, value in sorted(stored.items()):
        if value:  # a removed node is kept as an empty value
            nodes.append(DicomNode.from_json(value))
    return sorted(nodes, key=lambda n: n.name.casefold())


def find_node(home: VeilHome, name: str) -> DicomNode:
    for node in list_nodes(home):
        if node.name.casefold() == name.strip().casefold():
            return node
    known = ", ".join(n.name for n in list_nodes(home)) or "none yet ('veil nodes add')"
    raise NodeError(f"No node is called {name!r}. Known nodes: {known}.")


def save_node(home: VeilHome, node: DicomNode, replace: bool = False) -> None:
    """Keep ``node`` (``replace``: over the one of that name)."""
    existing = {n.name.casefold(): n for n in list_nodes(home)}
    if node.name.casefold() in existing and not replace:
        raise NodeError(f"A node called {node.name!r} exists already; remove it first, or edit it.")
    if node.name.casefold() not in existing and len(existing) >= MAX_NODES:
        raise NodeError(f"Veil keeps at most {MAX_NODES} nodes.")
    conn = home.connect()
    try:
        home.record(conn, "network.node-saved",
                    lambda c: set_settings(c, {NODE_PREFIX + node.name.casefold(): node.to_json()}),
                    node=node.name, ae_title=node.ae_title, tls=node.tls is not None)
    finally:
        conn.close()


def remove_node(home: VeilHome, name: str) -> DicomNode:
    node = find_node(home, name)
    conn = home.connect()
    try:
        home.record(conn, "network.node-removed", lambda c: set_settings(c, {NODE_PREFIX + node.name.casefold(): ""}),
                    node=node.name)
    finally:
        conn.close()
    return node


def calling(home: VeilHome) -> Calling:
    """Veil's own AE title in this library (settings), with the default timeout."""
    conn = home.connect()
    try:
        title = get_setting(conn, CALLING_AE_SETTING)
    finally:
        conn.close()
    return Calling(check_ae_title(title) if title else DEFAULT_CALLING_AE)


def set_calling_ae(home: VeilHome, title: str) -> str:
    title = check_ae_title(title, "Veil's AE title")
    conn = home.connect()
    try:
        set_settings(conn, {CALLING_AE_SETTING: title})
    finally:
        conn.close()
    return title


def _audit(home: VeilHome, action: str, node: DicomNode, outcome: str, **details: object) -> None:
    conn = home.connect()
    try:
        home.record(conn, action, node=node.name, outcome=outcome, **details)
    finally:
        conn.close()


def echo_node(home: VeilHome, name: str) -> DicomNode:
    """C-ECHO the node called ``name``: returns it when it answered, else a NodeError saying why."""
    node = find_node(home, name)
    try:
        echo(node, calling(home))
    except NodeError:
        _audit(home, "network.echo", node, "failed")
        raise
    _audit(home, "network.echo", node, "completed")
    return node


def _audited_query(home: VeilHome, name: str, level: str, work: Callable[[DicomNode, Calling], Found]) -> Found:
    """Run a C-FIND on the node called ``name``; audited with how many matched (never what was asked)."""
    node = find_node(home, name)
    try:
        found = work(node, calling(home))
    except NodeError:
        _audit(home, "network.query", node, "failed", level=level)
        raise
    _audit(home, "network.query", node, "completed", level=level, matches=len(found.matches), cut=found.cut)
    return found


def query_studies(home: VeilHome, name: str, query: StudyQuery) -> Found:
    """C-FIND the node at study level."""
    return _audited_query(home, name, "study", lambda node, who: find_studies(node, query, who))


def query_series(home: VeilHome, name: str, study_uid: str) -> Found:
    """C-FIND the series of one study on the node."""
    return _audited_query(home, name, "series", lambda node, who: find_series(node, study_uid, who))


def parse_day(text: str | None) -> date | None:
    """A date typed as YYYY-MM-DD or YYYYMMDD (None for none)."""
    if not text:
        return None
    digits = text.replace("-", "")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])) if len(digits) == 8 else date.fromisoformat(
            text)
    except ValueError:
        raise NodeError(f"{text!r} is not a date: write it as YYYY-MM-DD.") from None
