"""The DICOM nodes and DICOMweb servers this library knows (File > Network Nodes, ``veil
nodes``), kept in the encrypted library's settings (a node's host and AE title say where a
hospital's images are; they stay inside the library), a server's password or token in the
keyring or sealed (:mod:`desktop.core.keys.node_secrets`), and the use cases that reach them:
echo (C-ECHO, or a QIDO-RS ping) and query (C-FIND or QIDO-RS), each recorded in the audit log
with the node's name, never a query's patient values nor a secret.

Nodes the site presets (``site.json``, :mod:`desktop.app.site.defaults`) are listed with the
user's own and win over a user's node of the same name; a user cannot change or remove them
(only give a DICOMweb server's password or token, which stays the user's).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date

from desktop.app.library.home import VeilHome
from desktop.app.site.defaults import site_defaults
from desktop.core.keys import node_secrets
from desktop.core.library.settings import get_setting, get_settings, set_settings
from desktop.core.network import dicomweb
from desktop.core.network.dimse import Calling, echo
from desktop.core.network.nodes import (
    DEFAULT_CALLING_AE,
    DicomNode,
    Node,
    NodeError,
    WebNode,
    check_ae_title,
    node_from_json,
)
from desktop.core.network.query import Found, StudyMatch, StudyQuery, find_series, find_studies

NODE_PREFIX = "network.node."
SECRET_PREFIX = "network.secret."
CALLING_AE_SETTING = "network.calling_ae"
MAX_NODES = 200
MAX_ACCESSIONS = 500


def _user_nodes(home: VeilHome) -> list[Node]:
    """The nodes the user added to this library."""
    conn = home.connect()
    try:
        stored = get_settings(conn, NODE_PREFIX)
    finally:
        conn.close()
    return [node_from_json(value) for _key, value in sorted(stored.items()) if value]  # removed: ''


def list_nodes(home: VeilHome) -> list[Node]:
    """Every node, by name: the site's (see :func:`is_site_node`) and the user's."""
    site = site_defaults().nodes
    names = {n.name.casefold() for n in site}
    nodes = [*site, *(n for n in _user_nodes(home) if n.name.casefold() not in names)]
    return sorted(nodes, key=lambda n: n.name.casefold())


def is_site_node(node: Node | str) -> bool:
    """Whether the node (or the node of that name) is preset by the site file."""
    return site_defaults().node(node if isinstance(node, str) else node.name) is not None


def _refuse_site_node(name: str, doing: str) -> None:
    """A NodeError when ``name`` is the site's: it comes from the site file, not the user."""
    defaults = site_defaults()
    if defaults.node(name) is not None:
        raise NodeError(f"{name!r} comes from the site file {defaults.path}; it cannot be {doing} here. "
                        "Ask whoever manages Veil at your site (IT) to change it.")


def find_node(home: VeilHome, name: str) -> Node:
    for node in list_nodes(home):
        if node.name.casefold() == name.strip().casefold():
            return node
    known = ", ".join(n.name for n in list_nodes(home)) or "none yet ('veil nodes add')"
    raise NodeError(f"No node is called {name!r}. Known nodes: {known}.")


def save_node(home: VeilHome, node: Node, replace: bool = False, secret: str | None = None) -> None:
    """Keep ``node`` (``replace``: over the one of that name); a DICOMweb server's ``secret``
    (password or token) goes to the keyring or is sealed; None keeps the one stored."""
    site = site_defaults().node(node.name)
    if site is not None:
        if not (replace and secret is not None and site == node and isinstance(node, WebNode)):
            _refuse_site_node(node.name, "changed")
        elif isinstance(node, WebNode):
            _keep_site_secret(home, node, secret or "")
        return
    existing = {n.name.casefold(): n for n in _user_nodes(home)}
    if node.name.casefold() in existing and not replace:
        raise NodeError(f"A node called {node.name!r} exists already; remove it first, or edit it.")
    if node.name.casefold() not in existing and len(existing) >= MAX_NODES:
        raise NodeError(f"Veil keeps at most {MAX_NODES} nodes.")
    if isinstance(node, WebNode) and node.needs_secret and secret is None and not node_secret(home, node):
        raise NodeError(f"{node.name} signs in with a {'password' if node.auth == 'basic' else 'token'}: give it.")
    changes = {NODE_PREFIX + node.name.casefold(): node.to_json()}
    if isinstance(node, WebNode) and secret is not None:
        changes.update(_keep_secret(home, node, secret if node.needs_secret else ""))
    if isinstance(node, DicomNode):
        details: dict[str, object] = {"ae_title": node.ae_title, "tls": node.tls is not None}
    else:
        details = {"kind": "dicomweb", "auth": node.auth}
    conn = home.connect()
    try:
        home.record(conn, "network.node-saved", lambda c: set_settings(c, changes), node=node.name, **details)
    finally:
        conn.close()


def _keep_site_secret(home: VeilHome, node: WebNode, secret: str) -> None:
    """Keep the user's password or token for a DICOMweb server the site presets."""
    changes = _keep_secret(home, node, secret if node.needs_secret else "")
    conn = home.connect()
    try:
        home.record(conn, "network.node-saved", lambda c: set_settings(c, changes) if changes else None,
                    node=node.name, kind="dicomweb", auth=node.auth, site=True)
    finally:
        conn.close()


def _keep_secret(home: VeilHome, node: WebNode, secret: str) -> dict[str, str]:
    """The settings change that keeps ``secret`` ('' forgets it); a keyring home stores it there."""
    if home.keys.method == "keyring":
        if secret:
            node_secrets.keyring_store(home.keys, node.name, secret)
        else:
            node_secrets.keyring_forget(home.keys, node.name)
        return {}
    return {SECRET_PREFIX + node.name.casefold(): node_secrets.seal(home.keys, node.name, secret) if secret else ""}


def node_secret(home: VeilHome, node: WebNode) -> str:
    """The password or token of a DICOMweb server ('' when it has none)."""
    if home.keys.method == "keyring":
        return node_secrets.keyring_load(home.keys, node.name)
    conn = home.connect()
    try:
        sealed = get_setting(conn, SECRET_PREFIX + node.name.casefold())
    finally:
        conn.close()
    return node_secrets.unseal(home.keys, node.name, sealed) if sealed else ""


def remove_node(home: VeilHome, name: str) -> Node:
    """Forget the user's node called ``name`` (a NodeError for one the site presets)."""
    node = find_node(home, name)
    _refuse_site_node(node.name, "removed")
    changes = {NODE_PREFIX + node.name.casefold(): ""}
    if isinstance(node, WebNode):
        changes.update(_keep_secret(home, node, ""))
    conn = home.connect()
    try:
        home.record(conn, "network.node-removed", lambda c: set_settings(c, changes), node=node.name)
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


def _audit(home: VeilHome, action: str, node: Node, outcome: str, **details: object) -> None:
    conn = home.connect()
    try:
        home.record(conn, action, node=node.name, outcome=outcome, **details)
    finally:
        conn.close()


def echo_node(home: VeilHome, name: str) -> Node:
    """C-ECHO the node called ``name`` (a DICOMweb server: a one-match QIDO-RS search): returns
    it when it answered, else a NodeError saying why."""
    node = find_node(home, name)
    try:
        if isinstance(node, WebNode):
            dicomweb.ping(node, node_secret(home, node))
        else:
            echo(node, calling(home))
    except NodeError:
        _audit(home, "network.echo", node, "failed")
        raise
    _audit(home, "network.echo", node, "completed")
    return node


def _audited_query(home: VeilHome, name: str, level: str, dimse: Callable[[DicomNode, Calling], Found],
                   web: Callable[[WebNode, str], Found]) -> Found:
    """Run a C-FIND (or QIDO-RS) on the node called ``name``; audited with how many matched
    (never what was asked)."""
    node = find_node(home, name)
    try:
        found = web(node, node_secret(home, node)) if isinstance(node, WebNode) else dimse(node, calling(home))
    except NodeError:
        _audit(home, "network.query", node, "failed", level=level)
        raise
    _audit(home, "network.query", node, "completed", level=level, matches=len(found.matches), cut=found.cut)
    return found


def query_studies(home: VeilHome, name: str, query: StudyQuery) -> Found:
    """C-FIND (or QIDO-RS) the node at study level."""
    return _audited_query(home, name, "study", lambda node, who: find_studies(node, query, who),
                          lambda node, secret: dicomweb.find_studies(node, query, secret))


def query_series(home: VeilHome, name: str, study_uid: str) -> Found:
    """C-FIND (or QIDO-RS) the series of one study on the node."""
    return _audited_query(home, name, "series", lambda node, who: find_series(node, study_uid, who),
                          lambda node, secret: dicomweb.find_series(node, study_uid, secret))


def query_accessions(home: VeilHome, name: str, query: StudyQuery, accessions: Sequence[str]) -> Found:
    """The studies of each accession number (a pasted list, or one read from a file), one query
    each with the other fields of ``query``, merged without repeats, newest first."""
    wanted = list(dict.fromkeys(a.strip() for a in accessions if a.strip()))
    if len(wanted) > MAX_ACCESSIONS:
        raise NodeError(f"{len(wanted)} accession numbers: Veil asks at most {MAX_ACCESSIONS} at once.")
    if not wanted:
        return query_studies(home, name, query)
    merged: dict[str, StudyMatch] = {}
    cut = False
    for accession in wanted:
        found = query_studies(home, name, replace(query, accession=accession))
        cut = cut or found.cut
        merged.update({m.study_uid: m for m in found.matches})
    return Found(sorted(merged.values(), key=lambda m: (m.study_date, m.study_time), reverse=True), cut)


def read_accessions(text: str) -> list[str]:
    """Accession numbers from pasted text or a file: one per line, or separated by commas,
    semicolons, tabs or spaces (PS3.5: an SH value has no backslash and at most 16 characters)."""
    found = [a for a in re.split(r"[\s,;]+", text) if a]
    bad = [a for a in found if len(a) > 16 or "\\" in a]
    if bad:
        raise NodeError(f"{bad[0][:20]!r} is not an accession number (at most 16 characters, no backslash).")
    return found


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
