"""The first pages of the export wizard (issue 7): purpose and consent, the profile, and the
review of images that may carry burned-in identity. Pages hold widgets only; the wizard runs
the checks in the background and hands them the results.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QHBoxLayout, QListWidget, QListWidgetItem,
                               QPushButton, QRadioButton, QVBoxLayout, QWidget)

from desktop.app.browsing import StudyRow
from desktop.app.formatting import dicom_date, person_name, plural
from desktop.app.sharing import Flagged
from desktop.core.deid.profiles import Profile
from desktop.ui.deid_profile_form import ProfileForm, _visible_indicator
from desktop.ui.purpose_form import PurposeForm
from desktop.ui.share_widgets import indented, label, set_role

MAX_LISTED_STUDIES = 6


class WizardPage(QWidget):
    """A page of the wizard: a title, a line saying what it is for, and what blocks Next."""

    #: Something changed that may change :meth:`problem`.
    changed = Signal()
    title = ""
    subtitle = ""

    def problem(self) -> str | None:
        """What keeps the person from going on, in words; None when they can."""
        return None


def study_line(study: StudyRow) -> str:
    """One study of the selection, as the person knows it."""
    parts = [person_name(study.patient_name) or "(no name)", dicom_date(study.study_date), study.modalities,
             study.description]
    return " · ".join(p for p in parts if p) + f" ({plural(study.image_count, 'image')})"


class PurposePage(WizardPage):
    """What is exported, why and to whom, and whether consent allows it."""

    title = "Purpose and consent"
    subtitle = "Why the images leave, and for whom. Every study needs a consent, waiver or site policy for it."

    def __init__(self, studies: Sequence[StudyRow], series_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lines = [study_line(s) for s in studies[:MAX_LISTED_STUDIES]]
        if len(studies) > MAX_LISTED_STUDIES:
            lines.append(f"… and {plural(len(studies) - MAX_LISTED_STUDIES, 'more study', 'more studies')}")
        what = label("\n".join(lines), self, selectable=True, name="SelectionText")
        scope = label(series_text, self, "muted")
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

    def problem(self) -> str | None:
        return self.form.problem()


class ProfilePage(WizardPage):
    """A de-identification preset, or the identifiable originals (for the patient's care only)."""

    title = "What leaves"
    subtitle = "De-identify the images with a profile, or, for the patient's care only, send them identifiable."

    def __init__(self, presets: dict[str, Profile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.deid_radio = QRadioButton("De-identify with a profile (recommended)", self)
        self.deid_radio.setObjectName("DeidentifyChoice")
        self.ident_radio = QRadioButton("Identifiable (care only): the originals, with the patient's name, "
                                        "IDs and dates", self)
        self.ident_radio.setObjectName("IdentifiableChoice")
        for radio in (self.deid_radio, self.ident_radio):
            _visible_indicator(radio)
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
        self.set_care(False)

    @property
    def identifiable(self) -> bool:
        return self.ident_radio.isChecked()

    def profile(self) -> Profile | None:
        """The chosen profile; None when identifiable (or while the form is invalid)."""
        return None if self.identifiable else self.form.profile()

    def set_care(self, care: bool) -> None:
        """Identifiable images may leave only for the patient's care."""
        self.ident_radio.setEnabled(care)
        if not care and self.ident_radio.isChecked():
            self.deid_radio.setChecked(True)
        self.ident_radio.setToolTip("" if care else "Only for the purpose 'care consultation with a named colleague'")
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


CONFIRM_FLAGGED = "I checked these images: they carry no identifying text, or it may leave with them for this purpose"
CONFIRM_UNREAD = ("I looked at the images myself: they carry no identifying text, or it may leave with them for "
                  "this purpose")


class RedactionPage(WizardPage):
    """Images that may carry burned-in text and have no redaction mask: confirm them, or redact.
    Flagged from the header at once, then from the text read in their pixels (which takes a
    while: the page shows the count and keeps the person here until it is done)."""

    title = "Redaction review"
    subtitle = ("Images that say they carry burned-in text (Burned In Annotation YES) or on which text is "
                "detected in the pixels, and have no redaction mask, must be checked by a person before they leave.")
    #: Open this series (UID) in the viewer, to redact it.
    view_requested = Signal(str)
    #: Look for flagged images again (after redacting).
    recheck_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flagged: list[Flagged] | None = None
        self.failed = False
        self.reading: tuple[int, int] | None = None  # (done, total) images read for text so far
        self.read_total = 0  # images read for text by the last check
        self.unchecked: str | None = None  # why the pixels could not be read for text, if so
        self.status = label("", self, "muted", name="RedactionStatus")
        self.note = label("", self, "warning", name="RedactionNote")
        self.list = QListWidget(self)
        self.list.setObjectName("FlaggedList")
        self.list.setAlternatingRowColors(True)
        self.list.setMaximumHeight(320)
        self.list.itemDoubleClicked.connect(lambda _item: self._view())
        self.hint = label("Redact them in the viewer (Redact mode, Shift+R), then check again. If you looked at "
                          "them and they carry no identifying text, confirm it below.", self, "muted")
        self.view_button = QPushButton("Open in Viewer", self)
        self.view_button.setObjectName("ViewFlagged")
        self.view_button.setToolTip("Open the selected image's series in the viewer, to redact it")
        self.view_button.clicked.connect(self._view)
        self.recheck_button = QPushButton("Check Again", self)
        self.recheck_button.setObjectName("RecheckFlagged")
        self.recheck_button.setToolTip("Look again for images with burned-in text (declared or detected in the "
                                       "pixels) and no redaction mask")
        self.recheck_button.clicked.connect(self.recheck_requested)
        self.confirm = QCheckBox(CONFIRM_FLAGGED, self)
        self.confirm.setObjectName("ConfirmBurnedIn")
        _visible_indicator(self.confirm)
        self.confirm.toggled.connect(lambda _on: self.changed.emit())
        buttons = QHBoxLayout()
        buttons.addWidget(self.view_button)
        buttons.addWidget(self.recheck_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.list)
        layout.addWidget(self.note)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)
        layout.addSpacing(6)
        layout.addWidget(self.confirm)
        layout.addStretch(1)
        self.show_checking()

    def show_checking(self) -> None:
        self.flagged, self.failed, self.reading, self.read_total, self.unchecked = None, False, None, 0, None
        self.status.setText("Looking for images with burned-in text…")
        set_role(self.status, "muted")
        self.note.hide()
        self._show_list(False)
        self.changed.emit()

    def show_reading(self, done: int, total: int) -> None:
        """Progress of the read for text in the pixels (``total`` images)."""
        if self.flagged is not None or self.failed:
            return
        self.reading, self.read_total = (done, total), total
        if total:
            self.status.setText(f"Reading {plural(total, 'image')} for burned-in text… {done:,}/{total:,}")
        self.changed.emit()

    def show_failure(self, message: str) -> None:
        self.flagged, self.failed, self.reading = None, True, None
        self.status.setText(f"The images could not be checked: {message}")
        set_role(self.status, "danger")
        self.note.hide()
        self._show_list(False)
        self.recheck_button.show()
        self.changed.emit()

    def show_flagged(self, flagged: list[Flagged], unchecked: str | None = None) -> None:
        """Show the flagged images (:func:`desktop.app.sharing.flagged_images`, then
        :func:`desktop.app.text_flags.text_flags`); ``unchecked`` says why the pixels could not
        be read for text, when they could not (then the person must confirm they looked)."""
        self.flagged, self.reading, self.unchecked = list(flagged), None, unchecked
        self.list.clear()
        if unchecked:
            self.note.setText(f"⚠ Text in the pixels was not looked for: {unchecked} Look at the images yourself "
                              "before they leave.")
        self.note.setVisible(bool(unchecked))
        if not flagged and unchecked:
            self.status.setText("No header in this selection says its image carries burned-in text, but the "
                                "pixels were not read for text.")
            set_role(self.status, "warning")
            self._show_list(False)
        elif not flagged:
            read = (f", and no text was detected in the pixels of the {plural(self.read_total, 'image')} read"
                    if self.read_total else "")
            self.status.setText("✓ No image in this selection may carry burned-in text without a redaction mask: "
                                f"no header says so{read}. Nothing needs checking here.")
            set_role(self.status, "ok")
            self._show_list(False)
        else:
            verb = "has" if len(flagged) == 1 else "have"
            self.status.setText(f"⚠ {plural(len(flagged), 'image')} may carry burned-in identity (Burned In "
                                f"Annotation YES, a modality that often carries text, or text detected in the "
                                f"pixels) and {verb} no redaction mask:")
            set_role(self.status, "warning")
            for item in flagged:
                row = QListWidgetItem(item.label)
                row.setData(Qt.ItemDataRole.UserRole, item.series_uid)
                row.setToolTip(item.label)
                self.list.addItem(row)
            self.list.setCurrentRow(0)
            self._show_list(True)
        self.confirm.setText(CONFIRM_FLAGGED if flagged else CONFIRM_UNREAD)
        self.confirm.setVisible(bool(flagged or unchecked))
        self.recheck_button.setVisible(bool(flagged or unchecked))
        self.changed.emit()

    def _show_list(self, shown: bool) -> None:
        for widget in (self.list, self.hint, self.view_button, self.confirm):
            widget.setVisible(shown)
        self.recheck_button.setVisible(shown)
        if not shown:
            self.confirm.setChecked(False)

    def _view(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.view_requested.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    @property
    def confirmed(self) -> bool:
        return bool(self.flagged) and self.confirm.isChecked()

    def problem(self) -> str | None:
        if self.failed:
            return "The images could not be checked for burned-in text: check again."
        if self.flagged is None:
            if self.reading is not None and self.reading[1]:
                done, total = self.reading
                return f"Reading the images for burned-in text ({done:,} of {total:,})…"
            return "Checking the images for burned-in text…"
        if (self.flagged or self.unchecked) and not self.confirm.isChecked():
            if not self.flagged:
                return "Confirm you looked at the images: text in their pixels could not be looked for."
            return "Confirm you checked the flagged images, or redact them first."
        return None
