"""STOW-RS speed: a CT study sent de-identified to a local Orthanc's DICOMweb plugin by Veil
(:func:`desktop.app.network.sending.send_studies`: the privacy gate, sealed staging, STOW-RS in
batches of 16 with up to three requests in flight), beside the same send with one request at a
time (Veil before it posted in parallel) and beside the floor: ``veil deid`` of the study to a
plain folder followed by a plain STOW-RS client (``requests``, one multipart POST per 16 files,
one after the other), in the same run. Each send goes to a fresh Orthanc.

Data (generated in a temp folder, never in the repo): images of a CT series made from pydicom's
``CT_small.dcm`` (128 x 128, 16-bit).

    .venv/bin/python benchmarks/stow_bench.py [--images 500] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

import pydicom  # noqa: E402
import requests  # noqa: E402

import desktop.core.network.web_store as web_store  # noqa: E402
from benchmarks.pacs_bench import check_sent  # noqa: E402
from benchmarks.synthetic import write_series  # noqa: E402
from desktop.app.deid.deidentifying import deidentify_studies  # noqa: E402
from desktop.app.library.home import VeilHome  # noqa: E402
from desktop.app.library.importing import import_paths  # noqa: E402
from desktop.app.network.nodes import save_node  # noqa: E402
from desktop.app.network.sending import send_studies  # noqa: E402
from desktop.core.deid.profiles import preset  # noqa: E402
from desktop.core.network.nodes import WebNode  # noqa: E402
from tests.conftest import pydicom_test_files, teaching  # noqa: E402
from tests.orthanc import DICOMWEB_PLUGIN, ORTHANC, running_orthanc  # noqa: E402


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _plain_stow(url: str, files: list[Path]) -> None:
    """The floor: files posted as they are, 16 per multipart request, one request at a time."""
    for start in range(0, len(files), web_store.BATCH):
        boundary = uuid.uuid4().hex
        body = b"".join(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + f.read_bytes() + b"\r\n"
                        for f in files[start:start + web_store.BATCH]) + f"--{boundary}--\r\n".encode()
        answer = requests.post(f"{url}/studies", data=body, timeout=120, headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json"})
        answer.raise_for_status()


def _veil_send(home: VeilHome, study: str, url: str, at_once: int) -> None:
    save_node(home, WebNode("Web PACS", url), replace=True)
    web_store.REQUESTS = at_once
    check_sent(send_studies(home, "Web PACS", [study], teaching(home), preset("teaching")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if ORTHANC is None or not DICOMWEB_PLUGIN.exists():
        print("needs Orthanc and its DICOMweb plugin (scripts/run-tests installs them)")
        return 1
    root = Path(tempfile.mkdtemp(prefix="veil-stow-bench-"))
    (root / "pass").write_text("stow bench passphrase\n")
    os.environ["VEIL_PASSPHRASE_FILE"] = str(root / "pass")
    default = web_store.REQUESTS
    times: dict[str, list[float]] = {f"veil send, {default} requests in flight": [],
                                     "veil send, 1 request at a time": [], "veil deid to folder": [],
                                     "plain STOW-RS of that folder": []}
    try:
        paths = write_series(pydicom_test_files() / "CT_small.dcm", root / "ct", args.images, "Bench^Patient",
                             "BENCH-1")
        study = str(pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID)
        home = VeilHome.open(root / "home")
        import_paths(home, [root / "ct"])
        for n in range(args.repeat):
            for at_once, name in ((default, f"veil send, {default} requests in flight"),
                                  (1, "veil send, 1 request at a time")):
                with running_orthanc(root / f"orthanc-{at_once}-{n}", dicomweb=True) as pacs:
                    times[name].append(_timed(lambda p=pacs, a=at_once: _veil_send(home, study, p.dicomweb, a)))
            out = root / f"deid-{n}"
            times["veil deid to folder"].append(_timed(lambda o=out: deidentify_studies(
                home, preset("teaching"), [study], o, purpose=teaching(home))))
            with running_orthanc(root / f"orthanc-plain-{n}", dicomweb=True) as pacs:
                files = sorted(p for p in out.rglob("*") if p.is_file() and p.suffix.lower() == ".dcm")
                times["plain STOW-RS of that folder"].append(_timed(lambda p=pacs, f=files: _plain_stow(p.dicomweb,
                                                                                                          f)))
        web_store.REQUESTS = default
        size = sum(p.stat().st_size for p in paths)
        print(f"{args.images} CT images ({size / 1e6:.1f} MB) to a local Orthanc by STOW-RS, best of {args.repeat}:")
        best = {k: min(v) for k, v in times.items()}
        for name, seconds in best.items():
            print(f"  {name:40s} {seconds:6.2f} s  (median {statistics.median(times[name]):.2f} s)")
        parallel, serial = best[f"veil send, {default} requests in flight"], best["veil send, 1 request at a time"]
        print(f"  ratio parallel/one at a time: {parallel / serial:.2f}")
        print(f"  ratio send veil/(deid to folder + plain STOW-RS): "
              f"{parallel / (best['veil deid to folder'] + best['plain STOW-RS of that folder']):.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
