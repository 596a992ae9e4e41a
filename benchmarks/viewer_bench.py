"""Viewer responsiveness, pipeline part (issue 3): decode + display in desktop.app/core.

No Qt yet: the figures are the time to produce the 8-bit array a viewport would wrap in a
QImage. Measured:
  first image     open_series on a 500-slice 512x512 16-bit CT series -> first frame rendered
  scroll          median and p95 per frame, cold (decode on demand) and with prefetch
  window drag     re-render of one 1024x1024 frame with a new window (MR2_UNCR, 16-bit)
  RGB cine        per-frame decode + render of a multi-frame RGB JPEG (color3d_jpeg_baseline)

    .venv/bin/python benchmarks/viewer_bench.py
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keyring  # noqa: E402
from keyring.backends import fail  # noqa: E402

from benchmarks.import_bench import find_source  # noqa: E402
from benchmarks.synthetic import write_series  # noqa: E402


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def main() -> None:
    from desktop.app.browsing import load_catalogue
    from desktop.app.home import VeilHome
    from desktop.app.importing import import_paths
    from desktop.app.viewing import open_series
    from desktop.core.imaging.display import Window, display_params, render
    from desktop.core.imaging.frames import decode_frame, frame_count, read_image

    work = Path(tempfile.mkdtemp(prefix="veil-viewer-bench-"))
    try:
        (work / "pass").write_text("benchmark passphrase")
        os.environ["VEIL_PASSPHRASE_FILE"] = str(work / "pass")
        keyring.set_keyring(fail.Keyring())
        home = VeilHome.open(work / "home")
        write_series(find_source("693_UNCR.dcm"), work / "ct", 500)
        import_paths(home, [work / "ct"])
        series_ref = next(se.series_ref for rows in load_catalogue(home).series_by_study.values() for se in rows)

        start = time.perf_counter()
        series = open_series(home, series_ref)
        pixels, params = series.frame(0)
        render(pixels, params)
        first = time.perf_counter() - start
        series.close()

        series = open_series(home, series_ref)
        cold = []
        for n in range(0, 100):
            t = time.perf_counter()
            key = series.frames[n]
            frame = series._decode(key)
            render(frame, series.params(key))
            cold.append(time.perf_counter() - t)
        warm = []
        for n in range(100, 500):
            series.wait_for_prefetch()  # a person scrolls slower than the decoders here
            t = time.perf_counter()
            pixels, params = series.frame(n)
            render(pixels, params)
            warm.append(time.perf_counter() - t)
        cache_mb = series.cache.bytes_used / 1e6
        series.close()

        big = read_image(find_source("MR2_UNCR.dcm").read_bytes())
        frame, params = decode_frame(big, 0), display_params(big, 0)
        drags = []
        for i in range(60):
            t = time.perf_counter()
            render(frame, params, Window(600 + 10 * i, 1200 + 5 * i))
            drags.append(time.perf_counter() - t)

        cine = read_image(find_source("color3d_jpeg_baseline.dcm").read_bytes())
        per_frame = []
        for i in range(frame_count(cine)):
            t = time.perf_counter()
            render(decode_frame(cine, i), display_params(cine, i))
            per_frame.append(time.perf_counter() - t)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"first image (open 500x512x512 series, decode, render):  {ms(first)}   target < 300 ms")
    print(f"scroll, cold decode   median {ms(statistics.median(cold))}  p95 {ms(p95(cold))}")
    print(f"scroll, prefetched    median {ms(statistics.median(warm))}  p95 {ms(p95(warm))}   target < 16 ms")
    print(f"window drag 1024x1024 median {ms(statistics.median(drags))}  p95 {ms(p95(drags))}   target < 33 ms")
    print(f"RGB cine ({cine.Rows}x{cine.Columns}, {len(per_frame)} JPEG frames) median {ms(statistics.median(per_frame))}"
          f"  p95 {ms(p95(per_frame))}")
    print(f"frame cache after scrolling 500 slices: {cache_mb:.0f} MB (budget 512 MB); "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
