"""The export wizard's frame: the step rail on the left, the page's title and subtitle over the
page stack, and the footer with what blocks Next and the Cancel, Back and Next buttons. The
wizard (:mod:`desktop.ui.share.wizard`) wires it; this module only lays it out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from desktop.ui.common.widgets import heading, label
from desktop.ui.share.pages import WizardPage

RAIL_WIDTH = 210


@dataclass
class WizardFrame:
    """The widgets of the frame the wizard talks to."""

    steps: list[QLabel]
    title: QLabel
    subtitle: QLabel
    stack: QStackedWidget
    problem_label: QLabel
    back_button: QPushButton
    next_button: QPushButton
    close_button: QPushButton


def step_text(number: int, page: WizardPage) -> str:
    """A step of the rail: its number and the page's title."""
    return f"{number}   {page.title}"


def retitle_steps(steps: Sequence[QLabel], pages: Sequence[WizardPage]) -> None:
    """Name the steps after the pages again (a page's title follows the chosen exit)."""
    for n, (step, page) in enumerate(zip(steps, pages, strict=True), start=1):
        step.setText(step_text(n, page))


def build_frame(dialog: QWidget, pages: Sequence[WizardPage]) -> WizardFrame:
    """Lay the frame out on ``dialog`` around ``pages``."""
    rail = QFrame(dialog)
    rail.setObjectName("StepRail")
    rail.setFixedWidth(RAIL_WIDTH)
    rail_layout = QVBoxLayout(rail)
    rail_layout.setContentsMargins(8, 10, 8, 10)
    steps: list[QLabel] = []
    for n, page in enumerate(pages, start=1):
        step = QLabel(step_text(n, page), rail)
        step.setProperty("step", "todo")
        rail_layout.addWidget(step)
        steps.append(step)
    rail_layout.addStretch(1)
    title = heading("", dialog, 1.35)
    title.setObjectName("PageTitle")
    subtitle = label("", dialog, "muted", name="PageSubtitle")
    stack = QStackedWidget(dialog)
    for page in pages:
        stack.addWidget(page)
    problem_label = label("", dialog, "warning", name="WizardProblem")
    back_button = QPushButton("Back", dialog)
    back_button.setObjectName("BackButton")
    next_button = QPushButton("Next", dialog)
    next_button.setObjectName("NextButton")
    next_button.setProperty("primary", True)
    next_button.setDefault(True)
    close_button = QPushButton("Cancel", dialog)
    close_button.setObjectName("CloseButton")
    body = QVBoxLayout()
    body.setContentsMargins(12, 0, 0, 0)
    body.addWidget(title)
    body.addWidget(subtitle)
    body.addSpacing(10)
    body.addWidget(stack, 1)
    top = QHBoxLayout()
    top.addWidget(rail)
    top.addLayout(body, 1)
    footer = QHBoxLayout()
    footer.addWidget(problem_label, 1)
    footer.addStretch(1)  # the buttons keep their size while no problem is shown
    footer.addSpacing(12)
    footer.addWidget(close_button)
    footer.addWidget(back_button)
    footer.addWidget(next_button)
    layout = QVBoxLayout(dialog)
    layout.setContentsMargins(14, 14, 14, 12)
    layout.addLayout(top, 1)
    layout.addSpacing(8)
    layout.addLayout(footer)
    return WizardFrame(steps, title, subtitle, stack, problem_label, back_button, next_button, close_button)
