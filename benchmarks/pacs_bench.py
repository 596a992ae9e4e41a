"""PACS speed (issue 18, point 4): a 500-image CT study retrieved from a local Orthanc into
Veil's encrypted library, beside dcmtk doing the same transfer into a plain folder; then sent
back de-identified, beside de-identifying to a folder plus dcmtk's ``storescu``; in the same run.

Data (generated in a temp folder, never in the repo): 500 images of a CT series made from
pydicom's ``CT_small.dcm`` (128 x 128, 16-bit), uploaded into a throw-away Orthanc on loopback.

Veil: :func:`desktop.app.network.retrieving.retrieve` by C-GET and by C-MOVE (its storage SCP):
each object staged sealed, then indexed as one import, audited.
dcmtk: ``getscu`` (C-GET into a folder) and ``movescu`` with ``storescp`` (C-MOVE), writing plain
files (no encryption, no index): the floor of the same transfer.

Send: :func:`desktop.app.network.sending.send_studies` (the privacy gate: consent, burned-in
review, de-identification into sealed staging, C-STORE, the disclosure recorded) beside
``veil deid --study`` into a plain folder (the same gate and profile) followed by ``storescu``
of that folder; the target: the send no slower than the two together.

    .venv/bin/python benchmarks/pacs_bench.py [--images 500] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

import pydicom  # noqa: E402

from benchmarks.synthetic import write_series  # noqa: E402
from desktop.app.deid.deidentifying import deidentify_studies  # noqa: E402
from desktop.app.library.home import VeilHome  # noqa: E402
from desktop.app.network.listening import set_listen_settings  # noqa: E402
from desktop.app.network.nodes import save_node  # noqa: E402
from desktop.app.network.retrieving import retrieve  # noqa: E402
from desktop.app.network.sending import send_studies  # noqa: E402
from desktop.core.deid.profiles import preset  # noqa: E402
from desktop.core.network.nodes import DicomNode  # noqa: E402
from desktop.core.network.retrieve import What  # noqa: E402
from tests.conftest import pydicom_test_files, teaching  # noqa: E402
from tests.orthanc import free_port, running_orthanc  # noqa: E402


def _timed(work) -> float:  # noqa: ANN001
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _send_half(root: Path, n: int, pacs, study: str, times: dict[str, list[float]]) -> None:  # noqa: ANN001
    """Send the retrieved study back de-identified (Veil), and de-identify it to a folder then
    ``storescu`` it (the floor), timed apart."""
    home = VeilHome.open(root / f"home-get-{n}")
    purpose = teaching(home)
    times["veil send"].append(_timed(lambda: check_sent(send_studies(home, "PACS", [study], purpose,
                                                                     preset("teaching")))))
    out = root / f"deid-{n}"
    times["veil deid to folder"].append(_timed(lambda: deidentify_studies(
        home, preset("teaching"), [study], out, purpose=purpose)))
    times["dcmtk storescu"].append(_timed(lambda: subprocess.run(
        ["storescu", "-aet", "DCMTK", "-aec", pacs.aet, "+sd", "+r", "127.0.0.1", str(pacs.dicom_port), str(out)],
        check=True, capture_output=True)))


def check_sent(report) -> None:  # noqa: ANN001 - a SendReport
    """Stop the benchmark when a send did not send everything (its time would mean nothing)."""
    if report.refused or report.failed or not report.sent:
        raise SystemExit(f"the send did not complete: {report.headline()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("Orthanc") or not shutil.which("getscu"):
        print("needs Orthanc and dcmtk (scripts/run-tests installs them)")
        return 1
    root = Path(tempfile.mkdtemp(prefix="veil-pacs-bench-"))
    (root / "pass").write_text("pacs bench passphrase\n")
    os.environ["VEIL_PASSPHRASE_FILE"] = str(root / "pass")
    veil_port, dcmtk_port = free_port(), free_port()
    try:
        with running_orthanc(root / "orthanc", {"veil": ("VEIL", veil_port), "dcmtk": ("DCMTK", dcmtk_port)}) as pacs:
            paths = write_series(pydicom_test_files() / "CT_small.dcm", root / "ct", args.images, "Bench^Patient",
                                 "BENCH-1")
            for path in paths:
                pacs.upload(path)
            study = str(pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID)
            size = sum(p.stat().st_size for p in paths)
            times: dict[str, list[float]] = {"veil C-GET": [], "veil C-MOVE": [], "dcmtk getscu": [],
                                             "dcmtk movescu+storescp": [], "veil send": [],
                                             "veil deid to folder": [], "dcmtk storescu": []}
            for n in range(args.repeat):
                for method in ("get", "move"):
                    home = VeilHome.open(root / f"home-{method}-{n}")
                    set_listen_settings(home, veil_port, allow_any=False)
                    save_node(home, DicomNode("PACS", pacs.aet, "127.0.0.1", pacs.dicom_port))
                    times[f"veil C-{method.upper()}"].append(_timed(
                        lambda h=home, m=method: retrieve(h, "PACS", What(study), method=m)))
                out = root / f"getscu-{n}"
                out.mkdir()
                times["dcmtk getscu"].append(_timed(lambda o=out: subprocess.run(
                    ["getscu", "-S", "-aet", "VEIL", "-aec", pacs.aet, "-od", str(o), "-k", "QueryRetrieveLevel=STUDY",
                     "-k", f"StudyInstanceUID={study}", "127.0.0.1", str(pacs.dicom_port)], check=True,
                    capture_output=True)))
                out = root / f"movescu-{n}"
                out.mkdir()
                scp = subprocess.Popen(["storescp", "-aet", "DCMTK", "-od", str(out), str(dcmtk_port)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
                try:
                    times["dcmtk movescu+storescp"].append(_timed(lambda: subprocess.run(
                        ["movescu", "-S", "-aet", "DCMTK", "-aem", "DCMTK", "-aec", pacs.aet, "-k",
                         "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}", "127.0.0.1",
                         str(pacs.dicom_port)], check=True, capture_output=True)))
                finally:
                    scp.terminate()
                    scp.wait()
                _send_half(root, n, pacs, study, times)
        print(f"{args.images} CT images ({size / 1e6:.1f} MB) from a local Orthanc, best of {args.repeat}:")
        best = {k: min(v) for k, v in times.items()}
        for name, seconds in best.items():
            print(f"  {name:24s} {seconds:6.2f} s  (median {statistics.median(times[name]):.2f} s)")
        print(f"  ratio C-GET  veil/dcmtk: {best['veil C-GET'] / best['dcmtk getscu']:.2f}")
        print(f"  ratio C-MOVE veil/dcmtk: {best['veil C-MOVE'] / best['dcmtk movescu+storescp']:.2f}")
        floor = best["veil deid to folder"] + best["dcmtk storescu"]
        print(f"  ratio send veil/(deid to folder + storescu): {best['veil send'] / floor:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
