"""Detection's proposals as the person reviews them: the same box found on many frames of one
image is one proposal, labelled with where it is, how large, on which frames and what text was
read in it. No Qt.

That text may be the patient's identity (HIPAA 45 CFR 164.514(b)(2): names, dates, numbers):
it is shown to the person deciding, never logged (it is left out of the repr too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the detector loads the OCR's dependencies: only when detection runs
    from desktop.core.redaction.detect import Proposal

#: (x0, y0, x1, y1) in image pixels, x1 and y1 exclusive (as the detector gives them).
Box = tuple[int, int, int, int]
#: Characters of the text read shown in a proposal's line (the tooltip has all of it).
TEXT_SHOWN = 48


@dataclass
class ProposalGroup:
    """One proposed box of one image, with every frame it was found on."""

    instance_ref: int
    box: Box
    risk: str
    text_kind: str
    reason: str
    frames: list[int] = field(default_factory=list)
    size: tuple[int, int, int] = (0, 0, 1)  # the image's rows, columns, frames
    #: What OCR read in the box (on its first frame): shown, never logged.
    text: str = field(default="", repr=False)

    def label(self) -> str:
        """``High risk · name · top left, 120×14 px · frames 1–40`` and, below, the text read
        (shortened) and the reason."""
        rows, columns, count = self.size
        x0, y0, x1, y1 = self.box
        parts = ["High risk" if self.risk == "high" else "Low risk", self.text_kind]
        if rows and columns:
            cx, cy = (x0 + x1) / 2 / columns, (y0 + y1) / 2 / rows
            place = (("top", "middle", "bottom")[min(2, int(cy * 3))] + " "
                     + ("left", "centre", "right")[min(2, int(cx * 3))])
            parts.append(f"{'centre' if place == 'middle centre' else place}, {x1 - x0}×{y1 - y0} px")
        frames = self.frames
        if count > 1:
            parts.append(f"frame {frames[0] + 1}" if len(frames) == 1 else
                         f"frames {frames[0] + 1}–{frames[-1] + 1}"
                         if frames == list(range(frames[0], frames[-1] + 1)) else f"{len(frames)} frames")
        shown = self.text if len(self.text) <= TEXT_SHOWN else self.text[:TEXT_SHOWN - 1] + "…"
        return " · ".join(parts) + (f"\n“{shown}” — {self.reason}" if shown else f"\n{self.reason}")

    def tooltip(self) -> str:
        """The whole text read, for a label that had to shorten it."""
        return f"Text read: “{self.text}”\n{self.reason}" if self.text else self.reason


def group_proposals(proposals: Sequence[Proposal], instance_ref: int,
                    size: tuple[int, int, int] = (0, 0, 1)) -> list[ProposalGroup]:
    """One group per (box, risk, kind); high risk first, then top to bottom."""
    groups: dict[tuple[Box, str, str], ProposalGroup] = {}
    for p in proposals:
        box: Box = (p.box[0], p.box[1], p.box[2], p.box[3])
        key = (box, p.risk, p.text_kind)
        group = groups.setdefault(key, ProposalGroup(instance_ref, box, p.risk, p.text_kind, p.reason,
                                                     size=size, text=p.text))
        if p.frame not in group.frames:
            group.frames.append(p.frame)
    for group in groups.values():
        group.frames.sort()
    return sorted(groups.values(), key=lambda g: (g.risk != "high", g.box[1], g.box[0]))
