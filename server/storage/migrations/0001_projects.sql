-- Projects and API tokens (only hashes are stored).
CREATE TABLE projects (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    description        TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    objective          TEXT NOT NULL,
    task_type          TEXT NOT NULL,
    owner              TEXT NOT NULL,
    dataset_name       TEXT NOT NULL,
    training_yaml_name TEXT NOT NULL,
    tags               TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
    container          TEXT,
    workdir            TEXT,
    output_dir         TEXT,
    save_signal        TEXT,
    runs_started       INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX projects_created ON projects (created_at DESC);

-- Room for per-user tokens and roles: today one row named 'default', role 'admin'.
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    token_hash  TEXT NOT NULL UNIQUE,   -- sha256 hex of the token
    role        TEXT NOT NULL DEFAULT 'admin',
    created_at  TEXT NOT NULL
);
