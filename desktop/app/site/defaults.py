"""Site defaults: a read-only ``site.json`` in which a site (the hospital's IT) presets what
every user of the workstation starts with (``docs/SITE.md`` describes the format):

- ``policy``: the site's written policy (its name, and its text) that a "not required" consent
  record names and that Veil shows where a site policy is shown;
- ``nodes``: DICOM nodes and DICOMweb servers, listed with the user's own, marked as the
  site's; a user cannot change or remove them;
- ``audit_collector``: the syslog collector the audit trail is forwarded to (IHE ATNA); when
  ``locked`` (the default), a user cannot change it or turn forwarding off;
- ``templates``: scanner template files (Veil's JSON or RSNA CTP's DicomPixelAnonymizer
  script), used beside Veil's own wherever scanner templates are applied.

The file sits in the platform's site configuration folder (``platformdirs``: on Linux
``/etc/xdg/veil/site.json``, on Windows ``C:\\ProgramData\\veil\\site.json``, on macOS
``/Library/Application Support/veil/site.json``); ``$VEIL_SITE_CONFIG`` names another file only
where that one does not exist (:func:`site_config_path`).

Robust by design: no file means no site defaults. A file that cannot be read, is not JSON, or
holds a wrong value is reported (logged as a warning naming the file and what is wrong, and by
``veil site``) and Veil starts as if the file, or that item, were not there; unknown keys are
reported and ignored. The file holds no patient data, and neither do the messages.
"""

from __future__ import annotations

import json
import logging
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from desktop.app.platform.paths import platform_paths
from desktop.core.audit.syslog import Destination
from desktop.core.common.errors import VeilError
from desktop.core.network.nodes import DicomNode, Node, NodeError, TlsFiles, WebNode

ENV_VAR = "VEIL_SITE_CONFIG"
FILE_NAME = "site.json"
KEYS = ("about", "format", "policy", "nodes", "audit_collector", "templates")
FORMAT = 1
MAX_BYTES = 1 << 20
MAX_SITE_NODES = 100

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SitePolicy:
    """The site's written policy: its name (as a consent record names it) and its text."""

    name: str
    text: str = ""


@dataclass(frozen=True)
class SiteCollector:
    """The syslog collector the site forwards audit trails to; ``locked``: users cannot change it."""

    destination: Destination
    locked: bool = True


@dataclass(frozen=True)
class SiteDefaults:
    """What the site file presets (empty when there is none) and what was wrong with it."""

    path: Path
    found: bool = False
    policy: SitePolicy | None = None
    nodes: tuple[Node, ...] = ()
    collector: SiteCollector | None = None
    templates: tuple[Path, ...] = ()
    problems: tuple[str, ...] = field(default=())

    def node(self, name: str) -> Node | None:
        """The site's node of that name (any case), or None."""
        wanted = name.strip().casefold()
        return next((n for n in self.nodes if n.name.casefold() == wanted), None)


def fixed_site_config_path() -> Path:
    """The site file in the platform's own site folder, whatever the environment says: Linux's
    (and the other Unixes') ``/etc/xdg/veil/site.json``, macOS' ``/Library/Application
    Support/veil/site.json``, Windows' ``%PROGRAMDATA%\\veil\\site.json`` (asked of the shell)."""
    system = platform.system()
    if system == "Windows":
        return Path(platform_paths(system).site_config_file)
    if system == "Darwin":
        return Path("/Library/Application Support/veil") / FILE_NAME
    return Path("/etc/xdg/veil") / FILE_NAME


def site_config_path() -> Path:
    """Where the site file is read from. The platform's own file (:func:`fixed_site_config_path`),
    when there is one, is the site's and always wins: a user cannot step around its locked audit
    collector or its nodes by naming another file. Only where there is none does
    ``$VEIL_SITE_CONFIG`` name the file (tests, a site that keeps it elsewhere), else the platform's
    site configuration folder as platformdirs finds it (``$XDG_CONFIG_DIRS`` on Linux)."""
    fixed = fixed_site_config_path()
    if os.path.lexists(fixed):
        return fixed
    named = os.environ.get(ENV_VAR)
    if named:
        return Path(named).expanduser()
    return Path(platform_paths(platform.system()).site_config_file)


def site_defaults() -> SiteDefaults:
    """The site defaults now in force (read again when the file changes; problems logged once)."""
    path = site_config_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return SiteDefaults(path)
    except OSError as exc:
        problem = (f"The site file {path} cannot be read ({exc.strerror or type(exc).__name__}); "
                   "Veil starts without site defaults.")
        log.warning("%s", problem)
        return SiteDefaults(path, True, problems=(problem,))
    defaults = _load(str(path), stat.st_mtime_ns, stat.st_size)
    exposure = _exposed(path) if path == fixed_site_config_path() else None
    if exposure is None:
        return defaults
    return replace(defaults, problems=(*defaults.problems, exposure))


#: Who may write the site file and its folder on POSIX: the administrator (root).
ADMINISTRATOR_UID = 0


def _exposed(path: Path) -> str | None:
    """Why the platform's site file does not hold against the workstation's users, or None: on
    POSIX a file (or folder) that an account other than the administrator owns, or that its
    group or everyone may write, lets a user rewrite its locked collector and nodes. Veil still
    applies the file (dropping a locked setting would be worse) and says so. Windows permissions
    are ACLs, which the site's deployment tool sets; they are not judged here. A symbolic link is
    judged by what it leads to as well (the target and its folder), and a folder others may
    write but only delete their own files from (the sticky bit, as ``/tmp`` or ``/nix/store``)
    holds a file the administrator owns."""
    if os.name != "posix":
        return None
    real = Path(os.path.realpath(path))
    for item in dict.fromkeys((path, path.parent, real, real.parent)):
        try:
            stat = item.stat()
        except OSError:
            continue
        sticky = item.is_dir() and stat.st_mode & 0o1000
        if stat.st_uid != ADMINISTRATOR_UID or (stat.st_mode & 0o022 and not sticky):
            what = "it" if item == path else f"its folder {item}" if item.is_dir() else f"the file it links to, {item}"
            return _exposure_problem(str(path), what, stat.st_uid, stat.st_mode & 0o7777)
    return None


@lru_cache(maxsize=4)
def _exposure_problem(path_text: str, what: str, uid: int, mode: int) -> str:
    """The problem an exposed site file is reported with (logged once per state of the file)."""
    problem = (f"The site file {path_text}: {what} can be changed by "
               f"users other than the administrator (owner uid {uid}, mode {mode:04o}), so its locked settings "
               "hold against no one; make the file and its folder root-owned and writable only by root "
               "(chown root:root, chmod 644 for the file and 755 for the folder).")
    log.warning("%s", problem)
    return problem


@lru_cache(maxsize=4)
def _load(path_text: str, _mtime_ns: int, _size: int) -> SiteDefaults:
    """Read and check the site file (cached per version of the file); its problems are logged."""
    defaults, problems = read_site_file(Path(path_text))
    for problem in problems:
        log.warning("%s", problem)
    return defaults


def read_site_file(path: Path) -> tuple[SiteDefaults, tuple[str, ...]]:
    """The defaults in ``path`` and the problems found (each names the file). A file that is not
    a JSON object gives no defaults at all; a bad item is left out and the rest kept."""
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_BYTES:
            raise ValueError(f"it has {len(raw)} bytes; a site file has at most {MAX_BYTES}")
        data = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        problem = f"The site file {path} cannot be read ({exc.strerror or type(exc).__name__}); " \
                  "Veil starts without site defaults."
        return SiteDefaults(path, True, problems=(problem,)), (problem,)
    except json.JSONDecodeError as exc:
        problem = f"The site file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); " \
                  "Veil starts without site defaults."
        return SiteDefaults(path, True, problems=(problem,)), (problem,)
    except (ValueError, UnicodeDecodeError) as exc:
        problem = f"The site file {path} cannot be used ({exc}); Veil starts without site defaults."
        return SiteDefaults(path, True, problems=(problem,)), (problem,)
    if not isinstance(data, dict):
        problem = f"The site file {path} must hold a JSON object ({{...}}); Veil starts without site defaults."
        return SiteDefaults(path, True, problems=(problem,)), (problem,)
    problems: list[str] = []

    def note(text: str) -> None:
        problems.append(f"The site file {path}: {text}")

    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        note(f"unknown keys {', '.join(map(repr, unknown))} are ignored (known: {', '.join(KEYS)}).")
    if data.get("format", FORMAT) != FORMAT:
        note(f"format {data.get('format')!r} is not one this Veil reads ({FORMAT}); reading it as {FORMAT}.")
    defaults = SiteDefaults(path, True, _policy(data.get("policy"), note), _nodes(data.get("nodes"), note),
                            _collector(data.get("audit_collector"), note),
                            _templates(data.get("templates"), path, note), tuple(problems))
    return defaults, tuple(problems)


#: Records a problem found in the site file.
Note = Callable[[str], None]


def _policy(value: object, note: Note) -> SitePolicy | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"].strip() \
            or not isinstance(value.get("text", ""), str):
        note("'policy' is {\"name\": TEXT, \"text\": TEXT}; it is ignored.")
        return None
    extra = sorted(set(value) - {"name", "text"})
    if extra:
        note(f"unknown keys in 'policy' ({', '.join(map(repr, extra))}) are ignored.")
    return SitePolicy(value["name"].strip()[:200], value.get("text", "").strip())


def _node(entry: dict[str, Any]) -> Node:
    if entry.get("kind") == "dicomweb":
        allowed = {"kind", "name", "url", "auth", "username", "ca"}
        node: Node = WebNode(str(entry["name"]), str(entry["url"]), str(entry.get("auth", "none")),
                             str(entry.get("username", "")), str(entry.get("ca", "")))
    else:
        allowed = {"kind", "name", "ae_title", "host", "port", "tls"}
        if entry.get("kind", "dicom") != "dicom":
            raise NodeError(f"kind is 'dicom' or 'dicomweb', not {entry.get('kind')!r}")
        port = entry["port"]
        if not isinstance(port, int) or isinstance(port, bool):
            raise NodeError("the port is a number")
        tls = TlsFiles(**entry["tls"]) if entry.get("tls") else None
        node = DicomNode(str(entry["name"]), str(entry["ae_title"]), str(entry["host"]), port, tls)
    extra = sorted(set(entry) - allowed)
    if extra:
        raise NodeError(f"unknown keys {', '.join(map(repr, extra))}")
    return node


def _nodes(value: object, note: Note) -> tuple[Node, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        note("'nodes' is a list of nodes; it is ignored.")
        return ()
    nodes: list[Node] = []
    for number, entry in enumerate(value[:MAX_SITE_NODES], 1):
        try:
            if not isinstance(entry, dict):
                raise NodeError("a node is an object {...}")
            node = _node(entry)
        except (NodeError, KeyError, TypeError, ValueError) as exc:
            what = f"'{exc.args[0]}' is missing" if isinstance(exc, KeyError) else str(exc)
            note(f"node {number} is left out: {what}.")
            continue
        if any(n.name.casefold() == node.name.casefold() for n in nodes):
            note(f"node {number} is left out: another node is called {node.name!r}.")
            continue
        nodes.append(node)
    if len(value) > MAX_SITE_NODES:
        note(f"only the first {MAX_SITE_NODES} nodes are used.")
    return tuple(nodes)


def _collector(value: object, note: Note) -> SiteCollector | None:
    if value is None:
        return None
    allowed = {"host", "port", "transport", "ca", "cert", "key", "locked"}
    try:
        if not isinstance(value, dict):
            raise VeilError("it is an object {\"host\": ..., \"port\": ...}")
        extra = sorted(set(value) - allowed)
        if extra:
            raise VeilError(f"unknown keys {', '.join(map(repr, extra))}")
        port = value["port"]
        if not isinstance(port, int) or isinstance(port, bool):
            raise VeilError("the port is a number")
        files = [Path(str(value[k])) if value.get(k) else None for k in ("ca", "cert", "key")]
        destination = Destination(str(value["host"]), port, str(value.get("transport", "tcp")), *files)
        locked = value.get("locked", True)
        if not isinstance(locked, bool):
            raise VeilError("'locked' is true or false")
    except (VeilError, KeyError, TypeError, ValueError) as exc:
        what = f"'{exc.args[0]}' is missing" if isinstance(exc, KeyError) else str(exc)
        note(f"'audit_collector' is ignored: {what}.")
        return None
    return SiteCollector(destination, locked)


def _templates(value: object, path: Path, note: Note) -> tuple[Path, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        note("'templates' is a list of template file paths; it is ignored.")
        return ()
    found = []
    for name in value:
        file = Path(name).expanduser()
        file = file if file.is_absolute() else path.parent / file
        if file.is_file():
            found.append(file)
        else:
            note(f"the template file {file} does not exist; it is left out.")
    return tuple(found)


def site_node(name: str) -> Node | None:
    """The node of that name if the site presets it."""
    return site_defaults().node(name)


def site_policy() -> SitePolicy | None:
    """The site's written policy, if the site file names one."""
    return site_defaults().policy
