-- Team use: a token per person (api_tokens rows are users), who did what, an audit
-- trail, webhooks with a stored outbox, and stalls.
-- The token that exists today becomes user 'admin' (it already has role 'admin').
UPDATE api_tokens SET name = 'admin'
    WHERE name = 'default' AND NOT EXISTS (SELECT 1 FROM api_tokens WHERE name = 'admin');

ALTER TABLE runs ADD COLUMN created_by TEXT;     -- user who launched (or resumed into) it
ALTER TABLE runs ADD COLUMN stop_requested_by TEXT;  -- user who asked for cancel/pause
ALTER TABLE runs ADD COLUMN stalled_since TEXT;  -- set while no line nor progress came

ALTER TABLE projects ADD COLUMN stall_seconds INTEGER;  -- overrides TRAINYARD_STALL_SECONDS

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    ts        TEXT NOT NULL,
    last_ts   TEXT NOT NULL,             -- a summarised refusal: the latest one
    actor     TEXT,                      -- user name; NULL when the token was not known
    action    TEXT NOT NULL,             -- operation id, e.g. cancelRun
    target    TEXT NOT NULL,             -- the path acted on
    outcome   TEXT NOT NULL,             -- 'ok' or the error code (unauthorized, forbidden, ...)
    status    INTEGER NOT NULL,
    client    TEXT NOT NULL,
    count     INTEGER NOT NULL DEFAULT 1,
    summary   TEXT UNIQUE                -- refusals: one row per source, outcome and hour
);
CREATE INDEX audit_ts ON audit (ts);

CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,           -- JSON array of event names
    project_id  TEXT,                    -- NULL: every project
    format      TEXT NOT NULL,
    secret      TEXT,
    created_by  TEXT,
    created_at  TEXT NOT NULL
);

-- One row per notification and endpoint, written in the transaction of the change.
CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,        -- X-Trainyard-Delivery
    webhook_id  TEXT NOT NULL,
    event       TEXT NOT NULL,
    payload     TEXT NOT NULL,           -- JSON: what the message says
    created_at  TEXT NOT NULL,
    created_s   REAL NOT NULL,           -- epoch seconds, for the 24 h retry window
    next_at     REAL NOT NULL,           -- epoch seconds of the next attempt
    attempts    INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed'))
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, created_at);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL,
    at          TEXT NOT NULL,
    status_code INTEGER,
    error       TEXT,
    duration_ms REAL NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
