-- Teaching cases (desktop/core/cases): a case's text as one JSON document, with the fields a
-- search looks at beside it; the studies it is made from; its key images in order, each with
-- its frame, view, caption and annotations. Deleting a study or an image from the library
-- takes it out of its cases.
CREATE TABLE cases (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    diagnosis   TEXT NOT NULL DEFAULT '',
    keywords    TEXT NOT NULL DEFAULT '',
    modality    TEXT NOT NULL DEFAULT '',
    anatomy     TEXT NOT NULL DEFAULT '',
    author      TEXT NOT NULL DEFAULT '',
    search_text TEXT NOT NULL DEFAULT '',   -- every typed text of the case, for the search
    document    TEXT NOT NULL,
    created     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE case_studies (
    case_ref    INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    study_ref   INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    PRIMARY KEY (case_ref, study_ref)
);
CREATE INDEX case_studies_study ON case_studies(study_ref);

CREATE TABLE key_images (
    case_ref         INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    instance_ref     INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    frame            INTEGER NOT NULL DEFAULT 0 CHECK (frame >= 0),
    view_json        TEXT NOT NULL,
    caption          TEXT NOT NULL DEFAULT '',
    annotations_json TEXT NOT NULL,
    PRIMARY KEY (case_ref, position),
    UNIQUE (case_ref, instance_ref, frame)
);
CREATE INDEX key_images_instance ON key_images(instance_ref);
