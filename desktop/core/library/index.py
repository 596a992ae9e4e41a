"""Rows of the index: add an instance under its patient, study and series; list them back.

Identity keys follow the DICOM information model (PS3.3 A.1.2): a study is its Study
Instance UID, a series its Series Instance UID, an instance its SOP Instance UID. A patient is
Patient ID + Issuer of Patient ID, or, where the ID is empty, name + birth date.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

from desktop.core.dicom.header import InstanceHeader
from desktop.core.library.database import Connection, inserted_id

#: Row ids an import already looked up: (table, key) and ("owner", table, key) -> id.
RowCache = dict[tuple[str, ...], int]


class Added(enum.Enum):
    NEW = "new"
    ALREADY_PRESENT = "already present"
    UID_CONFLICT = "uid conflict"
    #: The file's Study (or Series) Instance UID is already in the library under another
    #: patient (or study). Merging would show one patient's images under another's name.
    STUDY_OF_ANOTHER_PATIENT = "study uid of another patient"
    SERIES_OF_ANOTHER_STUDY = "series uid of another study"


def patient_key(h: InstanceHeader) -> str:
    return patient_key_from(h.patient_id, h.issuer_of_patient_id, h.patient_name, h.birth_date)


def patient_key_from(patient_id: str, issuer: str, name: str, birth_date: str) -> str:
    """The library's key of a patient: the ID with its issuer, else the name with the birth date."""
    if patient_id:
        return f"id:{issuer}|{patient_id}"
    return f"name:{name}|{birth_date}"


def _upsert(conn: Connection, table: str, key_col: str, key: str, values: dict[str, object],
            cache: RowCache | None = None) -> int:
    row_id = _row_id(conn, table, key_col, key, cache)
    if row_id is None:
        cols = [key_col, *values]
        marks = ", ".join("?" for _ in cols)
        cur = conn.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", (key, *values.values())
        )
        row_id = inserted_id(cur)
    if cache is not None:
        cache[(table, key)] = row_id
    return row_id


def _row_id(conn: Connection, table: str, key_col: str, key: str, cache: RowCache | None) -> int | None:
    if cache is not None and (table, key) in cache:
        return cache[(table, key)]
    row = conn.execute(f"SELECT id FROM {table} WHERE {key_col} = ?", (key,)).fetchone()
    return int(row[0]) if row else None


def _owner(conn: Connection, table: str, parent_col: str, key_col: str, key: str,
           cache: RowCache | None = None) -> int | None:
    if cache is not None and ("owner", table, key) in cache:
        return cache[("owner", table, key)]
    row = conn.execute(f"SELECT {parent_col} FROM {table} WHERE {key_col} = ?", (key,)).fetchone()
    return int(row[0]) if row else None


def add_instance(
    conn: Connection, h: InstanceHeader, sha256: str, size: int, source_path: str,
    import_id: int | None, cache: RowCache | None = None, crc32: int | None = None,
    replaces: int | None = None,
) -> Added:
    """Index one stored instance; the caller holds the transaction.

    ``replaces`` names the original instance this one is a redacted version of (it becomes the
    current version: see :func:`set_current_version`).

    ``cache`` (a dict kept by the caller for one import) remembers patient, study and series
    row ids, so a series of 500 slices looks each up once.
    """
    if conn.execute("SELECT 1 FROM instances WHERE object_sha256 = ?", (sha256,)).fetchone():
        return Added.ALREADY_PRESENT
    if conn.execute("SELECT 1 FROM instances WHERE sop_instance_uid = ?", (h.sop_instance_uid,)).fetchone():
        return Added.UID_CONFLICT
    # Check where the UIDs already belong before writing anything, so a refused file leaves
    # no empty patient or study behind.
    key = patient_key(h)
    known_patient = _row_id(conn, "patients", "patient_key", key, cache)
    known_study = _row_id(conn, "studies", "study_uid", h.study_uid, cache)
    if (known_study is not None
            and _owner(conn, "studies", "patient_ref", "study_uid", h.study_uid, cache) != known_patient):
        return Added.STUDY_OF_ANOTHER_PATIENT
    owner = _owner(conn, "series", "study_ref", "series_uid", h.series_uid, cache)
    if owner is not None and owner != known_study:
        return Added.SERIES_OF_ANOTHER_STUDY
    patient = _upsert(conn, "patients", "patient_key", key, {
        "patient_id": h.patient_id, "issuer": h.issuer_of_patient_id, "name": h.patient_name,
        "birth_date": h.birth_date, "sex": h.sex,
    }, cache)
    study = _upsert(conn, "studies", "study_uid", h.study_uid, {
        "patient_ref": patient, "study_date": h.study_date, "study_time": h.study_time,
        "study_id": h.study_id, "accession_number": h.accession_number,
        "description": h.study_description, "referring_physician": h.referring_physician,
        "institution_name": h.institution_name,
    }, cache)
    series = _upsert(conn, "series", "series_uid", h.series_uid, {
        "study_ref": study, "modality": h.modality, "series_number": h.series_number,
        "description": h.series_description, "body_part": h.body_part,
        "series_date": h.series_date, "manufacturer": h.manufacturer,
        "model_name": h.model_name, "station_name": h.station_name,
        "frame_of_reference_uid": h.frame_of_reference_uid,
    }, cache)
    if cache is not None:
        cache[("owner", "studies", h.study_uid)] = patient
        cache[("owner", "series", h.series_uid)] = study
    conn.execute(
        """INSERT INTO instances (series_ref, sop_instance_uid, sop_class_uid, instance_number,
            transfer_syntax_uid, rows, columns, number_of_frames, samples_per_pixel,
            bits_allocated, bits_stored, pixel_representation, photometric,
            burned_in_annotation, image_type, has_pixel_data, content_date, object_sha256,
            size_bytes, source_path, import_ref, imported_at, crc32, replaces_ref)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        (series, h.sop_instance_uid, h.sop_class_uid, h.instance_number, h.transfer_syntax_uid,
         h.rows, h.columns, h.number_of_frames, h.samples_per_pixel, h.bits_allocated,
         h.bits_stored, h.pixel_representation, h.photometric, h.burned_in_annotation,
         h.image_type, int(h.has_pixel_data), h.content_date, sha256, size, source_path,
         import_id, datetime.now(UTC).isoformat(timespec="seconds"), crc32, replaces),
    )
    if replaces is not None:
        (new_id,) = conn.execute("SELECT id FROM instances WHERE object_sha256 = ?", (sha256,)).fetchone()
        set_current_version(conn, replaces, new_id)
    return Added.NEW


def set_current_version(conn: Connection, original_ref: int, version_ref: int | None) -> None:
    """Make ``version_ref`` (a redacted version of ``original_ref``) the image's current version,
    or, with None, the original itself again; every other version is superseded."""
    conn.execute("UPDATE instances SET superseded = CASE WHEN id = ? THEN 0 ELSE 1 END WHERE replaces_ref = ?",
                 (version_ref if version_ref is not None else -1, original_ref))


def version_of(conn: Connection, original_ref: int, sop_instance_uid: str) -> int | None:
    """The instance ref of the version of ``original_ref`` with this SOP Instance UID, if stored."""
    row = conn.execute("SELECT id FROM instances WHERE replaces_ref = ? AND sop_instance_uid = ?",
                       (original_ref, sop_instance_uid)).fetchone()
    return int(row[0]) if row else None


# -- reading back ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StudyRow:
    """One line of the study browser."""

    study_ref: int
    patient_name: str
    patient_id: str
    birth_date: str
    sex: str
    study_uid: str
    study_date: str
    study_time: str
    accession_number: str
    description: str
    modalities: str
    series_count: int
    image_count: int
    frame_count: int
    #: Instances with Pixel Data, which the viewer can show (0: reports, structured documents,
    #: a DICOMDIR's records and the like only; None: not counted).
    displayable_count: int | None = None

    @property
    def nothing_to_show(self) -> bool:
        """The study holds instances, but none with an image."""
        return self.image_count > 0 and self.displayable_count == 0


@dataclass(frozen=True)
class SeriesRow:
    series_ref: int
    study_ref: int
    series_uid: str
    series_number: int | None
    modality: str
    description: str
    body_part: str
    manufacturer: str
    model_name: str
    image_count: int
    frame_count: int
    redacted_count: int = 0  # images whose current version Veil redacted


_STUDY_SQL = """
SELECT st.id, p.name, p.patient_id, p.birth_date, p.sex, st.study_uid, st.study_date,
       st.study_time, st.accession_number, st.description,
       COALESCE((SELECT group_concat(m, '/') FROM (SELECT DISTINCT se.modality AS m FROM series se
                 WHERE se.study_ref = st.id AND se.modality != '' ORDER BY se.modality)), ''),
       (SELECT count(*) FROM series se WHERE se.study_ref = st.id),
       (SELECT count(*) FROM current_instances i JOIN series se ON i.series_ref = se.id WHERE se.study_ref = st.id),
       (SELECT COALESCE(sum(COALESCE(i.number_of_frames, 0)), 0) FROM current_instances i
         JOIN series se ON i.series_ref = se.id WHERE se.study_ref = st.id),
       (SELECT count(*) FROM current_instances i JOIN series se ON i.series_ref = se.id
         WHERE se.study_ref = st.id AND i.has_pixel_data)
FROM studies st JOIN patients p ON st.patient_ref = p.id
"""


def list_studies(conn: Connection) -> list[StudyRow]:
    rows = conn.execute(_STUDY_SQL + " ORDER BY p.name, p.id, st.study_date, st.study_time").fetchall()
    return [StudyRow(*r) for r in rows]


def list_series(conn: Connection, study_ref: int | None = None) -> list[SeriesRow]:
    sql = """SELECT se.id, se.study_ref, se.series_uid, se.series_number, se.modality,
                    se.description, se.body_part, se.manufacturer, se.model_name,
                    (SELECT count(*) FROM current_instances i WHERE i.series_ref = se.id),
                    (SELECT COALESCE(sum(COALESCE(i.number_of_frames, 0)), 0) FROM current_instances i
                      WHERE i.series_ref = se.id),
                    (SELECT count(*) FROM current_instances i WHERE i.series_ref = se.id
                      AND i.replaces_ref IS NOT NULL)
             FROM series se"""
    args: tuple[object, ...] = ()
    if study_ref is not None:
        sql += " WHERE se.study_ref = ?"
        args = (study_ref,)
    sql += " ORDER BY se.study_ref, se.series_number IS NULL, se.series_number, se.id"
    return [SeriesRow(*r) for r in conn.execute(sql, args).fetchall()]


@dataclass(frozen=True)
class Counts:
    patients: int
    studies: int
    series: int
    instances: int  # each image once: its current version (migration 0007's current_instances)
    redacted: int = 0  # of those, the redacted versions Veil made


def counts(conn: Connection) -> Counts:
    """How many patients, studies, series and images the library holds. An image Veil redacted
    counts once, as its current version (the redacted one), not once more beside its original;
    ``redacted`` says how many of the images are such versions."""
    patients, studies, series = (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                                 for t in ("patients", "studies", "series"))
    images, redacted = conn.execute(
        "SELECT count(*), COALESCE(sum(replaces_ref IS NOT NULL), 0) FROM current_instances").fetchone()
    return Counts(patients, studies, series, images, redacted)


#: The source every instance Veil's redaction stored is recorded with (before and since 0007).
LEGACY_REDACTED_SOURCE = "redacted by Veil"


def legacy_redacted_series(conn: Connection) -> list[int]:
    """The series that Veil's redaction made before redacted versions (migration 0007): a
    derived series of its own ("<description> (redacted)", cut at 64 characters), whose every
    image Veil stored ("redacted by Veil") and none is recorded as the version of an original.

    Their originals cannot be told from the index (the derived UIDs are hashes), so nothing is
    rewritten: they stay plain series of redacted copies, listed as such. The originals beside
    them keep their masks, so every export still sends them redacted (the gate redacts masked
    images before anything leaves)."""
    return [int(r[0]) for r in conn.execute(
        """SELECT se.id FROM series se
           WHERE EXISTS (SELECT 1 FROM instances i WHERE i.series_ref = se.id AND i.replaces_ref IS NULL)
             AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.series_ref = se.id AND i.replaces_ref IS NULL
                             AND i.source_path != ?)
           ORDER BY se.id""", (LEGACY_REDACTED_SOURCE,))]


# -- imports and the audit head ----------------------------------------------------------------
def start_import(conn: Connection, os_user: str) -> int:
    cur = conn.execute("INSERT INTO imports (started_at, os_user) VALUES (?, ?)",
                       (datetime.now(UTC).isoformat(timespec="seconds"), os_user))
    return inserted_id(cur)


def finish_import(conn: Connection, import_id: int, imported: int, already: int, rejected: int,
                  cancelled: bool) -> None:
    conn.execute(
        "UPDATE imports SET finished_at = ?, imported = ?, already_present = ?, rejected = ?, cancelled = ? "
        "WHERE id = ?",
        (datetime.now(UTC).isoformat(timespec="seconds"), imported, already, rejected,
         int(cancelled), import_id),
    )


def last_audit_line(conn: Connection) -> tuple[int, str] | None:
    """(sequence number, hash) of the last audit line this library wrote."""
    row = conn.execute("SELECT seq, hash FROM audit_lines ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else None


def add_audit_line(conn: Connection, seq: int, digest: str, line: bytes | None = None) -> None:
    """Keep an audit line: its hash, and (since migration 0009) its whole text, from which
    ``audit.log`` is rewritten after a crash or a full disk."""
    conn.execute("INSERT INTO audit_lines (seq, hash, line) VALUES (?, ?, ?)", (seq, digest, line))


def audit_anchors(conn: Connection) -> dict[int, str]:
    """The hash of every audit line this library wrote, by sequence number."""
    return {int(seq): str(h) for seq, h in conn.execute("SELECT seq, hash FROM audit_lines")}


def audit_lines_from(conn: Connection, seq: int) -> list[tuple[int, str, bytes | None]]:
    """(sequence number, hash, text) of the audit lines numbered ``seq`` and after, in order; the
    text is None for lines written before migration 0009."""
    return [(int(s), str(h), None if t is None else bytes(t)) for s, h, t in conn.execute(
        "SELECT seq, hash, line FROM audit_lines WHERE seq >= ? ORDER BY seq", (seq,))]


def audit_line_hash(conn: Connection, seq: int) -> str | None:
    """The hash of audit line ``seq``, or None if the library holds no such line."""
    row = conn.execute("SELECT hash FROM audit_lines WHERE seq = ?", (seq,)).fetchone()
    return str(row[0]) if row else None


@dataclass(frozen=True)
class InstanceRow:
    """One image of a series, as the viewer needs it."""

    instance_ref: int
    sop_instance_uid: str
    instance_number: int | None
    number_of_frames: int
    rows: int | None
    columns: int | None
    photometric: str
    object_sha256: str
    replaces_ref: int | None = None  # set on a redacted version: the original it replaces

    @property
    def redacted_version(self) -> bool:
        return self.replaces_ref is not None


def list_instances(conn: Connection, series_ref: int, versions: str = "current") -> list[InstanceRow]:
    """The instances of a series in viewing order: Instance Number, then import order.

    ``versions``: "current" (each image once: its redacted version where Veil made one, else the
    original), "originals" (the images as imported: what masks are painted on), or "all"."""
    table = {"current": "current_instances", "originals": "instances", "all": "instances"}[versions]
    where = " AND replaces_ref IS NULL" if versions == "originals" else ""
    rows = conn.execute(
        f"""SELECT id, sop_instance_uid, instance_number, COALESCE(number_of_frames, 0), rows,
                  columns, photometric, object_sha256, replaces_ref
           FROM {table} WHERE series_ref = ?{where}
           ORDER BY instance_number IS NULL, instance_number, id""",
        (series_ref,),
    ).fetchall()
    return [InstanceRow(*r) for r in rows]


def study_uid_of_series(conn: Connection, series_ref: int) -> str | None:
    row = conn.execute(
        "SELECT st.study_uid FROM series se JOIN studies st ON se.study_ref = st.id WHERE se.id = ?",
        (series_ref,),
    ).fetchone()
    return str(row[0]) if row else None
