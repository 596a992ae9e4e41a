-- Which process holds a write-ahead intent, by its life token (desktop/core/liveness.py): a lock
-- the process holds while it runs, so neither a reused pid nor another PID namespace can make a
-- live export look dead (and be cleaned away) or a dead one look live (and go unaccounted).
ALTER TABLE write_intents ADD COLUMN owner TEXT NOT NULL DEFAULT '';
