-- Leave a fifth of each token page free, so that a revocation (a new version of the row,
-- a few dozen bytes longer) usually fits on the row's own page: a HOT update, which
-- writes no index entry, where an update moved to another page adds one to each of the
-- token table's six indexes. Revoke-all of 100,000 tokens (a client holding a quarter of
-- the rows) measured 5.3 to 7.3 s against 12.3 to 14.3 s at the default fillfactor of
-- 100 on a loaded machine (docs/benchmarks.md). Pages written from now on get the room;
-- existing ones when the table is rewritten (VACUUM FULL, CLUSTER).
ALTER TABLE tokens SET (fillfactor = 80);
