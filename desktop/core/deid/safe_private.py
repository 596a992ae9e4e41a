"""PS3.15 Table E.3.10-1, the private attributes known to be safe (Retain Safe Private Option),
read from ``resources/deid/ps3.15-table-e.3.10-1-safe-private.json``.

A private attribute is named by its Private Creator, its (odd) group and the low byte of its
element: (gggg,xxEE) in the block the creator reserved (PS3.5 7.8.1).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from desktop.core.common.errors import VeilError
from desktop.core.common.resources import resource_path

SAFE_PRIVATE_FILE = ("deid", "ps3.15-table-e.3.10-1-safe-private.json")

SafeKey = tuple[str, int, int]  # (creator, group, element low byte)


def normalise_creator(creator: str) -> str:
    return creator.strip(" \x00").upper()


@lru_cache(maxsize=2)
def load_safe_private(path: Path | None = None) -> frozenset[SafeKey]:
    """The safe private attributes as (creator in upper case, group, element byte)."""
    source = path or resource_path(*SAFE_PRIVATE_FILE)
    try:
        rows = json.loads(Path(source).read_text(encoding="utf-8"))["attributes"]
        return frozenset((normalise_creator(r["creator"]), int(r["group"], 16), int(r["element"], 16))
                         for r in rows)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VeilError(f"The safe private attribute table cannot be read ({type(exc).__name__}).") from None
