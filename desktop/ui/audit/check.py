"""Tools > Verify Audit Log: check the hash chain in the background, then say the outcome."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.app.library.home import VeilHome
from desktop.core.audit import Verification
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import show_error


def show_verification(parent: QWidget | None, result: Verification) -> QMessageBox:
    """"The audit log is intact", the library rolled back, or the first altered line, in a
    window-modal box."""
    if result.ok:
        icon, title = QMessageBox.Icon.Information, "Audit log intact"
        text = f"The audit log is complete and unaltered.\n\n{result.message}"
    elif result.rolled_back:
        icon, title = QMessageBox.Icon.Warning, "Library rolled back"
        text = ("The library is older than the audit trail recorded in the system keyring: events "
                f"are missing from it.\n\n{result.message}")
    else:
        icon, title = QMessageBox.Icon.Warning, "Audit log altered"
        text = f"The audit log does not verify.\n\n{result.message}"
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("AuditResultBox")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def verify_audit_log(parent: QWidget, home: VeilHome,
                     shown: Callable[[QMessageBox], None] | None = None) -> None:
    """Verify ``home``'s audit log off the UI thread; ``shown`` gets the result box."""

    def done(result: Verification) -> None:
        box = show_verification(parent, result)
        if shown is not None:
            shown(box)

    run_in_background(lambda _progress: home.verify_audit(), done,
                      lambda exc: show_error(parent, exc, "Verify Audit Log"),
                      key=f"verify-audit-{id(parent)}", context=parent)
