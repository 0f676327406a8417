-- Revocations as HOT updates (heap-only: no index entry written). PostgreSQL makes an
-- UPDATE HOT only if no indexed column changes value, and 0010's status-list index held
-- revoked_at, so every revocation wrote a new entry into each of the token indexes: on
-- 1M tokens, 160 tokens' UPDATE took 13 to 24 ms and dirtied ~650 pages, against 1.5 ms
-- and ~65 pages as HOT updates (EXPLAIN (ANALYZE, BUFFERS), docs/benchmarks.md). The index
-- now holds `status_revoked` instead, which is NULL for a token without a status-list
-- index before and after its revocation (unchanged: HOT), so only the tokens in a status
-- list still pay for index entries, and a list is still read from the index alone.
-- Adding a stored column rewrites the table once.
DROP INDEX tokens_by_status;
ALTER TABLE tokens ADD COLUMN status_revoked BOOLEAN
    GENERATED ALWAYS AS (CASE WHEN status_list IS NOT NULL THEN revoked_at IS NOT NULL END) STORED;
CREATE INDEX tokens_by_status ON tokens (status_list, status_revoked, status_idx)
    WHERE status_list IS NOT NULL;
