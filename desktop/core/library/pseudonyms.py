"""Pseudonymous patient names and IDs (``TEACH-0007``): one number per patient and scheme,
given once and kept, so the same patient is the same case in every export (PS3.15 E.1.1
allows replacing identifiers by pseudonyms; the library holds the link, encrypted)."""

from __future__ import annotations

from collections.abc import Iterable

from desktop.core.library.database import Connection, rollback


def pseudonym_text(scheme: str, number: int) -> str:
    return f"{scheme}-{number:04d}"


def assign_pseudonyms(conn: Connection, scheme: str, tokens: Iterable[bytes]) -> dict[bytes, str]:
    """The pseudonym of each patient token under ``scheme``, numbering new patients in the
    order given. Runs in one write transaction, so two exports at once never share a number."""
    wanted = list(dict.fromkeys(tokens))
    out: dict[bytes, str] = {}
    conn.execute("BEGIN IMMEDIATE")
    try:
        for token in wanted:
            row = conn.execute("SELECT number FROM pseudonyms WHERE scheme = ? AND patient_token = ?",
                               (scheme, token)).fetchone()
            if row is None:
                (last,) = conn.execute("SELECT COALESCE(MAX(number), 0) FROM pseudonyms WHERE scheme = ?",
                                       (scheme,)).fetchone()
                number = last + 1
                conn.execute("INSERT INTO pseudonyms (scheme, patient_token, number) VALUES (?, ?, ?)",
                             (scheme, token, number))
            else:
                (number,) = row
            out[token] = pseudonym_text(scheme, number)
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise
    return out
