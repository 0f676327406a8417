-- The client index also ordered by issue time: a new token lands at the right edge of its
-- client's range, not on a random page of it (keyed by the random token hash), so each
-- token written dirties one index page fewer. Revoke-all of a client walks it in
-- (iat, tkn_cde) keyset batches, as on SQLite. Rebuilding it reads the whole table once.
DROP INDEX tokens_by_client;
CREATE INDEX tokens_by_client ON tokens (cln_id, iat, tkn_cde);
