-- Pseudonyms for de-identified exports (PS3.15 Annex E): per scheme (the prefix, e.g. TEACH), each
-- patient gets the next number, once, and keeps it across exports. The patient is stored only
-- as an HMAC of their identity under the library's de-identification key.
CREATE TABLE pseudonyms (
    scheme TEXT NOT NULL,
    patient_token BLOB NOT NULL,
    number INTEGER NOT NULL,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (scheme, patient_token),
    UNIQUE (scheme, number)
);
