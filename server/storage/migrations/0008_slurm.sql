-- The slurm executor: how many nodes a run asks for, its Slurm job and where it ran.
ALTER TABLE projects ADD COLUMN nodes INTEGER;  -- nodes a run of the project asks for by default
ALTER TABLE runs ADD COLUMN nodes INTEGER NOT NULL DEFAULT 1;
ALTER TABLE runs ADD COLUMN slurm_job_id TEXT;  -- set once sbatch accepted the run
ALTER TABLE runs ADD COLUMN node_list TEXT;     -- the nodes Slurm gave it
