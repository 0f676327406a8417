-- A revocation event's body is JSON of hex digests (each revoked token's hash and grant,
-- docs/events.md): over 2 kB it went to TOAST through pglz, which cannot shrink it (the
-- bodies of a revoke-all were stored at 100.0 % of their length) and took 17 % of the
-- server's CPU in a revoke-all of 100,000 tokens. EXTERNAL keeps bodies out of line
-- without trying to compress them. Rows already written keep their storage.
ALTER TABLE revocation_events ALTER COLUMN body SET STORAGE EXTERNAL;
