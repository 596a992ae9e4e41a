"""Text detection per 1024x768 frame (issue 5, point 4: target under 0.2 s).

Two 1024x768 frames: a real ultrasound (pydicom-data US1_UNCR.dcm, 640x480 RGB, with its own
annotations) scaled up, with a patient banner burned in at the top and bottom, as scanners
write them (about 20 text lines in all, over colour Doppler); and a quieter grey speckle fan
with a two-line banner. Measured, as the median over 20 frames of ``propose`` (OCR + matching
the header):

  distinct     every frame read from scratch (caches cleared): the cost of a new image
  cine         the picture changes on every frame, the banner does not (an ultrasound loop):
               the banner lines come from the line cache, the layout pass still runs
  repeated     the same frame again (frame cache)

A reader spreads a frame over the cores (``--threads``, default: the cores, at most 4); engine
set-up (once per thread) is reported apart.

    .venv/bin/python benchmarks/redact_detect_bench.py [--frames 20] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pydicom  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from pydicom.data import get_testdata_file  # noqa: E402

from desktop.core.redaction.detect import propose  # noqa: E402
from desktop.core.redaction.ocr import TextReader  # noqa: E402

TOP = "KOWALSKI^ANNA   ID X7384912   DOB 14/03/1958   RIVERSIDE HOSPITAL"
BOTTOM = "ACC ACC20240517   2024-05-17 10:22   L12-5 38mm  MI 0.9  TIS 0.4"


def _font():
    for root in ("/usr/share/fonts", "/usr/local/share/fonts"):
        found = next(iter(Path(root).rglob("DejaVuSansMono.ttf")), None) if os.path.isdir(root) else None
        if found:
            return ImageFont.truetype(str(found), 14)
    return ImageFont.load_default(size=14)


def make_frame() -> tuple[pydicom.Dataset, np.ndarray]:
    ds = pydicom.dcmread(get_testdata_file("US1_UNCR.dcm"))
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "KOWALSKI^ANNA", "X7384912", "19580314"
    ds.AccessionNumber, ds.InstitutionName, ds.StudyDate = "ACC20240517", "RIVERSIDE HOSPITAL", "20240517"
    im = Image.fromarray(ds.pixel_array).resize((1024, 768), Image.BICUBIC)
    canvas = Image.new("RGB", (1024, 768))
    canvas.paste(im.crop((0, 0, 1024, 720)), (0, 24))  # room for the banner
    draw = ImageDraw.Draw(canvas)
    draw.text((8, 4), TOP, font=_font(), fill=(255, 255, 255))
    draw.text((8, 748), BOTTOM, font=_font(), fill=(255, 255, 255))
    return ds, np.asarray(canvas)


def make_fan_frame(font) -> np.ndarray:
    """A quieter frame: grey speckle fan on black, a two-line banner (3 text lines in all)."""
    rng = np.random.default_rng(7)
    h, w = 768, 1024
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(xx - w / 2, yy - 60)
    fan = (r > 40) & (r < 680) & (np.abs(np.degrees(np.arctan2(xx - w / 2, yy - 60))) < 38)
    img = rng.normal(12, 6, (h, w))
    img[fan] = (40 + rng.rayleigh(55, (h, w)) * (1.0 - r / 900))[fan]
    im = Image.fromarray(img.clip(0, 235).astype(np.uint8), "L")
    draw = ImageDraw.Draw(im)
    draw.text((8, 6), TOP, font=font, fill=255)
    draw.text((8, h - 24), BOTTOM, font=font, fill=255)
    draw.text((w - 120, 120), "5.0 cm", font=font, fill=255)
    return np.asarray(im)


def cine_of(frame: np.ndarray, n: int) -> list[np.ndarray]:
    """``n`` frames of a loop: the picture shifted sideways, the banner rows untouched."""
    out = []
    for k in range(n):
        f = frame.copy()
        f[40:740] = np.roll(frame[40:740], 3 * k, axis=1)
        out.append(f)
    return out


def median_ms(reader: TextReader, ds, frames, clear: bool) -> float:
    times = []
    for n, frame in enumerate(frames):
        if clear:
            reader.clear_cache()
        t = time.perf_counter()
        propose(ds, [(n, frame)], reader)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="OCR threads (default: cores, at most 4)")
    args = parser.parse_args()
    ds, us = make_frame()
    t = time.perf_counter()
    reader = TextReader(threads=args.threads)
    reader.read_words(np.zeros((64, 64), np.uint8))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; median of {args.frames} frames, {reader.threads} OCR thread(s)")
    print(f"engine set-up (once per thread): {(time.perf_counter() - t) * 1000:.0f} ms")
    scenarios = {"US1 ultrasound scaled to 1024x768 RGB, ~20 text lines": us,
                 "speckle fan 1024x768 grey + banner, 3 text lines": make_fan_frame(_font())}
    for title, frame in scenarios.items():
        reader.clear_cache()
        high = sum(p.risk == "high" for p in propose(ds, [(0, frame)], reader))
        cine = cine_of(frame, args.frames)
        distinct = median_ms(reader, ds, cine, clear=True)
        reader.clear_cache()
        cine_ms = median_ms(reader, ds, cine, clear=False)
        repeated = median_ms(reader, ds, [frame] * args.frames, clear=False)
        print(f"{title} ({high} high-risk proposals)")
        print(f"  distinct frames       {distinct:6.1f} ms/frame")
        print(f"  cine (banner cached)  {cine_ms:6.1f} ms/frame")
        print(f"  repeated frame        {repeated:6.1f} ms/frame")
    reader.close()


if __name__ == "__main__":
    main()
