-- Patient > Study > Series > Instance, as in the DICOM information model (PS3.3 A.1.2).
CREATE TABLE patients (
    id              INTEGER PRIMARY KEY,
    patient_key     TEXT NOT NULL UNIQUE,   -- PatientID + issuer, or name + birth date
    patient_id      TEXT NOT NULL DEFAULT '',
    issuer          TEXT NOT NULL DEFAULT '',
    name            TEXT NOT NULL DEFAULT '',
    birth_date      TEXT NOT NULL DEFAULT '',
    sex             TEXT NOT NULL DEFAULT ''
);

CREATE TABLE studies (
    id                  INTEGER PRIMARY KEY,
    patient_ref         INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    study_uid           TEXT NOT NULL UNIQUE,
    study_date          TEXT NOT NULL DEFAULT '',
    study_time          TEXT NOT NULL DEFAULT '',
    study_id            TEXT NOT NULL DEFAULT '',
    accession_number    TEXT NOT NULL DEFAULT '',
    description         TEXT NOT NULL DEFAULT '',
    referring_physician TEXT NOT NULL DEFAULT '',
    institution_name    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX studies_patient ON studies(patient_ref);

CREATE TABLE series (
    id              INTEGER PRIMARY KEY,
    study_ref       INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    series_uid      TEXT NOT NULL UNIQUE,
    modality        TEXT NOT NULL DEFAULT '',
    series_number   INTEGER,
    description     TEXT NOT NULL DEFAULT '',
    body_part       TEXT NOT NULL DEFAULT '',
    series_date     TEXT NOT NULL DEFAULT '',
    manufacturer    TEXT NOT NULL DEFAULT '',
    model_name      TEXT NOT NULL DEFAULT '',
    station_name    TEXT NOT NULL DEFAULT '',
    frame_of_reference_uid TEXT NOT NULL DEFAULT ''
);
CREATE INDEX series_study ON series(study_ref);

CREATE TABLE instances (
    id                      INTEGER PRIMARY KEY,
    series_ref              INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    sop_instance_uid        TEXT NOT NULL UNIQUE,
    sop_class_uid           TEXT NOT NULL DEFAULT '',
    instance_number         INTEGER,
    transfer_syntax_uid     TEXT NOT NULL DEFAULT '',
    rows                    INTEGER,
    columns                 INTEGER,
    number_of_frames        INTEGER,
    samples_per_pixel       INTEGER,
    bits_allocated          INTEGER,
    bits_stored             INTEGER,
    pixel_representation    INTEGER,
    photometric             TEXT NOT NULL DEFAULT '',
    burned_in_annotation    TEXT NOT NULL DEFAULT '',
    image_type              TEXT NOT NULL DEFAULT '',
    has_pixel_data          INTEGER NOT NULL DEFAULT 0,
    content_date            TEXT NOT NULL DEFAULT '',
    object_sha256           TEXT NOT NULL UNIQUE,
    size_bytes              INTEGER NOT NULL,
    source_path             TEXT NOT NULL DEFAULT '',
    import_ref              INTEGER REFERENCES imports(id),
    imported_at             TEXT NOT NULL
);
CREATE INDEX instances_series ON instances(series_ref);

CREATE TABLE imports (
    id              INTEGER PRIMARY KEY,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    os_user         TEXT NOT NULL DEFAULT '',
    imported        INTEGER NOT NULL DEFAULT 0,
    already_present INTEGER NOT NULL DEFAULT 0,
    rejected        INTEGER NOT NULL DEFAULT 0,
    cancelled       INTEGER NOT NULL DEFAULT 0
);

-- The SHA-256 of every line this library wrote to audit.log: the encrypted anchor that shows
-- a line altered, removed or added outside Veil, even if the chain was recomputed.
CREATE TABLE audit_lines (
    seq     INTEGER PRIMARY KEY,
    hash    TEXT NOT NULL
);
