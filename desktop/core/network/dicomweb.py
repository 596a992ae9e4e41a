"""DICOMweb (PS3.18): QIDO-RS search at study and series level (PS3.18 10.6), WADO-RS retrieve
of a study, series or instance (PS3.18 10.4) in the transfer syntax the server stored, and the
ping that tests a server (a one-match QIDO-RS search). Built on ``dicomweb-client`` over
``requests``; the password or token is given by the caller (the app reads it from the keyring
or the library's sealed store) and goes only into the Authorization header.

Every failure becomes a :class:`NodeError` that says plainly what happened: refused, unknown
host, timeout, a certificate that does not verify, a sign-in the server refused, an address
with no DICOMweb service behind it. STOW-RS, an exit, is in :mod:`.web_store`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import requests
from dicomweb_client.api import DICOMwebClient
from pydicom import dcmwrite
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from desktop.core.network.nodes import NodeError, WebNode
from desktop.core.network.query import MAX_MATCHES, Found, StudyQuery, series_found, studies_found
from desktop.core.network.retrieve import Keep, Progress, Retrieved, What

TIMEOUT_S = 15.0
#: The most instances one retrieve takes: a server that sends more is cut off.
MAX_INSTANCES = 100_000
#: Any transfer syntax the server holds the object in: stored as received (PS3.18 8.7.3.5.2).
AS_STORED = (("application/dicom", "*"),)
_STUDY_FIELDS = ("StudyInstanceUID", "PatientName", "PatientID", "PatientBirthDate", "StudyDate", "StudyTime",
                 "AccessionNumber", "StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedSeries",
                 "NumberOfStudyRelatedInstances")
_SERIES_FIELDS = ("SeriesInstanceUID", "SeriesNumber", "Modality", "SeriesDescription",
                  "NumberOfSeriesRelatedInstances")


def session_for(node: WebNode, secret: str = "") -> requests.Session:
    """An HTTP session that signs in to ``node`` (basic or bearer) and verifies its certificate
    (the system's CAs, or the node's own CA bundle)."""
    if node.needs_secret and not secret:
        raise NodeError(f"{node.name} needs a {'password' if node.auth == 'basic' else 'token'}; none is stored. "
                        "Edit the node and give it.")
    session = requests.Session()
    session.trust_env = False  # no proxy or .netrc credentials picked up from the environment
    if node.auth == "basic":
        session.auth = (node.username, secret)
    elif node.auth == "bearer":
        session.headers["Authorization"] = f"Bearer {secret}"
    if node.ca:
        session.verify = node.ca
    return session


def client_for(node: WebNode, secret: str = "", timeout: float | None = None) -> DICOMwebClient:
    """A client of ``node``, each request given ``timeout`` seconds (default :data:`TIMEOUT_S`)."""
    client = DICOMwebClient(node.url, session=session_for(node, secret), timeout=timeout or TIMEOUT_S)
    client.set_http_retry_params(retry=False)  # a refusal is said at once, not after minutes of back-off
    return client


@contextmanager
def speaking(node: WebNode, doing: str) -> Iterator[None]:
    """Turn what ``requests`` raises while ``doing`` into a NodeError a person understands."""
    try:
        yield
    except requests.exceptions.SSLError:
        raise NodeError(f"{node.name}: the TLS connection failed while {doing}: its certificate does not verify "
                        "(another CA, expired, or another host name). Give the node the CA that signed it.") from None
    except requests.exceptions.Timeout:
        raise NodeError(f"{node.name} did not answer while {doing} (no answer within the time limit).") from None
    except requests.exceptions.ConnectionError as exc:
        said = str(exc)
        if "refused" in said.lower():
            raise NodeError(f"{node.name} refused the connection ({node.url}): no DICOMweb server listens there."
                            ) from None
        if "resolve" in said.lower() or "name or service" in said.lower() or "getaddrinfo" in said.lower():
            raise NodeError(f"{node.name}: the host of {node.url} is unknown.") from None
        raise NodeError(f"{node.name} could not be reached while {doing}: the connection broke.") from None
    except requests.exceptions.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if status == 401:
            raise NodeError(f"{node.name} refused the sign-in (HTTP 401): check the user name and password "
                            "or token.") from None
        if status == 403:
            raise NodeError(f"{node.name} signed Veil in but forbids this (HTTP 403) while {doing}.") from None
        if status == 404:
            raise NodeError(f"{node.name} has no DICOMweb service at {node.url} or not the object asked for "
                            "(HTTP 404); check the address (often it ends in /dicom-web or /dicomweb).") from None
        raise NodeError(f"{node.name} answered HTTP {status} while {doing}.") from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, EOFError, InvalidDicomError) as exc:
        raise NodeError(f"{node.name} did not answer as a DICOMweb server while {doing} "
                        f"({type(exc).__name__}).") from None


def qido(node: WebNode, secret: str, path: str, params: dict[str, str | int],
         fields: Sequence[str] = ()) -> list[dict[str, Any]]:
    """A QIDO-RS search (PS3.18 10.6) of ``path`` (``studies``, ``studies/UID/series``...).
    The matching values keep ``*`` and ``?`` as they are (PS3.18 8.3.4.1: wildcards), which a
    server may not decode when percent-encoded."""
    pairs = [(key, str(value)) for key, value in params.items()] + [("includefield", f) for f in fields]
    query = "&".join(f"{quote(key, safe='')}={quote(value, safe='*?,-.')}" for key, value in pairs)
    response = session_for(node, secret).get(f"{node.url}/{path}?{query}", timeout=TIMEOUT_S,
                                             headers={"Accept": "application/dicom+json"})
    response.raise_for_status()
    if response.status_code == 204 or not response.content:
        return []
    answers = response.json()
    if not isinstance(answers, list):
        raise ValueError("not a list of matches")
    return answers


def _datasets(answers: list[dict[str, Any]]) -> list[Dataset]:
    """The matches as Datasets; a server that ignores the limit is cut at it (one more, to know)."""
    if not isinstance(answers, list):
        raise ValueError("not a list of matches")
    return [Dataset.from_json(answer) for answer in answers[:MAX_MATCHES + 1]]


def ping(node: WebNode, secret: str = "") -> None:
    """Ask ``node`` for one study (a QIDO-RS search): returns when it answered as DICOMweb."""
    with speaking(node, "searching"):
        qido(node, secret, "studies", {"limit": 1})


def _filters(query: StudyQuery) -> dict[str, str]:
    """PS3.18 8.3.4: the attribute matching of a QIDO-RS search, as C-FIND's (PS3.4 C.2.2.2)."""
    identifier = query.identifier()
    # The name's ^ as a wildcard: an unencoded ^ is not allowed in a URL (RFC 3986) and a server
    # may not decode %5E; the answers are then matched exactly here (:func:`_name_matches`).
    wanted = {"PatientName": str(identifier.PatientName).replace("^", "*"), "PatientID": identifier.PatientID,
              "AccessionNumber": identifier.AccessionNumber, "StudyDate": identifier.StudyDate,
              "ModalitiesInStudy": identifier.ModalitiesInStudy, "StudyDescription": identifier.StudyDescription}
    return {key: value for key, value in wanted.items() if value}


def find_studies(node: WebNode, query: StudyQuery, secret: str = "") -> Found:
    """The studies on ``node`` matching ``query`` (QIDO-RS), newest first, at most MAX_MATCHES."""
    with speaking(node, "searching"):
        answers = qido(node, secret, "studies", {**_filters(query), "limit": MAX_MATCHES + 1}, _STUDY_FIELDS)
        found = _datasets(answers)
    cut = len(found) > MAX_MATCHES
    if "^" in query.patient_name:
        found = [ds for ds in found if _name_matches(query.patient_name, str(ds.get("PatientName", "")))]
    return studies_found(found[:MAX_MATCHES], cut)


def _name_matches(pattern: str, name: str) -> bool:
    """PS3.4 C.2.2.2.4: ``*`` any run, ``?`` one character; case-insensitive as Veil's C-FIND."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, re.IGNORECASE | re.DOTALL) is not None


def find_series(node: WebNode, study_uid: str, secret: str = "") -> Found:
    """The series of one study on ``node`` (QIDO-RS), by series number."""
    with speaking(node, "searching the study's series"):
        answers = qido(node, secret, f"studies/{quote(study_uid, safe='')}/series", {"limit": MAX_MATCHES + 1},
                       _SERIES_FIELDS)
        found = _datasets(answers)
    return series_found(found[:MAX_MATCHES], len(found) > MAX_MATCHES)


def count_instances(node: WebNode, what: What, secret: str = "") -> int:
    """How many instances ``what`` holds on the node (QIDO-RS), for the progress bar."""
    if what.sop_uid:
        return 1
    path = f"studies/{quote(what.study_uid, safe='')}" + (
        f"/series/{quote(what.series_uid, safe='')}" if what.series_uid else "")
    with speaking(node, "counting the images"):
        return len(qido(node, secret, f"{path}/instances", {"limit": MAX_INSTANCES}, ("SOPInstanceUID",)))


def part10_bytes(ds: Dataset) -> bytes:
    """``ds`` as a DICOM file (PS3.10), in the transfer syntax it came in."""
    out = io.BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def wado(node: WebNode, what: What, keep: Keep, progress: Progress = lambda _d, _t: None,
         cancelled: Callable[[], bool] = lambda: False, secret: str = "") -> Retrieved:
    """Retrieve ``what`` (WADO-RS), each instance handed to ``keep`` as it arrives, as stored on
    the server. Cancelling closes the stream; the result says it was cancelled."""
    total = count_instances(node, what, secret)
    if total == 0:
        raise NodeError(f"{node.name} holds no image of that {what.level.lower()}.")
    result = Retrieved()
    client = client_for(node, secret, timeout=max(TIMEOUT_S, 60.0))
    with speaking(node, "retrieving"):
        if what.sop_uid:
            instances: Iterator[Dataset] = iter([client.retrieve_instance(
                what.study_uid, what.series_uid, what.sop_uid, media_types=AS_STORED)])
        elif what.series_uid:
            instances = client.iter_series(what.study_uid, what.series_uid, media_types=AS_STORED)
        else:
            instances = client.iter_study(what.study_uid, media_types=AS_STORED)
        progress(0, total)
        for ds in instances:
            if cancelled():
                result.cancelled = True
                close = getattr(instances, "close", None)
                if close is not None:
                    close()
                break
            if result.received >= MAX_INSTANCES:
                raise NodeError(f"{node.name} sent more than {MAX_INSTANCES} images for one retrieve; Veil stopped "
                                "and kept nothing of it.")
            keep(f"{ds.get('SOPInstanceUID', result.received + 1)}.dcm", part10_bytes(ds))
            result.received += 1
            progress(result.received, max(total, result.received))
    if not result.cancelled and result.received < total:
        raise NodeError(f"{node.name} sent {result.received} of the {total} images it lists; the retrieve is "
                        "incomplete and nothing of it was kept.")
    return result
