-- `jobs_by_enqueued` was meant for the dashboard's newest-first job list,
-- which orders by COALESCE(enqueued_at, created_at) and so never read it.
-- Every job's claim and completion still wrote an entry to it: dropping
-- it made SQLite's drain 13% to 20% faster (bench/PROFILE.md, round 24).
DROP INDEX jobs_by_enqueued;
