"""The share windows: Export Package (for the selected studies, or the selected
series), Open Package (from the menu, a dropped ``.veil`` file or the command line), My Key Card
and the Address Book. One wizard and one of each dialog at a time; a package given before the
library is open is opened once it is.

The windows know the window that opens them only through :class:`ShareHost`: what they read of
it and ask of it, nothing more. The host wires its menu actions to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from desktop.app.browsing.catalogue import SeriesRow, StudyRow
from desktop.app.library.home import VeilHome
from desktop.app.share.receiving import Received
from desktop.app.share.sharing import ShareReport
from desktop.app.share.slides import SlidesReport
from desktop.core.cases.case import TeachingCase
from desktop.core.common.errors import VeilError
from desktop.ui.common.errors import show_error
from desktop.ui.keys.address_book import AddressBookDialog
from desktop.ui.keys.key_card_dialog import KeyCardDialog
from desktop.ui.share.open_package_dialog import OpenPackageDialog
from desktop.ui.share.slides_dialog import SlidesDialog
from desktop.ui.share.teaching_wizard import TeachingFileWizard
from desktop.ui.share.widgets import PACKAGE_FILTER, PACKAGE_SUFFIX, exports_folder
from desktop.ui.share.wizard import ShareWizard

DROP_IMPORT = "Drop files or folders to import them"
DROP_PACKAGE = "Drop to open the package"


def is_package(path: str | Path) -> bool:
    """A ``NAME.veil`` file (by its name: the reader checks the rest)."""
    return str(path).lower().endswith(PACKAGE_SUFFIX) and not Path(path).is_dir()


def drop_hint(paths: Sequence[str | Path]) -> str:
    """What a drop of ``paths`` will do, for the drop overlay: open packages, or import."""
    return DROP_PACKAGE if paths and all(is_package(p) for p in paths) else DROP_IMPORT


class ShareHost(Protocol):
    """What the share windows use of the window that opens them."""

    @property
    def home(self) -> VeilHome | None:
        """The open library (None until it is open)."""

    def study_in_view(self) -> StudyRow | None:
        """The study selected in the study browser, while the browser is shown."""

    def studies_in_view(self) -> list[StudyRow]:
        """Every study selected in the study browser, while the browser is shown."""

    def series_of(self, study: StudyRow) -> list[SeriesRow]:
        """The series of ``study`` as the browser lists them."""

    def selected_series(self) -> list[SeriesRow]:
        """The series selected in the browser's series list."""

    def open_viewer(self, study: StudyRow, series: SeriesRow | None = None) -> object:
        """Show ``study`` in a viewer, at ``series``."""

    def refresh(self) -> None:
        """Read the library again (the badges and the accounting follow)."""

    def say(self, text: str) -> None:
        """Show ``text`` in the status bar for a while."""


class ShareWindows(QObject):
    """Opens, raises and closes the share windows of one host; ``parent`` owns them."""

    #: Whether any export or opening runs (the window waits for it before closing).
    busy_changed = Signal(bool)

    def __init__(self, host: ShareHost, parent: QWidget) -> None:
        super().__init__(parent)
        self.host = host
        self.parent_widget = parent
        self.wizard: ShareWizard | None = None
        self.slides_dialog: SlidesDialog | None = None
        self.open_dialogs: list[OpenPackageDialog] = []
        self.key_card_dialog: KeyCardDialog | None = None
        self.address_book_dialog: AddressBookDialog | None = None
        self.waiting: list[Path] = []  # packages given before the library opened
        #: For the series list's context menu (the host offers it there).
        self.export_series_action = QAction("Export Series as Package…", parent)
        self.export_series_action.setToolTip("Send only this series as an encrypted, signed package")
        self.export_series_action.triggered.connect(self.export_series)

    @property
    def busy(self) -> bool:
        return ((self.wizard is not None and self.wizard.busy) or any(d.busy for d in self.open_dialogs)
                or (self.slides_dialog is not None and self.slides_dialog.busy))

    def _say(self, text: str) -> None:
        self.host.say(text)

    # -- export ----------------------------------------------------------------------------------
    def export_package(self, series: list[SeriesRow] | None = None) -> ShareWizard | None:
        """Export Package…: the selected studies (or only ``series`` of the selected study)."""
        studies = self.host.studies_in_view()
        if self.host.home is None or not studies:
            self._say("Select one or more studies to export.")
            return None
        if self.wizard is not None:
            if self.wizard.busy:
                self.wizard.raise_()
                self.wizard.activateWindow()
                self._say("An export is running; it must end before another starts.")
                return self.wizard
            self.wizard.close()
        chosen = [self.host.study_in_view() or studies[0]] if series else studies
        return self._open_wizard(chosen, series or ())

    def export_image(self, study: StudyRow, series_ref: int, sop_instance_uid: str) -> ShareWizard | None:
        """Share This Image as Package… (the viewer): one image of the series ``series_ref``."""
        series = next((s for s in self.host.series_of(study) if s.series_ref == series_ref), None)
        if series is None:  # written since the browser last loaded
            self.host.refresh()
            self._say("The library is reloading; choose Share This Image again in a moment.")
            return None
        return self._busy_wizard() or self._open_wizard([study], [series], (sop_instance_uid,))

    def export_case(self, case: TeachingCase, studies: list[StudyRow]) -> ShareWizard | None:
        """Export Teaching-File Package (a case's export): the wizard on its key images, the
        package carrying the case (IHE TCE) and case.html."""
        return self._busy_wizard() or self._open_wizard(studies, (), case=case)

    def _busy_wizard(self) -> ShareWizard | None:
        """The wizard, raised, while its export runs (another must wait); else None, any idle
        wizard closed to make way for the new one."""
        if self.wizard is not None and self.wizard.busy:
            self.wizard.raise_()
            self._say("An export is running; it must end before another starts.")
            return self.wizard
        if self.wizard is not None:
            self.wizard.close()
        return None

    def _open_wizard(self, studies: list[StudyRow], series: Sequence[SeriesRow],
                     instance_uids: tuple[str, ...] = (), case: TeachingCase | None = None) -> ShareWizard | None:
        home = self.host.home
        if home is None:
            return None
        try:
            wizard = (ShareWizard(home, studies, series, self.parent_widget, instance_uids) if case is None
                      else TeachingFileWizard(home, case, studies, self.parent_widget))
        except VeilError as exc:
            show_error(self.parent_widget, exc, "Cannot export")
            return None
        wizard.exported.connect(self._on_exported)
        wizard.busy_changed.connect(self.busy_changed)
        wizard.view_requested.connect(self.view_series)
        wizard.destroyed.connect(lambda *_: self._forget("wizard", wizard))
        self.wizard = wizard
        wizard.show()
        return wizard

    def export_series(self) -> ShareWizard | None:
        """Export Series as Package… (the series list's context menu)."""
        chosen = self.host.selected_series()
        if not chosen:
            self._say("Select a series to export.")
            return None
        return self.export_package(chosen)

    def _on_exported(self, report: ShareReport) -> None:
        self._say(report.headline())
        self.host.refresh()  # the badges and the accounting follow

    def export_slides(self) -> SlidesDialog | None:
        """Export Slide Images…: the selected studies, one dialog at a time."""
        studies = self.host.studies_in_view()
        home = self.host.home
        if home is None or not studies:
            self._say("Select one or more studies to export as slide images.")
            return None
        if self.slides_dialog is not None:
            if self.slides_dialog.busy:
                self.slides_dialog.raise_()
                return self.slides_dialog
            self.slides_dialog.close()
        dialog = SlidesDialog(home, studies, parent=self.parent_widget)
        dialog.exported.connect(self._on_slides)
        dialog.busy_changed.connect(self.busy_changed)
        dialog.view_requested.connect(self.view_series)
        dialog.destroyed.connect(lambda *_: self._forget("slides_dialog", dialog))
        self.slides_dialog = dialog
        dialog.show()
        return dialog

    def _on_slides(self, report: SlidesReport) -> None:
        self._say(report.headline())
        if report.disclosure is not None:
            self.host.refresh()  # the accounting follows

    def view_series(self, series_uid: str) -> None:
        """Open the viewer at the series the burned-in review asks for (wizard or slides)."""
        for study in self.host.studies_in_view():
            for series in self.host.series_of(study):
                if series.series_uid == series_uid:
                    self.host.open_viewer(study, series)
                    return

    # -- open ------------------------------------------------------------------------------------
    def choose_package(self) -> None:
        """Open Package…: pick a ``.veil`` file."""
        start = exports_folder() if exports_folder().is_dir() else Path.home()
        path, _filter = QFileDialog.getOpenFileName(self.parent_widget, "Open package", str(start),
                                                    f"{PACKAGE_FILTER};;All files (*)")
        if path:
            self.open_package(Path(path))

    def open_package(self, path: Path) -> OpenPackageDialog | None:
        """Verify and import ``path`` in its own dialog (once the library is open)."""
        home = self.host.home
        if home is None:
            self.waiting.append(Path(path))
            return None
        for dialog in self.open_dialogs:
            if dialog.path == Path(path) and (dialog.busy or dialog.received is None):
                dialog.raise_()
                dialog.activateWindow()
                return dialog
        dialog = OpenPackageDialog(home, Path(path), self.parent_widget)
        dialog.opened.connect(lambda received: self._on_opened(received))
        dialog.busy_changed.connect(self.busy_changed)
        dialog.destroyed.connect(lambda *_: self.open_dialogs.remove(dialog) if dialog in self.open_dialogs else None)
        self.open_dialogs.append(dialog)
        dialog.show()
        dialog.start()
        return dialog

    def _on_opened(self, received: Received) -> None:
        self._say(received.imported.summary())
        self.host.refresh()

    def library_opened(self) -> None:
        """Open the packages given before the library was open."""
        waiting, self.waiting = self.waiting, []
        for path in waiting:
            self.open_package(path)

    def take_packages(self, paths: Sequence[str | Path]) -> list[str | Path]:
        """Open the ``.veil`` files among ``paths``; the others (to import)."""
        for path in paths:
            if is_package(path):
                self.open_package(Path(path))
        return [p for p in paths if not is_package(p)]

    # -- identity --------------------------------------------------------------------------------
    def key_card(self) -> KeyCardDialog | None:
        """My Key Card…"""
        home = self.host.home
        if home is None:
            return None
        if self.key_card_dialog is None:
            self.key_card_dialog = KeyCardDialog(home, self.parent_widget)
            dialog = self.key_card_dialog
            dialog.destroyed.connect(lambda *_: self._forget("key_card_dialog", dialog))
        self.key_card_dialog.show()
        self.key_card_dialog.raise_()
        return self.key_card_dialog

    def address_book(self) -> AddressBookDialog | None:
        """Address Book…"""
        home = self.host.home
        if home is None:
            return None
        if self.address_book_dialog is None:
            self.address_book_dialog = AddressBookDialog(home, self.parent_widget)
            dialog = self.address_book_dialog
            dialog.destroyed.connect(lambda *_: self._forget("address_book_dialog", dialog))
        self.address_book_dialog.show()
        self.address_book_dialog.raise_()
        return self.address_book_dialog

    # -- closing ---------------------------------------------------------------------------------
    def _forget(self, name: str, dialog: QObject) -> None:
        if getattr(self, name) is dialog:
            setattr(self, name, None)

    def request_close(self) -> None:
        """Cancel what runs; each window closes once its work has stopped."""
        if self.wizard is not None:
            self.wizard.request_close()
        if self.slides_dialog is not None:
            self.slides_dialog.request_close()
        for dialog in list(self.open_dialogs):
            dialog.request_close()

    def close_all(self) -> None:
        dialogs = [self.wizard, self.slides_dialog, self.key_card_dialog, self.address_book_dialog, *self.open_dialogs]
        for dialog in dialogs:
            if dialog is not None:
                dialog.close()
