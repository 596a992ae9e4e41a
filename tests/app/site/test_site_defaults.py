"""Site defaults (``site.json``): nodes the site presets are listed and cannot be removed or
changed by the user, the site's syslog collector receives the audit trail (and, locked, cannot
be changed), the policy is read; a bad file names itself, is logged, and Veil goes on without it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import threading
from pathlib import Path

import pytest

from desktop.app.audit.forwarding import configure, forward_pending, forwarding_status
from desktop.app.network.nodes import find_node, is_site_node, list_nodes, remove_node, save_node
from desktop.app.site import defaults as site
from desktop.cli.site import cmd_site
from desktop.core.audit.syslog import Destination
from desktop.core.common.errors import AuditError
from desktop.core.network.nodes import DicomNode, NodeError, WebNode

DOCS_SITE = Path(__file__).resolve().parents[3] / "docs" / "SITE.md"


@pytest.fixture
def site_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write ``site.json`` (a dict, or raw text) and point VEIL_SITE_CONFIG at it."""
    path = tmp_path / "etc" / "veil" / "site.json"
    path.parent.mkdir(parents=True)
    monkeypatch.setenv(site.ENV_VAR, str(path))
    monkeypatch.setattr(site, "fixed_site_config_path", lambda: tmp_path / "no-platform-site-file.json")

    def write(content: dict | str) -> Path:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return path

    return write


PACS = {"name": "Hospital PACS", "ae_title": "PACS", "host": "pacs.example.org", "port": 104}
WEB = {"kind": "dicomweb", "name": "Web PACS", "url": "https://dicomweb.example.org/rs", "auth": "bearer"}


def test_no_site_file_means_no_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv(site.ENV_VAR, str(tmp_path / "none.json"))
    defaults = site.site_defaults()
    assert not defaults.found and defaults.nodes == () and defaults.collector is None and defaults.policy is None
    assert defaults.problems == ()


def test_the_platforms_own_site_file_wins_over_one_a_user_names(tmp_path, monkeypatch):
    """A user cannot step around the site's locked collector by pointing VEIL_SITE_CONFIG (or
    XDG_CONFIG_DIRS) at a file of their own: the platform's file, where it exists, is the one read."""
    fixed = tmp_path / "etc-xdg-veil-site.json"
    fixed.write_text(json.dumps({"audit_collector": {"host": "127.0.0.1", "port": 6514, "transport": "tcp"}}))
    own = tmp_path / "mine.json"
    own.write_text(json.dumps({}))
    monkeypatch.setattr(site, "fixed_site_config_path", lambda: fixed)
    monkeypatch.setenv(site.ENV_VAR, str(own))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path))
    assert site.site_config_path() == fixed
    collector = site.site_defaults().collector
    assert collector is not None and collector.locked
    fixed.unlink()
    assert site.site_config_path() == own and site.site_defaults().collector is None


@pytest.mark.parametrize(("system", "expected"), [
    ("Linux", "/etc/xdg/veil/site.json"), ("FreeBSD", "/etc/xdg/veil/site.json"),
    ("Darwin", "/Library/Application Support/veil/site.json"),
])
def test_the_platforms_own_site_file_is_where_the_environment_cannot_move_it(monkeypatch, system, expected):
    monkeypatch.setattr(site.platform, "system", lambda: system)
    monkeypatch.setenv("XDG_CONFIG_DIRS", "/tmp/elsewhere")
    assert site.fixed_site_config_path() == Path(expected)


def test_the_default_location_is_the_platforms_site_config_folder(monkeypatch):
    import platformdirs

    monkeypatch.delenv(site.ENV_VAR, raising=False)
    assert site.site_config_path() == platformdirs.site_config_path("veil", appauthor=False) / "site.json"


def test_site_nodes_are_listed_marked_and_cannot_be_removed_or_changed(home, site_file):
    site_file({"nodes": [PACS, WEB]})
    save_node(home, DicomNode("My Workstation", "WS1", "10.0.0.5", 11112))
    names = [n.name for n in list_nodes(home)]
    assert names == ["Hospital PACS", "My Workstation", "Web PACS"]
    assert is_site_node("hospital pacs") and is_site_node(find_node(home, "Web PACS"))
    assert not is_site_node("My Workstation")
    with pytest.raises(NodeError, match="comes from the site file .*site.json"):
        remove_node(home, "Hospital PACS")
    with pytest.raises(NodeError, match="comes from the site file"):
        save_node(home, DicomNode("Hospital PACS", "OTHER", "evil.example.org", 104), replace=True)
    with pytest.raises(NodeError, match="comes from the site file"):
        save_node(home, DicomNode("hospital pacs", "PACS", "pacs.example.org", 104))
    remove_node(home, "My Workstation")  # the user's own still go
    assert [n.name for n in list_nodes(home)] == ["Hospital PACS", "Web PACS"]


def test_the_user_gives_a_site_servers_token(home, site_file):
    from desktop.app.network.nodes import node_secret

    site_file({"nodes": [WEB]})
    node = find_node(home, "Web PACS")
    assert isinstance(node, WebNode)
    save_node(home, node, replace=True, secret="s3cret-token")
    assert node_secret(home, node) == "s3cret-token"
    assert [n.name for n in list_nodes(home)] == ["Web PACS"]


def test_a_site_node_wins_over_a_users_node_of_the_same_name(home, site_file, tmp_path, monkeypatch):
    monkeypatch.setenv(site.ENV_VAR, str(tmp_path / "none.json"))
    save_node(home, DicomNode("Hospital PACS", "OLD", "old.example.org", 104))
    monkeypatch.setenv(site.ENV_VAR, str(site_file({"nodes": [PACS]})))
    node = find_node(home, "Hospital PACS")
    assert isinstance(node, DicomNode) and node.ae_title == "PACS"
    assert len(list_nodes(home)) == 1


def test_bad_json_names_the_file_is_logged_and_veil_goes_on(home, site_file, caplog):
    path = site_file('{"nodes": [')
    with caplog.at_level(logging.WARNING):
        defaults = site.site_defaults()
    assert defaults.found and defaults.nodes == ()
    assert str(path) in defaults.problems[0] and "not valid JSON" in defaults.problems[0]
    assert "line 1" in defaults.problems[0]
    assert any(str(path) in r.getMessage() for r in caplog.records)
    assert list_nodes(home) == []  # Veil works without site defaults


@pytest.mark.parametrize("content", ["[]", '"text"', "\xff\xfe", "null"])
def test_a_file_that_is_not_an_object_gives_no_defaults(site_file, content):
    path = site_file(content)
    defaults = site.site_defaults()
    assert defaults.nodes == () and len(defaults.problems) == 1 and str(path) in defaults.problems[0]


def test_unknown_keys_and_bad_items_are_reported_and_the_rest_kept(site_file):
    site_file({"nodes": [PACS, {"name": "No port", "ae_title": "X", "host": "h"}, {**PACS, "colour": "red"},
                         {**PACS, "port": 70000}, {**PACS, "name": "hospital PACS"}],
               "audit_colector": {"host": "x", "port": 1}, "policy": {"name": 3}})
    defaults = site.site_defaults()
    assert [n.name for n in defaults.nodes] == ["Hospital PACS"]
    problems = "\n".join(defaults.problems)
    assert "'audit_colector'" in problems and "unknown keys" in problems
    assert "node 2 is left out: 'port' is missing" in problems
    assert "node 3 is left out: unknown keys 'colour'" in problems
    assert "node 4 is left out" in problems and "node 5 is left out: another node" in problems
    assert "'policy'" in problems
    assert defaults.policy is None


def test_the_policy_is_read(site_file):
    site_file({"policy": {"name": "Teaching file policy v3",
                          "text": "De-identified images may be used for teaching without consent."}})
    policy = site.site_policy()
    assert policy == site.SitePolicy("Teaching file policy v3",
                                     "De-identified images may be used for teaching without consent.")


def test_the_file_is_read_again_when_it_changes(site_file):
    site_file({"nodes": [PACS]})
    assert len(site.site_defaults().nodes) == 1
    site_file({"nodes": [PACS, WEB], "about": "two nodes now"})
    assert len(site.site_defaults().nodes) == 2


class Collector:
    """A TCP syslog collector on loopback: reads each connection to its end, then closes."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.data = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                while chunk := conn.recv(65536):
                    self.data += chunk

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def collector():
    server = Collector()
    yield server
    server.close()


def _record(home, count: int) -> None:
    conn = home.connect()
    try:
        for n in range(count):
            home.record(conn, "import", outcome="completed", imported=n)
    finally:
        conn.close()


def test_the_sites_locked_collector_receives_the_trail_and_cannot_be_changed(home, site_file, collector):
    site_file({"audit_collector": {"host": "127.0.0.1", "port": collector.port, "transport": "tcp"}})
    _record(home, 3)
    status = forwarding_status(home)
    assert status.from_site and status.destination == Destination("127.0.0.1", collector.port)
    result = forward_pending(home, force=True)
    assert result.state == "done" and result.sent >= 3, result
    assert collector.data.count(b"<AuditMessage") >= 3 or collector.data.count(b"AuditMessage") >= 3
    with pytest.raises(AuditError, match="set by the site file"):
        configure(home, None)
    with pytest.raises(AuditError, match="set by the site file"):
        configure(home, Destination("127.0.0.1", 1))


def test_an_unlocked_site_collector_is_a_default_the_user_may_turn_off(home, site_file, collector):
    site_file({"audit_collector": {"host": "127.0.0.1", "port": collector.port, "locked": False}})
    assert forwarding_status(home).from_site
    configure(home, None)
    assert forwarding_status(home).destination is None
    assert forward_pending(home).state == "off"


def test_a_bad_collector_is_reported_and_forwarding_stays_off(home, site_file):
    path = site_file({"audit_collector": {"host": "audit.example.org", "port": 6514, "transport": "tls"}})
    defaults = site.site_defaults()
    assert defaults.collector is None
    assert any(str(path) in p and "CA file" in p for p in defaults.problems)
    assert forward_pending(home).state == "off"


def test_the_documented_example_is_a_valid_site_file(site_file, tmp_path):
    """docs/SITE.md's full example reads without a problem (its file paths made to exist)."""
    text = DOCS_SITE.read_text()
    example = text.split("```json", 1)[1].split("```", 1)[0]
    data = json.loads(example)
    for name in ("ca", "cert", "key"):
        if data["audit_collector"].get(name):
            target = tmp_path / Path(data["audit_collector"][name]).name
            target.write_text("PEM")
            data["audit_collector"][name] = str(target)
    for number, name in enumerate(data["templates"]):
        target = tmp_path / Path(name).name
        target.write_text('{"templates": []}')
        data["templates"][number] = str(target)
    site_file(data)
    defaults = site.site_defaults()
    assert defaults.problems == ()
    assert defaults.policy and defaults.nodes and defaults.collector and defaults.templates


def test_veil_site_shows_the_defaults_and_their_problems(veil_cli, tmp_path):
    path = tmp_path / "site.json"
    path.write_text(json.dumps({"policy": {"name": "Teaching file policy v3", "text": "Teaching only."},
                                "nodes": [PACS]}))
    veil_cli.env[site.ENV_VAR] = str(path)  # type: ignore[attr-defined]
    done = veil_cli("site")
    assert done.returncode == 0, done.stderr
    assert str(path) in done.stdout and "Teaching file policy v3" in done.stdout and "Teaching only." in done.stdout
    assert "Node (from the site): Hospital PACS" in done.stdout
    listed = veil_cli("nodes", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Hospital PACS" in listed.stdout and "(from the site)" in listed.stdout
    removed = veil_cli("nodes", "remove", "Hospital PACS")
    assert removed.returncode == 1 and "comes from the site file" in removed.stderr
    path.write_text('{"nodes": [}')
    bad = veil_cli("site")
    assert bad.returncode == 1 and "not valid JSON" in bad.stdout and str(path) in bad.stdout
    still = veil_cli("nodes", "list")  # Veil goes on without the site defaults, and says why
    assert still.returncode == 0 and "No node yet" in still.stdout
    assert str(path) in still.stderr


def test_not_required_alone_names_the_sites_policy(veil_cli, tmp_path):
    path = tmp_path / "site.json"
    veil_cli.env[site.ENV_VAR] = str(path)  # type: ignore[attr-defined]
    args = ("consent", "add", "--site-wide", "--purpose", "teaching", "--not-required")
    refused = veil_cli(*args)
    assert refused.returncode == 1 and "the site file names none" in refused.stderr
    path.write_text(json.dumps({"policy": "Teaching file policy v3"}))
    done = veil_cli(*args)
    assert done.returncode == 0, done.stderr
    listed = veil_cli("consent", "list")
    assert "Teaching file policy v3" in listed.stdout, listed.stdout + listed.stderr


def test_the_sites_templates_join_veils_own(site_file, tmp_path):
    import argparse

    from desktop.cli.deid import _templates

    extra = tmp_path / "scanner-templates.json"
    extra.write_text(json.dumps({"templates": [{"name": "Site US banner", "when": 'Modality.equals("US")',
                                                "regions": [[0, 0, 100, 20]]}]}))
    site_file({"templates": [str(extra)]})
    args = argparse.Namespace(templates=True, redact=False, template_file=None)
    names = [t.name for t in _templates(args)]
    assert "Site US banner" in names and len(names) > 1
    assert _templates(argparse.Namespace(templates=False, redact=False, template_file=None)) == []


def test_the_consent_panel_shows_the_sites_policy_text(site_file):
    pytest.importorskip("PySide6")
    from datetime import date

    from desktop.core.consent import EVERY_PATIENT, Basis, ConsentRecord, Purpose
    from desktop.core.consent.model import Scope
    from desktop.ui.consent.panel import basis_words

    site_file({"policy": {"name": "Teaching file policy v3", "text": "Teaching within the hospital."}})
    record = ConsentRecord(basis=Basis.NOT_REQUIRED, scope=Scope(EVERY_PATIENT), purposes=frozenset({Purpose.TEACHING}),
                           obtained_on=date.today(), recorded_by="it", policy="Teaching file policy v3")
    assert basis_words(record).endswith("Teaching file policy v3\nTeaching within the hospital.")


@pytest.fixture
def platform_site_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The platform's own site file (``/etc/xdg/veil/site.json``) with a locked collector, in a
    folder of its own; the administrator is whoever runs the tests unless a test says otherwise."""
    folder = tmp_path / "xdg-veil"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    path = folder / "site.json"
    path.write_text(json.dumps({"audit_collector": {"host": "127.0.0.1", "port": 6514, "transport": "tcp"}}))
    path.chmod(0o644)
    monkeypatch.setattr(site, "fixed_site_config_path", lambda: path)
    monkeypatch.setattr(site, "ADMINISTRATOR_UID", os.getuid())
    return path


def test_a_site_file_only_the_administrator_can_change_raises_no_alarm(platform_site_file):
    defaults = site.site_defaults()
    assert defaults.collector is not None and defaults.collector.locked and defaults.problems == ()


@pytest.mark.parametrize("writable", ["file", "folder"])
def test_a_site_file_users_can_rewrite_is_applied_and_reported(platform_site_file, writable, caplog, capsys):
    """A group- or world-writable site file (or folder) lets any user rewrite the locked
    collector: Veil still applies it (the lock stays) and says what to fix, in the log and in
    ``veil site``, which then exits 1."""
    if writable == "file":
        platform_site_file.chmod(0o666)
    else:
        platform_site_file.parent.chmod(0o777)
    with caplog.at_level(logging.WARNING):
        defaults = site.site_defaults()
    assert defaults.collector is not None and defaults.collector.locked
    [problem] = defaults.problems
    assert "can be changed by users other than the administrator" in problem and "chmod 644" in problem
    assert (f"its folder {platform_site_file.parent} can" in problem) == (writable == "folder")
    assert problem in caplog.text
    assert cmd_site(argparse.Namespace()) == 1
    assert "Problem: " + problem in capsys.readouterr().out


def test_a_site_file_owned_by_a_user_is_reported(platform_site_file, monkeypatch):
    monkeypatch.setattr(site, "ADMINISTRATOR_UID", os.getuid() + 1)
    [problem] = site.site_defaults().problems
    assert f"owner uid {os.getuid()}" in problem


def test_a_linked_site_file_is_judged_by_what_it_leads_to(platform_site_file, tmp_path, monkeypatch):
    """/etc/xdg/veil/site.json as a symbolic link to a file in a folder a user may write: that
    user can replace the file, so it is reported; a sticky folder (others may delete only their
    own files, as /tmp or /nix/store) holding the administrator's file is not."""
    elsewhere = tmp_path / "deploy"
    elsewhere.mkdir()
    target = elsewhere / "site.json"
    target.write_text(platform_site_file.read_text())
    target.chmod(0o644)
    platform_site_file.unlink()
    platform_site_file.symlink_to(target)
    elsewhere.chmod(0o777)
    [problem] = site.site_defaults().problems
    assert f"its folder {elsewhere} can be changed" in problem
    elsewhere.chmod(0o1777)
    assert site.site_defaults().problems == ()
