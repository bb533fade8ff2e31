-- Telemetry: metric series, progress, GPU use, and the run event log behind SSE replay.
ALTER TABLE runs ADD COLUMN progress_info TEXT NOT NULL DEFAULT '{}';  -- JSON ProgressInfo
ALTER TABLE runs ADD COLUMN gpu TEXT NOT NULL DEFAULT '{}';            -- JSON RunGpu
ALTER TABLE runs ADD COLUMN host_pid INTEGER;        -- the wrapper's pid as the host sees it
ALTER TABLE runs ADD COLUMN jsonl_offset INTEGER NOT NULL DEFAULT 0;  -- trainer_log.jsonl read up to

CREATE TABLE metric_points (
    run_id TEXT NOT NULL,
    key    TEXT NOT NULL,
    step   INTEGER NOT NULL,
    value  REAL NOT NULL,
    ts     TEXT NOT NULL,
    PRIMARY KEY (run_id, key, step)
) WITHOUT ROWID;

-- Non-log events of a run (status, progress, metrics, artifact, gpu). They share the
-- run's sequence with its log lines, so one number orders everything a client saw.
CREATE TABLE run_events (
    run_id TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    type   TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- GPU use per run, downsampled (one row per run and GPU every few samples).
CREATE TABLE gpu_history (
    run_id       TEXT NOT NULL,
    ts           TEXT NOT NULL,
    gpu_index    INTEGER NOT NULL,
    utilization  REAL,
    memory_used  INTEGER,
    PRIMARY KEY (run_id, ts, gpu_index)
) WITHOUT ROWID;
