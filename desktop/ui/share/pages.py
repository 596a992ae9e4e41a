"""Pages of the export wizard: purpose and consent, the profile, and the privacy
gate's review of images that may carry burned-in identity. Pages hold widgets only; the wizard
runs the checks in the background and hands them the results.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QRadioButton, QVBoxLayout, QWidget

from desktop.app.browsing.catalogue import StudyRow
from desktop.app.common.formatting import dicom_date, person_name, plural
from desktop.app.share.sharing import Flagged
from desktop.core.deid.profiles import Profile
from desktop.ui.common.widgets import indented, label, set_role, visible_indicator
from desktop.ui.consent.purpose_form import PurposeForm
from desktop.ui.deid.profile_form import ProfileForm
from desktop.ui.share.review import ReviewPanel

MAX_LISTED_STUDIES = 6


class WizardPage(QWidget):
    """A page of the wizard: a title, a line saying what it is for, and what blocks Next."""

    #: Something changed that may change :meth:`problem`.
    changed = Signal()
    title = ""
    subtitle = ""

    def first_field(self) -> QWidget | None:
        """What takes the keyboard when the page is shown (None: Qt's first in the tab order)."""
        return None

    def problem(self) -> str | None:
        """What keeps the person from going on, in words; None when they can."""
        return None


def study_line(study: StudyRow) -> str:
    """One study of the selection, as the person knows it."""
    parts = [person_name(study.patient_name) or "(no name)", dicom_date(study.study_date), study.modalities,
             study.description]
    return " · ".join(p for p in parts if p) + f" ({plural(study.image_count, 'image')})"


def studies_text(studies: Sequence[StudyRow]) -> str:
    """The studies of the selection, a line each (the first few)."""
    lines = [study_line(s) for s in studies[:MAX_LISTED_STUDIES]]
    if len(studies) > MAX_LISTED_STUDIES:
        lines.append(f"… and {plural(len(studies) - MAX_LISTED_STUDIES, 'more study', 'more studies')}")
    return "\n".join(lines)


class PurposePage(WizardPage):
    """What is exported, why and to whom, and whether consent allows it."""

    title = "Purpose and consent"
    subtitle = "Why the images leave, and for whom. Every study needs a consent, waiver or site policy for it."

    def __init__(self, studies: Sequence[StudyRow], series_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what = what = label(studies_text(studies), self, selectable=True, name="SelectionText")
        self.scope = scope = label(series_text, self, "muted", name="ScopeText")
        self.form = PurposeForm(self)
        self.form.setTitle("Why, and for whom")
        self.form.changed.connect(self.changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label("Exporting", self, "section"))
        layout.addWidget(what)
        layout.addWidget(scope)
        layout.addSpacing(8)
        layout.addWidget(self.form)
        layout.addStretch(1)

    def set_scope(self, text: str, studies: Sequence[StudyRow] | None = None) -> None:
        """What leaves (the studies with something ticked, and of them), as ticked on What leaves."""
        self.scope.setText(text)
        if studies:
            self.what.setText(studies_text(studies))

    def first_field(self) -> QWidget | None:
        return self.form.combo

    def problem(self) -> str | None:
        return self.form.problem()


class ProfilePage(WizardPage):
    """A de-identification preset, or the identifiable originals (for the patient's care only)."""

    title = "De-identification"
    subtitle = "De-identify the images with a profile, or, for the patient's care only, send them identifiable."

    def __init__(self, presets: dict[str, Profile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.deid_radio = QRadioButton("De-identify with a profile (recommended)", self)
        self.deid_radio.setObjectName("DeidentifyChoice")
        self.ident_radio = QRadioButton("Identifiable (care only): the originals, with the patient's name, "
                                        "IDs and dates", self)
        self.ident_radio.setObjectName("IdentifiableChoice")
        for radio in (self.deid_radio, self.ident_radio):
            visible_indicator(radio)
        group = QButtonGroup(self)
        group.addButton(self.deid_radio)
        group.addButton(self.ident_radio)
        self.deid_radio.setChecked(True)
        self.form = ProfileForm(presets, self)
        self.form.changed.connect(self.changed)
        self.ident_note = label("", self, "warning", name="IdentifiableNote")
        self.deid_radio.toggled.connect(self._on_choice)
        inset = QWidget(self)
        inset_layout = QVBoxLayout(inset)
        inset_layout.setContentsMargins(28, 0, 0, 0)
        inset_layout.addWidget(self.form)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.deid_radio)
        layout.addWidget(inset)
        layout.addSpacing(10)
        layout.addWidget(self.ident_radio)
        layout.addLayout(indented(self.ident_note))
        layout.addStretch(1)
        self.allow_identifiable(False)

    @property
    def identifiable(self) -> bool:
        return self.ident_radio.isChecked()

    def profile(self) -> Profile | None:
        """The chosen profile; None when identifiable (or while the form is invalid)."""
        return None if self.identifiable else self.form.profile()

    def allow_identifiable(self, allowed: bool) -> None:
        """Offer the identifiable originals (the purpose allows them: the patient's care, see
        :func:`desktop.app.consent.purpose_rules.identifiable_allowed`)."""
        self.ident_radio.setEnabled(allowed)
        if not allowed and self.ident_radio.isChecked():
            self.deid_radio.setChecked(True)
        self.ident_radio.setToolTip("" if allowed else
                                    "Only for the purpose 'care consultation with a named colleague'")
        self._on_choice()

    def _on_choice(self) -> None:
        self.form.setEnabled(not self.identifiable)
        if self.identifiable:
            text = ("The patient's identity leaves with the images, encrypted to the recipients. Send only what "
                    "the colleague needs for the patient's care.")
        elif self.ident_radio.isEnabled():
            text = "For the patient's care, the colleague may need to know whose images these are."
        else:
            text = "Not for this purpose: identifiable images leave only for the patient's care."
        self.ident_note.setText(text)
        set_role(self.ident_note, "warning" if self.identifiable else "muted")
        self.changed.emit()

    def problem(self) -> str | None:
        return None if self.identifiable else self.form.problem()


class RedactionPage(WizardPage):
    """The privacy gate's burned-in review of what leaves (:class:`desktop.ui.share.review.ReviewPanel`):
    images whose pixels would still show the patient's identity (redact them or leave them out),
    and images flagged for a person to check (confirm, redact or leave them out)."""

    title = "Redaction review"
    subtitle = ("Every image that leaves is reviewed as the privacy gate does it: headers, text read in the "
                "pixels, and the patient's name, IDs and dates in what would leave.")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panel = ReviewPanel(self)
        self.panel.changed.connect(self.changed)
        # The panel's signals, for the wizard.
        self.view_requested = self.panel.view_requested
        self.recheck_requested = self.panel.recheck_requested
        self.stop_requested = self.panel.stop_requested
        self.leave_out_requested = self.panel.leave_out_requested
        # Its widgets, for the wizard's tests and summary.
        p = self.panel
        self.status, self.note, self.list, self.confirm = p.status, p.note, p.list, p.confirm
        self.leak_list = p.leak_list
        self.view_button, self.recheck_button, self.leave_leaks = p.view_button, p.recheck_button, p.leave_leaks
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.panel)
        layout.addStretch(1)

    @property
    def flagged(self) -> list[Flagged] | None:
        return self.panel.flagged

    @property
    def unchecked(self) -> str | None:
        return self.panel.unchecked

    @property
    def confirmed(self) -> bool:
        return self.panel.confirmed

    def problem(self) -> str | None:
        return self.panel.problem()
