-- Nothing to change here: SQLite has no HOT updates to win back (PostgreSQL's 0013 takes
-- revoked_at out of the status-list index); the file keeps both backends' migrations
-- numbered alike.
SELECT 1;
