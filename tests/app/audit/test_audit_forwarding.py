"""Forwarding the audit trail to a real syslog collector: ``rsyslogd`` started by the test on a
loopback port (imtcp, and TLS through its gtls netstream driver with a CA the test makes),
writing every raw message it receives to a file. Every event arrives once, in order, after a
collector restart; two processes forwarding at once send nothing twice. Skips, saying why,
where rsyslogd is missing (``scripts/run-tests`` installs it)."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop.app.audit.forwarding import HASH, LOCK_NAME, SEQ, configure, forward_pending, forwarding_status
from desktop.app.library.home import VeilHome
from desktop.core.audit.syslog import BOM, Destination
from desktop.core.library.settings import set_settings

RSYSLOGD = shutil.which("rsyslogd") or next(
    (p for p in ("/usr/sbin/rsyslogd", "/sbin/rsyslogd") if os.path.exists(p)), None)
needs_rsyslog = pytest.mark.skipif(RSYSLOGD is None, reason="rsyslogd is not installed (apt-get install rsyslog "
                                                              "rsyslog-gnutls; scripts/run-tests does it as root)")
DEADLINE = 60.0  # generous: a wait, never an assertion about speed
SEQ_ID = re.compile(rb'\[meta sequenceId="(\d+)"\]')
RAW_UID = "1.2.826.0.1.3680043.8.498.12345678901234567890"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _skip_if_a_module_is_missing(said: str) -> None:
    """Skip, naming the package, when rsyslogd says it cannot load a module (the TLS driver
    comes in rsyslog-gnutls); anything else it refuses is the test's fault, and fails."""
    if "could not load module" in said or "cannot load module" in said.lower():
        pytest.skip(f"rsyslogd lacks a module this test needs (apt-get install rsyslog-gnutls): {said[-300:]}")


class Rsyslog:
    """``rsyslogd -n`` with its own configuration, work directory and pid file under ``root``:
    one imtcp input on 127.0.0.1:``port`` (TLS when ``tls`` holds the gtls file paths), every
    message written raw, one a line, to ``root/received.log``."""

    def __init__(self, root: Path, port: int, tls: dict[str, Path] | None = None) -> None:
        self.root, self.port = root, port
        self.out = root / "received.log"
        work = root / "work"
        work.mkdir(parents=True, exist_ok=True)
        driver = ""
        stream = ""
        if tls:
            driver = (f'global(defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="{tls["ca"]}" '
                      f'defaultNetstreamDriverCertFile="{tls["cert"]}" defaultNetstreamDriverKeyFile="{tls["key"]}")')
            mode = "x509/certvalid" if tls.get("client") else "anon"
            stream = f' streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="{mode}"'
        self.conf = root / "rsyslog.conf"
        self.conf.write_text(textwrap.dedent(f"""\
            global(workDirectory="{work}" maxMessageSize="64k")
            {driver}
            module(load="imtcp"{stream})
            template(name="veilraw" type="string" string="%rawmsg%\\n")
            ruleset(name="veil") {{
              action(type="omfile" file="{self.out}" template="veilraw")
            }}
            input(type="imtcp" port="{port}" address="127.0.0.1" ruleset="veil")
            """))
        self.proc: subprocess.Popen | None = None

    def start(self) -> Rsyslog:
        check = subprocess.run([RSYSLOGD, "-N1", "-f", str(self.conf)], capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            _skip_if_a_module_is_missing(check.stdout + check.stderr)
            pytest.fail(f"rsyslogd refuses the test's configuration: {check.stderr.strip()[-300:]}")
        log = open(self.root / "rsyslogd.out", "ab")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(self.conf), "-i", str(self.root / "rsyslogd.pid")],
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            said = (self.root / "rsyslogd.out").read_text(errors="replace")
            if self.proc.poll() is not None:
                _skip_if_a_module_is_missing(said)
                pytest.fail(f"rsyslogd exited at start: {said[-300:]}")
            if "could not load module" in said:  # e.g. no rsyslog-gnutls: it runs on, without a listener
                self.stop()
                _skip_if_a_module_is_missing(said)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail("rsyslogd did not open its port")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def received(self) -> list[bytes]:
        return self.out.read_bytes().splitlines() if self.out.exists() else []

    def wait_for(self, count: int) -> list[bytes]:
        """The messages received, once there are at least ``count`` (or the deadline passed)."""
        deadline = time.monotonic() + DEADLINE
        while len(self.received()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received()


@pytest.fixture
def collector(tmp_path: Path):
    server = Rsyslog(tmp_path / "rsyslog", free_port())
    yield server
    server.stop()


def seqs(messages: list[bytes]) -> list[int]:
    return [int(SEQ_ID.search(m).group(1)) for m in messages]


def xml_of(message: bytes) -> ET.Element:
    return ET.fromstring(message[message.index(BOM) + len(BOM):])


def record_some(home: VeilHome, count: int) -> None:
    conn = home.connect()
    try:
        for n in range(count):
            home.record(conn, "import", outcome="completed", imported=n, study=home.audit.pseudonym(RAW_UID))
    finally:
        conn.close()


def test_forwarding_off_is_cheap_and_says_so(veil_home: Path) -> None:
    home = VeilHome.open(veil_home)
    record_some(home, 2)
    assert forward_pending(home).state == "off"
    assert forwarding_status(home).destination is None


@needs_rsyslog
def test_every_event_arrives_once_in_order_across_a_collector_restart(veil_home: Path, collector: Rsyslog) -> None:
    home = VeilHome.open(veil_home)
    record_some(home, 3)  # recorded before forwarding was turned on: sent too
    collector.start()
    configure(home, Destination("127.0.0.1", collector.port))  # audited: line 4
    record_some(home, 2)
    result = forward_pending(home)
    assert (result.state, result.sent, result.position, result.head) == ("done", 6, 6, 6)
    assert seqs(collector.wait_for(6)) == [1, 2, 3, 4, 5, 6]

    collector.stop()
    record_some(home, 3)
    down = forward_pending(home, force=True)
    assert down.state == "failed" and down.position == 6 and down.head == 9
    assert "cannot be reached" in down.error and RAW_UID not in down.error
    assert forward_pending(home).state == "waiting"  # backs off instead of trying at every event
    status = forwarding_status(home)
    assert (status.position, status.head, status.pending) == (6, 9, 3) and status.error

    collector.start()
    record_some(home, 1)
    back = forward_pending(home, force=True)
    assert (back.state, back.sent, back.position, back.head) == ("done", 4, 10, 10)
    messages = collector.wait_for(10)
    assert seqs(messages) == list(range(1, 11))
    assert forwarding_status(home).error == ""

    # What arrived: A.5 audit messages under RFC 5424 headers, naming the study by keyed hash only.
    pseudonym = home.audit.pseudonym(RAW_UID)
    for message in messages:
        assert message.startswith((b"<85>1 ", b"<84>1 ")) and b" veil " in message and b" IHE+RFC-3881 " in message
        assert RAW_UID.encode() not in message
    imports = [xml_of(m) for m in messages if b"110107" in m]
    assert len(imports) == 9
    assert {p.get("ParticipantObjectID") for m in imports for p in m.iter("ParticipantObjectIdentification")} == \
        {pseudonym}
    configured = xml_of(messages[3])
    assert configured.find("EventIdentification/EventID").get("csd-code") == "110113"

    # Nothing pending: a call sends nothing.
    assert forward_pending(home).sent == 0
    time.sleep(0.2)
    assert len(collector.received()) == 10


@needs_rsyslog
def test_only_lines_committed_in_the_index_are_sent_and_old_lines_come_from_the_file(
        veil_home: Path, collector: Rsyslog) -> None:
    home = VeilHome.open(veil_home)
    collector.start()
    configure(home, Destination("127.0.0.1", collector.port))
    record_some(home, 2)
    conn = home.connect()
    try:
        # Lines 1-2 as a library from before the index kept each line's text: only their hash.
        conn.execute("UPDATE audit_lines SET line = NULL WHERE seq <= 2")
    finally:
        conn.close()
    with open(home.audit_path, "ab") as fh:  # bytes in the file the library never committed
        fh.write(b'{"action":"forged","prev":"","seq":4,"time":"2024-01-01T00:00:00+00:00","user":"x"}\n')
    result = forward_pending(home)
    assert (result.state, result.position, result.head) == ("done", 3, 3), result.error
    record_some(home, 1)
    assert forward_pending(home).position == 4
    messages = collector.wait_for(4)
    assert seqs(messages) == [1, 2, 3, 4] and all(b"forged" not in m for m in messages)


def test_a_library_that_is_not_the_one_forwarded_from_is_named(veil_home: Path) -> None:
    home = VeilHome.open(veil_home)
    configure(home, Destination("127.0.0.1", free_port()))
    record_some(home, 2)
    conn = home.connect()
    try:
        set_settings(conn, {SEQ: "2", HASH: "0" * 64})  # as if line 2 had been sent with another text
    finally:
        conn.close()
    result = forward_pending(home, force=True)
    assert result.state == "failed" and "Audit line 2, the last one forwarded" in result.error
    assert forwarding_status(home).error == result.error


def test_another_forwarder_holding_the_lock_makes_this_one_step_aside(veil_home: Path) -> None:
    home = VeilHome.open(veil_home)
    configure(home, Destination("127.0.0.1", free_port()))
    fd = os.open(home.path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert forward_pending(home, force=True).state == "busy"
    finally:
        os.close(fd)
    assert forward_pending(home, force=True).state == "failed"  # nobody listens on that port


# -- several processes, and the command line -----------------------------------------------------
def _env(tmp_path: Path) -> dict[str, str]:
    passfile = tmp_path / "pass"
    passfile.write_text("correct horse battery\n")
    return dict(os.environ, VEIL_HOME=str(tmp_path / "home"), VEIL_PASSPHRASE_FILE=str(passfile),
                PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")


def _python(env: dict[str, str], code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[3])


def _veil(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "desktop", *args], env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[3])


@needs_rsyslog
def test_processes_forwarding_at_once_send_each_event_once_in_order(tmp_path: Path, collector: Rsyslog) -> None:
    env = _env(tmp_path)
    collector.start()
    done = _veil(env, "audit", "forward", "--to", f"127.0.0.1:{collector.port}")
    assert done.returncode == 0, done.stderr
    # Three processes each record 15 events and forward after every one, as the app does.
    writers = [_python(env, """
        from desktop.app.library.home import VeilHome
        from desktop.app.audit.forwarding import forward_pending
        home = VeilHome.open()
        conn = home.connect()
        for n in range(15):
            home.record(conn, "view", study="c" * 32, n=n)
            forward_pending(home, conn)
        """) for _ in range(3)]
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    now = _veil(env, "audit", "forward", "--now")
    assert now.returncode == 0, now.stderr
    assert "up to 46 of 46" in now.stdout
    assert seqs(collector.wait_for(46)) == list(range(1, 47))
    status = _veil(env, "audit", "forward")
    assert status.returncode == 0 and f"tcp://127.0.0.1:{collector.port}" in status.stdout
    assert "up to event 46 of 46 (0 waiting)" in status.stdout


def test_the_command_line_says_what_is_wrong(tmp_path: Path) -> None:
    env = _env(tmp_path)
    bad = _veil(env, "audit", "forward", "--to", "nohost")
    assert bad.returncode == 2 and "HOST:PORT" in bad.stderr
    tls = _veil(env, "audit", "forward", "--to", "127.0.0.1:6514", "--tls")
    assert tls.returncode == 1 and "--ca" in tls.stderr
    port = free_port()
    assert _veil(env, "audit", "forward", "--to", f"127.0.0.1:{port}").returncode == 0
    down = _veil(env, "audit", "forward", "--now")
    assert down.returncode == 1 and "cannot be reached" in down.stderr and "1 still waiting" in down.stderr
    status = _veil(env, "audit", "forward", "--status")
    assert "last error" in status.stdout and "(1 waiting)" in status.stdout
    off = _veil(env, "audit", "forward", "--off")
    assert off.returncode == 0 and "off" in off.stdout
    assert "Audit forwarding: off" in _veil(env, "audit", "forward").stdout


# -- TLS (RFC 5425) with rsyslog's gtls driver ---------------------------------------------------
def _pki(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate (PEM files)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC) - timedelta(days=1)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def cert(subject: str, key, issuer_key, issuer: str, ca: bool, usage=None, san=None):  # noqa: ANN001, ANN202
        builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                            critical=True)
        if usage:
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def write(path: Path, key=None, certificate=None) -> Path:  # noqa: ANN001
        if key is not None:
            path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        else:
            path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return path

    ca_key, server_key, client_key, rogue_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(4))
    ca = cert("Veil test CA", ca_key, ca_key, "Veil test CA", True)
    rogue = cert("Someone else's CA", rogue_key, rogue_key, "Someone else's CA", True)
    server = cert("localhost", server_key, ca_key, "Veil test CA", False, ExtendedKeyUsageOID.SERVER_AUTH,
                  [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client = cert("veil-workstation", client_key, ca_key, "Veil test CA", False, ExtendedKeyUsageOID.CLIENT_AUTH)
    return {"ca": write(folder / "ca.pem", certificate=ca), "rogue": write(folder / "rogue.pem", certificate=rogue),
            "cert": write(folder / "server.pem", certificate=server), "key": write(folder / "server.key", server_key),
            "client_cert": write(folder / "client.pem", certificate=client),
            "client_key": write(folder / "client.key", client_key)}


@needs_rsyslog
@pytest.mark.parametrize("client_cert", [False, True], ids=["server-auth", "mutual"])
def test_tls_to_rsyslog_verifies_the_collector(veil_home: Path, tmp_path: Path, client_cert: bool) -> None:
    pki = _pki(tmp_path / "pki")
    server = Rsyslog(tmp_path / "tls", free_port(), tls={**pki, "client": client_cert})
    try:
        server.start()
        home = VeilHome.open(veil_home)
        client = {"cert_file": pki["client_cert"], "key_file": pki["client_key"]} if client_cert else {}
        # A CA that did not sign the collector's certificate: refused, nothing sent, position kept.
        configure(home, Destination("127.0.0.1", server.port, "tls", pki["rogue"], **client))
        refused = forward_pending(home, force=True)
        assert refused.state == "failed" and refused.position == 0 and "TLS" in refused.error
        if client_cert:  # the collector asks for a client certificate: without one, refused
            configure(home, Destination("127.0.0.1", server.port, "tls", pki["ca"]))
            anonymous = forward_pending(home, force=True)
            assert anonymous.state == "failed" and anonymous.position == 0
        configure(home, Destination("127.0.0.1", server.port, "tls", pki["ca"], **client))
        record_some(home, 3)
        result = forward_pending(home, force=True)
        head = 6 if client_cert else 5
        assert (result.state, result.position, result.head) == ("done", head, head), result.error
        assert seqs(server.wait_for(head)) == list(range(1, head + 1))
    finally:
        server.stop()
