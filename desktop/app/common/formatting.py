"""How DICOM values read to a person (app and command line): names, dates, counts. No Qt."""

from __future__ import annotations


def person_name(value: str) -> str:
    """A DICOM PN (``Family^Given^Middle^Prefix^Suffix``) as ``Family, Given Middle``.

    Only the first (alphabetic) component group is shown; ideographic and phonetic groups
    after ``=`` are dropped.
    """
    alphabetic = value.split("=", 1)[0].strip()
    if not alphabetic:
        return ""
    parts = [p.strip() for p in alphabetic.split("^")]
    parts += [""] * (5 - len(parts))
    family, given, middle, prefix, suffix = parts[:5]
    first = " ".join(p for p in (prefix, given, middle) if p)
    name = f"{family}, {first}" if family and first else family or first
    return f"{name} {suffix}".strip() if suffix else name


def date_key(value: str) -> str:
    """A DICOM DA as ``YYYYMMDD`` for sorting; the old ACR-NEMA ``YYYY.MM.DD`` form too."""
    value = value.strip()
    if len(value) == 10 and value[4] == value[7] == "." and (value[:4] + value[5:7] + value[8:]).isdigit():
        return value[:4] + value[5:7] + value[8:]
    return value


def dicom_date(value: str) -> str:
    """A DICOM DA (``YYYYMMDD``) as ``YYYY-MM-DD``; anything else is shown as it is."""
    value = date_key(value)
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:8]}"
    return value


def dicom_time(value: str) -> str:
    """A DICOM TM (``HHMMSS.frac``) as ``HH:MM``; anything else is shown as it is."""
    value = value.strip()
    if len(value) >= 4 and value[:4].isdigit():
        return f"{value[:2]}:{value[2:4]}"
    return value


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 study``, ``2 studies``."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


def megabytes(size: int) -> str:
    """A size for a person: "3.2 MB", "740 KB", "1.4 GB" (decimal units, as disks are sold)."""
    if size >= 1_000_000_000:
        return f"{size / 1e9:.1f} GB"
    if size >= 1_000_000:
        return f"{size / 1e6:.1f} MB"
    return f"{max(size, 1) / 1e3:.0f} KB"
