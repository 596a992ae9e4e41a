"""A teaching case open for editing: every edit an undoable step (the shared
:class:`desktop.core.common.undo.History`), saved to the library when asked, and whether
anything is unsaved. No Qt: the case editor drives it and shows what it says."""

from __future__ import annotations

from desktop.app.cases import casebook
from desktop.app.library.home import VeilHome
from desktop.core.cases.case import KeyView, TeachingCase
from desktop.core.common.undo import History


class CaseDraft:
    """One case being edited (``case_id`` None until it is first saved)."""

    def __init__(self, home: VeilHome, case: TeachingCase, case_id: int | None = None) -> None:
        self.home = home
        self.case_id = case_id
        self.history: History[TeachingCase] = History(case)
        self._saved_revision = self.history.revision if case_id is not None else -1

    @classmethod
    def open(cls, home: VeilHome, case_id: int) -> CaseDraft:
        return cls(home, casebook.load(home, case_id), case_id)

    @property
    def case(self) -> TeachingCase:
        return self.history.value

    @property
    def dirty(self) -> bool:
        """Edits not saved yet (a new case is unsaved until its first save)."""
        return self.history.revision != self._saved_revision

    def edit(self, case: TeachingCase, label: str) -> bool:
        """Make ``case`` the current value as one undoable step; False when nothing changed."""
        before = self.history.revision
        self.history.apply(case, label)
        return self.history.revision != before

    def mark(self, sop_uid: str, frame: int, view: KeyView) -> int:
        """Mark the image on screen as a key image (or update its view); its position."""
        key = casebook.key_image(self.home, sop_uid, frame, view)
        self.edit(self.case.with_key_image(key), "Mark Key Image")
        index = self.case.index_of(*key.key)
        assert index is not None
        return index

    def undo(self) -> bool:
        return self.history.undo()

    def redo(self) -> bool:
        return self.history.redo()

    def save(self) -> int:
        """Keep the case in the library; its id."""
        self.case_id = casebook.save(self.home, self.case, self.case_id)
        self._saved_revision = self.history.revision
        return self.case_id
