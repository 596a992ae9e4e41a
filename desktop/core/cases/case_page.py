"""``case.html``: the teaching case as a person reads it, beside the DICOM files of a share
package or a journal ZIP (the human-readable half of IHE RAD TCE's export: the Key Object
Selection and the report are the machine-readable half).

The page is self-contained: no script, no style sheet, no image or font from elsewhere, and a
Content-Security-Policy that forbids them, so opening it fetches nothing and runs nothing.
Every text a person typed is HTML-escaped. The key images are named by their files in the
package (with their frame, caption and annotations), never by the originals' UIDs.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from desktop.core.cases.annotations import Kind
from desktop.core.cases.case import TeachingCase

_STYLE = ("body{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.45;color:#222}"
          "h1{font-size:1.6em}h2{font-size:1.15em;margin-top:1.4em;border-bottom:1px solid #ccc}"
          "dt{font-weight:bold}dd{margin:0 0 .4em 1.2em}.meta{color:#555}code{font-size:.95em}")
_SECTIONS = (("history", "Clinical history"), ("findings", "Findings"), ("diagnosis", "Diagnosis"),
             ("differential", "Differential diagnosis"), ("teaching_points", "Teaching points"))


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(part)}</p>" for part in text.split("\n") if part.strip())


def _annotation_line(kind: Kind, text: str) -> str:
    what = {Kind.LINE: "length measurement", Kind.ROI: "region of interest (mean, SD, area)",
            Kind.ANGLE: "angle measurement"}.get(kind, kind.label)
    return f"{what} \u201c{escape(text)}\u201d" if text else what


def case_page(case: TeachingCase, key_files: Sequence[str], report_files: Sequence[str] = ()) -> bytes:
    """The page of ``case`` (UTF-8): its text, and its key images in order, each named by its
    file in the package (``key_files``, in the case's order); ``report_files`` are the TCE
    documents' files."""
    if len(key_files) != len(case.key_images):
        raise ValueError("one file per key image")
    meta = [("Modality", case.modality), ("Anatomy", case.anatomy), ("Difficulty", case.difficulty.value),
            ("Keywords", ", ".join(case.keywords)), ("Author", case.author)]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
             '<meta name="referrer" content="no-referrer">',
             f"<title>{escape(case.title)} \u2014 teaching case</title><style>{_STYLE}</style></head><body>",
             f"<h1>{escape(case.title)}</h1>",
             '<p class="meta">' + " \u00b7 ".join(f"{name}: {escape(value)}" for name, value in meta if value) + "</p>"]
    for name, heading in _SECTIONS:
        text = getattr(case, name)
        if text:
            parts.append(f"<h2>{heading}</h2>{_paragraphs(text)}")
    parts.append("<h2>Key images</h2><ol>")
    for key, file in zip(case.key_images, key_files, strict=True):
        frame = f", frame {key.frame + 1}" if key.frame else ""
        caption = f"{escape(key.caption)} \u2014 " if key.caption else ""
        notes = [_annotation_line(a.kind, a.text) for a in key.annotations.items]
        drawn = f"<br>Annotations: {'; '.join(notes)}" if notes else ""
        parts.append(f"<li>{caption}<code>{escape(file)}</code>{frame}{drawn}</li>")
    parts.append("</ol>")
    if report_files:
        parts.append("<p class=\"meta\">The key images and this text are also in DICOM, as IHE Teaching File and "
                     "Clinical Trial Export defines them: " + ", ".join(f"<code>{escape(f)}</code>"
                                                                       for f in report_files) + ".</p>")
    parts.append("<p class=\"meta\">Open the DICOM files (or DICOMDIR) in a DICOM viewer to see the images. "
                 "The case was de-identified by Veil before it left.</p></body></html>")
    return "\n".join(parts).encode("utf-8")
