"""A PowerPoint deck (Office Open XML, ECMA-376) from plain data: a title slide, one slide
per key image with its caption, text slides (the reveal of an unknown case), and speaker
notes. Only the privacy gate's writers call it (an import-linter contract): what goes in has
passed the gate, and nothing else goes in; the document properties say only "Veil" and the
deck's title, with the time of export.

Slides are 16:9 with a black background, as radiology talks are: the images keep their grey
scale, white text.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

from PIL import Image
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.presentation import Presentation as PresentationFile
from pptx.slide import Slide
from pptx.util import Emu, Inches, Pt

SLIDE_WIDTH = Inches(13.333)
SLIDE_HEIGHT = Inches(7.5)
MARGIN = Inches(0.4)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)  # type: ignore[no-untyped-call]  # python-pptx leaves it unannotated
GREY = RGBColor(0xBB, 0xBB, 0xBB)  # type: ignore[no-untyped-call]
BLACK = RGBColor(0, 0, 0)  # type: ignore[no-untyped-call]
BLANK_LAYOUT = 6


@dataclass(frozen=True)
class DeckSlide:
    """One slide: a heading, and an image (PNG bytes) with its caption, or body text; the
    speaker notes."""

    heading: str
    image_png: bytes | None = None
    caption: str = ""
    body: str = ""
    notes: str = ""


@dataclass(frozen=True)
class Deck:
    title: str
    subtitle: str
    slides: tuple[DeckSlide, ...]


def _text(slide: Slide, left: int, top: int, width: int, height: int, text: str, size: int,
          bold: bool = False, colour: RGBColor = WHITE) -> None:
    frame = slide.shapes.add_textbox(Emu(left), Emu(top), Emu(width), Emu(height)).text_frame
    frame.word_wrap = True
    for n, line in enumerate(text.splitlines() or [""]):
        paragraph = frame.paragraphs[0] if n == 0 else frame.add_paragraph()
        run = paragraph.add_run()
        run.text = line
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.color.rgb = colour


def _blank(prs: PresentationFile) -> Slide:
    slide: Slide = prs.slides.add_slide(prs.slide_layouts[BLANK_LAYOUT])
    fill = slide.background.fill
    fill.solid()
    fill.fore_color.rgb = BLACK
    return slide


def _picture(slide: Slide, png: bytes, top: int, bottom: int) -> None:
    """The image as large as fits between ``top`` and ``bottom``, centred."""
    with Image.open(io.BytesIO(png)) as image:
        width_px, height_px = image.size
    room_w, room_h = SLIDE_WIDTH - 2 * MARGIN, bottom - top
    scale = min(room_w / width_px, room_h / height_px)
    width, height = int(width_px * scale), int(height_px * scale)
    slide.shapes.add_picture(io.BytesIO(png), Emu((SLIDE_WIDTH - width) // 2), Emu(top), Emu(width), Emu(height))


def deck_bytes(deck: Deck, now: datetime | None = None) -> bytes:
    """The .pptx file of ``deck``."""
    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    props = prs.core_properties
    when = (now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0)
    props.title, props.subject, props.author, props.last_modified_by = deck.title, "Teaching file", "Veil", "Veil"
    props.comments = props.keywords = props.category = props.content_status = props.identifier = ""
    props.created = props.modified = when
    props.revision = 1
    title = _blank(prs)
    _text(title, MARGIN, Inches(2.4), SLIDE_WIDTH - 2 * MARGIN, Inches(1.4), deck.title, 40, bold=True)
    _text(title, MARGIN, Inches(3.9), SLIDE_WIDTH - 2 * MARGIN, Inches(1.5), deck.subtitle, 22, colour=GREY)
    for item in deck.slides:
        slide = _blank(prs)
        _text(slide, MARGIN, Inches(0.2), SLIDE_WIDTH - 2 * MARGIN, Inches(0.7), item.heading, 26, bold=True)
        if item.image_png is not None:
            caption_top = SLIDE_HEIGHT - Inches(0.9) if item.caption else SLIDE_HEIGHT - MARGIN
            _picture(slide, item.image_png, Inches(1.0), caption_top - Inches(0.1))
            if item.caption:
                _text(slide, MARGIN, caption_top, SLIDE_WIDTH - 2 * MARGIN, Inches(0.7), item.caption, 18)
        if item.body:
            _text(slide, MARGIN, Inches(1.2), SLIDE_WIDTH - 2 * MARGIN, SLIDE_HEIGHT - Inches(1.6), item.body, 24)
        notes = slide.notes_slide.notes_text_frame
        if item.notes and notes is not None:
            notes.text = item.notes
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()
