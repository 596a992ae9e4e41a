"""Teaching-case deck speed (issue 17, point 6): a 20-key-image deck, each key image with an
arrow, a length and an ROI, exported through the privacy gate, beside the floor of the same
run.

Data (generated in a temp folder, never in the repo): 20 images of a 512 x 512 CT series made
from pydicom-data's ``693_UNCR.dcm``, imported into a fresh library with a site-wide teaching
policy.

Veil: :func:`desktop.app.cases.deck.export_deck` (consent, the gate's burned-in review, the
typed-text check, each key image decoded from the sealed store, rendered at its window and
view with its annotations burned in and measured, the PowerPoint file written atomically, the
audit line and the accounting of disclosures).
The floor: what any deck of these images must do at least: ``pydicom.dcmread`` +
``pixel_array``, a linear window in numpy, the same 1600-pixel PNG through Pillow, one
python-pptx slide per image, ``save``.

    .venv/bin/python benchmarks/slides_bench.py [--images 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pptx import Presentation
from pptx.util import Inches

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

from benchmarks.synthetic import sample_file, write_series  # noqa: E402
from desktop.app.cases import casebook  # noqa: E402
from desktop.app.cases.deck import export_deck  # noqa: E402
from desktop.app.consent.consenting import add_consent  # noqa: E402
from desktop.app.consent.export_consent import ExportPurpose  # noqa: E402
from desktop.app.library.home import VeilHome  # noqa: E402
from desktop.app.library.importing import import_paths  # noqa: E402
from desktop.core.cases.annotations import Kind  # noqa: E402
from desktop.core.cases.case import KeyView  # noqa: E402
from desktop.core.consent import EVERY_PATIENT, Basis, ConsentRecord, Purpose, Scope  # noqa: E402


def _library(root: Path, count: int) -> tuple[VeilHome, int, list[Path]]:
    os.environ["VEIL_PASSPHRASE_FILE"] = str(root / "pass")
    (root / "pass").write_text("correct horse battery staple bench\n")
    home = VeilHome.open(root / "home")
    paths = write_series(sample_file("693_UNCR.dcm"), root / "in", count, "Zabrowski^Ottoline", "MRN-BENCH")
    import_paths(home, [root / "in"])
    add_consent(home, ConsentRecord(basis=Basis.NOT_REQUIRED, scope=Scope(EVERY_PATIENT),
                                    purposes=frozenset({Purpose.TEACHING}), obtained_on=date(2020, 1, 1),
                                    recorded_by="bench", policy="Bench teaching policy"))
    study = pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID
    case = casebook.new_case(home, [study], "Benchmark case").with_fields(history="Benchmark", diagnosis="None")
    for path in paths:
        sop = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
        case = casebook.mark(home, case, sop, 0, KeyView(40, 400))
        n = len(case.key_images) - 1
        marks = (case.key_images[n].annotations.add(Kind.ARROW, [(100, 400), (250, 250)], "Lesion")
                 .add(Kind.LINE, [(200, 200), (320, 260)]).add(Kind.ROI, [(240, 240), (300, 290)]))
        case = case.with_annotations(n, marks).with_caption(n, f"Slice {n + 1}")
    return home, casebook.save(home, case), paths


def _floor(paths: list[Path], out: Path) -> None:
    prs = Presentation()
    for path in paths:
        ds = pydicom.dcmread(path)
        values = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        shown = np.clip((values - (40 - 200)) / 400 * 255, 0, 255).astype(np.uint8)
        png = io.BytesIO()
        Image.fromarray(shown).resize((1600, 1600), Image.Resampling.LANCZOS).save(png, format="PNG")
        png.seek(0)
        prs.slides.add_slide(prs.slide_layouts[6]).shapes.add_picture(png, Inches(1), Inches(0.5), Inches(6.5))
    prs.save(str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="veil-slides-bench-") as tmp:
        root = Path(tmp)
        home, case_id, paths = _library(root, args.images)
        purpose = ExportPurpose(Purpose.TEACHING, "Residents")
        veil, floor = [], []
        for n in range(args.repeat):
            start = time.perf_counter()
            report = export_deck(home, [case_id], purpose, root / f"veil-{n}.pptx")
            veil.append(time.perf_counter() - start)
            if not report.written:
                raise SystemExit(report.headline())
            start = time.perf_counter()
            _floor(paths, root / f"floor-{n}.pptx")
            floor.append(time.perf_counter() - start)
        v, f = statistics.median(veil), statistics.median(floor)
        size = (root / "veil-0.pptx").stat().st_size
        print(f"{args.images} key images (512 x 512 CT, arrow + length + ROI each), median of {args.repeat}:")
        print(f"  Veil export_deck (through the gate): {v:6.2f} s  ({size / 1e6:.1f} MB)")
        print(f"  floor (pydicom + numpy window + Pillow PNG + python-pptx): {f:6.2f} s")
        print(f"  ratio Veil / floor: {v / f:.2f}")


if __name__ == "__main__":
    main()
