"""Open the Veil home: ask for the passphrase on the UI thread if one is needed, then unlock
in the background (scrypt takes a noticeable moment) and ask again on a wrong passphrase."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from desktop.app.library.home import VeilHome
from desktop.core.common.errors import WrongPassphraseError
from desktop.core.keys import PassphrasePrompt
from desktop.core.keys.keystore import KEYSTORE_FILE, needs_passphrase
from desktop.ui.common.background import run_in_background
from desktop.ui.keys.passphrase_dialog import PassphraseDialog

WRONG_PASSPHRASE = "That passphrase does not unlock this library. Check it and try again."


class LibraryOpener(QObject):
    """Emits :attr:`opened` with the :class:`VeilHome`, :attr:`abandoned` when the person
    cancels the passphrase dialog, or :attr:`failed` with the error."""

    opened = Signal(object)
    abandoned = Signal()
    failed = Signal(object)

    def __init__(self, home_path: Path, parent: QWidget) -> None:
        super().__init__(parent)
        self.home_path = Path(home_path)
        self.dialog: PassphraseDialog | None = None
        self._window = parent

    def start(self) -> None:
        """Ask for a passphrase first if the home needs one, else open straight away."""
        if needs_passphrase(self.home_path):
            creating = not (self.home_path / KEYSTORE_FILE).exists()
            self.dialog = PassphraseDialog(creating, self._window)
            self.dialog.submitted.connect(self._open)
            self.dialog.rejected.connect(self.abandoned)
            self.dialog.open()
        else:
            self._open(None)

    def _open(self, passphrase: str | None) -> None:
        path = self.home_path

        def prompt(_creating: bool) -> str | None:
            return passphrase

        run_in_background(lambda _progress: _open_and_recover(path, prompt if passphrase else None),
                          self._on_opened, self._on_failed, key=f"open-home-{id(self)}", context=self)

    def _on_opened(self, home: VeilHome) -> None:
        if self.dialog is not None:
            self.dialog.finish()
            self.dialog.deleteLater()
            self.dialog = None
        self.opened.emit(home)

    def _on_failed(self, exc: BaseException) -> None:
        if self.dialog is not None and isinstance(exc, WrongPassphraseError):
            self.dialog.show_error(WRONG_PASSPHRASE)
            return
        if self.dialog is not None:
            self.dialog.finish()
            self.dialog.deleteLater()
            self.dialog = None
        self.failed.emit(exc)


def _open_and_recover(path: Path | None, prompt: PassphrasePrompt | None) -> VeilHome:
    """Open the home, then settle work a crash interrupted (outputs that became
    visible are accounted for, the rest removed), before the window shows anything."""
    from desktop.app.startup.recovery import recover

    home = VeilHome.open(path, prompt=prompt)
    recover(home)
    return home
