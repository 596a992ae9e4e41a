"""De-identification throughput and memory against the floor and dicognito (issue 4, point 6).

Generates, in a temp folder, N MR instances from one real single-frame MR of pydicom-data
(``MR-SIEMENS-DICOM-WithOverlays.dcm``: 484x484 16-bit, 511 KB, Siemens private tags and an
overlay plane; 4 patients, new UIDs each) and a few large multi-frame RGB ultrasounds (the real
``US1_UNCR.dcm`` 640x480 frame repeated; ~157 MB each at 170 frames). Then times, on the same
warm page cache, each method writing to its own empty folder:

  pydicom read+write   the floor: ``pydicom.dcmread(path)`` then ``ds.save_as(out)`` per file,
                       one process, as a user would write it
  dicognito (API)      dicognito's README loop: one ``Anonymizer``, ``dcmread``, ``anonymize``,
                       ``save_as``; one process
  veil (API)           ``deidentify_paths`` with a preset profile (both cores, leak check,
                       staged + syncfs + rename, audit)
  dicognito (CLI)      ``python -m dicognito -o OUT IN`` (its README's command; the 0.19 console
                       script is broken): wall time, interpreter start included
  veil deid (CLI)      ``python -m desktop deid --profile P IN OUT``: wall time, start included

Every in-process step runs in a fresh child process; its time excludes the interpreter start
and imports. Peak RSS is the VmHWM of every process of the step (the child, and for Veil the
forkserver and its workers, sampled from /proc every 200 ms), summed: an upper bound on what was
resident at once (forked workers share pages). In-process steps reset the child's VmHWM after
their imports (and Veil's library open: its passphrase KDF) so only the work is counted; CLI
rows count everything. Veil's own peak is also measured on N/4 and N MR files, to show it does not
grow with the number of files. Figures are the median of --repeat runs (best also shown); the
order of the methods rotates from run to run.
Veil's export ends with a syncfs (its output is durable); "then sync" rows add an os.sync()
after the floor's and dicognito's loops, to show that cost on their side.

dicognito comes with the bench extra: ``VEIL_EXTRAS=bench scripts/bootstrap.sh`` (or
``.venv/bin/pip install -c constraints.txt -e .[bench]``).

    .venv/bin/python benchmarks/deid_bench.py                  # 1000 MR + 4 x 157 MB US
    .venv/bin/python benchmarks/deid_bench.py --quick          # smoke run, ~1 minute
    .venv/bin/python benchmarks/deid_bench.py --cprofile 300   # profile the engine on 300 MR files
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pydicom  # noqa: E402

from benchmarks.import_bench import find_source  # noqa: E402
from benchmarks.synthetic import write_series  # noqa: E402

MR_SOURCE = "MR-SIEMENS-DICOM-WithOverlays.dcm"
US_SOURCE = "US1_UNCR.dcm"
PASSPHRASE = "benchmark passphrase"
#: Every export names its purpose; the bench's home allows teaching under a site policy.
POLICY = "Benchmark teaching files, de-identified"


def BENCH_PURPOSE():  # noqa: ANN201, N802 - the purpose of every Veil export here
    from desktop.app.consent.export_consent import ExportPurpose
    from desktop.core.consent import Purpose

    return ExportPurpose(Purpose.TEACHING, "benchmark")
KEYRING_ENV = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


# -- memory ------------------------------------------------------------------------------------
def _status_kb(pid: int | str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def _descendants(root: int) -> list[int]:
    tree, found, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        for child in tree.get(pid, []):
            found.append(child)
            todo.append(child)
    return found


class TreePeak:
    """Each process's VmHWM (a high-water mark) in the tree under ``root``, sampled until stop."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        self.root, self.interval = root, interval
        self.hwm_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _sample(self) -> None:
        # The latest value, not the largest: between fork and exec a child briefly shows its
        # parent's pages, and exec starts a new high-water mark.
        for pid in [self.root, *_descendants(self.root)]:
            kb = _status_kb(pid, "VmHWM")
            if kb:
                self.hwm_kb[pid] = kb

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    @property
    def total_mb(self) -> float:
        return sum(self.hwm_kb.values()) / 1024

    def others_mb(self) -> list[float]:
        return sorted((kb / 1024 for pid, kb in self.hwm_kb.items() if pid != self.root), reverse=True)


# -- data --------------------------------------------------------------------------------------
def write_mr(out: Path, count: int, patients: int = 4) -> list[Path]:
    files: list[Path] = []
    source = find_source(MR_SOURCE)
    for p in range(patients):
        n = count // patients + (1 if p < count % patients else 0)
        files += write_series(source, out / f"P{p}", n, f"BENCH^PATIENT{p}", f"BENCH{p:04d}")
    return files


def write_us(out: Path, count: int, frames: int) -> list[Path]:
    """Large multi-frame RGB ultrasounds: the real US1 frame repeated, new UIDs, 2 patients."""
    out.mkdir(parents=True, exist_ok=True)
    ds = pydicom.dcmread(find_source(US_SOURCE))
    frame = ds.PixelData
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    ds.FrameTime = 40
    ds.PixelData = frame * frames
    paths = []
    for i in range(count):
        ds.PatientName, ds.PatientID = f"BENCH^ECHO{i % 2}", f"ECHO{i % 2:04d}"
        ds.StudyInstanceUID = pydicom.uid.generate_uid()
        ds.SeriesInstanceUID = pydicom.uid.generate_uid()
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
        path = out / f"US{i:02d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def dicom_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# -- one measured step, in a child process -----------------------------------------------------
def _veil_env(home: Path) -> None:
    import keyring
    from keyring.backends import fail

    os.environ["VEIL_PASSPHRASE_FILE"] = str(home.parent / "passphrase")
    keyring.set_keyring(fail.Keyring())


def reset_peak() -> float:
    """VmHWM so far (MB), then reset it to the current RSS (Linux >= 4.0: clear_refs 5)."""
    before = _status_kb("self", "VmHWM") / 1024
    Path("/proc/self/clear_refs").write_text("5")
    return before


def _timed_sync() -> float:
    """Seconds to make what was written durable (Veil's export ends with a syncfs)."""
    start = time.perf_counter()
    os.sync()
    return time.perf_counter() - start


def run_step(method: str, src: Path, out: Path, home: Path, profile_key: str) -> dict:
    files = dicom_files(src)
    result: dict = {"files": len(files)}
    if method == "floor":
        result["setup_mb"] = reset_peak()
        start = time.perf_counter()
        for i, path in enumerate(files):
            ds = pydicom.dcmread(path)
            ds.save_as(out / f"{i:05d}.dcm")
        result["seconds"] = time.perf_counter() - start
        result["sync_seconds"] = _timed_sync()
    elif method == "dicognito":
        import dicognito.anonymizer

        result["setup_mb"] = reset_peak()
        start = time.perf_counter()
        anonymizer = dicognito.anonymizer.Anonymizer()
        for i, path in enumerate(files):
            with pydicom.dcmread(path) as dataset:
                anonymizer.anonymize(dataset)
                dataset.save_as(out / f"{i:05d}.dcm")
        result["seconds"] = time.perf_counter() - start
        result["sync_seconds"] = _timed_sync()
    elif method == "veil":
        _veil_env(home)
        from desktop.app.deid.deidentifying import deidentify_paths
        from desktop.app.library.home import VeilHome
        from desktop.core.deid.profiles import preset

        opened = VeilHome.open(home)
        profile = preset(profile_key)
        result["setup_mb"] = reset_peak()  # imports + opening the library (passphrase KDF)
        with TreePeak(os.getpid()) as peak:
            start = time.perf_counter()
            # The privacy gate's review (OCR included) runs; the ultrasounds are flagged by their
            # header and confirmed, as a person who looked at them would.
            report = deidentify_paths(opened, profile, [src], out, purpose=BENCH_PURPOSE(), confirm_burned_in=True)
            result["seconds"] = time.perf_counter() - start
        result.update(written=report.written, refused=report.refused, rejected=len(report.rejected),
                      headline=report.headline(), workers_mb=peak.others_mb(),
                      read_for_text=report.review.read if report.review else 0)
        result["peak_mb"] = peak.total_mb
    else:
        raise SystemExit(f"unknown step {method}")
    result["main_mb"] = _status_kb("self", "VmHWM") / 1024
    result.setdefault("peak_mb", result["main_mb"])
    return result


def child(method: str, src: Path, out: Path, home: Path, profile_key: str) -> dict:
    """Run one step in a fresh interpreter, after flushing what earlier steps left dirty."""
    os.sync()
    done = subprocess.run([sys.executable, __file__, "--step", method, "--src", str(src), "--out", str(out),
                           "--home", str(home), "--profile", profile_key],
                          capture_output=True, text=True, env=dict(os.environ, **KEYRING_ENV))
    if done.returncode:
        raise SystemExit(f"step {method} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cli(method: str, src: Path, out: Path, home: Path, profile_key: str) -> dict:
    """Wall time of the command line, interpreter start included; peak RSS of its processes."""
    if method == "dicognito-cli":
        # The `dicognito` console script of 0.19 calls main() without its argument and fails
        # (TypeError); `python -m dicognito` runs the same main(sys.argv[1:]).
        cmd = [sys.executable, "-m", "dicognito", "-o", str(out), str(src)]
    else:
        cmd = [sys.executable, "-m", "desktop", "--home", str(home), "deid", "--profile", profile_key,
               "--purpose", "teaching", "--recipient", "benchmark", "--confirm-burned-in", str(src), str(out)]
    env = dict(os.environ, VEIL_PASSPHRASE_FILE=str(home.parent / "passphrase"), **KEYRING_ENV)
    os.sync()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreePeak(proc.pid) as peak:
        stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stdout[-2000:]}\n{stderr[-2000:]}")
    return {"files": len(dicom_files(src)), "seconds": seconds, "peak_mb": peak.total_mb,
            "headline": stdout.strip().splitlines()[0] if method == "veil-cli" and stdout.strip() else ""}


# -- checks ------------------------------------------------------------------------------------
def check_veil_output(src: Path, out: Path, result: dict, sample: int = 20) -> str:
    """Veil wrote every file, refused nothing, and a sample reads back de-identified with the
    original pixel bytes."""
    if result.get("refused"):
        raise SystemExit(f"veil refused the export: {result.get('headline')}")
    written = dicom_files(out)
    if len(written) != result["files"] or result.get("rejected"):
        raise SystemExit(f"veil wrote {len(written)} of {result['files']} files: {result.get('headline')}")
    step = max(1, len(written) // sample)
    for path in written[::step]:
        ds = pydicom.dcmread(path)
        assert ds.PatientIdentityRemoved == "YES", path
        assert not str(ds.PatientName).startswith("BENCH"), path  # every original name does
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        ds.PixelData  # noqa: B018 - readable
    # Pixel bytes are copied untouched: compare one output with its original by frame content.
    one = pydicom.dcmread(written[0])
    some_original = pydicom.dcmread(dicom_files(src)[0])
    assert one.PixelData == some_original.PixelData, "pixel data changed"
    return f"ok: {len(written)} files, {len(written[::step])} re-read by pydicom, pixel bytes identical"


# -- the run -----------------------------------------------------------------------------------
METHODS = [  # (key, label, how)
    ("floor", "pydicom read+write (floor)", child),
    ("dicognito", "dicognito 0.19 (API)", child),
    ("veil", "veil deidentify_paths (API)", child),
    ("dicognito-cli", "python -m dicognito -o OUT IN", cli),
    ("veil-cli", "veil deid (CLI)", cli),
]
#: Rows derived from a step: the same run with the final flush to disk (os.sync) added.
SYNCED = [("floor+sync", "floor, then sync (durable)", "floor"),
          ("dicognito+sync", "dicognito (API), then sync", "dicognito")]
ORDER = ["floor", "floor+sync", "dicognito", "dicognito+sync", "veil", "dicognito-cli", "veil-cli"]


def measure(src: Path, work: Path, home: Path, profile_key: str, repeat: int, notes: list[str]) -> dict[str, dict]:
    runs: dict[str, list[dict]] = {key: [] for key, _, _ in METHODS}
    for r in range(repeat):
        # Rotate the order: on this VM the first big writer after a pause is often slower
        # (fresh memory is faulted in from the host), which would always hit the same method.
        for key, label, how in METHODS[r % len(METHODS):] + METHODS[:r % len(METHODS)]:
            out = work / f"out-{key}"
            out.mkdir()
            result = how(key, src, out, home, profile_key)
            if key == "veil" and r == repeat - 1:
                notes.append(f"{src.name}: veil output check {check_veil_output(src, out, result)}; "
                             f"report: {result['headline']}")
            elif key != "veil" and len(dicom_files(out)) != result["files"]:
                raise SystemExit(f"{label} wrote {len(dicom_files(out))} of {result['files']} files")
            runs[key].append(result)
            shutil.rmtree(out)
    for key, _, base in SYNCED:
        runs[key] = [dict(r, seconds=r["seconds"] + r["sync_seconds"]) for r in runs[base]]
    summary = {}
    for key, results in runs.items():
        times = [r["seconds"] for r in results]
        summary[key] = dict(results[-1], seconds=statistics.median(times), best=min(times), all_seconds=times,
                            peak_mb=max(r["peak_mb"] for r in results))
    return summary


def print_table(title: str, summary: dict[str, dict], mb: float) -> None:
    labels = {key: label for key, label, _ in METHODS} | {key: label for key, label, _ in SYNCED}
    floor = summary["floor"]["seconds"]
    print(f"\n{title}")
    header = (f"{'method':30} {'files':>5} {'median s':>9} {'best s':>7} {'files/s':>8} {'MB/s':>6} "
              f"{'x floor':>8} {'x dicognito':>12} {'peak RSS':>9}")
    print(header)
    print("-" * len(header))
    for key in ORDER:
        r = summary[key]
        ref = summary["dicognito-cli" if key.endswith("-cli") else "dicognito"]["seconds"]
        print(f"{labels[key]:30} {r['files']:5d} {r['seconds']:9.2f} {r['best']:7.2f} "
              f"{r['files'] / r['seconds']:8.1f} {mb / r['seconds']:6.0f} {floor / r['seconds']:7.2f}x "
              f"{ref / r['seconds']:11.2f}x {r['peak_mb']:6.0f} MB")
    print("(ratios of median files/s; CLI rows are compared with dicognito's CLI, the others with its API)")
    from desktop.app.deid.runner import IN_PROCESS_BELOW

    veil = summary["veil"]
    others = veil["workers_mb"]
    print(f"veil's processes at the last run: main {veil['main_mb']:.0f} MB; " + (
        "forkserver, workers, resource tracker " + ", ".join(f"{m:.0f}" for m in others) + " MB (VmHWM each)"
        if others else f"no workers (fewer than {IN_PROCESS_BELOW} files are de-identified in-process, one core)"))
    print("all runs, s: " + "; ".join(f"{k} " + "/".join(f"{x:.2f}" for x in summary[k]["all_seconds"])
                                      for k in ORDER))


def cprofile(count: int, profile_key: str) -> None:
    """cProfile of desktop.core.deid.engine.deidentify over ``count`` MR files, one process."""
    import cProfile
    import pstats

    from desktop.core.deid.engine import PatientPlan, deidentify, make_settings
    from desktop.core.deid.profiles import preset

    work = Path(tempfile.mkdtemp(prefix="veil-deid-prof-"))
    try:
        blobs = [p.read_bytes() for p in write_mr(work, count)]
        settings = make_settings(preset(profile_key), b"\x01" * 32)
        plan = PatientPlan("TEACH-0001", 17)
        deidentify(blobs[0], settings, lambda _k: plan)  # warm the table and caches
        start = time.perf_counter()
        for blob in blobs:
            deidentify(blob, settings, lambda _k: plan)
        plain = time.perf_counter() - start
        print(f"deidentify: {plain / count * 1000:.2f} ms per file without the profiler "
              f"({count} x {MR_SOURCE}, one process)")
        prof = cProfile.Profile()
        prof.enable()
        for blob in blobs:
            deidentify(blob, settings, lambda _k: plan)
        prof.disable()
        stats = pstats.Stats(prof)
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(25)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000, help="MR instances (default 1000)")
    parser.add_argument("--us-files", type=int, default=4, help="multi-frame ultrasounds (default 4)")
    parser.add_argument("--us-frames", type=int, default=170, help="frames per ultrasound (170 = 157 MB)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each set; the median is reported")
    parser.add_argument("--profile", default="teaching", help="Veil preset: teaching, research, publication")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 MR, 1 small US, one repeat")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="profile the engine on N MR files")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, Path(args.src), Path(args.out), Path(args.home), args.profile)))
        return
    if args.cprofile:
        cprofile(args.cprofile, args.profile)
        return
    if args.quick:
        args.files, args.us_files, args.us_frames, args.repeat = 100, 1, 20, 1

    work = Path(tempfile.mkdtemp(prefix="veil-deid-bench-"))
    notes: list[str] = []
    try:
        (work / "passphrase").write_text(PASSPHRASE)
        home = work / "home"
        mr = work / "mr"
        mr_files = write_mr(mr, args.files)
        mr_mb = sum(p.stat().st_size for p in mr_files) / 1e6
        quarter = work / "mr-quarter"
        for path in mr_files[:: 4][: max(1, args.files // 4)]:  # N/4 of the same files, hard-linked
            (quarter / path.parent.name).mkdir(parents=True, exist_ok=True)
            os.link(path, quarter / path.parent.name / path.name)
        us = work / "us"
        us_files = write_us(us, args.us_files, args.us_frames)
        us_mb = sum(p.stat().st_size for p in us_files) / 1e6
        for path in [*mr_files, *us_files]:  # warm the page cache for everyone
            path.read_bytes()
        # First open of the library (key derivation, schema) outside every measurement.
        subprocess.run([sys.executable, "-m", "desktop", "--home", str(home), "ls"], cwd=ROOT, check=True,
                       capture_output=True, env=dict(os.environ, VEIL_PASSPHRASE_FILE=str(work / "passphrase"),
                                                     **KEYRING_ENV))
        subprocess.run([sys.executable, "-m", "desktop", "--home", str(home), "consent", "add", "--site-wide",
                        "--not-required", POLICY, "--purpose", "teaching"], cwd=ROOT, check=True,
                       capture_output=True, env=dict(os.environ, VEIL_PASSPHRASE_FILE=str(work / "passphrase"),
                                                     **KEYRING_ENV))

        load_before = os.getloadavg()
        mr_summary = measure(mr, work, home, args.profile, args.repeat, notes)
        us_summary = measure(us, work, home, args.profile, args.repeat, notes) if us_files else {}
        memory = {}
        for label, folder in ((f"{len(dicom_files(quarter))} MR files", quarter), (f"{args.files} MR files", mr)):
            out = work / "out-memory"
            out.mkdir()
            memory[label] = child("veil", folder, out, home, args.profile)
            check_veil_output(folder, out, memory[label])
            shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    ram = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    print(f"machine: {cpu}, nproc {os.cpu_count()}, {ram:.1f} GiB RAM; Python {platform.python_version()}, "
          f"pydicom {pydicom.__version__}; Veil profile '{args.profile}'")
    print(f"load average before / after: {' '.join(f'{x:.2f}' for x in load_before)} / "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on the machine skews times)")
    print_table(f"MR: {args.files} x {MR_SOURCE} (484x484 16-bit, {mr_mb / args.files * 1000:.0f} KB each, "
                f"{mr_mb:.0f} MB), {args.repeat} runs", mr_summary, mr_mb)
    if us_summary:  # --us-files 0 skips the ultrasounds
        print_table(f"US: {args.us_files} x {US_SOURCE} frame x {args.us_frames} (640x480 RGB, "
                    f"{us_mb / args.us_files:.0f} MB each, {us_mb:.0f} MB), {args.repeat} runs", us_summary, us_mb)
    print("\nVeil peak RSS by number of files (deidentify_paths, one child process + forkserver + workers):")
    for label, r in memory.items():
        others = ", ".join(f"{m:.0f}" for m in r["workers_mb"])
        print(f"  {label:15} {r['seconds']:6.2f} s  peak {r['peak_mb']:5.0f} MB in all  "
              f"(main {r['main_mb']:.0f} MB, {r['setup_mb']:.0f} MB before the step; others {others} MB)")
    for key in ("veil", "veil-cli"):
        for name, summary in (("MR", mr_summary), ("US", us_summary)) if us_summary else (("MR", mr_summary),):
            ratio = summary["dicognito" + key[4:]]["seconds"] / summary[key]["seconds"]
            print(f"target {key} {name}: {ratio:.2f}x dicognito's files/s (>= 3x: "
                  f"{'met' if ratio >= 3 else 'NOT met'})")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
