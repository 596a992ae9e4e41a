-- Redacted versions: an instance Veil redacted is a version of its original, not a
-- new series. replaces_ref names the original instance; superseded marks an older version that
-- a later redaction (or the removal of every mask) replaced. The current version of an image is
-- its one non-superseded version, else the original itself: what the browser counts, what the
-- viewer opens by default and what every export takes.
ALTER TABLE instances ADD COLUMN replaces_ref INTEGER REFERENCES instances(id) ON DELETE CASCADE;
ALTER TABLE instances ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0;
CREATE INDEX instances_replaces ON instances(replaces_ref);
CREATE VIEW current_instances AS
    SELECT i.* FROM instances i
    WHERE (i.replaces_ref IS NULL AND NOT EXISTS (SELECT 1 FROM instances v
                                                  WHERE v.replaces_ref = i.id AND v.superseded = 0))
       OR (i.replaces_ref IS NOT NULL AND i.superseded = 0)
