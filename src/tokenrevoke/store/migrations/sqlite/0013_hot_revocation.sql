-- Nothing to change here: SQLite rewrites a row in place and touches only the indexes of
-- the columns that changed. PostgreSQL's 0013 takes revoked_at out of the status-list
-- index so that a revocation writes no index entry (its revoked tokens of each list move
-- to a table of their own); the file keeps both backends' migrations numbered alike.
SELECT 1;
