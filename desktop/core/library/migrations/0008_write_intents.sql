-- Write-ahead records of operations that write outside the library: an export,
-- a de-identified folder, slides, an opened package. The intent is committed before the first
-- byte is written and its outcome after the output became visible, so a restart can tell a
-- finished disclosure that was never accounted for from an output that never completed.
CREATE TABLE write_intents (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,              -- 'package', 'folder', 'slides', 'open', ...
    target TEXT NOT NULL,            -- the output path that becomes visible when it completes
    staging TEXT NOT NULL DEFAULT '',-- where it is built first (removed on recovery)
    started TEXT NOT NULL,           -- ISO-8601 UTC
    pid INTEGER NOT NULL,            -- the process that wrote it (alive: not ours to recover)
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'abandoned', 'recovered')),
    payload TEXT NOT NULL DEFAULT '{}', -- JSON: what to account for if the output turns out complete
    finished TEXT
);
CREATE INDEX write_intents_pending ON write_intents (state) WHERE state = 'pending';
