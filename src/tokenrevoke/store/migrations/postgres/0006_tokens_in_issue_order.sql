-- Nothing to change here: a PostgreSQL table is a heap whose rows already sit in the
-- order they were written, with the token hash in a separate index (the primary key).
-- SQLite's 0006 gives its token table the same layout; the file keeps both backends'
-- migrations numbered alike.
SELECT 1;
