"""De-identification before and after a change, in the same run (issue 13, point 4).

The privacy gate added a burned-in review (headers, then OCR of the first, middle and last
image of each series) to every export. This times ``deidentify_paths`` and ``veil deid`` at a
base commit (checked out in a git worktree) and at the working tree, alternating, on the same
1000 MR files (``MR-SIEMENS-DICOM-WithOverlays.dcm`` of pydicom-data, 4 patients), with
dicognito's API loop and ``python -m dicognito`` in the same rounds; the medians and the ratios
to dicognito are printed. Each method runs in a fresh interpreter; the homes use a passphrase
(its KDF is in the CLI rows, as for a user).

    .venv/bin/python benchmarks/deid_ab.py --base 39eb2ae --repeat 5
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r'''
import sys, time, json
sys.path.insert(0, sys.argv[1])
import os, keyring
from keyring.backends import fail
keyring.set_keyring(fail.Keyring())
os.environ['VEIL_PASSPHRASE_FILE'] = sys.argv[5]
from pathlib import Path
from desktop.app.library.home import VeilHome
from desktop.app.deid.deidentifying import deidentify_paths
from desktop.core.deid.profiles import preset
from tests.conftest import teaching
import inspect
home = VeilHome.open(Path(sys.argv[2]))
purpose = teaching(home)
kw = {"confirm_burned_in": True} if "confirm_burned_in" in inspect.signature(deidentify_paths).parameters else {}
t = time.perf_counter()
r = deidentify_paths(home, preset("teaching"), [sys.argv[3]], sys.argv[4], purpose=purpose, **kw)
print(json.dumps({"s": time.perf_counter() - t, "written": r.written}))
'''
DICOGNITO = r'''
import sys, time, json, pydicom
from pathlib import Path
from dicognito.anonymizer import Anonymizer
files = sorted(Path(sys.argv[1]).rglob("*.dcm")); out = Path(sys.argv[2]); out.mkdir()
a = Anonymizer(); t = time.perf_counter()
for i, p in enumerate(files):
    with pydicom.dcmread(p) as ds:
        a.anonymize(ds); ds.save_as(out / f"{i:05d}.dcm")
print(json.dumps({"s": time.perf_counter() - t, "written": len(files)}))
'''
def main():
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="the commit to compare with")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    base = Path(tempfile.mkdtemp(prefix="deid-ab-base-"))
    subprocess.run(["git", "worktree", "add", "-f", "--detach", str(base), args.base], cwd=root, check=True,
                   capture_output=True)
    try:
        run(root, base, args.repeat)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=root, capture_output=True)


def run(root: Path, base: Path, repeat: int) -> None:
    sys.path.insert(0, str(root))
    from pydicom.data import get_testdata_file

    from benchmarks.synthetic import write_series
    work = Path(tempfile.mkdtemp(prefix="deid-ab-"))
    passfile = work / "passphrase"
    passfile.write_text("ab benchmark passphrase\n")
    src = work / "in"
    for p in range(4):
        write_series(get_testdata_file("MR-SIEMENS-DICOM-WithOverlays.dcm"), src / f"P{p}", 250, f"B^P{p}", f"B{p}")
    py = str(root / ".venv" / "bin" / "python")
    res = {"base": [], "now": [], "dicognito": [], "base-cli": [], "now-cli": [], "dicognito-cli": []}
    for r in range(repeat):
        for name, where in (("base", base), ("now", root), ("dicognito", None)):
            out = work / f"out-{name}-{r}"
            os.sync()
            if where is None:
                cmd = [py, "-c", DICOGNITO, str(src), str(out)]
            else:
                cmd = [py, "-c", CHILD, str(where), str(work / f"home-{name}"), str(src), str(out), str(passfile)]
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=where or root)
            if done.returncode:
                raise SystemExit(done.stderr[-1500:])
            res[name].append(json.loads(done.stdout.strip().splitlines()[-1])["s"])
            shutil.rmtree(out, ignore_errors=True)
        for name, where in (("base-cli", base), ("now-cli", root), ("dicognito-cli", None)):
            out = work / f"out-{name}-{r}"
            os.sync()
            if where is None:
                cmd = [py, "-m", "dicognito", "-o", str(out), str(src)]
            else:
                confirm = ["--confirm-burned-in"] if name == "now-cli" else []
                cmd = [py, "-m", "desktop", "--home", str(work / f"home-{name[:-4]}"), "deid",
                       "--profile", "teaching", "--purpose", "teaching", *confirm, str(src), str(out)]
            env = dict(os.environ, VEIL_PASSPHRASE_FILE=str(passfile),
                       PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
            t = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=where or root, env=env)
            if done.returncode:
                raise SystemExit(done.stdout[-800:] + done.stderr[-1500:])
            res[name].append(time.perf_counter() - t)
            shutil.rmtree(out, ignore_errors=True)
    import statistics
    for k, v in res.items():
        print(k, f"median {statistics.median(v):.2f}", "runs", " ".join(f"{x:.2f}" for x in v))
    d = statistics.median(res["dicognito"])
    print(f"machine: nproc {os.cpu_count()}, load before the last round {os.getloadavg()}")
    print(f"x dicognito: base {d / statistics.median(res['base']):.2f} now {d / statistics.median(res['now']):.2f}")
    c = statistics.median(res["dicognito-cli"])
    print(f"CLI x dicognito CLI: base {c / statistics.median(res['base-cli']):.2f} "
          f"now {c / statistics.median(res['now-cli']):.2f}")
    shutil.rmtree(work)
if __name__ == "__main__":
    main()
