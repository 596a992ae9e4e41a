"""Teaching cases kept in the library (tables ``cases``, ``case_studies``, ``key_images``).

The case's text is stored as its JSON document (less its studies and key images, which have
their own rows, so the library's foreign keys follow them); title, diagnosis, keywords,
modality, anatomy and author are kept beside it for the Cases view's columns, and every typed
text of the case (captions and labels too) for its search. Every save is one
transaction: a case is never half written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from desktop.core.cases.annotations import Annotations
from desktop.core.cases.case import CaseError, KeyImage, KeyView, TeachingCase
from desktop.core.library.database import Connection, inserted_id, rollback


@dataclass(frozen=True)
class CaseRow:
    """One case as the Cases view lists it."""

    id: int
    title: str
    diagnosis: str
    keywords: tuple[str, ...]
    modality: str
    anatomy: str
    author: str
    updated: str
    key_images: int
    study_uids: tuple[str, ...]


def _refs(conn: Connection, case: TeachingCase) -> tuple[list[int], list[int]]:
    """The library's row ids of the case's studies and key images; a study or image the
    library does not hold, or a key image from another study, is a :class:`CaseError`."""
    study_refs = []
    for uid in case.study_uids:
        row = conn.execute("SELECT id FROM studies WHERE study_uid = ?", (uid,)).fetchone()
        if row is None:
            raise CaseError("A study of this case is no longer in the library.")
        study_refs.append(int(row[0]))
    instance_refs = []
    for n, key in enumerate(case.key_images, 1):
        row = conn.execute(
            """SELECT i.id, se.study_ref FROM instances i JOIN series se ON i.series_ref = se.id
               WHERE i.sop_instance_uid = ?""", (key.sop_uid,)).fetchone()
        if row is None:
            raise CaseError(f"Key image {n} is no longer in the library.")
        if int(row[1]) not in study_refs:
            raise CaseError(f"Key image {n} is not from a study of this case.")
        instance_refs.append(int(row[0]))
    return study_refs, instance_refs


def save_case(conn: Connection, case: TeachingCase, case_id: int | None = None) -> int:
    """Store ``case`` (a new one, or over ``case_id``); returns its id."""
    document = replace(case, key_images=()).to_json()
    searched = (case.title, case.diagnosis, "\n".join(case.keywords), case.modality, case.anatomy, case.author,
                "\n".join(text for _where, text in case.typed_texts()))
    conn.execute("BEGIN IMMEDIATE")
    try:
        study_refs, instance_refs = _refs(conn, case)
        if case_id is None:
            case_id = inserted_id(conn.execute(
                """INSERT INTO cases (title, diagnosis, keywords, modality, anatomy, author, search_text, document)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""", (*searched, document)))
        else:
            updated = conn.execute(
                """UPDATE cases SET title = ?, diagnosis = ?, keywords = ?, modality = ?, anatomy = ?, author = ?,
                   search_text = ?, document = ?, updated = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?""",
                (*searched, document, case_id))
            if updated.rowcount != 1:
                raise CaseError("This case is no longer in the library.")
            conn.execute("DELETE FROM case_studies WHERE case_ref = ?", (case_id,))
            conn.execute("DELETE FROM key_images WHERE case_ref = ?", (case_id,))
        conn.executemany("INSERT INTO case_studies (case_ref, study_ref, position) VALUES (?, ?, ?)",
                         [(case_id, ref, n) for n, ref in enumerate(study_refs)])
        conn.executemany(
            """INSERT INTO key_images (case_ref, position, instance_ref, frame, view_json, caption, annotations_json)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            [(case_id, n, ref, key.frame, json.dumps(key.view.to_data()), key.caption, key.annotations.to_json())
             for n, (ref, key) in enumerate(zip(instance_refs, case.key_images))])
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise
    return case_id


def load_case(conn: Connection, case_id: int) -> TeachingCase:
    """The case ``case_id`` as it was saved, less any study or image since removed."""
    row = conn.execute("SELECT document FROM cases WHERE id = ?", (case_id,)).fetchone()
    if row is None:
        raise CaseError("This case is no longer in the library.")
    studies = tuple(r[0] for r in conn.execute(
        """SELECT st.study_uid FROM case_studies cs JOIN studies st ON cs.study_ref = st.id
           WHERE cs.case_ref = ? ORDER BY cs.position""", (case_id,)))
    keys = tuple(
        KeyImage(uid, int(frame), KeyView.from_data(json.loads(view)), Annotations.from_json(annotations), caption)
        for uid, frame, view, caption, annotations in conn.execute(
            """SELECT i.sop_instance_uid, k.frame, k.view_json, k.caption, k.annotations_json
               FROM key_images k JOIN instances i ON k.instance_ref = i.id
               WHERE k.case_ref = ? ORDER BY k.position""", (case_id,)))
    text = TeachingCase.from_json(str(row[0]))  # its study UIDs as saved, should the studies be gone
    return replace(text, study_uids=studies or text.study_uids, key_images=keys)


def delete_case(conn: Connection, case_id: int) -> None:
    conn.execute("DELETE FROM cases WHERE id = ?", (case_id,))


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_cases(conn: Connection, text: str = "", modality: str = "") -> list[CaseRow]:
    """The cases, most recently changed first; ``text`` is looked for (any case) in every text of
    the case (title, history, findings, diagnosis, keywords, captions, labels...), ``modality``
    in its modality."""
    where, args = [], []
    if text.strip():
        where.append("c.search_text LIKE ? ESCAPE '\\'")
        args.append(_like(text.strip()))
    if modality.strip():
        where.append("c.modality LIKE ? ESCAPE '\\'")
        args.append(_like(modality.strip()))
    sql = ("""SELECT c.id, c.title, c.diagnosis, c.keywords, c.modality, c.anatomy, c.author, c.updated,
                     (SELECT COUNT(*) FROM key_images k WHERE k.case_ref = c.id),
                     (SELECT group_concat(st.study_uid, ' ') FROM case_studies cs JOIN studies st
                      ON cs.study_ref = st.id WHERE cs.case_ref = c.id)
              FROM cases c""" + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY c.updated DESC, c.id DESC")
    return [CaseRow(int(r[0]), r[1], r[2], tuple(k for k in r[3].split("\n") if k), r[4], r[5], r[6], r[7],
                    int(r[8]), tuple((r[9] or "").split())) for r in conn.execute(sql, args)]
