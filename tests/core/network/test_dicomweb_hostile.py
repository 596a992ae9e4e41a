"""DICOMweb against servers that misbehave (a small HTTP server in the test): a bearer token
sent and a wrong one refused, an answer that is not DICOM JSON, a server that ignores the match
limit, a WADO-RS part that is not DICOM, a server that never answers: each a NodeError that
says what happened, never a crash or a hang."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from desktop.core.network import dicomweb
from desktop.core.network.nodes import NodeError, WebNode
from desktop.core.network.query import MAX_MATCHES, StudyQuery
from desktop.core.network.retrieve import What

TOKEN = "bearer-token-123"  # noqa: S105 - the fake server's token


def _study(n: int) -> dict:
    return {"0020000D": {"vr": "UI", "Value": [f"1.2.3.{n}"]}, "00100020": {"vr": "LO", "Value": [f"ID{n}"]}}


@contextmanager
def serving(answer: Callable[[BaseHTTPRequestHandler], tuple[int, str, bytes]]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            status, kind, body = answer(self)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
    finally:
        server.shutdown()
        server.server_close()


def test_a_bearer_token_is_sent_and_a_wrong_one_refused() -> None:
    def answer(request: BaseHTTPRequestHandler) -> tuple[int, str, bytes]:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, "text/plain", b"no"
        return 200, "application/dicom+json", json.dumps([_study(1)]).encode()

    with serving(answer) as url:
        node = WebNode("Token server", url, "bearer")
        dicomweb.ping(node, TOKEN)
        assert [m.patient_id for m in dicomweb.find_studies(node, StudyQuery(), TOKEN).matches] == ["ID1"]
        with pytest.raises(NodeError, match="refused the sign-in"):
            dicomweb.ping(node, "wrong")
        with pytest.raises(NodeError, match="needs a token"):
            dicomweb.ping(node, "")


def test_an_answer_that_is_not_dicom_json_is_said() -> None:
    with serving(lambda _r: (200, "application/dicom+json", b"<html>login page</html>")) as url:
        with pytest.raises(NodeError, match="did not answer as a DICOMweb server"):
            dicomweb.find_studies(WebNode("Portal", url), StudyQuery())
    with serving(lambda _r: (200, "application/dicom+json", b'{"not": "a list"}')) as url:
        with pytest.raises(NodeError, match="did not answer as a DICOMweb server"):
            dicomweb.find_studies(WebNode("Portal", url), StudyQuery())


def test_a_server_that_ignores_the_limit_is_cut_at_it() -> None:
    many = json.dumps([_study(n) for n in range(MAX_MATCHES + 500)]).encode()
    with serving(lambda _r: (200, "application/dicom+json", many)) as url:
        found = dicomweb.find_studies(WebNode("Flood", url), StudyQuery())
    assert found.cut and len(found.matches) == MAX_MATCHES


def test_a_wado_part_that_is_not_dicom_is_refused() -> None:
    def answer(request: BaseHTTPRequestHandler) -> tuple[int, str, bytes]:
        if "/instances" in request.path and "?" in request.path:  # the QIDO-RS count
            return 200, "application/dicom+json", json.dumps([{"00080018": {"vr": "UI", "Value": ["1.2"]}}]).encode()
        body = b"--XX\r\nContent-Type: application/dicom\r\n\r\nnot a dicom file at all\r\n--XX--\r\n"
        return 200, 'multipart/related; type="application/dicom"; boundary=XX', body

    kept: list[bytes] = []
    with serving(answer) as url:
        with pytest.raises(NodeError, match="did not answer as a DICOMweb server|could not be reached"):
            dicomweb.wado(WebNode("Broken", url), What("1.2.3"), lambda _n, data: kept.append(data))
    assert kept == []


def test_a_server_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dicomweb, "TIMEOUT_S", 1.0)

    def answer(_request: BaseHTTPRequestHandler) -> tuple[int, str, bytes]:
        time.sleep(3)
        return 200, "application/dicom+json", b"[]"

    with serving(answer) as url:
        started = time.monotonic()
        with pytest.raises(NodeError, match="did not answer"):
            dicomweb.ping(WebNode("Silent", url))
        assert time.monotonic() - started < 3
