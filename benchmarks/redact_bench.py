"""Redaction speed (issue 5, point 4): detection per frame, and apply throughput (frames/s)
beside the decode+encode floor of the same data in the same run.

Data (generated in a temp folder, never in the repo):
- a multi-frame ultrasound: pydicom-data's ``color3d_jpeg_baseline.dcm`` (120 frames, JPEG
  baseline, lossy: Veil writes it uncompressed, so the floor decodes and writes uncompressed);
- a 500-slice series made from pydicom's ``CT_small.dcm`` (lossless, uncompressed).

The floor is what any redaction must do at least: decode every frame (``pixel_array``) and
write the pixels back uncompressed (``PixelData = array.tobytes()``, ``save_as``). Veil's apply is
:func:`desktop.core.redaction.burn_in.burn_in` with a banner mask on every frame, then
``save_as``. Detection is timed by ``benchmarks/redact_detect_bench.py`` (1024x768 frames);
this script also times it on the ultrasound's own frames.

    .venv/bin/python benchmarks/redact_bench.py [--slices 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthetic import sample_file, write_series  # noqa: E402
from desktop.core.redaction.burn_in import burn_in  # noqa: E402


def _floor(paths: list[Path]) -> int:
    frames = 0
    for path in paths:
        ds = pydicom.dcmread(path)
        pixels = ds.pixel_array
        ds.PixelData = np.ascontiguousarray(pixels).tobytes()
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        if ds.get("SamplesPerPixel", 1) == 3:
            ds.PhotometricInterpretation, ds.PlanarConfiguration = "RGB", 0
        ds.save_as(io.BytesIO(), enforce_file_format=True)
        frames += int(ds.get("NumberOfFrames", 1) or 1)
    return frames


def _veil(paths: list[Path]) -> int:
    frames = 0
    for n, path in enumerate(paths):
        ds = pydicom.dcmread(path)
        banner = np.zeros((int(ds.Rows), int(ds.Columns)), dtype=bool)
        banner[: max(1, int(ds.Rows) // 10)] = True
        result = burn_in(ds, lambda _f, b=banner: b, f"2.25.{10**30 + n}")
        result.dataset.save_as(io.BytesIO(), enforce_file_format=True)
        frames += len(result.frames_redacted)
    return frames


def _time(fn, paths: list[Path], repeat: int) -> tuple[float, int]:  # noqa: ANN001
    runs, frames = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        frames = fn(paths)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), frames


def _detect(path: Path, count: int) -> float | None:
    try:
        from desktop.app.redaction.detecting import detect_proposals
        from desktop.core.redaction.ocr import TextReader
    except ImportError:
        return None
    ds = pydicom.dcmread(path)
    with TextReader() as reader:
        detect_proposals(ds, [0], reader)  # engines up
        reader.clear_cache()
        start = time.perf_counter()
        detect_proposals(ds, range(count), reader)
        return (time.perf_counter() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="veil-redact-bench-") as tmp:
        us = [sample_file("color3d_jpeg_baseline.dcm")]
        ct = write_series(sample_file("CT_small.dcm"), Path(tmp) / "ct", args.slices, "Bench^Patient", "B1")
        for path in [*us, *ct]:
            path.read_bytes()
        print(f"{'data':34} {'method':22} {'frames':>6} {'median s':>9} {'frames/s':>9} {'x floor':>8}")
        for label, paths in (("US 120 frames 640x480 RGB, JPEG", us),
                             (f"CT {args.slices} slices 128x128 16-bit", ct)):
            floor, frames = _time(_floor, paths, args.repeat)
            veil, vframes = _time(_veil, paths, args.repeat)
            print(f"{label:34} {'decode+encode (floor)':22} {frames:6d} {floor:9.3f} {frames / floor:9.1f} {1.0:8.2f}")
            print(f"{label:34} {'veil burn-in':22} {vframes:6d} {veil:9.3f} {vframes / veil:9.1f} {veil / floor:8.2f}")
        per_frame = _detect(us[0], 20)
        if per_frame is not None:
            print(f"detection on the ultrasound's frames (640x480, OCR, first 20 frames, cold cache): "
                  f"{per_frame * 1000:.0f} ms/frame")
        print("target: apply within 1.5x the floor (x floor <= 1.5); detection < 0.2 s per 1024x768 frame "
              "(benchmarks/redact_detect_bench.py)")


if __name__ == "__main__":
    main()
