"""Viewer responsiveness, end to end through a real Viewport paint (issue 3, point 3).

Runs Qt offscreen (QT_QPA_PLATFORM=offscreen) in one process, as the app does, and measures:
  first image      open_series (decrypt, audit) -> decode -> render -> QImage -> painted
  scroll           per frame: frame(n) -> render -> set_image -> repaint, on a 500-slice
                   512x512 16-bit CT series; "flat out" with no pause (cache misses included)
                   and "settled" (prefetch given time, as at a person's pace)
  window drag      re-render with a new window + repaint of a 1024x1024 16-bit MR frame
  RGB cine         per frame of a generated 51-frame 640x480 RGB ultrasound (US1 frame x 51)
  memory           peak RSS after scrolling a 2,000-slice 512x512 series end to end

    .venv/bin/python benchmarks/viewer_bench.py            # --long 0 skips the 2,000-slice run
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keyring  # noqa: E402
import pydicom  # noqa: E402
from keyring.backends import fail  # noqa: E402

from benchmarks.import_bench import find_source  # noqa: E402
from benchmarks.synthetic import write_series  # noqa: E402


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def rss_mb() -> float:
    """Peak resident memory of this process image (VmHWM; unlike ru_maxrss it is not
    inherited from the parent across fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_cine(out: Path, frames: int = 51) -> Path:
    """A multi-frame RGB ultrasound: the real US1 frame repeated, new UIDs."""
    ds = pydicom.dcmread(find_source("US1_UNCR.dcm"))
    frame = ds.PixelData
    ds.NumberOfFrames = frames
    ds.PixelData = frame * frames
    ds.StudyInstanceUID = pydicom.uid.generate_uid()
    ds.SeriesInstanceUID = pydicom.uid.generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.RecommendedDisplayFrameRate = 25
    out.mkdir(parents=True, exist_ok=True)
    ds.save_as(out / "cine.dcm", enforce_file_format=True)
    return out / "cine.dcm"


def memory_only(slices: int) -> None:
    """Import a long series, scroll it end to end through a Viewport, print peak RSS."""
    from PySide6.QtWidgets import QApplication

    from desktop.app.browsing.catalogue import load_catalogue
    from desktop.app.library.home import VeilHome
    from desktop.app.viewer.viewing import open_series
    from desktop.core.imaging.display import render
    from desktop.ui.viewer.viewport import Viewport

    app = QApplication.instance() or QApplication([])
    viewport = Viewport()
    viewport.resize(1024, 1024)
    viewport.show()
    app.processEvents()
    work = Path(tempfile.mkdtemp(prefix="veil-viewer-mem-"))
    try:
        (work / "pass").write_text("benchmark passphrase")
        os.environ["VEIL_PASSPHRASE_FILE"] = str(work / "pass")
        keyring.set_keyring(fail.Keyring())
        # Generate and import in other processes, so this one's peak RSS is the viewer's.
        subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                        "from benchmarks.synthetic import write_series; "
                        "from benchmarks.import_bench import find_source; "
                        "write_series(find_source('693_UNCR.dcm'), sys.argv[2], int(sys.argv[3]))",
                        str(Path(__file__).resolve().parents[1]), str(work / "long"), str(slices)], check=True)
        subprocess.run([sys.executable, "-m", "desktop", "--home", str(work / "home"), "import", str(work / "long")],
                       check=True, capture_output=True,
                       env=dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring"))
        home = VeilHome.open(work / "home")
        ref = next(se.series_ref for rows in load_catalogue(home).series_by_study.values() for se in rows)
        before = rss_mb()
        series = open_series(home, ref)
        for n in range(len(series.frames)):
            pixels, params = series.frame(n)
            viewport.set_image(render(pixels, params))
            viewport.repaint()
        print(f"frame cache {series.cache.bytes_used / 1e6:.0f} MB, peak RSS {rss_mb():.0f} MB "
              f"(before opening the series: {before:.0f} MB)")
        series.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--long", type=int, default=2000, help="slices of the memory run (0 to skip)")
    parser.add_argument("--memory-only", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_only:
        memory_only(args.memory_only)
        return

    from PySide6.QtWidgets import QApplication

    from desktop.app.browsing.catalogue import load_catalogue
    from desktop.app.library.home import VeilHome
    from desktop.app.library.importing import import_paths
    from desktop.app.viewer.viewing import open_series
    from desktop.core.imaging.display import Window, render
    from desktop.ui.viewer.viewport import Viewport

    app = QApplication.instance() or QApplication([])
    viewport = Viewport()
    viewport.resize(1024, 1024)
    viewport.show()
    app.processEvents()

    def show(image) -> None:
        viewport.set_image(image)
        viewport.repaint()  # synchronous paint, as a wheel event's update would do

    def open_and_scroll(series_ref: int, settle: bool = False) -> tuple[float, list[float]]:
        """Seconds to the first frame painted, then seconds per following frame."""
        start = time.perf_counter()
        series = open_series(home, series_ref)
        pixels, params = series.frame(0)
        show(render(pixels, params))
        first = time.perf_counter() - start
        per_frame = []
        for n in range(1, len(series.frames)):
            if settle:
                series.wait_for_prefetch()  # as at a person's pace
            t = time.perf_counter()
            pixels, params = series.frame(n)
            show(render(pixels, params))
            per_frame.append(time.perf_counter() - t)
        series.close()
        return first, per_frame

    work = Path(tempfile.mkdtemp(prefix="veil-viewer-bench-"))
    results: dict[str, str] = {}
    try:
        (work / "pass").write_text("benchmark passphrase")
        os.environ["VEIL_PASSPHRASE_FILE"] = str(work / "pass")
        keyring.set_keyring(fail.Keyring())
        home = VeilHome.open(work / "home")

        def series_of(folder: Path) -> int:
            import_paths(home, [folder])
            known = {se.series_ref for rows in load_catalogue(home).series_by_study.values() for se in rows}
            return max(known)

        ct_ref = series_of(write_series(find_source("693_UNCR.dcm"), work / "ct", args.slices)[0].parent)

        first, flat = open_and_scroll(ct_ref)
        results["first image on screen (500 x 512x512 CT)"] = f"{ms(first)}   target < 300 ms"
        _, settled = open_and_scroll(ct_ref, settle=True)
        results["scroll 512x512, flat out"] = (f"median {ms(statistics.median(flat))}  p95 {ms(p95(flat))}"
                                               "   target < 16 ms")
        results["scroll 512x512, settled"] = f"median {ms(statistics.median(settled))}  p95 {ms(p95(settled))}"

        mr = work / "mr"
        mr.mkdir()
        shutil.copy(find_source("MR2_UNCR.dcm"), mr / "mr.dcm")
        series = open_series(home, series_of(mr))
        pixels, params = series.frame(0)
        drags = []
        for i in range(100):
            t = time.perf_counter()
            show(render(pixels, params, Window(600 + 10 * i, 1200 + 5 * i)))
            drags.append(time.perf_counter() - t)
        series.close()
        results["window drag 1024x1024"] = (f"median {ms(statistics.median(drags))}  p95 {ms(p95(drags))}"
                                            "   target < 33 ms")

        cine_ref = series_of(write_cine(work / "cine").parent)
        cine_first, cine = open_and_scroll(cine_ref)
        results["RGB cine 51 x 640x480: first frame"] = ms(cine_first)
        results["RGB cine 51 x 640x480: per frame"] = (f"median {ms(statistics.median(cine))}  p95 {ms(p95(cine))}"
                                                       "   (25 fps = 40 ms)")

        if args.long:
            # In a fresh process: peak RSS is a high-water mark, and this one has been busy.
            done = subprocess.run([sys.executable, __file__, "--memory-only", str(args.long)],
                                  capture_output=True, text=True, check=True)
            results[f"memory, {args.long}-slice series scrolled"] = done.stdout.strip() + "   target < 1 GB"
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"Qt platform {os.environ['QT_QPA_PLATFORM']}")
    for name, value in results.items():
        print(f"{name:42} {value}")


if __name__ == "__main__":
    main()
