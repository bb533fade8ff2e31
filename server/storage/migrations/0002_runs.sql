-- Runs, their log lines and their artifacts.
CREATE TABLE runs (
    id                        TEXT PRIMARY KEY,
    project_id                TEXT NOT NULL REFERENCES projects (id),
    status                    TEXT NOT NULL CHECK (status IN
                              ('pending', 'running', 'completed', 'failed', 'canceled', 'paused')),
    start_command             TEXT NOT NULL,
    env                       TEXT NOT NULL DEFAULT '{}',   -- JSON object
    executor                  TEXT NOT NULL,
    container                 TEXT,
    workdir                   TEXT NOT NULL,                -- as the executor sees it
    run_dir                   TEXT NOT NULL,                -- wrapper files, as the executor sees it
    output_dir                TEXT,                         -- where checkpoints appear
    pgid                      INTEGER,
    wrapper_pid               INTEGER,
    exit_code                 INTEGER,
    status_message            TEXT,
    stop_request              TEXT CHECK (stop_request IN ('canceled', 'paused')),
    progress                  REAL NOT NULL DEFAULT 0,
    metrics                   TEXT NOT NULL DEFAULT '{}',   -- JSON object, latest values
    resume_source_artifact_id TEXT,
    parent_run_id             TEXT REFERENCES runs (id),
    kept_artifact_id          TEXT,
    stdout_offset             INTEGER NOT NULL DEFAULT 0,
    stderr_offset             INTEGER NOT NULL DEFAULT 0,
    last_seq                  INTEGER NOT NULL DEFAULT 0,
    created_at                TEXT NOT NULL,
    updated_at                TEXT NOT NULL,
    started_at                TEXT,
    completed_at              TEXT
);
CREATE INDEX runs_project ON runs (project_id, created_at DESC);
CREATE INDEX runs_live ON runs (status) WHERE status IN ('pending', 'running');

-- One row per log line; (run_id, seq) is the order the lines were written in.
CREATE TABLE log_lines (
    run_id  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    ts      TEXT NOT NULL,
    stream  TEXT NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE artifacts (
    id          TEXT PRIMARY KEY,
    run_id      TEXT NOT NULL REFERENCES runs (id),
    project_id  TEXT NOT NULL REFERENCES projects (id),
    name        TEXT NOT NULL,
    type        TEXT NOT NULL CHECK (type IN ('checkpoint', 'tensorboard', 'config')),
    path        TEXT NOT NULL,
    step        INTEGER,
    tags        TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL,
    UNIQUE (run_id, path)
);
