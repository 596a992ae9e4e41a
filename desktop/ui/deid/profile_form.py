"""Choose a de-identification profile: a named preset, the PS3.15 options, the pseudonym prefix.

The form holds no rules of its own: the presets come from ``resources/deid/profiles`` and the
options (and their titles) from the standard's table, through ``desktop.core.deid``. Changing
an option turns the preset into "Custom"; ticking the options back selects the preset again.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.core.common.errors import VeilError
from desktop.core.deid.profiles import OPTION_CODES, Profile
from desktop.core.deid.table import OPTIONS
from desktop.ui.common.widgets import visible_indicator

CUSTOM = "custom"
#: Presets in the order a person meets them (others, if any, follow by key).
PRESET_ORDER = ("teaching", "research", "publication")
FULL_DATES, MODIFIED_DATES = "retain_full_dates", "retain_modified_dates"
EXCLUSIVE = {FULL_DATES: MODIFIED_DATES, MODIFIED_DATES: FULL_DATES}

#: What each option does, in plain words, with its section of PS3.15 Annex E.
OPTION_TIPS: dict[str, str] = {
    "retain_safe_private": "Keep the private attributes the standard lists as safe (PS3.15 E.3.10, "
                           "Table E.3.10-1). Every other private attribute is removed.",
    "retain_uids": "Keep the original Study, Series and Instance UIDs instead of replacing them "
                   "(PS3.15 E.3.9). Original UIDs can link the copy back to the hospital's archive.",
    "retain_device_identity": "Keep the scanner's identity: station name, serial numbers and "
                              "device identifiers (PS3.15 E.3.8).",
    "retain_institution_identity": "Keep the institution's name, address and department "
                                   "(PS3.15 E.3.11).",
    "retain_patient_characteristics": "Keep the patient's age, sex, size, weight and similar "
                                      "characteristics (PS3.15 E.3.7); never the name or birth date.",
    "retain_full_dates": "Keep every date and time unchanged (PS3.15 E.3.6). Real dates can identify "
                         "a patient; prefer modified dates. Not with modified dates.",
    "retain_modified_dates": "Keep dates, moved by an offset that is the same for every study of a "
                             "patient, so intervals stay true (PS3.15 E.3.6). Not with full dates.",
    "clean_descriptors": "Keep descriptions and comments (study, series, protocol…) once the "
                         "patient's identifiers are removed from their text (PS3.15 E.3.5).",
    "clean_structured_content": "Keep the content of structured reports once identifying items "
                                "are cleaned (PS3.15 E.3.4).",
    "clean_graphics": "Keep graphics and overlays once identifying text is cleaned from them "
                      "(PS3.15 E.3.3); without it they are removed.",
}


def preset_order(keys: list[str]) -> list[str]:
    """``keys`` with the known presets first, in the order a person meets them."""
    known = [k for k in PRESET_ORDER if k in keys]
    return known + sorted(k for k in keys if k not in known)


def prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot name pseudonyms, or None when it can."""
    try:
        Profile("check", "check", frozenset(), prefix)
    except VeilError as exc:
        return str(exc)
    return None


class ProfileForm(QWidget):
    """Preset, options, description and pseudonym prefix; says what is wrong, if anything."""

    #: The profile or the prefix changed (read :meth:`profile` and :meth:`problem`).
    changed = Signal()

    def __init__(self, presets: dict[str, Profile], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if not presets:
            raise VeilError("No de-identification profiles are installed.")
        self.presets = presets
        self._base = presets[preset_order(list(presets))[0]]  # the preset last chosen

        self.preset_combo = QComboBox(self)
        self.preset_combo.setObjectName("PresetCombo")
        self.preset_combo.setToolTip("A named profile: the Basic Profile with a set of options. "
                                     "Changing an option makes it Custom.")
        for key in preset_order(list(presets)):
            self.preset_combo.addItem(presets[key].title, key)
        self.preset_combo.activated.connect(self._on_preset_activated)
        self.description = QLabel(self)
        self.description.setObjectName("PresetDescription")
        self.description.setWordWrap(True)
        self.description.setProperty("role", "muted")
        self.description.setTextFormat(Qt.TextFormat.PlainText)

        self.boxes: dict[str, QCheckBox] = {}
        options_box = QGroupBox("Options of the Basic Profile (PS3.15 E.3)", self)
        options_layout = QVBoxLayout(options_box)
        options_layout.setSpacing(4)
        for key, (_column, title) in OPTIONS.items():
            box = QCheckBox(title, options_box)
            box.setObjectName(f"option_{key}")
            code = OPTION_CODES.get(key, ("", ""))[0]
            box.setToolTip(OPTION_TIPS.get(key, title) + (f"\nRecorded as code {code} (CID 7050)." if code else ""))
            box.toggled.connect(lambda checked, k=key: self._on_option_toggled(k, checked))
            visible_indicator(box)
            options_layout.addWidget(box)
            self.boxes[key] = box

        self.prefix_edit = QLineEdit(self)
        self.prefix_edit.setObjectName("PrefixEdit")
        self.prefix_edit.setMaxLength(16)  # long enough to show why 11 is too many
        self.prefix_edit.setToolTip("Patients are named PREFIX-0001, PREFIX-0002… The same patient "
                                    "keeps the same pseudonym in every export with this prefix.")
        self.prefix_edit.textChanged.connect(self._on_prefix_changed)
        self.prefix_example = QLabel(self)
        self.prefix_example.setProperty("role", "muted")
        self.prefix_problem = QLabel(self)
        self.prefix_problem.setObjectName("PrefixProblem")
        self.prefix_problem.setProperty("role", "warning")
        self.prefix_problem.setWordWrap(True)
        self.prefix_problem.hide()

        self._build_layout(options_box)
        self._apply_preset(self._base)

    def _build_layout(self, options_box: QGroupBox) -> None:
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("Profile:", self.preset_combo)
        form.addRow(self.description)
        prefix_row = QHBoxLayout()
        prefix_row.addWidget(self.prefix_edit)
        prefix_row.addWidget(self.prefix_example, 1)
        form.addRow("Pseudonym prefix:", prefix_row)
        form.addRow(self.prefix_problem)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(options_box)

    # -- what the form says ----------------------------------------------------------------
    @property
    def preset_key(self) -> str:
        """The chosen preset's key, or ``custom``."""
        return str(self.preset_combo.currentData())

    def options(self) -> frozenset[str]:
        return frozenset(k for k, box in self.boxes.items() if box.isChecked())

    def problem(self) -> str | None:
        """What keeps the profile from being used, for a person; None when it is valid."""
        return prefix_problem(self.prefix_edit.text())

    def profile(self) -> Profile | None:
        """The profile as chosen, or None while it is invalid (see :meth:`problem`)."""
        prefix, options = self.prefix_edit.text(), self.options()
        if self.problem() is not None:
            return None
        try:
            if self.preset_key != CUSTOM:
                return dataclasses.replace(self.presets[self.preset_key], pseudonym_prefix=prefix)
            return self._base.with_options(options, prefix)
        except VeilError:
            return None

    # -- changing it -----------------------------------------------------------------------
    def select_preset(self, key: str) -> None:
        """Choose the preset ``key``: its options, prefix and description."""
        self._apply_preset(self.presets[key])
        self.changed.emit()

    def _on_preset_activated(self, index: int) -> None:
        key = self.preset_combo.itemData(index)
        if key != CUSTOM:
            self.select_preset(str(key))

    def _apply_preset(self, preset: Profile) -> None:
        self._base = preset
        self._remove_custom()
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(preset.key))
        for key, box in self.boxes.items():
            box.blockSignals(True)
            box.setChecked(key in preset.options)
            box.blockSignals(False)
        self.prefix_edit.blockSignals(True)
        self.prefix_edit.setText(preset.pseudonym_prefix)
        self.prefix_edit.blockSignals(False)
        self._show_prefix()
        self.description.setText(preset.description)

    def _on_option_toggled(self, key: str, checked: bool) -> None:
        other = EXCLUSIVE.get(key)
        if checked and other is not None and self.boxes[other].isChecked():
            self.boxes[other].blockSignals(True)
            self.boxes[other].setChecked(False)  # full and modified dates exclude each other
            self.boxes[other].blockSignals(False)
        if self.options() == self._base.options:
            self._remove_custom()
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(self._base.key))
            self.description.setText(self._base.description)
        else:
            if self.preset_combo.findData(CUSTOM) < 0:
                self.preset_combo.addItem("Custom", CUSTOM)
                self.preset_combo.setItemData(self.preset_combo.count() - 1,
                                              "The options as ticked below", Qt.ItemDataRole.ToolTipRole)
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(CUSTOM))
            self.description.setText(f"Custom: the Basic Profile with the options ticked below "
                                     f"(started from {self._base.title}).")
        self.changed.emit()

    def _remove_custom(self) -> None:
        index = self.preset_combo.findData(CUSTOM)
        if index >= 0:
            self.preset_combo.removeItem(index)

    def _on_prefix_changed(self, _text: str) -> None:
        self._show_prefix()
        self.changed.emit()

    def _show_prefix(self) -> None:
        problem = self.problem()
        self.prefix_problem.setText(problem or "")
        self.prefix_problem.setVisible(problem is not None)
        prefix = self.prefix_edit.text()
        self.prefix_example.setText("" if problem else f"gives {prefix}-0001, {prefix}-0002…")
