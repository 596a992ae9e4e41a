"""A real Orthanc for the network tests: started on loopback ports chosen at run time, with a
throw-away configuration and storage, loaded through its REST API, stopped and removed at the
end, pass or fail. The Debian ``orthanc`` package provides it (scripts/run-tests installs it);
without it the tests that need it skip, saying so."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ORTHANC = shutil.which("Orthanc")
SKIP_REASON = "Orthanc is not installed (Debian package orthanc; scripts/run-tests installs it as root)"
START_TIMEOUT_S = 60
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
DICOMWEB_SKIP = "Orthanc's DICOMweb plugin is not installed (Debian package orthanc-dicomweb)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Orthanc:
    folder: Path
    aet: str
    dicom_port: int
    http_port: int
    process: subprocess.Popen
    user: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb(self) -> str:
        """The DICOMweb root (QIDO-RS, WADO-RS, STOW-RS) when started with ``dicomweb``."""
        return self.url + "/dicom-web"

    def rest(self, method: str, path: str, data: bytes | None = None) -> object:
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if self.user:
            token = base64.b64encode(":".join(self.user).encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            body = response.read()
        return json.loads(body) if body else None

    def raw(self, path: str) -> bytes:
        """The bytes of a REST resource (e.g. ``/instances/{id}/file``)."""
        request = urllib.request.Request(self.url + path)
        if self.user:
            token = base64.b64encode(":".join(self.user).encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            return bytes(response.read())

    def stored(self) -> list[bytes]:
        """Every instance Orthanc holds, as the file it stored."""
        ids = self.rest("GET", "/instances")
        assert isinstance(ids, list)
        return [self.raw(f"/instances/{instance}/file") for instance in ids]

    def upload(self, path: Path) -> str:
        """Store one DICOM file; its Orthanc instance id."""
        answer = self.rest("POST", "/instances", Path(path).read_bytes())
        assert isinstance(answer, dict), answer
        return str(answer["ID"])


@contextmanager
def running_orthanc(folder: Path, modalities: dict[str, tuple[str, int]] | None = None,
                    aet: str = "ORTHANC", tls: dict[str, object] | None = None, dicomweb: bool = False,
                    user: tuple[str, str] | None = None, extra: dict[str, object] | None = None) -> Iterator[Orthanc]:
    """Orthanc on 127.0.0.1; ``modalities`` are the peers it knows (name -> (AE title, port));
    ``tls``: its DICOM TLS options (DicomTlsCertificate, DicomTlsPrivateKey, ...); ``dicomweb``:
    with its DICOMweb plugin at ``/dicom-web``; ``user``: HTTP basic authentication required;
    ``extra``: more configuration (e.g. ``AcceptedTransferSyntaxes``)."""
    assert ORTHANC is not None, SKIP_REASON
    folder.mkdir(parents=True, exist_ok=True)
    http_port, dicom_port = free_port(), free_port()
    config = {
        "Name": "VeilTests", "StorageDirectory": str(folder / "storage"), "IndexDirectory": str(folder / "index"),
        "HttpPort": http_port, "DicomPort": dicom_port, "DicomAet": aet, "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False, "HttpServerEnabled": True, "DicomServerEnabled": True,
        "DicomCheckCalledAet": True, "DicomCheckModalityHost": False, "Plugins": [],
        "DicomModalities": {name: [ae, "127.0.0.1", port] for name, (ae, port) in (modalities or {}).items()},
        "StableAge": 1, "ConcurrentJobs": 2, "HttpTimeout": 30,
    }
    if tls:
        config.update({"DicomTlsEnabled": True, **tls})
    if dicomweb:
        assert DICOMWEB_PLUGIN.exists(), DICOMWEB_SKIP
        config.update({"Plugins": [str(DICOMWEB_PLUGIN)], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}})
    config.update(extra or {})
    if user:
        config.update({"AuthenticationEnabled": True, "RegisteredUsers": {user[0]: user[1]}})
    (folder / "orthanc.json").write_text(json.dumps(config))
    log = open(folder / "orthanc.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen([ORTHANC, str(folder / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    server = Orthanc(folder, aet, dicom_port, http_port, process, user)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                server.rest("GET", "/system")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    said = (folder / "orthanc.log").read_text()[-3000:]
                    raise RuntimeError("Orthanc did not start:\n" + said) from None
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
