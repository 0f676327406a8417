-- Nothing to change here: SQLite's 0008 already gives a live token's row the room its
-- revocation needs. PostgreSQL's 0012 leaves room on each token page for the same reason;
-- the file keeps both backends' migrations numbered alike.
SELECT 1;
