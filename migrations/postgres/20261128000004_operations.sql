-- What the operators' dashboard shows and steers (see migrations/sqlite).
CREATE TABLE job_attempts (
    id          BIGSERIAL PRIMARY KEY,
    snippet_id  TEXT NOT NULL REFERENCES jobs (snippet_id) ON DELETE CASCADE,
    attempt     BIGINT NOT NULL,
    holder      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('succeeded', 'retrying', 'failed', 'released', 'abandoned')),
    error       TEXT
);
CREATE INDEX job_attempts_by_job ON job_attempts (snippet_id, id);
CREATE INDEX job_attempts_by_time ON job_attempts (finished_at);

ALTER TABLE jobs ADD COLUMN attempt_started_at BIGINT;
ALTER TABLE jobs ADD COLUMN enqueued_at BIGINT;
UPDATE jobs SET enqueued_at = created_at;

CREATE TABLE nodes (
    id             TEXT PRIMARY KEY,
    role           TEXT NOT NULL,
    host           TEXT NOT NULL,
    workers        BIGINT NOT NULL,
    busy           BIGINT NOT NULL,
    started_at     BIGINT NOT NULL,
    last_heartbeat BIGINT NOT NULL
);

CREATE TABLE cluster_flags (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
