-- Consent ledger and accounting of disclosures (HIPAA 45 CFR 164.528). The index is encrypted (SQLCipher),
-- so consent records and what was disclosed to whom are identifiable data at rest, encrypted.
-- A consent (or waiver, or "not required" under a site policy) as the consent domain writes it
-- (JSON), keyed by the patient key of table patients (kept even if the images are removed).
CREATE TABLE consents (
    id           TEXT PRIMARY KEY,
    patient_key  TEXT NOT NULL,
    record_json  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX consents_patient ON consents(patient_key);

-- Scanned consent forms (PDF, PNG, JPEG): the bytes are an object in objects/ (encrypted).
CREATE TABLE consent_forms (
    sha256       TEXT PRIMARY KEY,
    media_type   TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    added_at     TEXT NOT NULL
);

-- Every disclosure (an export that left Veil): when, by whom, why, to whom, where to, how.
CREATE TABLE disclosures (
    id               INTEGER PRIMARY KEY,
    disclosed_at     TEXT NOT NULL,
    os_user          TEXT NOT NULL DEFAULT '',
    kind             TEXT NOT NULL,             -- deid.export, share.package, ...
    purpose          TEXT NOT NULL,
    recipient        TEXT NOT NULL DEFAULT '',
    destination      TEXT NOT NULL DEFAULT '',
    profile          TEXT NOT NULL DEFAULT '',  -- de-identification profile, or 'identifiable'
    override_reason  TEXT NOT NULL DEFAULT '',  -- the typed justification of a consent override
    audit_seq        INTEGER
);

-- What each disclosure sent, per study (and series, when only some were sent), with the
-- consent records it relied on (JSON list of consent ids).
CREATE TABLE disclosure_items (
    disclosure_ref   INTEGER NOT NULL REFERENCES disclosures(id) ON DELETE CASCADE,
    patient_key      TEXT NOT NULL,
    study_uid        TEXT NOT NULL,
    series_uids      TEXT NOT NULL DEFAULT '[]',
    instances        INTEGER NOT NULL DEFAULT 0,
    consent_ids      TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX disclosure_items_patient ON disclosure_items(patient_key);
CREATE INDEX disclosure_items_disclosure ON disclosure_items(disclosure_ref);
