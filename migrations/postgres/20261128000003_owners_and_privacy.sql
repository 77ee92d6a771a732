-- Owners and privacy (see migrations/sqlite for the reasons).
ALTER TABLE snippets ADD COLUMN owner_hash TEXT;
ALTER TABLE snippets ADD COLUMN visibility TEXT NOT NULL DEFAULT 'unlisted'
    CHECK (visibility IN ('unlisted', 'public'));
ALTER TABLE snippets ADD COLUMN burn_after_reading BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE snippets ADD COLUMN preview TEXT NOT NULL DEFAULT '';
UPDATE snippets SET preview = substr(code, 1, 400);

CREATE INDEX snippets_public_newest ON snippets (created_at DESC, id DESC) WHERE visibility = 'public';
CREATE INDEX snippets_by_owner ON snippets (owner_hash, created_at DESC) WHERE owner_hash IS NOT NULL;

ALTER TABLE expired_snippets RENAME TO tombstones;
ALTER TABLE tombstones RENAME COLUMN expired_at TO gone_at;
ALTER TABLE tombstones ADD COLUMN reason TEXT NOT NULL DEFAULT 'expired'
    CHECK (reason IN ('expired', 'deleted', 'burned'));
