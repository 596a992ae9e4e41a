"""JSON as the package format writes and reads it: deterministic out, strict in.

Written: UTF-8, keys sorted, two-space indent, newline at the end, no NaN/Infinity, so the
same data always gives the same bytes (the manifest signature covers those bytes).
Read: size-capped, UTF-8 only, duplicate keys and NaN/Infinity refused, an object at the top.
"""

from __future__ import annotations

import json
from typing import Any

from desktop.core.share.errors import PackageError


def dumps(value: Any) -> bytes:
    """The deterministic bytes of ``value``."""
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError("duplicate key")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def loads_object(data: bytes, max_bytes: int, what: str,
                 error: type[PackageError]) -> dict[str, Any]:
    """Parse ``data`` as one JSON object or raise ``error`` saying ``what`` is malformed."""
    if len(data) > max_bytes:
        raise error(f"The {what} is too large to be genuine ({len(data)} bytes).")
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates,
                           parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise error(f"The {what} is not valid JSON; it is damaged or was not made by "
                    "Veil.") from None
    if not isinstance(value, dict):
        raise error(f"The {what} is not a JSON object; it is damaged or was not made by Veil.")
    return value
