-- The same schema as SQLite's (see migrations/sqlite), for several nodes on
-- one PostgreSQL. Times are Unix milliseconds (BIGINT), as in SQLite, so
-- one body of queries serves both drivers.
CREATE TABLE snippets (
    id                TEXT PRIMARY KEY,
    code              TEXT NOT NULL,
    language          TEXT NOT NULL,
    filename          TEXT,
    line_count        BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    html              TEXT,
    highlighted_at    BIGINT,
    highlighted_in_ms BIGINT,
    error             TEXT,
    expires_at        BIGINT
);

CREATE INDEX snippets_newest_first ON snippets (created_at DESC, id DESC);
CREATE INDEX snippets_expiring ON snippets (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE jobs (
    snippet_id     TEXT PRIMARY KEY REFERENCES snippets (id) ON DELETE CASCADE,
    state          TEXT NOT NULL CHECK (state IN ('queued', 'processing', 'retrying', 'succeeded', 'failed')),
    attempts       BIGINT NOT NULL DEFAULT 0,
    max_attempts   BIGINT NOT NULL,
    run_at         BIGINT NOT NULL,
    locked_by      TEXT,
    lease_until    BIGINT,
    progress_done  BIGINT,
    progress_total BIGINT,
    last_error     TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    finished_at    BIGINT
);

CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('queued', 'retrying');
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE state = 'processing';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('succeeded', 'failed');

CREATE TABLE expired_snippets (
    id         TEXT PRIMARY KEY,
    expired_at BIGINT NOT NULL
);
