"""``veil nodes`` and ``veil query`` against a real Orthanc: add, list, echo, query (with
series), remove; a node that refuses is said plainly; nothing a query asked for is audited."""

from __future__ import annotations

import pydicom
import pytest

from benchmarks.synthetic import write_series
from tests.conftest import pydicom_test_files
from tests.orthanc import ORTHANC, SKIP_REASON, free_port, running_orthanc

pytestmark = pytest.mark.skipif(ORTHANC is None, reason=SKIP_REASON)


def test_nodes_and_query_from_the_command_line(tmp_path, veil_cli):  # noqa: ANN001
    with running_orthanc(tmp_path / "orthanc", {"veil": ("VEIL", free_port())}) as orthanc:
        paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "ct", 2, "Quisenberry^Marguerite",
                             "QX4471902")
        for path in paths:
            orthanc.upload(path)
        study_uid = pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID
        added = veil_cli("nodes", "add", "PACS", "--aet", orthanc.aet, "--host", "127.0.0.1", "--port",
                         str(orthanc.dicom_port))
        assert added.returncode == 0 and "Added PACS: ORTHANC@127.0.0.1:" in added.stdout, added.stderr
        again = veil_cli("nodes", "add", "pacs", "--aet", "X", "--host", "h", "--port", "104")
        assert again.returncode == 1 and "exists already" in again.stderr
        bad = veil_cli("nodes", "add", "Bad", "--aet", "A" * 17, "--host", "h", "--port", "104")
        assert bad.returncode == 1 and "at most 16" in bad.stderr
        assert "PACS\tORTHANC@127.0.0.1" in veil_cli("nodes", "list").stdout
        echoed = veil_cli("nodes", "echo", "PACS")
        assert echoed.returncode == 0 and "PACS answered" in echoed.stdout, echoed.stderr
        found = veil_cli("query", "PACS", "--patient-id", "QX4471902", "--series")
        assert found.returncode == 0, found.stderr
        assert found.stdout.startswith(study_uid + "\tQuisenberry, Marguerite\tQX4471902")
        assert "\tCT\t" in found.stdout and found.stdout.rstrip().endswith("1 study.")
        got = veil_cli("retrieve", "PACS", "--study", study_uid)
        assert got.returncode == 0 and "Retrieved 2 object(s) from PACS: 2 new" in got.stdout, got.stderr
        assert "Quisenberry" in veil_cli("ls").stdout
        none = veil_cli("query", "PACS", "--patient-name", "NOBODY*")
        assert none.returncode == 0 and none.stdout.strip() == "0 studies."
        wrong_day = veil_cli("query", "PACS", "--from", "2024-13-45")
        assert wrong_day.returncode == 1 and "is not a date" in wrong_day.stderr
        assert veil_cli("nodes", "add", "Closed", "--aet", "X", "--host", "127.0.0.1", "--port",
                        str(free_port())).returncode == 0
        refused = veil_cli("nodes", "echo", "Closed")
        assert refused.returncode == 1 and "refused the connection" in refused.stderr
        assert veil_cli("nodes", "remove", "Closed").returncode == 0
        assert "Closed" not in veil_cli("nodes", "list").stdout
        unknown = veil_cli("nodes", "echo", "Closed")
        assert unknown.returncode == 1 and "No node is called 'Closed'. Known nodes: PACS." in unknown.stderr
    audit = (tmp_path / "home" / "audit.log").read_text()
    assert '"action": "network.query"' in audit or "network.query" in audit
    assert "QX4471902" not in audit and "Quisenberry" not in audit and "NOBODY" not in audit


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])  # Ctrl+C; systemd's stop or kill
def test_veil_listen_receives_until_ctrl_c(tmp_path, veil_cli, stop):  # noqa: ANN001
    import json
    import signal
    import subprocess
    import sys
    from pathlib import Path

    scp_port = free_port()
    with running_orthanc(tmp_path / "orthanc", {"veil": ("VEIL", scp_port)}) as orthanc:
        paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "ct", 3, "Quisenberry^Marguerite",
                             "QX4471902")
        ids = [orthanc.upload(path) for path in paths]
        assert veil_cli("nodes", "add", "PACS", "--aet", orthanc.aet, "--host", "127.0.0.1", "--port",
                        str(orthanc.dicom_port)).returncode == 0
        listener = subprocess.Popen([sys.executable, "-m", "desktop", "listen", "--port", str(scp_port)],
                                    env=veil_cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    cwd=Path(__file__).resolve().parents[2])
        try:
            first = listener.stdout.readline()
            assert first.startswith(f"Listening as VEIL on port {scp_port} for the configured nodes"), (
                first + listener.stderr.read() if listener.poll() is not None else first)
            orthanc.rest("POST", "/modalities/veil/store", json.dumps({"Resources": ids, "Synchronous": True}).encode())
            line = listener.stdout.readline()
            assert line.startswith("ORTHANC (127.0.0.1): 3 new image(s)"), line
        finally:
            listener.send_signal(getattr(signal, stop))
            out, err = listener.communicate(timeout=30)
        assert listener.returncode == 0 and "Stopped." in out, err
    assert "Quisenberry" in veil_cli("ls").stdout


def test_veil_send_de_identifies_through_the_gate(tmp_path, veil_cli):  # noqa: ANN001
    import urllib.request

    with running_orthanc(tmp_path / "orthanc", {"veil": ("VEIL", free_port())}) as orthanc:
        write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "ct", 2, "Quisenberry^Marguerite", "QX4471902")
        assert veil_cli("import", str(tmp_path / "ct")).returncode == 0
        assert veil_cli("nodes", "add", "Teaching PACS", "--aet", orthanc.aet, "--host", "127.0.0.1", "--port",
                        str(orthanc.dicom_port)).returncode == 0
        refused = veil_cli("send", "--to", "Teaching PACS", "--study", "1", "--purpose", "teaching")
        assert refused.returncode == 1 and "consent does not allow it" in refused.stdout
        assert veil_cli("consent", "add", "--site-wide", "--not-required", "Teaching file policy v3",
                        "--purpose", "teaching").returncode == 0
        sent = veil_cli("send", "--to", "Teaching PACS", "--study", "1", "--purpose", "teaching")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert sent.stdout.startswith("Sent 2 de-identified image(s) to Teaching PACS.")
        care = veil_cli("send", "--to", "Teaching PACS", "--study", "1", "--purpose", "care", "--recipient", "Dr B")
        assert care.returncode == 1 and "care" in care.stderr
        stored = orthanc.rest("GET", "/instances")
        assert len(stored) == 2
        for instance in stored:
            with urllib.request.urlopen(f"{orthanc.url}/instances/{instance}/file", timeout=30) as response:  # noqa: S310
                data = response.read()
            assert b"Quisenberry" not in data and b"QX4471902" not in data and b"4471902" not in data


def test_a_dicomweb_server_from_the_command_line(tmp_path, veil_cli):  # noqa: ANN001
    import subprocess
    import sys

    from tests.orthanc import DICOMWEB_PLUGIN, DICOMWEB_SKIP

    if not DICOMWEB_PLUGIN.exists():
        pytest.skip(DICOMWEB_SKIP)
    password = "cli-Secret-77"  # noqa: S105 - the test server's password
    with running_orthanc(tmp_path / "orthanc", dicomweb=True, user=("veil", password)) as orthanc:
        paths = write_series(pydicom_test_files() / "CT_small.dcm", tmp_path / "ct", 3, "Quisenberry^Marguerite",
                             "QX4471902")
        for path in paths:
            ds = pydicom.dcmread(path)
            ds.AccessionNumber = "ACC-77"
            ds.save_as(path)
            orthanc.upload(path)
        study_uid = pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID
        add = ["nodes", "add", "Web", "--dicomweb", orthanc.dicomweb, "--auth", "basic", "--user", "veil"]
        no_secret = veil_cli(*add)
        assert no_secret.returncode == 1 and "--secret-stdin" in no_secret.stderr
        added = subprocess.run([sys.executable, "-m", "desktop", *add, "--secret-stdin"], input=password + "\n",
                               env=veil_cli.env, capture_output=True, text=True, timeout=120)
        assert added.returncode == 0 and f"Added Web: DICOMweb {orthanc.dicomweb} (basic: veil)" in added.stdout, \
            added.stderr
        mixed = veil_cli("nodes", "add", "Mixed", "--dicomweb", orthanc.dicomweb, "--aet", "X")
        assert mixed.returncode == 1 and "not an AE title" in mixed.stderr
        echoed = veil_cli("nodes", "echo", "Web")
        assert echoed.returncode == 0 and "Web answered (QIDO-RS" in echoed.stdout, echoed.stderr
        (tmp_path / "accessions.txt").write_text("ACC-77\nACC-NONE\n")
        found = veil_cli("query", "Web", "--accession-file", str(tmp_path / "accessions.txt"))
        assert found.returncode == 0 and found.stdout.startswith(study_uid + "\tQuisenberry, Marguerite"), found.stderr
        got = veil_cli("retrieve", "Web", "--study", study_uid)
        assert got.returncode == 0 and "Retrieved 3 object(s) from Web: 3 new" in got.stdout, got.stderr
        wrong = veil_cli("retrieve", "Web", "--study", study_uid, "--method", "move")
        assert wrong.returncode == 1 and "DICOMweb server: retrieve by wado" in wrong.stderr
        for path in (tmp_path / "home").rglob("*"):
            if path.is_file():
                assert password.encode() not in path.read_bytes(), path


def _listen(veil_cli, *args: str):  # noqa: ANN001, ANN202 - the fixture; a Popen
    import subprocess
    import sys
    from pathlib import Path

    return subprocess.Popen([sys.executable, "-m", "desktop", "listen", *args], env=veil_cli.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])


def _stop(listener) -> str:  # noqa: ANN001 - a Popen
    import signal

    listener.send_signal(signal.SIGINT)
    out, err = listener.communicate(timeout=30)
    assert listener.returncode == 0 and "Stopped." in out, err
    return out


def test_veil_listen_over_tls_with_client_certificates(tmp_path, veil_cli):  # noqa: ANN001
    """--tls-certificate, --tls-key and --tls-ca are remembered like --port; the first line says
    how senders connect; a key that is not the certificate's is named; --no-tls goes back."""
    import ssl

    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

    from tests.tls_certs import make_certificates

    certificates = make_certificates(tmp_path / "tls")
    port = free_port()
    wrong = veil_cli("listen", "--tls-certificate", str(certificates.server_cert), "--tls-key",
                     str(certificates.client_key))
    assert wrong.returncode == 1 and f"Veil's TLS key ({certificates.client_key}) does not belong" in wrong.stderr
    listener = _listen(veil_cli, "--port", str(port), "--any", "--tls-certificate", str(certificates.server_cert),
                       "--tls-key", str(certificates.server_key), "--tls-ca", str(certificates.ca))
    try:
        first = listener.stdout.readline()
        assert first == (f"Listening as VEIL on port {port} for any sender, over TLS, client certificates from "
                         f"{certificates.ca} required; Ctrl+C stops.\n"), first + (
            listener.stderr.read() if listener.poll() is not None else "")
        client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(certificates.ca))
        client.load_cert_chain(str(certificates.client_cert), str(certificates.client_key))
        ae = AE(ae_title="SENDER")
        ae.add_requested_context(CTImageStorage)
        assoc = ae.associate("127.0.0.1", port, ae_title="VEIL", tls_args=(client, "localhost"))
        assert assoc.is_established
        assert assoc.send_c_store(pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")).Status == 0x0000
        assoc.release()
        assert listener.stdout.readline().startswith("SENDER (127.0.0.1): 1 new image(s)")
    finally:
        _stop(listener)
    remembered = _listen(veil_cli)
    try:
        assert "over TLS, client certificates from" in remembered.stdout.readline()
    finally:
        _stop(remembered)
    # A renewed certificate keeps mutual TLS: the senders' CA is forgotten only when asked.
    renewed = _listen(veil_cli, "--tls-certificate", str(certificates.server_cert), "--tls-key",
                      str(certificates.server_key))
    try:
        assert f"over TLS, client certificates from {certificates.ca} required" in renewed.stdout.readline()
    finally:
        _stop(renewed)
    anyone = _listen(veil_cli, "--no-tls-ca")
    try:
        assert anyone.stdout.readline().endswith("for any sender, over TLS; Ctrl+C stops.\n")
    finally:
        _stop(anyone)
    plain = _listen(veil_cli, "--no-tls")
    try:
        assert plain.stdout.readline() == (f"Listening as VEIL on port {port} for any sender, plain TCP, not "
                                           "encrypted; Ctrl+C stops.\n")
    finally:
        _stop(plain)


@pytest.mark.parametrize("argv", [
    ["listen", "--tls-certificate", "certs/veil.pem", "--tls-key", "certs/veil.key", "--tls-ca", "certs/ca.pem"],
    ["nodes", "add", "PACS", "--aet", "PACS", "--host", "pacs", "--port", "104", "--tls-ca", "certs/ca.pem",
     "--tls-cert", "certs/veil.pem", "--tls-key", "certs/veil.key"],
])
def test_tls_files_given_relative_are_remembered_as_absolute_paths(tmp_path, monkeypatch, argv):  # noqa: ANN001
    """A file named relative to the folder `veil` ran in is kept as an absolute path: the next
    `veil listen`, or the app started from the menu, runs in another folder."""
    from desktop.cli.main import build_parser

    monkeypatch.chdir(tmp_path)
    args = vars(build_parser().parse_args(argv))
    files = {k: v for k, v in args.items() if k.startswith(("tls_", "ca")) and isinstance(v, str)}
    assert len(files) == 3 and all(v == str(tmp_path / "certs" / v.rsplit("/", 1)[-1]) for v in files.values()), files


def test_veil_listen_saves_nothing_when_one_setting_is_wrong(tmp_path, veil_cli, monkeypatch):  # noqa: ANN001
    """A bad TLS key with a new port: neither is kept (the port is not half-changed); a bad port
    with good TLS files: neither either."""
    from tests.tls_certs import make_certificates

    certificates = make_certificates(tmp_path / "tls")
    bad = veil_cli("listen", "--port", "11200", "--tls-certificate", str(certificates.server_cert), "--tls-key",
                   str(certificates.client_key))
    assert bad.returncode == 1 and "does not belong" in bad.stderr
    out_of_range = veil_cli("listen", "--port", "70000", "--tls-certificate", str(certificates.server_cert),
                            "--tls-key", str(certificates.server_key))
    assert out_of_range.returncode == 1 and "1 to 65535" in out_of_range.stderr
    from desktop.app.library.home import VeilHome
    from desktop.app.network.listening import DEFAULT_PORT, listen_settings

    monkeypatch.setenv("VEIL_PASSPHRASE_FILE", veil_cli.env["VEIL_PASSPHRASE_FILE"])  # type: ignore[attr-defined]
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    settings = listen_settings(VeilHome.open(veil_cli.env["VEIL_HOME"]))  # type: ignore[attr-defined]
    assert settings.port == DEFAULT_PORT and settings.tls is None
