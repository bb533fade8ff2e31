-- The run core: stops owned by the supervisor and resumed after a restart, and what
-- identifies a run's processes beyond a pid that the kernel may hand out again.
ALTER TABLE runs ADD COLUMN stop_deadline REAL;  -- epoch seconds: TERM escalates to KILL then
ALTER TABLE runs ADD COLUMN stop_stage TEXT CHECK (stop_stage IN ('asked', 'save', 'term', 'kill'));
ALTER TABLE runs ADD COLUMN identity TEXT;       -- "<boot id> <start time>" of the run's wrapper
ALTER TABLE runs ADD COLUMN clock_offset INTEGER NOT NULL DEFAULT 0;  -- first clock mark not yet used
CREATE INDEX runs_live_output ON runs (output_dir) WHERE status IN ('pending', 'running');
