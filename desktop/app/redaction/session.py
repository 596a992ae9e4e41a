"""The masks of one open series while it is being redacted: which mask is being edited, undo
and redo across masks, and moving a mask to another scope. No Qt: the redact mode drives it.

Each stored mask lives in a *slot*: (instance it was drawn on, scope, frame), the key the
library stores it under. Every slot has its own :class:`EditHistory`; the session keeps one
undo list over all of them, so Ctrl+Z undoes the person's last step wherever it was (moving a
mask from "this frame" to "the series" touches two slots and is still one step).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from desktop.core.library.index import InstanceRow
from desktop.core.library.masks import masks_for
from desktop.core.redaction.history import EditHistory
from desktop.core.redaction.mask import Mask, Scope
from desktop.core.redaction.shapes import Rect, Shape, Stroke

#: Undo steps kept (each history keeps its own 500; a step may touch two of them).
MAX_STEPS = 400
#: The order in which masks that apply to a frame are offered for editing: the narrowest first.
PRECEDENCE = (Scope.FRAME, Scope.IMAGE, Scope.SERIES)


@dataclass(frozen=True)
class Slot:
    """Where a mask is stored: the instance it was drawn on, its scope, its frame (FRAME only)."""

    owner: int
    scope: Scope
    frame: int = 0


@dataclass(frozen=True)
class Here:
    """The frame on screen: which instance, which of its frames, the image's size."""

    instance_ref: int
    frame: int
    rows: int
    columns: int
    frames: int = 1


def _slot_for(owner: int, mask: Mask) -> Slot:
    return Slot(owner, mask.scope, mask.frame if mask.scope is Scope.FRAME else 0)


def _has_eraser(shapes: Iterable[Shape]) -> bool:
    return any(isinstance(s, Stroke) and s.erase for s in shapes)


class RedactSession:
    """The masks of one series, their histories and the slot being edited."""

    def __init__(self, images: list[InstanceRow], stored: dict[int, list[Mask]],
                 default_scope: Scope = Scope.IMAGE) -> None:
        self.images = images
        self.sizes = {i.instance_ref: (i.rows, i.columns) for i in images}
        self.histories: dict[Slot, EditHistory] = {}
        for owner, masks in stored.items():
            for mask in masks:
                self.histories[_slot_for(owner, mask)] = EditHistory(mask)
        self._committed: dict[Slot, Mask] = {k: h.mask for k, h in self.histories.items()}
        self._undo: list[tuple[str, tuple[Slot, ...]]] = []
        self._redo: list[tuple[str, tuple[Slot, ...]]] = []
        self.default_scope = default_scope
        self.working: Slot | None = None
        self.here: Here | None = None
        #: Slots changed since the owner last took them (to be saved).
        self.changed: set[Slot] = set()

    # -- slots -------------------------------------------------------------------------------
    def history(self, slot: Slot) -> EditHistory:
        found = self.histories.get(slot)
        if found is None:
            rows, columns = self.sizes[slot.owner]
            if rows is None or columns is None:
                raise ValueError("A mask needs the image's size, and this image has none.")
            found = self.histories[slot] = EditHistory(Mask(int(rows), int(columns), scope=slot.scope,
                                                            frame=slot.frame))
            self._committed[slot] = found.mask
        return found

    def stored(self) -> dict[int, list[Mask]]:
        """Every non-empty mask by the instance it belongs to (as the library keeps them)."""
        out: dict[int, list[Mask]] = {}
        for slot, history in self.histories.items():
            if not history.mask.empty:
                out.setdefault(slot.owner, []).append(history.mask)
        return out

    def slots_here(self, here: Here | None = None) -> list[Slot]:
        """The non-empty slots whose mask applies to the frame on screen, narrowest first."""
        here = here or self.here
        if here is None:
            return []
        found = []
        for slot, history in self.histories.items():
            mask = history.mask
            if not mask.empty and mask.applies_to(here.frame, here.rows, here.columns,
                                                  same_image=slot.owner == here.instance_ref):
                found.append(slot)
        return sorted(found, key=lambda s: (PRECEDENCE.index(s.scope), s.owner != here.instance_ref, s.frame))

    def masks_here(self) -> list[Mask]:
        """What is burned into the frame on screen (the library's own rule)."""
        here = self.here
        if here is None:
            return []
        return masks_for(self.stored(), here.instance_ref, here.frame, here.rows, here.columns)

    def target(self, scope: Scope, here: Here) -> Slot:
        """The slot a mask of ``scope`` drawn on this frame goes to: a series-wide mask of this
        size that exists already (wherever drawn), else a new one on this image."""
        if scope is Scope.FRAME:
            return Slot(here.instance_ref, Scope.FRAME, here.frame)
        if scope is Scope.IMAGE:
            return Slot(here.instance_ref, Scope.IMAGE, 0)
        same_size = [s for s in self.slots_here(here) if s.scope is Scope.SERIES]
        return same_size[0] if same_size else Slot(here.instance_ref, Scope.SERIES, 0)

    def show(self, here: Here) -> Slot:
        """The frame on screen changed: edit the narrowest mask that applies to it, else a new
        one of the scope last chosen."""
        self.here = here
        present = self.slots_here(here)
        self.working = present[0] if present else self.target(self.default_scope, here)
        return self.working

    def edit(self, slot: Slot) -> None:
        """Edit ``slot`` (a mask that applies here, picked with the select tool)."""
        self.working = slot
        self.default_scope = slot.scope

    @property
    def working_history(self) -> EditHistory | None:
        return self.history(self.working) if self.working is not None else None

    # -- steps -------------------------------------------------------------------------------
    def commit(self) -> bool:
        """After a tool event: record the step the working history took, if any."""
        slot = self.working
        if slot is None:
            return False
        history = self.history(slot)
        if history.in_gesture or history.mask == self._committed.get(slot):
            return False
        self._record(history.undo_label, (slot,))
        return True

    def _record(self, label: str, slots: tuple[Slot, ...]) -> None:
        for slot in slots:
            self._committed[slot] = self.histories[slot].mask
            self.changed.add(slot)
        self._undo.append((label, slots))
        del self._undo[:-MAX_STEPS]
        self._redo.clear()

    @property
    def busy(self) -> bool:
        return any(h.in_gesture for h in self.histories.values())

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) and not self.busy

    @property
    def can_redo(self) -> bool:
        return bool(self._redo) and not self.busy

    @property
    def undo_label(self) -> str:
        return self._undo[-1][0] if self._undo else ""

    @property
    def redo_label(self) -> str:
        return self._redo[-1][0] if self._redo else ""

    def undo(self) -> tuple[Slot, ...]:
        """Undo the last step; returns the slots it touched (empty: nothing to undo)."""
        if not self.can_undo:
            return ()
        label, slots = self._undo.pop()
        for slot in reversed(slots):
            self.histories[slot].undo()
        self._after(slots)
        self._redo.append((label, slots))
        return slots

    def redo(self) -> tuple[Slot, ...]:
        if not self.can_redo:
            return ()
        label, slots = self._redo.pop()
        for slot in slots:
            self.histories[slot].redo()
        self._after(slots)
        self._undo.append((label, slots))
        return slots

    def _after(self, slots: tuple[Slot, ...]) -> None:
        for slot in slots:
            self._committed[slot] = self.histories[slot].mask
            self.changed.add(slot)
        if self.here is not None and self.working in slots and self.histories[self.working].mask.empty:
            self.show(self.here)  # the mask edited is gone: edit whatever applies here now

    def move_to(self, scope: Scope, shape_id: int | None = None) -> str | None:
        """Make the mask being edited (or only its shape ``shape_id``) apply to ``scope``: one
        step, merged into the mask already there. Returns why it cannot, or None."""
        here, source = self.here, self.working
        if here is None or source is None:
            return "No image is shown."
        self.default_scope = scope
        target = self.target(scope, here)
        if target == source:
            return None
        mask = self.history(source).mask
        shape = mask.shape(shape_id) if shape_id is not None else None
        moving = (shape,) if shape is not None else mask.shapes
        if mask.empty:
            self.working = target
            return None
        merged = _merge(self.history(target).mask, moving)
        if merged is None:
            return ("Both masks have erased parts, so they cannot be joined without uncovering "
                    "something: move the shapes one by one (select one, then choose where it applies).")
        label = f"Apply to {_scope_words(scope)}"
        self.history(target).apply(merged, label)
        self.history(source).apply(mask.without(shape.id) if shape is not None else replace(mask, shapes=()), label)
        self._record(label, (target, source))
        self.working = target
        return None

    def add_rects(self, boxes: dict[Slot, list[tuple[float, float, float, float]]], label: str) -> None:
        """Add rectangles to several masks as one step (accepted detection proposals)."""
        touched = []
        for slot, rects in boxes.items():
            mask = self.history(slot).mask
            for x0, y0, x1, y1 in rects:
                mask = mask.with_shape(Rect(0, x0, y0, x1, y1))
            if mask != self.history(slot).mask:
                self.history(slot).apply(mask, label)
                touched.append(slot)
        if touched:
            self._record(label, tuple(touched))

    def take_changed(self) -> dict[Slot, Mask]:
        """The masks changed since last asked (for saving)."""
        out = {slot: self.histories[slot].mask for slot in self.changed}
        self.changed.clear()
        return out

    # -- where a mask applies ----------------------------------------------------------------
    def other_sizes(self, here: Here) -> list[tuple[int, int]]:
        """(rows, columns) of the series-wide masks that do not cover this image: drawn on
        images of another size (a series may mix sizes: they get a mask each)."""
        return sorted({(h.mask.rows, h.mask.columns) for s, h in self.histories.items()
                       if s.scope is Scope.SERIES and not h.mask.empty
                       and (h.mask.rows, h.mask.columns) != (here.rows, here.columns)})

    def reach(self, slot: Slot) -> tuple[int, int]:
        """(images, frames) the mask of ``slot`` is burned into."""
        mask = self.history(slot).mask
        count_images = count_frames = 0
        for image in self.images:
            frames = max(1, image.number_of_frames or 1)
            hit = sum(1 for f in range(frames)
                      if image.rows is not None and image.columns is not None
                      and mask.applies_to(f, image.rows, image.columns, image.instance_ref == slot.owner))
            if hit:
                count_images += 1
                count_frames += hit
        return count_images, count_frames


def _merge(into: Mask, shapes: tuple[Shape, ...]) -> Mask | None:
    """``into`` with ``shapes`` added so that no eraser uncovers what the other mask painted:
    after ``into``'s shapes when ``shapes`` has no eraser, before them when ``into`` has none."""
    if not _has_eraser(shapes):
        for shape in shapes:
            into = into.with_shape(shape)
        return into
    if not _has_eraser(into.shapes):
        out = replace(into, shapes=(), next_id=into.next_id)
        for shape in shapes + into.shapes:
            out = out.with_shape(shape)
        return out
    return None


def _scope_words(scope: Scope) -> str:
    return {Scope.FRAME: "this frame", Scope.IMAGE: "all frames", Scope.SERIES: "the series"}[scope]


def reach_text(scope: Scope, images: int, frames: int) -> str:
    """Where a mask applies, in a few words (``images``, ``frames``: from :meth:`RedactSession.reach`)."""
    if scope is Scope.FRAME:
        return "this frame only"
    if scope is Scope.IMAGE:
        return f"all {frames} frames of this image" if frames > 1 else "this image"
    text = f"{images} image{'s' if images != 1 else ''}"
    return text + (f" ({frames} frames)" if frames != images else "")
