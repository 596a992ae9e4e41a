"""The live consent verdict of an export dialog's purpose form (De-identify, Export Slides, Export
Image): checked off the UI thread a moment after the form last changed, a stale answer dropped.
One copy for the three dialogs (they each had their own)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from desktop.app.consent.export_consent import ExportPurpose
from desktop.core.common.errors import VeilError
from desktop.core.consent import Decision
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import describe_unexpected, message_for
from desktop.ui.common.widgets import single_shot
from desktop.ui.consent.purpose_form import PurposeForm

log = logging.getLogger(__name__)

#: How long after the last keystroke in the form the check runs.
CONSENT_DELAY_MS = 300

#: Runs off the UI thread for a purpose: the consent decision, and anything else the dialog
#: wants from the same pass over the library (None if nothing).
Check = Callable[[ExportPurpose], tuple[Decision, object]]


class ConsentCheck:
    """Checks ``form``'s purpose with ``check`` whenever the form changes; ``changed()`` is called
    when the verdict (or its pending state) changes, ``extra(value)`` with what ``check``
    returned beside the decision."""

    def __init__(self, owner: QWidget, form: PurposeForm, check: Check, changed: Callable[[], None], name: str,
                 extra: Callable[[object], None] | None = None) -> None:
        self.owner, self.form, self.check, self.changed, self.name = owner, form, check, changed, name
        self.extra = extra
        self._timer = single_shot(owner, CONSENT_DELAY_MS, self.run)
        form.changed.connect(self.schedule)

    @property
    def pending(self) -> bool:
        """A check is due or running: the dialog's Export waits for it."""
        return self._timer.isActive() or self.form.decision is None

    def schedule(self) -> None:
        self.changed()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def run(self) -> None:
        """Check now, in the background."""
        self._timer.stop()
        purpose = self.form.purpose()
        if purpose is None:
            self.form.show_checking()
            self.changed()
            return
        key, check = self.form.check_key(), self.check

        def op(_progress) -> tuple:  # noqa: ANN001
            return (key, *check(purpose))

        run_in_background(op, self._checked, self._failed, key=f"{self.name}-consent-{id(self.owner)}",
                          context=self.owner)

    def _checked(self, result: tuple) -> None:
        key, decision, extra = result
        if self.form.check_key() != key:
            return  # the form changed meanwhile: a newer check is on its way
        self.form.show_decision(decision)
        if self.extra is not None:
            self.extra(extra)
        self.changed()

    def _failed(self, exc: BaseException) -> None:
        if not isinstance(exc, VeilError):
            log.error("Consent check failed: %s", describe_unexpected(exc))
        self.form.show_failure(message_for(exc))
        self.changed()
