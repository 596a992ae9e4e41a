-- Address book and the user's own details. The index is encrypted (SQLCipher).
-- A contact is a colleague packages can be encrypted to: their public key card as the share
-- domain writes it (JSON, card_json), or only a bare age recipient (age1...) for someone who
-- has just the age tool. A bare recipient has no card, no signing key and no fingerprint, so
-- packages can be sent to it but none can be verified as coming from it.
CREATE TABLE contacts (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL COLLATE NOCASE UNIQUE,
    institution    TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL DEFAULT '',
    age_recipient  TEXT NOT NULL UNIQUE,
    card_json      TEXT,
    fingerprint    TEXT,
    verified_at    TEXT,
    verified_by    TEXT NOT NULL DEFAULT '',
    added_at       TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CHECK ((card_json IS NULL) = (fingerprint IS NULL))
);
CREATE INDEX contacts_fingerprint ON contacts(fingerprint);

-- Small settings of this library, as text: the user's name, institution and e-mail for their
-- key card, and the public fingerprint and age recipient of their identity (whose secret is in
-- the keyring or identity.sealed, never here).
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
