-- Nothing to change here: PostgreSQL writes an updated row as a new version wherever
-- there is room. SQLite's 0008 gives a live token's row the room its revocation needs;
-- the file keeps both backends' migrations numbered alike.
SELECT 1;
