"""Share package throughput and peak memory, beside ``age`` in the same run (issue 7, points 2, 6).

Generates a selection in a temp folder (already "de-identified": packaging is what is
measured): real 512x512 CT slices (pydicom-data ``693_UNCR.dcm``, 526 KB each, new UIDs) for
about half, large multi-frame ultrasounds (the real ``US1_UNCR.dcm`` frame repeated, ~120 MB
each) for the rest, --size-gb in all. The same files are also sealed into an ObjectStore (a
random key; AES-256-GCM in 1 MiB chunks, as Veil keeps originals). Then, page cache warm, each
round runs every method in a fresh child process, in rotating order, each after a sync and a
second of rest (so one run's writeback and discards do not land on the next):

  plain  / recipient    ``write_package`` of the files on disk (PathSource: pass 1 computes
                        SHA-256 and CRC-32) to one X25519 recipient: both passes, DICOMDIR,
                        signature, fsync and rename
  plain  / passphrase   the same with a passphrase (scrypt work factor 2**18, as ``age -p``)
  sealed / recipient    the sealed objects (StreamSource over ``ObjectStore.open``, each chunk
                        decrypted into the writer's buffers as it is read), SHA-256 given as
                        the store knows it: pass 1 computes CRC-32 only
  sealed / passphrase   the same with a passphrase
  sealed+crc / recipient  SHA-256 and CRC-32 given (as every export now gives them: the index
                        keeps each original's, staged outputs carry theirs): pass 1 peeks at
                        each DICOM header (its first 16 KiB, decrypted; pass 2 checks them)
  age -r                ``age -r RECIPIENT -o OUT IN.zip`` on the same plaintext bytes (the
                        package's ZIP, obtained once with ``age -d``); also "+ fsync", the
                        same followed by an fsync of its output, since Veil's export is durable
  age -p                ``age -p -o OUT IN.zip``, the passphrase typed on a pseudo-terminal
                        (age's scrypt work factor is 2**18 too); also "+ fsync"

Veil's times exclude the interpreter start, imports and key generation; age's is the wall time
of its process. MB/s is the plaintext ZIP's size over the time; "% age" is the median time of
age in the same mode (-r for recipients, -p for a passphrase) over the method's (the issue's
target: at least 70%), "% age+fsync" the same against age followed by an fsync. CPU s: user
and system seconds of the export (Veil) or of the process (age), less disturbed than the wall
time by other work on the machine. Peak RSS: Veil's is the export child's VmHWM (interpreter
and imports included); age's is its ``ru_maxrss`` from ``os.wait4`` (an upper bound: it
includes the small parent's pages up to exec). Median of --repeat rounds; the machine, the
command and the load average are printed with the table.

    .venv/bin/python benchmarks/package_bench.py --repeat 3             # ~1 GB
    .venv/bin/python benchmarks/package_bench.py --size-gb 2 --repeat 1  # the 2 GB RSS check
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import pty
import resource
import select
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
METHODS = ("plain / recipient", "plain / passphrase", "sealed / recipient",
           "sealed / passphrase", "sealed+crc / recipient")


def find_source(name: str) -> Path:
    import data_store  # pydicom-data

    path = Path(data_store.__file__).parent / "data" / name
    if not path.exists():
        raise SystemExit(f"{name} is not in pydicom-data; install the bench extra")
    return path


def generate(folder: Path, size_gb: float) -> list[dict[str, object]]:
    """Write the selection and seal it into an object store under ``folder``; return one
    record per file (name in package, path, SHA-256, CRC-32, size)."""
    import zlib

    import pydicom
    from pydicom.uid import generate_uid

    from benchmarks.synthetic import write_series
    from desktop.core.library.object_store import ObjectStore
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
    keys = os.urandom(64)
    (folder / "store.key").write_bytes(keys)
    store = ObjectStore(folder / "objects", folder / "store-tmp", keys[:32], keys[32:])
    records = []
    for index, path in enumerate(paths):
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        store.put_bytes(data, sha)
        records.append({"name": dicom_member_name(index), "path": str(path), "sha256": sha,
                        "crc32": zlib.crc32(data), "size": len(data)})
    return records


def cpu_seconds(who: int) -> float:
    """User and system CPU seconds of this process (or of its waited-for children)."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def vm_hwm_mb() -> float:
    """This process's peak RSS (VmHWM, which exec resets) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child_export(method: str, selection: Path, out: Path, recipient_file: Path) -> None:
    """In a fresh process: one export; its seconds and peak RSS printed as JSON."""
    from desktop.core.library.object_store import ObjectStore
    from desktop.core.share.identity import Identity
    from desktop.core.share.manifest import PackageDetails
    from desktop.core.share.sources import PackageSource, PathSource, StreamSource
    from desktop.core.share.writer import write_package

    records = json.loads(selection.read_text())
    kind, mode = (part.strip() for part in method.split("/"))
    sources: list[PackageSource]
    if kind == "plain":
        sources = [PathSource(r["name"], r["path"]) for r in records]
    else:
        keys = (selection.parent / "src" / "store.key").read_bytes()
        store = ObjectStore(selection.parent / "src" / "objects",
                            selection.parent / "src" / "store-tmp", keys[:32], keys[32:])
        sources = [StreamSource(r["name"], r["size"], lambda sha=r["sha256"]: store.open(sha),
                                sha256=r["sha256"],
                                crc32=r["crc32"] if kind == "sealed+crc" else None,
                                peek=lambda size, sha=r["sha256"]: store.peek(sha, size))
                   for r in records]
    sender = Identity.generate()
    recipient = recipient_file.read_text().strip()
    kwargs = {"recipients": [recipient]} if mode == "recipient" else {"passphrase": PASSPHRASE}
    start, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF)
    write_package(out, sources, PackageDetails("benchmark"), sender, sender.card("Bench"),
                  **kwargs)
    print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": vm_hwm_mb(),
                      "cpu": cpu_seconds(resource.RUSAGE_SELF) - cpu}))


def run_child(args: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, peak RSS MB, CPU seconds, stdout) of one child process. The RSS is the child's
    ``ru_maxrss`` from ``os.wait4``: an upper bound, since a child counts its parent's resident
    pages until it execs (the parent stays small for that reason)."""
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    assert process.stdout is not None and process.stderr is not None
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{args[0]} failed: {err}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, out


def run_on_terminal(args: list[str], answer: str) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds) of a child given a pseudo-terminal on which every
    passphrase prompt is answered (age reads passphrases only from a terminal)."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(args[0], args)
        finally:
            os._exit(127)
    seen, answered = b"", 0
    try:
        while True:
            if not select.select([fd], [], [], 0.01)[0]:
                continue
            try:
                data = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            seen += data
            if seen.lower().count(b"passphrase") > answered:
                os.write(fd, answer.encode() + b"\n")
                answered += 1
    finally:
        os.close(fd)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{args[0]} failed: {seen.decode(errors='replace')}")
    return (time.perf_counter() - start, usage.ru_maxrss / 1024,
            usage.ru_utime + usage.ru_stime)


def machine() -> str:
    """CPU model, cores, memory, system, Python."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                  if line.startswith("model name")]
        model = models[0] if models else model
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{model}, {os.cpu_count()} logical CPUs, {memory:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=4, metavar=("METHOD", "SELECTION", "OUT", "RECIPIENT"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, metavar=("FOLDER", "SELECTION"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        folder, selection = map(Path, args.generate)
        selection.write_text(json.dumps(generate(folder, args.size_gb)))
        return
    if args.child:
        method, selection, out, recipient = args.child
        child_export(method, Path(selection), Path(out), Path(recipient))
        return
    age = shutil.which("age")
    if age is None:
        raise SystemExit("the age binary is needed (Debian package 'age')")

    from desktop.core.share.identity import Identity

    command = " ".join([Path(sys.executable).name, *sys.argv])
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="veil-package-bench-"))
    try:
        print(f"generating ~{args.size_gb} GB in {work} ...", flush=True)
        me = [sys.executable, str(Path(__file__).resolve())]
        selection = work / "selection.json"  # generated in a child: the parent stays small
        run_child([*me, "--size-gb", str(args.size_gb), "--generate", str(work / "src"),
                   str(selection)])
        records = json.loads(selection.read_text())
        source_bytes = sum(r["size"] for r in records)
        receiver = Identity.generate()
        (work / "recipient").write_text(receiver.age_recipient)
        (work / "key.txt").write_text(receiver.age_identity_file())
        warm = [Path(r["path"]) for r in records] + list((work / "src" / "objects").rglob("*"))
        for path in warm:  # the page cache
            if path.is_file():
                with open(path, "rb") as fh:
                    while fh.read(1 << 20):
                        pass

        me.append("--child")
        out = work / "out.veil"
        run_child([*me, "plain / recipient", str(selection), str(out), str(work / "recipient")])
        plain_zip = work / "in.zip"  # the same bytes for age (benchmark data only)
        subprocess.run([age, "-d", "-i", str(work / "key.txt"), "-o", str(plain_zip), str(out)],
                       check=True)
        zip_bytes = plain_zip.stat().st_size
        out.unlink()

        def veil(method: str) -> tuple[float, float, float]:
            *_, printed = run_child([*me, method, str(selection), str(out),
                                     str(work / "recipient")])
            out.unlink()
            result = json.loads(printed)
            return result["seconds"], result["peak_mb"], result["cpu"]

        def age_run(passphrase: bool, sync: bool) -> tuple[float, float, float]:
            target = work / "out.age"
            if passphrase:
                wall, rss, cpu = run_on_terminal([age, "-p", "-o", str(target),
                                                  str(plain_zip)], PASSPHRASE)
            else:
                wall, rss, cpu, _ = run_child([age, "-r", receiver.age_recipient, "-o",
                                               str(target), str(plain_zip)])
            if sync:
                start = time.perf_counter()
                with open(target, "rb+") as fh:
                    os.fsync(fh.fileno())
                wall += time.perf_counter() - start
            target.unlink()
            return wall, rss, cpu

        methods = {name: (lambda name=name: veil(name)) for name in METHODS}
        methods["age -r"] = lambda: age_run(False, False)
        methods["age -r + fsync"] = lambda: age_run(False, True)
        methods["age -p"] = lambda: age_run(True, False)
        methods["age -p + fsync"] = lambda: age_run(True, True)
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in methods}
        names = list(methods)
        for round_ in range(args.repeat):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                os.sync()  # the last run's writes, journal and discards settle first
                time.sleep(1)
                results[name].append(methods[name]())
                print(f"  round {round_ + 1}: {name:24s} {results[name][-1][0]:7.2f} s",
                      flush=True)
        print(f"\n$ {command}\n{machine()}\nload average before: "
              f"{' '.join(f'{x:.2f}' for x in load_before)}, after: "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        report(results, len(records), source_bytes, zip_bytes)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict[str, list[tuple[float, float, float]]], count: int,
           source_bytes: int, zip_bytes: int) -> None:
    print(f"{count} files, {source_bytes / 1e6:.0f} MB of DICOM, package ZIP "
          f"{zip_bytes / 1e6:.0f} MB; median of {len(next(iter(results.values())))} rounds\n")
    median = {name: statistics.median(s for s, _, _ in runs) for name, runs in results.items()}
    print(f"| {'method':24s} | median s | best s |  MB/s | % age | % age+fsync | CPU s "
          "| peak RSS MB |")
    print(f"|{'-' * 26}|---------:|-------:|------:|------:|------------:|------:"
          "|------------:|")
    for name, runs in results.items():
        age = "age -p" if name.endswith("passphrase") or name.startswith("age -p") else "age -r"
        print(f"| {name:24s} | {median[name]:8.2f} | {min(s for s, _, _ in runs):6.2f} | "
              f"{zip_bytes / 1e6 / median[name]:5.0f} | {median[age] / median[name]:5.0%} | "
              f"{median[age + ' + fsync'] / median[name]:11.0%} | "
              f"{statistics.median(c for _, _, c in runs):5.2f} | "
              f"{max(r for _, r, _ in runs):11.0f} |")


if __name__ == "__main__":
    main()
