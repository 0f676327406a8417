-- The token table as a rowid table, its rows in issue order, and the token hash in a
-- unique index. Keyed by the random hash, a grant's 2 to 3 tokens sat on as many random
-- pages of a table far larger than the page cache; in issue order they share one, and a
-- new token lands at the right edge of the table and of the expiry and client indexes.
-- Revoking a grant rewrites one page instead of three and an issuance dirties fewer
-- (docs/benchmarks.md, `python -m bench.sqlite_layout`). `seq` is the rowid, named so
-- that VACUUM keeps it: the batched revocations walk their index in (..., seq) order.
-- Rebuilding copies every row once (about 15 s per million tokens).
CREATE TABLE tokens_in_issue_order (
    seq           INTEGER PRIMARY KEY,
    tkn_cde       TEXT NOT NULL,
    grt_id        TEXT NOT NULL,
    cln_id        TEXT NOT NULL,
    usr_id        TEXT,
    usr_dn        TEXT,
    ssn_id        TEXT,
    tkn_typ       TEXT NOT NULL,
    grt_typ       TEXT NOT NULL,
    iat           INTEGER NOT NULL,
    exp           INTEGER NOT NULL,
    scp           TEXT NOT NULL DEFAULT '',
    jans_id       TEXT,
    attr          TEXT,
    del           INTEGER NOT NULL DEFAULT 1,
    revoked_at    INTEGER,
    revoked_by    TEXT,
    revoke_reason TEXT
);
INSERT INTO tokens_in_issue_order (
    tkn_cde, grt_id, cln_id, usr_id, usr_dn, ssn_id, tkn_typ, grt_typ, iat, exp, scp,
    jans_id, attr, del, revoked_at, revoked_by, revoke_reason
)
SELECT
    tkn_cde, grt_id, cln_id, usr_id, usr_dn, ssn_id, tkn_typ, grt_typ, iat, exp, scp,
    jans_id, attr, del, revoked_at, revoked_by, revoke_reason
FROM tokens ORDER BY iat, grt_id;
DROP TABLE tokens;
ALTER TABLE tokens_in_issue_order RENAME TO tokens;
CREATE UNIQUE INDEX tokens_by_code ON tokens (tkn_cde);
CREATE INDEX tokens_by_grant ON tokens (grt_id);
CREATE INDEX tokens_by_client ON tokens (cln_id, iat);
CREATE INDEX tokens_by_user ON tokens (usr_id) WHERE usr_id IS NOT NULL;
CREATE INDEX tokens_by_session ON tokens (ssn_id) WHERE ssn_id IS NOT NULL;
CREATE INDEX tokens_by_exp ON tokens (exp);
