-- Owners and privacy.
--
-- `owner_hash` is the SHA-256 (hex) of the owner's secret: the API's
-- owner token or the browser's owner cookie. The secret itself is never
-- stored. Snippets from before owners existed have none, and nobody can
-- change them.
ALTER TABLE snippets ADD COLUMN owner_hash TEXT;
-- 'unlisted' (reachable by its link only) or 'public' (listed). Every
-- snippet from before this change becomes unlisted: private by default.
ALTER TABLE snippets ADD COLUMN visibility TEXT NOT NULL DEFAULT 'unlisted';
-- Deleted by its first reading by someone who is not the owner.
ALTER TABLE snippets ADD COLUMN burn_after_reading INTEGER NOT NULL DEFAULT 0;
-- The list row's text, computed once at submit, so that lists never read
-- the code. Older rows get the head of their code; the reader trims it.
ALTER TABLE snippets ADD COLUMN preview TEXT NOT NULL DEFAULT '';
UPDATE snippets SET preview = substr(code, 1, 400);

CREATE INDEX snippets_public_newest ON snippets (created_at DESC, id DESC) WHERE visibility = 'public';
CREATE INDEX snippets_by_owner ON snippets (owner_hash, created_at DESC) WHERE owner_hash IS NOT NULL;

-- Tombstones: every snippet that existed and is gone, and why, so that
-- its routes answer 410 Gone (not 404) with the right sentence.
ALTER TABLE expired_snippets RENAME TO tombstones;
ALTER TABLE tombstones RENAME COLUMN expired_at TO gone_at;
ALTER TABLE tombstones ADD COLUMN reason TEXT NOT NULL DEFAULT 'expired';
