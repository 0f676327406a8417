-- Nothing to change here: PostgreSQL writes an updated row as a new version wherever
-- there is room, so a revocation that lengthens a row splits nothing. SQLite's 0007
-- moves who revoked a token and why out of the token's row; the file keeps both
-- backends' migrations numbered alike.
SELECT 1;
