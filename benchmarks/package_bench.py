"""Share package throughput and peak memory, beside ``age`` in the same run (issue 7, points 2, 6).

Generates a selection in a temp folder (already "de-identified": packaging is what is
measured): real 512x512 CT slices (pydicom-data ``693_UNCR.dcm``, 526 KB each, new UIDs) for
about half, large multi-frame ultrasounds (the real ``US1_UNCR.dcm`` frame repeated, ~120 MB
each) for the rest, --size-gb in all. Then, page cache warm, each round runs in fresh child
processes, in rotating order:

  veil (recipient)   ``write_package`` to one X25519 recipient: both passes (hash, then
                     ZIP + age stream), DICOMDIR, signature, fsync and rename
  veil (passphrase)  the same with a passphrase (scrypt work factor 2**18, as ``age -p``)
  age                ``age -r RECIPIENT -o OUT IN.zip`` on the same plaintext bytes (the
                     package's ZIP, obtained once with ``age -d``); also "age + fsync", the
                     same followed by an fsync of its output, since Veil's export is durable

Veil's times exclude the interpreter start, imports and key generation; age's is the wall time
of its process. MB/s is the plaintext ZIP's size over the time. Peak RSS: Veil's is the export
child's VmHWM (interpreter and imports included); age's is its ``ru_maxrss`` from ``os.wait4``
(an upper bound: it includes the small parent's pages up to exec). Median of --repeat rounds.

    .venv/bin/python benchmarks/package_bench.py                 # ~1 GB, 3 rounds
    .venv/bin/python benchmarks/package_bench.py --size-gb 2 --repeat 1   # the 2 GB RSS check
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
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CT_SOURCE = "693_UNCR.dcm"
US_SOURCE = "US1_UNCR.dcm"
US_FRAMES = 130
PASSPHRASE = "benchmark passphrase, long enough"


def find_source(name: str) -> Path:
    import data_store  # pydicom-data

    path = Path(data_store.__file__).parent / "data" / name
    if not path.exists():
        raise SystemExit(f"{name} is not in pydicom-data; install the bench extra")
    return path


def generate(folder: Path, size_gb: float) -> list[tuple[str, str]]:
    """Write the selection; return (name in package, path) pairs."""
    import pydicom
    from pydicom.uid import generate_uid

    from benchmarks.synthetic import write_series
    from desktop.core.share.member_names import dicom_member_name

    target = int(size_gb * 1e9)
    ct_count = max(1, int(target / 2 / find_source(CT_SOURCE).stat().st_size))
    paths = write_series(find_source(CT_SOURCE), folder / "ct", ct_count, "BENCH^CT", "BENCH0001")
    ds = pydicom.dcmread(find_source(US_SOURCE))
    frame = ds.PixelData
    ds.NumberOfFrames, ds.FrameIncrementPointer, ds.FrameTime = US_FRAMES, 0x00181063, 40
    ds.PixelData = frame * US_FRAMES
    size = sum(p.stat().st_size for p in paths)
    (folder / "us").mkdir()
    while size < target:
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        path = folder / "us" / f"US{len(paths):04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
        size += path.stat().st_size
    return [(dicom_member_name(i), str(p)) for i, p in enumerate(paths)]


def vm_hwm_mb() -> float:
    """This process's peak RSS (VmHWM, which exec resets) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child_export(mode: str, selection: Path, out: Path, recipient_file: Path) -> None:
    """In a fresh process: one export; its seconds and peak RSS printed as JSON."""
    from desktop.core.share.identity import Identity
    from desktop.core.share.manifest import PackageDetails
    from desktop.core.share.writer import write_package

    files = [(name, Path(path)) for name, path in json.loads(selection.read_text())]
    sender = Identity.generate()
    recipient = recipient_file.read_text().strip()
    kwargs = {"recipients": [recipient]} if mode == "recipient" else {"passphrase": PASSPHRASE}
    start = time.perf_counter()
    write_package(out, files, PackageDetails("benchmark"), sender, sender.card("Bench"), **kwargs)
    print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": vm_hwm_mb()}))


def run_child(args: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one child process. The RSS is the child's
    ``ru_maxrss`` from ``os.wait4``: an upper bound, since a child counts its parent's resident
    pages until it execs (the parent stays small for that reason)."""
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{args[0]} failed: {err}")
    return wall, usage.ru_maxrss / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=4, metavar=("MODE", "SELECTION", "OUT", "RECIPIENT"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, metavar=("FOLDER", "SELECTION"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        folder, selection = map(Path, args.generate)
        selection.write_text(json.dumps(generate(folder, args.size_gb)))
        return
    if args.child:
        mode, selection, out, recipient = args.child
        child_export(mode, Path(selection), Path(out), Path(recipient))
        return
    age = shutil.which("age")
    if age is None:
        raise SystemExit("the age binary is needed (Debian package 'age')")

    from desktop.core.share.identity import Identity

    work = Path(tempfile.mkdtemp(prefix="veil-package-bench-"))
    try:
        print(f"generating ~{args.size_gb} GB in {work} ...", flush=True)
        me = [sys.executable, str(Path(__file__).resolve())]
        selection = work / "selection.json"  # generated in a child: the parent stays small
        run_child([*me, "--size-gb", str(args.size_gb), "--generate", str(work / "src"),
                   str(selection)])
        files = json.loads(selection.read_text())
        source_bytes = sum(Path(p).stat().st_size for _, p in files)
        receiver = Identity.generate()
        (work / "recipient").write_text(receiver.age_recipient)
        (work / "key.txt").write_text(receiver.age_identity_file())
        for _, path in files:  # warm the page cache
            with open(path, "rb") as fh:
                while fh.read(1 << 20):
                    pass

        me.append("--child")
        out = work / "out.veil"
        run_child([*me, "recipient", str(selection), str(out), str(work / "recipient")])
        plain_zip = work / "in.zip"  # the same bytes for age (benchmark data only)
        subprocess.run([age, "-d", "-i", str(work / "key.txt"), "-o", str(plain_zip), str(out)],
                       check=True)
        zip_bytes = plain_zip.stat().st_size
        out.unlink()

        def veil(mode: str) -> tuple[float, float]:
            _, _, printed = run_child([*me, mode, str(selection), str(out),
                                       str(work / "recipient")])
            out.unlink()
            result = json.loads(printed)
            return result["seconds"], result["peak_mb"]

        def age_run(sync: bool) -> tuple[float, float]:
            target = work / "out.age"
            wall, rss, _ = run_child([age, "-r", receiver.age_recipient, "-o", str(target),
                                      str(plain_zip)])
            if sync:
                start = time.perf_counter()
                with open(target, "rb+") as fh:
                    os.fsync(fh.fileno())
                wall += time.perf_counter() - start
            target.unlink()
            return wall, rss

        methods = {"veil (recipient)": lambda: veil("recipient"),
                   "veil (passphrase)": lambda: veil("passphrase"),
                   "age": lambda: age_run(False), "age + fsync": lambda: age_run(True)}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in methods}
        names = list(methods)
        for round_ in range(args.repeat):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                results[name].append(methods[name]())
                print(f"  round {round_ + 1}: {name:18s} {results[name][-1][0]:7.2f} s",
                      flush=True)
        report(results, len(files), source_bytes, zip_bytes)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict[str, list[tuple[float, float]]], count: int, source_bytes: int,
           zip_bytes: int) -> None:
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; {count} files, {source_bytes / 1e6:.0f} MB of "
          f"DICOM, package ZIP {zip_bytes / 1e6:.0f} MB")
    print(f"{'':20s} {'median s':>9s} {'best s':>8s} {'MB/s':>8s} {'peak RSS MB':>12s}")
    median = {}
    for name, runs in results.items():
        median[name] = statistics.median(s for s, _ in runs)
        print(f"{name:20s} {median[name]:9.2f} {min(s for s, _ in runs):8.2f} "
              f"{zip_bytes / 1e6 / median[name]:8.1f} {max(r for _, r in runs):12.0f}")
    for veil in ("veil (recipient)", "veil (passphrase)"):
        print(f"{veil}: {median['age'] / median[veil]:.0%} of age's throughput, "
              f"{median['age + fsync'] / median[veil]:.0%} of age + fsync's (target >= 70%)")


if __name__ == "__main__":
    main()
