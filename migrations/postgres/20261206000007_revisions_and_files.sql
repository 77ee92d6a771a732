-- Gists: a snippet has revisions, a revision has files and one job (see
-- migrations/sqlite for the reasons). Existing code is stored under its
-- SHA-256 at once here (PostgreSQL has it; SQLite's upgrade rehashes on
-- first open).

CREATE TABLE blobs (
    hash  TEXT PRIMARY KEY,
    bytes BIGINT NOT NULL,
    lines BIGINT NOT NULL,
    code  TEXT NOT NULL
);

CREATE TABLE highlights (
    hash              TEXT NOT NULL REFERENCES blobs (hash) ON DELETE CASCADE,
    language          TEXT NOT NULL,
    engine            TEXT NOT NULL,
    highlighted_in_ms BIGINT NOT NULL,
    html              TEXT NOT NULL,
    rendered          TEXT,
    PRIMARY KEY (hash, language, engine)
);

CREATE TABLE revisions (
    snippet_id        TEXT NOT NULL REFERENCES snippets (id) ON DELETE CASCADE,
    number            BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    lines_added       BIGINT NOT NULL DEFAULT 0,
    lines_removed     BIGINT NOT NULL DEFAULT 0,
    file_count        BIGINT NOT NULL,
    bytes             BIGINT NOT NULL,
    lines             BIGINT NOT NULL,
    first_name        TEXT,
    first_language    TEXT NOT NULL,
    preview           TEXT NOT NULL,
    engine            TEXT,
    highlighted_at    BIGINT,
    highlighted_in_ms BIGINT,
    error             TEXT,
    PRIMARY KEY (snippet_id, number)
);

CREATE TABLE files (
    snippet_id TEXT NOT NULL,
    revision   BIGINT NOT NULL,
    position   BIGINT NOT NULL,
    name       TEXT NOT NULL,
    named      BOOLEAN NOT NULL,
    language   TEXT NOT NULL,
    hash       TEXT NOT NULL REFERENCES blobs (hash),
    PRIMARY KEY (snippet_id, revision, position),
    FOREIGN KEY (snippet_id, revision) REFERENCES revisions (snippet_id, number) ON DELETE CASCADE
);
CREATE INDEX files_by_hash ON files (hash);

INSERT INTO blobs (hash, bytes, lines, code)
SELECT DISTINCT ON (hash) hash, octet_length(code), line_count, code
FROM (SELECT encode(sha256(convert_to(code, 'UTF8')), 'hex') AS hash, code, line_count FROM snippets) s
ON CONFLICT (hash) DO NOTHING;

INSERT INTO revisions (snippet_id, number, created_at, file_count, bytes, lines, first_name,
                       first_language, preview, engine, highlighted_at, highlighted_in_ms, error)
SELECT id, 1, created_at, 1, octet_length(code), line_count, filename, language, preview,
       CASE WHEN html IS NOT NULL THEN 'legacy:' || id END, highlighted_at, highlighted_in_ms, error
FROM snippets;

INSERT INTO files (snippet_id, revision, position, name, named, language, hash)
SELECT id, 1, 0, COALESCE(filename, 'file1'), filename IS NOT NULL, language,
       encode(sha256(convert_to(code, 'UTF8')), 'hex')
FROM snippets;

-- Each snippet's result under an engine of its own (`legacy:` and its
-- id): two snippets of the same code may hold different HTML, from
-- different engines, and each keeps its own.
INSERT INTO highlights (hash, language, engine, highlighted_in_ms, html)
SELECT encode(sha256(convert_to(code, 'UTF8')), 'hex'), language, 'legacy:' || id,
       COALESCE(highlighted_in_ms, 0), html
FROM snippets WHERE html IS NOT NULL;

-- One job per revision.
ALTER TABLE job_attempts DROP CONSTRAINT job_attempts_snippet_id_fkey;
ALTER TABLE jobs DROP CONSTRAINT jobs_snippet_id_fkey;
ALTER TABLE jobs DROP CONSTRAINT jobs_pkey;
ALTER TABLE jobs ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE jobs ALTER COLUMN revision DROP DEFAULT;
ALTER TABLE jobs ADD PRIMARY KEY (snippet_id, revision);
ALTER TABLE jobs ADD FOREIGN KEY (snippet_id, revision)
    REFERENCES revisions (snippet_id, number) ON DELETE CASCADE;
CREATE INDEX jobs_by_enqueued ON jobs (enqueued_at DESC, snippet_id DESC);

ALTER TABLE job_attempts ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE job_attempts ALTER COLUMN revision DROP DEFAULT;
ALTER TABLE job_attempts ADD FOREIGN KEY (snippet_id, revision)
    REFERENCES jobs (snippet_id, revision) ON DELETE CASCADE;
DROP INDEX job_attempts_by_job;
CREATE INDEX job_attempts_by_job ON job_attempts (snippet_id, revision, id);

ALTER TABLE snippets ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE snippets ADD COLUMN first_revision BIGINT NOT NULL DEFAULT 1;
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
