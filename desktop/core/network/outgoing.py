"""What an exit to the network sends (a name for messages and an opener of the object's bytes)
and how a send ended: shared by C-STORE (:mod:`.store`) and STOW-RS (:mod:`.web_store`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: (name for messages, opener of the object's bytes).
Outgoing = tuple[str, Callable[[], bytes]]


@dataclass
class Stored:
    """Objects the node took, those it refused (name, reason), and whether the user cancelled."""

    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
