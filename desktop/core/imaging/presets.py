"""Window presets per modality, from ``resources/window_presets.json`` (data, not code)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from desktop.core.common.errors import VeilError
from desktop.core.common.resources import resource_path
from desktop.core.imaging.display import Window


@lru_cache(maxsize=4)
def load_presets(path: Path | None = None) -> dict[str, tuple[Window, ...]]:
    """Modality -> its presets, in the file's order."""
    source = path or resource_path("window_presets.json")
    try:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
        return {
            modality.upper(): tuple(Window(float(p["center"]), float(p["width"]), "LINEAR", str(p["name"]))
                                    for p in entries)
            for modality, entries in data.items() if not modality.startswith("_")
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VeilError(f"The window presets file cannot be read ({type(exc).__name__}).") from None


def presets_for(modality: str) -> list[Window]:
    """The presets for a modality (CT: brain, lung, bone...), empty when it has none."""
    return list(load_presets().get(modality.strip().upper(), ()))
