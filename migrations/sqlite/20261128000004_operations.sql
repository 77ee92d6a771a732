-- What the operators' dashboard shows and steers.
--
-- Every attempt of a job, as it ends: who ran it (the node's id, then the
-- claim's number), when, for how long, how it ended. Pruned with its job.
CREATE TABLE job_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    snippet_id  TEXT NOT NULL REFERENCES jobs (snippet_id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    holder      TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('succeeded', 'retrying', 'failed', 'released', 'abandoned')),
    error       TEXT
);
CREATE INDEX job_attempts_by_job ON job_attempts (snippet_id, id);
CREATE INDEX job_attempts_by_time ON job_attempts (finished_at);

-- When the running attempt was claimed, and when the job was (last)
-- queued: the start of the submit -> done latency.
ALTER TABLE jobs ADD COLUMN attempt_started_at INTEGER;
ALTER TABLE jobs ADD COLUMN enqueued_at INTEGER;
UPDATE jobs SET enqueued_at = created_at;

-- Every running process, kept alive by its heartbeat, so that every node
-- sees all of them.
CREATE TABLE nodes (
    id             TEXT PRIMARY KEY NOT NULL,
    role           TEXT NOT NULL,
    host           TEXT NOT NULL,
    workers        INTEGER NOT NULL,
    busy           INTEGER NOT NULL,
    started_at     INTEGER NOT NULL,
    last_heartbeat INTEGER NOT NULL
);

-- Settings the whole cluster shares: `paused` stops every node claiming.
CREATE TABLE cluster_flags (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
