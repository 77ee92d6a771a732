-- Gists: a snippet has revisions, a revision has files and one job.
--
-- A file's code is stored once, by the SHA-256 of its bytes (`blobs`),
-- however many revisions or snippets hold it, and so is its highlighted
-- HTML for each language and engine version (`highlights`): a file that
-- did not change between revisions is not highlighted again. Every
-- existing snippet becomes revision 1 with one file, keeping its id,
-- owner, visibility, expiry, burn state and stored result.
--
-- Existing code is stored under a provisional hash (`legacy:` and the
-- snippet's id); the server replaces each with the SHA-256 of its code
-- when it first opens the upgraded database (SQLite has no SHA-256 of its
-- own; see `store::rehash_legacy_blobs`).

CREATE TABLE blobs (
    hash  TEXT PRIMARY KEY NOT NULL,
    -- Small columns first: lists read them without touching the code.
    bytes INTEGER NOT NULL,
    lines INTEGER NOT NULL,
    code  TEXT NOT NULL
);

CREATE TABLE highlights (
    hash              TEXT NOT NULL REFERENCES blobs (hash) ON DELETE CASCADE,
    language          TEXT NOT NULL,
    -- The engine version that wrote it (`legacy:` and the snippet's id for
    -- results from before: two snippets of the same code may hold
    -- different HTML, from different engines, and each keeps its own).
    engine            TEXT NOT NULL,
    highlighted_in_ms INTEGER NOT NULL,
    html              TEXT NOT NULL,
    -- A Markdown file's rendered HTML, beside its highlighted source.
    rendered          TEXT,
    PRIMARY KEY (hash, language, engine)
);

CREATE TABLE revisions (
    snippet_id        TEXT NOT NULL REFERENCES snippets (id) ON DELETE CASCADE,
    number            INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    -- Against the revision before it.
    lines_added       INTEGER NOT NULL DEFAULT 0,
    lines_removed     INTEGER NOT NULL DEFAULT 0,
    -- What lists show, written once with the revision: lists never read
    -- files, code or HTML.
    file_count        INTEGER NOT NULL,
    bytes             INTEGER NOT NULL,
    lines             INTEGER NOT NULL,
    first_name        TEXT,      -- the first file's name, when a person gave one
    first_language    TEXT NOT NULL,
    preview           TEXT NOT NULL,
    -- The outcome of its job, kept when the job record is pruned: the
    -- engine whose highlights it shows, or why it failed.
    engine            TEXT,
    highlighted_at    INTEGER,
    highlighted_in_ms INTEGER,
    error             TEXT,
    PRIMARY KEY (snippet_id, number)
);

CREATE TABLE files (
    snippet_id TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    -- 0 for a name the server gave (`file1`...): one-file answers say
    -- `filename: null` for it, as they always have.
    named      INTEGER NOT NULL,
    language   TEXT NOT NULL,
    hash       TEXT NOT NULL REFERENCES blobs (hash),
    PRIMARY KEY (snippet_id, revision, position),
    FOREIGN KEY (snippet_id, revision) REFERENCES revisions (snippet_id, number) ON DELETE CASCADE
);
CREATE INDEX files_by_hash ON files (hash);

INSERT INTO blobs (hash, bytes, lines, code)
SELECT 'legacy:' || id, length(CAST(code AS BLOB)), line_count, code FROM snippets;

INSERT INTO revisions (snippet_id, number, created_at, file_count, bytes, lines, first_name,
                       first_language, preview, engine, highlighted_at, highlighted_in_ms, error)
SELECT id, 1, created_at, 1, length(CAST(code AS BLOB)), line_count, filename, language, preview,
       CASE WHEN html IS NOT NULL THEN 'legacy:' || id END, highlighted_at, highlighted_in_ms, error
FROM snippets;

INSERT INTO files (snippet_id, revision, position, name, named, language, hash)
SELECT id, 1, 0, COALESCE(filename, 'file1'), filename IS NOT NULL, language, 'legacy:' || id
FROM snippets;

INSERT INTO highlights (hash, language, engine, highlighted_in_ms, html)
SELECT 'legacy:' || id, language, 'legacy:' || id, COALESCE(highlighted_in_ms, 0), html
FROM snippets WHERE html IS NOT NULL;

-- One job per revision.
CREATE TABLE revision_jobs (
    snippet_id         TEXT NOT NULL,
    revision           INTEGER NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('queued', 'processing', 'retrying', 'succeeded', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    max_attempts       INTEGER NOT NULL,
    run_at             INTEGER NOT NULL,
    locked_by          TEXT,
    lease_until        INTEGER,
    progress_done      INTEGER,
    progress_total     INTEGER,
    last_error         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    finished_at        INTEGER,
    attempt_started_at INTEGER,
    enqueued_at        INTEGER,
    PRIMARY KEY (snippet_id, revision),
    FOREIGN KEY (snippet_id, revision) REFERENCES revisions (snippet_id, number) ON DELETE CASCADE
);
INSERT INTO revision_jobs (snippet_id, revision, state, attempts, max_attempts, run_at, locked_by,
                           lease_until, progress_done, progress_total, last_error, created_at,
                           updated_at, finished_at, attempt_started_at, enqueued_at)
SELECT snippet_id, 1, state, attempts, max_attempts, run_at, locked_by, lease_until, progress_done,
       progress_total, last_error, created_at, updated_at, finished_at, attempt_started_at, enqueued_at
FROM jobs;

CREATE TABLE revision_job_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    snippet_id  TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    holder      TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('succeeded', 'retrying', 'failed', 'released', 'abandoned')),
    error       TEXT,
    FOREIGN KEY (snippet_id, revision) REFERENCES revision_jobs (snippet_id, revision) ON DELETE CASCADE
);
INSERT INTO revision_job_attempts (id, snippet_id, revision, attempt, holder, started_at, finished_at, outcome, error)
SELECT id, snippet_id, 1, attempt, holder, started_at, finished_at, outcome, error FROM job_attempts;

DROP TABLE job_attempts;
DROP TABLE jobs;
ALTER TABLE revision_jobs RENAME TO jobs;
ALTER TABLE revision_job_attempts RENAME TO job_attempts;

CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('queued', 'retrying');
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE state = 'processing';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('succeeded', 'failed');
CREATE INDEX jobs_by_enqueued ON jobs (enqueued_at DESC, snippet_id DESC);
CREATE INDEX job_attempts_by_job ON job_attempts (snippet_id, revision, id);
CREATE INDEX job_attempts_by_time ON job_attempts (finished_at);

-- The snippet keeps what is the snippet's: its latest revision, the
-- oldest one kept, and where it was forked from.
ALTER TABLE snippets ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE snippets ADD COLUMN first_revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE snippets ADD COLUMN forked_from TEXT;
CREATE INDEX snippets_forks ON snippets (forked_from, created_at DESC) WHERE forked_from IS NOT NULL;

ALTER TABLE snippets DROP COLUMN code;
ALTER TABLE snippets DROP COLUMN language;
ALTER TABLE snippets DROP COLUMN filename;
ALTER TABLE snippets DROP COLUMN line_count;
ALTER TABLE snippets DROP COLUMN html;
ALTER TABLE snippets DROP COLUMN highlighted_at;
ALTER TABLE snippets DROP COLUMN highlighted_in_ms;
ALTER TABLE snippets DROP COLUMN error;
ALTER TABLE snippets DROP COLUMN preview;
