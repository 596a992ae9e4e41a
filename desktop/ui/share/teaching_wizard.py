"""Export Teaching-File Package: the share wizard for one teaching case. Its key images are
ticked, and the package carries, beside them, the case as IHE Teaching File and Clinical Trial
Export defines it (a Key Object Selection titled for teaching-file export, the case's report)
and ``case.html`` (:mod:`desktop.app.cases.tce_members`). A teaching case leaves de-identified:
the identifiable choice stays off whatever the purpose. Everything else is the wizard's:
consent, burned-in review, recipients or passphrase or a journal ZIP, progress, Cancel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtWidgets import QWidget

from desktop.app.browsing.catalogue import StudyRow
from desktop.app.library.home import VeilHome
from desktop.app.share.sharing import ShareRequest
from desktop.core.cases.case import TeachingCase
from desktop.ui.share.wizard import ShareWizard

#: The de-identification preset a teaching case starts on (the user may choose another).
TEACHING_PRESET = "teaching"


class TeachingFileWizard(ShareWizard):
    """The share wizard for ``case`` (see the module); ``studies`` are its studies' rows."""

    node_unavailable = ("A teaching case leaves as a package, with its case documents beside the key images: "
                        "not to a DICOM node.")

    def __init__(self, home: VeilHome, case: TeachingCase, studies: Sequence[StudyRow],
                 parent: QWidget | None = None) -> None:
        self.teaching_case = case
        super().__init__(home, studies, (), parent, tuple(k.sop_uid for k in case.key_images))
        self.setObjectName("TeachingFileWizard")
        self.setWindowTitle(f"Export Teaching-File Package \u2014 {case.title}")
        if TEACHING_PRESET in self.profile_page.form.presets:
            self.profile_page.form.select_preset(TEACHING_PRESET)
        self.profile_page.allow_identifiable(False)
        self.selection_page.subtitle = (f"The key images of \u201c{case.title}\u201d are ticked: the package adds the "
                                        "case beside them, as IHE TCE documents (a key object selection and its "
                                        "report) and case.html. Every key image must leave.")
        self.go(0)

    def _on_purpose_changed(self) -> None:
        super()._on_purpose_changed()
        self.profile_page.allow_identifiable(False)  # never identifiable, even for care

    def request(self) -> ShareRequest | None:
        request = super().request()
        return None if request is None else replace(request, teaching_case=self.teaching_case)
