-- The start command as the client gave it, before {resume_from} was filled in: a resume
-- without a body reuses this, not a path that pointed at an older checkpoint.
ALTER TABLE runs ADD COLUMN command_template TEXT;
CREATE INDEX artifacts_path ON artifacts (path);
