-- Snippets are what people pasted; they outlive their jobs. The final
-- outcome (html, or error) is copied onto the snippet so that pruning a
-- finished job loses nothing a page shows.
CREATE TABLE snippets (
    id                TEXT PRIMARY KEY NOT NULL,
    code              TEXT NOT NULL,
    language          TEXT NOT NULL,
    filename          TEXT,
    line_count        INTEGER NOT NULL,
    created_at        INTEGER NOT NULL, -- Unix milliseconds, UTC
    html              TEXT,
    highlighted_at    INTEGER,
    highlighted_in_ms INTEGER,
    error             TEXT
);

CREATE INDEX snippets_newest_first ON snippets (created_at DESC);

-- One job per snippet: "Try again" and language changes queue the same row
-- anew. `attempts` doubles as the fencing token of a lease: a worker may
-- complete a job only while (locked_by, attempts) are still the ones its
-- claim wrote.
CREATE TABLE jobs (
    snippet_id     TEXT PRIMARY KEY NOT NULL REFERENCES snippets (id) ON DELETE CASCADE,
    state          TEXT NOT NULL CHECK (state IN ('queued', 'processing', 'retrying', 'succeeded', 'failed')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    max_attempts   INTEGER NOT NULL,
    run_at         INTEGER NOT NULL,
    locked_by      TEXT,
    lease_until    INTEGER,
    progress_done  INTEGER,
    progress_total INTEGER,
    last_error     TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    finished_at    INTEGER
);

-- The claim query's index: only jobs that can be claimed are in it.
CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('queued', 'retrying');
-- The rescuer's index.
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE state = 'processing';
-- The pruner's index.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('succeeded', 'failed');
