-- A burn-after-reading snippet is never listed: a list shows its first
-- line, and announces it to every open home page, before anyone reads it.
-- Submits that ask for both are refused now; rows written before that
-- rule become unlisted.
UPDATE snippets SET visibility = 'unlisted' WHERE burn_after_reading;
