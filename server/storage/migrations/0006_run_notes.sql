-- Free-text notes and tags people put on runs ("lr sweep, best so far"). A table of its
-- own, so the run row (and what reads it) is untouched; a run without one has none.
CREATE TABLE run_notes (
    run_id     TEXT PRIMARY KEY REFERENCES runs (id),
    notes      TEXT NOT NULL DEFAULT '',
    tags       TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
    updated_at TEXT NOT NULL
);
