"""Reports written to files: CSV (for spreadsheets) and PDF (to print or hand over). No Qt.

A report names a patient, so both files are written atomically with mode 0o600. Cells come
from DICOM headers and from people, so the CSV neutralises spreadsheet formulas, and the PDF
wraps long text and falls back to '?' (with a note) only where no installed font has a glyph.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import math
import os
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from desktop.core.common.atomic_files import atomic_write_bytes

FILE_MODE = 0o600
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ReportTable:
    """One report: a title, a subtitle, a table of text cells and footnotes."""

    title: str
    subtitle: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()
    column_widths: tuple[float, ...] | None = None  # relative weights; None: from the content

    def __post_init__(self) -> None:
        if not self.columns or not all(isinstance(c, str) for c in self.columns):
            raise ValueError("A report needs at least one column, each named by text.")
        for number, row in enumerate(self.rows, start=1):
            if len(row) != len(self.columns):
                raise ValueError(f"Row {number} has {len(row)} cells; the report has {len(self.columns)} columns.")
            if not all(isinstance(cell, str) for cell in row):
                raise TypeError(f"Row {number} has a cell that is not text.")
        if self.column_widths is not None and (
            len(self.column_widths) != len(self.columns) or any(w <= 0 for w in self.column_widths)
        ):
            raise ValueError("column_widths needs one positive weight per column.")


# --- CSV -------------------------------------------------------------------------------------


def csv_safe(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text: formula-like starts get a leading quote."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def csv_bytes(table: ReportTable) -> bytes:
    """The CSV file's bytes: UTF-8 with a BOM, a header row, then one record per row."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([csv_safe(c) for c in table.columns])
    writer.writerows([csv_safe(c) for c in row] for row in table.rows)
    return buf.getvalue().encode("utf-8-sig")


def write_csv(table: ReportTable, path: Path) -> None:
    """Write ``table`` as CSV to ``path`` atomically (mode 0o600)."""
    atomic_write_bytes(Path(path), csv_bytes(table), FILE_MODE)


# --- fonts -----------------------------------------------------------------------------------

_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts",
              "/Library/Fonts", "/System/Library/Fonts", "~/Library/Fonts", "C:/Windows/Fonts")
# (regular, bold) pairs, best first.
_MAIN_FONTS = (("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
               ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
               ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
               ("arial.ttf", "arialbd.ttf"))
# Other scripts (CJK, ...), used only for characters the main font lacks.
_FALLBACK_FONTS = ("DroidSansFallbackFull.ttf", "DroidSansFallback.ttf", "NotoSansJP-Regular.ttf",
                   "NotoSansSC-Regular.ttf", "NotoSansKR-Regular.ttf", "NotoSansArabic-Regular.ttf",
                   "NotoSansHebrew-Regular.ttf", "NotoSansDevanagari-Regular.ttf",
                   "NotoSansThai-Regular.ttf", "arialuni.ttf")


@dataclass(frozen=True)
class PdfFonts:
    """Font files for the PDF: ``regular`` None means the core Helvetica (Latin-1 only)."""

    regular: Path | None = None
    bold: Path | None = None
    fallbacks: tuple[Path, ...] = ()


def _font_dirs() -> list[Path]:
    dirs = [Path(d).expanduser() for d in _FONT_DIRS]
    spec = importlib.util.find_spec("matplotlib")  # locate only: importing it is slow
    if spec is not None and spec.origin:
        dirs.append(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf")
    return [d for d in dirs if d.is_dir()]


@lru_cache(maxsize=1)
def find_fonts() -> PdfFonts:
    """The Unicode fonts installed on this system, searched once per process."""
    wanted = {n.lower() for pair in _MAIN_FONTS for n in pair} | {n.lower() for n in _FALLBACK_FONTS}
    found: dict[str, Path] = {}
    for folder in _font_dirs():
        for root, _dirs, files in os.walk(folder):
            for name in files:
                if name.lower() in wanted:
                    found.setdefault(name.lower(), Path(root) / name)
    fallbacks = tuple(found[n.lower()] for n in _FALLBACK_FONTS if n.lower() in found)
    for regular, bold in _MAIN_FONTS:
        if regular.lower() in found:
            reg = found[regular.lower()]
            return PdfFonts(reg, found.get(bold.lower(), reg), fallbacks)
    return PdfFonts(fallbacks=fallbacks)


# --- PDF -------------------------------------------------------------------------------------

_ASCII_FOR = str.maketrans({"\u2014": "-", "\u2013": "-", "\u2018": "'", "\u2019": "'",
                            "\u201c": '"', "\u201d": '"', "\u2026": "...", "\u2022": "\u00b7",
                            "\u00a0": " "})


def _clean(text: str) -> str:
    """One cell's text for the PDF: newlines kept, tabs as spaces, other controls dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _p90(values: list[float]) -> float:
    values = sorted(values) or [0.0]
    return values[int(0.9 * (len(values) - 1))]  # a few very long cells may wrap


def auto_widths(columns: list[list[str]], headings: list[str], measure: Callable[[str], float],
                total: float, padding: float) -> tuple[float, ...]:
    """Column widths (summing to ``total``) from the content, as a browser lays out a table:
    columns whose text fits in a fair share keep their natural width (no wrapping); the others
    share the rest in proportion to it, but not below their longest word (no word broken).
    ``columns`` holds each column's cells.
    """
    natural, least = [], []
    for cells, heading in zip(columns, headings, strict=True):
        heading_word = max((measure(w) for w in heading.split()), default=0.0) * 1.1  # bold
        line = _p90([max((measure(x) for x in c.split("\n")), default=0.0) for c in cells])
        word = _p90([max((measure(w) for w in c.split()), default=0.0) for c in cells])
        natural.append(max(line, heading_word, 6.0) + 2 * padding + 0.5)
        least.append(min(max(word, heading_word, 6.0) + 2 * padding + 0.5, total * 0.3))
    if sum(natural) <= total:
        return tuple(w * total / sum(natural) for w in natural)
    widths: dict[int, float] = {}
    while True:
        rest = [i for i in range(len(natural)) if i not in widths]
        room = total - sum(widths.values())
        share = room / sum(natural[i] for i in rest)
        fixed = {i: natural[i] for i in rest if natural[i] <= room / len(rest)}
        if not fixed:
            fixed = {i: least[i] for i in rest if natural[i] * share < least[i]}
        if not fixed or len(fixed) == len(rest) or sum(fixed.values()) >= room:
            widths.update({i: natural[i] * share for i in rest})
            return tuple(widths[i] for i in range(len(natural)))
        widths.update(fixed)


_CUT = " \u2026 [cut short: the CSV has the full text]"


def _fit(text: str, width: float, measure: Callable[[str], float], max_lines: int) -> tuple[str, bool]:
    """``text`` cut so it wraps to at most ``max_lines`` lines (a row must fit on one page)."""
    usable = width / 1.15  # room lost to word wrapping
    kept: list[str] = []
    lines = 0
    for paragraph in text.split("\n"):
        par_width = measure(paragraph)
        need = max(1, math.ceil(par_width / usable))
        if lines + need > max_lines:
            share = (max_lines - lines) * usable / par_width if par_width else 0
            room = int(len(paragraph) * share) - len(_CUT)
            if room > 0:
                kept.append(paragraph[:room])
            return "\n".join(kept).rstrip() + _CUT, True
        kept.append(paragraph)
        lines += need
    return text, False


def _new_pdf(alias: str):
    """An A4 landscape FPDF whose footer shows its ``footer_text`` and "page N of M"."""
    from fpdf import FPDF  # imported here: only PDF export pays for it

    class _ReportPDF(FPDF):
        footer_text = ""
        footer_family = "helvetica"

        def footer(self) -> None:
            self.set_y(-11)
            self.set_draw_color(190, 194, 200)
            self.set_line_width(0.2)
            self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
            self.set_font(self.footer_family, "", 7.5)
            self.set_text_color(110, 115, 125)
            half = (self.w - self.l_margin - self.r_margin) / 2
            self.set_x(self.l_margin)
            self.cell(half, 6, self.footer_text, align="L")
            self.cell(half, 6, f"page {self.page_no()} of {alias}", align="R")

        def _set_font_for_page(self, font, font_size_pt, wrap_in_text_object=True):  # type: ignore[no-untyped-def]
            # fpdf2 2.8.9: a line that starts in a fallback font gets the main font set inside
            # its own q..Q only, yet the page is marked as having it; the next line starting in
            # the main font then shows in the page's previous font (garbled glyphs). Set it
            # for the page too.
            if not wrap_in_text_object and not self.current_font_is_set_on_page:
                self._out(super()._set_font_for_page(font, font_size_pt))
            return super()._set_font_for_page(font, font_size_pt, wrap_in_text_object)

    pdf = _ReportPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=15)
    pdf.alias_nb_pages(alias, align="L")
    return pdf


def _load_fonts(pdf, fonts: PdfFonts, text: str) -> tuple[str, set[int] | None]:
    """Add the fonts the text needs; (family, the code points they cover or None for Latin-1)."""
    if fonts.regular is None:
        return "helvetica", None
    pdf.add_font("veil", "", str(fonts.regular))
    pdf.add_font("veil", "B", str(fonts.bold or fonts.regular))
    covered = set(pdf.fonts["veil"].cmap)
    missing = {ord(ch) for ch in set(text) if ch != "\n"} - covered
    used = []
    for number, path in enumerate(fonts.fallbacks):
        if not missing:
            break
        family = f"veilfb{number}"
        pdf.add_font(family, "", str(path))
        cmap = set(pdf.fonts[family].cmap)
        if missing & cmap:
            used.append(family)
            covered |= cmap
            missing -= cmap
    if used:
        pdf.set_fallback_fonts(used, exact_match=False)
    return "veil", covered


def _render_text(text: str, covered: set[int] | None) -> tuple[str, bool]:
    """``text`` with characters no font can show replaced by '?'; and whether any were."""
    text = _clean(text)
    if covered is None:
        text = text.translate(_ASCII_FOR)
        out = "".join(ch if ord(ch) < 256 or ch == "\n" else "?" for ch in text)
    else:
        out = "".join(ch if ch == "\n" or ch == " " or ord(ch) in covered else "?" for ch in text)
    return out, out != text


def pdf_bytes(table: ReportTable, *, author: str | None = None, fonts: PdfFonts | None = None) -> bytes:
    """The PDF file's bytes: A4 landscape, a table whose header repeats on every page.

    ``author`` goes into the document information (give only the user who made the report);
    ``fonts`` defaults to :func:`find_fonts`.
    """
    from fpdf.enums import TableBordersLayout, TableCellFillMode, VAlign
    from fpdf.fonts import FontFace

    fonts = find_fonts() if fonts is None else fonts
    alias = f"{{n{secrets.token_hex(3)}}}"  # never text that a cell could contain by chance
    all_text = _clean("".join([table.title, table.subtitle, *table.notes, *_iter_cells(table)]))
    pdf = _new_pdf(alias)
    family, covered = _load_fonts(pdf, fonts, all_text)
    replaced = False

    def render(text: str) -> str:
        nonlocal replaced
        out, changed = _render_text(text, covered)
        replaced = replaced or changed
        return out

    title = render(table.title)
    pdf.footer_text = _shorten(title.replace("\n", " "), 110)
    pdf.footer_family = family
    pdf.set_title(table.title)
    pdf.set_creator("Veil")
    pdf.set_producer("Veil")
    if author:
        pdf.set_author(author)
    pdf.set_font(family, "", 9)
    pdf.add_page()

    pdf.set_font(family, "B", 16)
    pdf.set_text_color(25, 35, 50)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    if table.subtitle:
        pdf.set_font(family, "", 9.5)
        pdf.set_text_color(90, 96, 108)
        pdf.multi_cell(0, 5, render(table.subtitle), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font(family, "", 8.5)
    pdf.set_text_color(20, 24, 32)
    pdf.set_draw_color(205, 209, 216)
    pdf.set_line_width(0.15)
    headings = FontFace(family=family, emphasis="BOLD", color=(25, 35, 50), fill_color=(226, 231, 238))
    pad = 1.6
    line_height = pdf.font_size * 1.35
    max_lines = max(4, int((pdf.eph - 40) / line_height * 0.8))  # 40 mm: title, header row
    heads = [render(c) for c in table.columns]
    rows = [[render(c) for c in row] for row in table.rows]
    if table.column_widths:
        widths = tuple(pdf.epw * w / sum(table.column_widths) for w in table.column_widths)
    else:
        widths = auto_widths([list(col) for col in zip(*rows, strict=True)] or [[] for _ in heads], heads,
                             pdf.get_string_width, pdf.epw, pad)
    cut = False

    def fit(text: str, column: int) -> str:
        nonlocal cut
        fitted, was_cut = _fit(text, widths[column] - 2 * pad, pdf.get_string_width, max_lines)
        cut = cut or was_cut
        return render(fitted) if was_cut else fitted  # the cut mark in the font's characters

    with pdf.table(col_widths=widths, headings_style=headings, line_height=line_height,
                   text_align="LEFT", v_align=VAlign.T, padding=(1.4, pad),
                   borders_layout=TableBordersLayout.HORIZONTAL_LINES,
                   cell_fill_color=(246, 247, 249), cell_fill_mode=TableCellFillMode.EVEN_ROWS,
                   repeat_headings=1) as pdf_table:
        pdf_table.row([fit(c, i) for i, c in enumerate(heads)])
        for row in rows:
            pdf_table.row([fit(c, i) for i, c in enumerate(row)])
    if not table.rows:
        pdf.ln(2)
        pdf.set_font(family, "", 9)
        pdf.cell(0, 6, "No entries.", new_x="LMARGIN", new_y="NEXT")

    notes = [render(n) for n in table.notes]
    if cut:
        notes.append("Some long cells are cut short in the PDF (marked \u2026); the CSV has them in full.")
    if replaced:
        notes.append("Some characters could not be shown with the fonts on this computer and appear "
                     "as '?'; the CSV export has them all.")
    if notes:
        pdf.ln(5)
        pdf.set_font(family, "", 8)
        pdf.set_text_color(70, 76, 88)
        for note in notes:
            pdf.multi_cell(0, 4.2, note, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
    return bytes(pdf.output())


def write_pdf(table: ReportTable, path: Path, *, author: str | None = None) -> None:
    """Write ``table`` as a PDF to ``path`` atomically (mode 0o600); see :func:`pdf_bytes`."""
    atomic_write_bytes(Path(path), pdf_bytes(table, author=author), FILE_MODE)


def _iter_cells(table: ReportTable) -> Iterable[str]:
    yield from table.columns
    for row in table.rows:
        yield from row
