-- Token Status List (draft-ietf-oauth-status-list; docs/status-list.md). A JWT access token
-- carries an index (`status_idx`) into a list (`status_list`); its bit in the published list
-- is its tombstone: the list is built from the revoked tokens of the list, read from this
-- index (revoked_at is in it, so only the revoked ones are read), so every revocation sets
-- the bit in the commit that writes the tombstone. Tokens without an index are not in it.
ALTER TABLE tokens ADD COLUMN status_list INTEGER;
ALTER TABLE tokens ADD COLUMN status_idx INTEGER;
CREATE INDEX tokens_by_status ON tokens (status_list, revoked_at, status_idx)
    WHERE status_list IS NOT NULL;

-- One row per list: the next index to hand out (nodes take blocks of indices, so an index
-- is never handed out twice) and the bits of revoked tokens the purge deleted (1 bit per
-- index, least significant first), so their bits outlive their rows. A list is deleted
-- once it is no longer the newest and none of its tokens is left.
CREATE TABLE status_lists (
    id         INTEGER PRIMARY KEY,
    next_idx   INTEGER NOT NULL,
    purged     BLOB
);
