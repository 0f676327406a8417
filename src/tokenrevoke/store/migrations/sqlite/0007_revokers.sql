-- Who revoked a token and why, kept once per distinct pair; a token's row holds the
-- pair's id (`revoker`, NULL while neither is known). A revocation used to write both as
-- text into each of a grant's rows, growing them by 40 to 60 bytes. Rows appended in
-- issue order (0006) fill their pages, so most revocations split a page: 85 WAL frames
-- per commit of 32 grant revocations against 33 when the rows grow by a small integer
-- only, and 25 against 10 us of SQLite per revocation (docs/benchmarks.md). The pairs are
-- few: a client and "revoke_endpoint", an administrator and a reason, the rotation.
-- No foreign key: revokers are never deleted, and the check would cost every revocation.
CREATE TABLE revokers (
    id            INTEGER PRIMARY KEY,
    revoked_by    TEXT,
    revoke_reason TEXT
);
-- One row per pair, NULL being a value of its own (x'' is a blob: no text equals it).
CREATE UNIQUE INDEX revokers_by_pair
    ON revokers (ifnull(revoked_by, x''), ifnull(revoke_reason, x''));
ALTER TABLE tokens ADD COLUMN revoker INTEGER;
INSERT INTO revokers (revoked_by, revoke_reason)
    SELECT DISTINCT revoked_by, revoke_reason FROM tokens
    WHERE revoked_by IS NOT NULL OR revoke_reason IS NOT NULL;
UPDATE tokens SET revoker = (
    SELECT r.id FROM revokers AS r
    WHERE r.revoked_by IS tokens.revoked_by AND r.revoke_reason IS tokens.revoke_reason
) WHERE revoked_by IS NOT NULL OR revoke_reason IS NOT NULL;
ALTER TABLE tokens DROP COLUMN revoked_by;
ALTER TABLE tokens DROP COLUMN revoke_reason;
