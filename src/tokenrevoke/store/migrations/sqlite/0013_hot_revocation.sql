-- Nothing to change here: SQLite updates a row in place, whatever its indexes. PostgreSQL's
-- 0013 takes revoked_at out of the status-list index so that a revocation writes no index
-- entry; the file keeps both backends' migrations numbered alike.
SELECT 1;
