-- The GPU queue: what a run asks for, where it waits, and the GPUs it was given.
ALTER TABLE projects ADD COLUMN gpus INTEGER;   -- GPUs a run of the project asks for by default
ALTER TABLE runs ADD COLUMN gpus INTEGER;       -- GPUs asked for; NULL: no placement (as before)
ALTER TABLE runs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;  -- higher starts first
ALTER TABLE runs ADD COLUMN gpu_ids TEXT;       -- JSON [index, ...] given at start; NULL: none yet
ALTER TABLE runs ADD COLUMN pending_reason TEXT;
ALTER TABLE runs ADD COLUMN queue_position INTEGER;
CREATE INDEX runs_queue ON runs (priority DESC, created_at)
    WHERE status = 'pending' AND gpus IS NOT NULL AND gpu_ids IS NULL;
