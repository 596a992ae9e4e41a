"""Make the Windows and macOS icons of the bundle from Veil's one drawing, desktop/resources/icons/veil.svg.

    python packaging/make_icons.py OUTDIR      -> OUTDIR/veil.ico, OUTDIR/veil.icns

Each size is rendered from the SVG by Qt's SVG renderer (so small sizes are drawn at their size,
not shrunk from a large bitmap) and written with Pillow: veil.ico with 16 to 256 px (Windows'
sizes), veil.icns with every size Pillow writes (32 to 1024 px; Pillow keeps no 16 px icon, macOS
scales the 32 px one). Both libraries are already Veil's dependencies (PySide6 draws the window,
Pillow writes images); no tool of either system (iconutil, a resource compiler) is needed, so
the icons are made, and tested, on Linux too. The outputs are build products, not kept in git:
packaging/veil.spec runs this into its work folder on Windows and macOS.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "desktop" / "resources" / "icons" / "veil.svg"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (32, 64, 128, 256, 512, 1024)  # what Pillow's ICNS writer stores (ic07-ic14)


def render_pngs(svg: Path, sizes: tuple[int, ...]) -> dict[int, bytes]:
    """PNG bytes of ``svg`` drawn at each of ``sizes`` (square, transparent background)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed, nor wanted
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])  # noqa: F841 - Qt needs one alive
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: cannot read {svg} as SVG")
    pngs = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not image.save(buffer, "PNG"):
            raise SystemExit(f"make_icons: Qt could not encode the {size} px image")
        pngs[size] = bytes(data.data())
    return pngs


def write_icons(out: Path, svg: Path = SVG) -> tuple[Path, Path]:
    """Write ``out/veil.ico`` and ``out/veil.icns``; returns their paths."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    pngs = render_pngs(svg, tuple(sorted(set(ICO_SIZES) | set(ICNS_SIZES))))
    images = {size: Image.open(io.BytesIO(data)).convert("RGBA") for size, data in pngs.items()}

    ico = out / "veil.ico"
    largest = max(ICO_SIZES)
    images[largest].save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES],
                         append_images=[images[s] for s in ICO_SIZES if s != largest])
    icns = out / "veil.icns"
    largest = max(ICNS_SIZES)
    images[largest].save(icns, format="ICNS", append_images=[images[s] for s in ICNS_SIZES if s != largest])
    return ico, icns


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python packaging/make_icons.py OUTDIR", file=sys.stderr)
        return 2
    for path in write_icons(Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
