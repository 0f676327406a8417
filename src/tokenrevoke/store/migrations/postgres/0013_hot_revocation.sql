-- The status-list index without revoked_at, so that a revocation is a HOT update (the new
-- row version on the row's own page, no index entry written) wherever 0012 left room: an
-- UPDATE that changes an indexed column is never HOT, and revoked_at was the only indexed
-- column a revocation changes. Every revocation wrote an entry in each of the token
-- table's six indexes; revoke-all of 100,000 tokens took 7.6 s, and 2.5 s with 99.8% of
-- its updates HOT (docs/benchmarks.md). Reading a list now checks revoked_at in the row
-- of each of its tokens rather than in the index.
DROP INDEX tokens_by_status;
CREATE INDEX tokens_by_status ON tokens (status_list, status_idx) WHERE status_list IS NOT NULL;
