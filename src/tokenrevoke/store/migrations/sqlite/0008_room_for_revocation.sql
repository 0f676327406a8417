-- Room in a live token's row for its revocation. Revoking writes `revoked_at` (4 bytes
-- until 2038) and `revoker` (1 byte) where there were NULLs (0 bytes); rows appended in
-- issue order fill their pages, so the page split: a rebalance of three or four pages,
-- written to the WAL, and in SQLite a sibling swap through a temporary page number past
-- 1 GiB after which every COMMIT walks the connection's whole page cache (64 MiB: ~16,000
-- pages) to drop pages past the end of the file (pcache1Truncate; docs/benchmarks.md).
-- A live token now carries those bytes in `spare` (a 5-byte blob), which the revocation
-- sets to NULL: the row keeps its size and SQLite overwrites it in place. Tokens stored
-- before this migration have no spare and grow as before when revoked.
ALTER TABLE tokens ADD COLUMN spare BLOB;
