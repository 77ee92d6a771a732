-- Snippets may expire. The sweeper deletes them once they have, and leaves
-- a tombstone so their pages answer 410 Gone rather than 404.
ALTER TABLE snippets ADD COLUMN expires_at INTEGER; -- Unix milliseconds, UTC; NULL = never

CREATE INDEX snippets_expiring ON snippets (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE expired_snippets (
    id         TEXT PRIMARY KEY NOT NULL,
    expired_at INTEGER NOT NULL
);
