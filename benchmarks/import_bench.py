"""Import throughput against the floor measured in the same run.

Generates N instances from one real DICOM file (new UIDs each), then times, on the same warm
page cache:
  cp -r      copying the folder (the I/O floor)
  pydicom    a plain loop of pydicom.dcmread over every file (the parsing floor)
  veil       `import_paths` into a fresh VEIL_HOME: read once, SHA-256, header parse,
             AES-256-GCM seal, fsync, index in SQLCipher; both cores
Each is run --repeat times; the median is reported, with files/s, MB/s and Veil's ratio to
each floor.

    .venv/bin/python benchmarks/import_bench.py                 # 1000 x 693_UNCR.dcm (512x512 CT)
    .venv/bin/python benchmarks/import_bench.py --source CT_small.dcm
"""

from __future__ import annotations

import argparse
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

import keyring  # noqa: E402
import pydicom  # noqa: E402
from keyring.backends import fail  # noqa: E402

from benchmarks.synthetic import write_series  # noqa: E402


def find_source(name: str) -> Path:
    """A file of pydicom's or pydicom-data's test data, by name."""
    from desktop.app.library.samples import sample_folders

    for folder in sample_folders():
        if (folder / name).exists():
            return folder / name
    raise SystemExit(f"no test file named {name}")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="693_UNCR.dcm")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    from desktop.app.library.home import VeilHome
    from desktop.app.library.importing import import_paths

    work = Path(tempfile.mkdtemp(prefix="veil-bench-"))
    try:
        src = work / "src"
        files = write_series(find_source(args.source), src, args.count)
        total_bytes = sum(p.stat().st_size for p in files)
        mb = total_bytes / 1e6
        shutil.copytree(src, work / "warm")  # warm the page cache for everyone
        shutil.rmtree(work / "warm")

        def cp() -> None:
            dst = work / "cp-dst"
            subprocess.run(["cp", "-r", str(src), str(dst)], check=True)
            subprocess.run(["sync"], check=True)
            shutil.rmtree(dst)

        def pydicom_loop() -> None:
            for path in files:
                pydicom.dcmread(path)

        passfile = work / "pass"
        passfile.write_text("benchmark passphrase")
        os.environ["VEIL_PASSPHRASE_FILE"] = str(passfile)
        keyring.set_keyring(fail.Keyring())
        veil_seconds = []
        for i in range(args.repeat):
            home = VeilHome.open(work / f"home{i}")
            t = timed(lambda h=home: import_paths(h, [src], workers=args.workers))
            veil_seconds.append(t)
            shutil.rmtree(work / f"home{i}")

        results = {
            "cp -r (+sync)": statistics.median(timed(cp) for _ in range(args.repeat)),
            "pydicom read loop": statistics.median(timed(pydicom_loop) for _ in range(args.repeat)),
            "veil import": statistics.median(veil_seconds),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, pydicom {pydicom.__version__}")
    print(f"data: {args.count} x {args.source} ({mb:.1f} MB total), median of {args.repeat}")
    print(f"{'':20} {'seconds':>8} {'files/s':>9} {'MB/s':>8}")
    for name, seconds in results.items():
        print(f"{name:20} {seconds:8.3f} {args.count / seconds:9.0f} {mb / seconds:8.1f}")
    veil = results["veil import"]
    print(f"veil vs cp -r:   {results['cp -r (+sync)'] / veil:6.0%} of cp's throughput (target >= 25%)")
    print(f"veil vs pydicom: {results['pydicom read loop'] / veil:6.2f}x the plain read loop (target > 1x)")


if __name__ == "__main__":
    main()
