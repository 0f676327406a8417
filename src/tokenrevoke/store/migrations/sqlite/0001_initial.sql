-- Tokens: only sha256_hex(raw token) is stored (tkn_cde), as Janssen does.
-- Column names follow Janssen's attributes; revoked rows are tombstones kept until `exp`.
CREATE TABLE tokens (
    tkn_cde       TEXT PRIMARY KEY,
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
) WITHOUT ROWID;

-- One index per revocation scope: grant (cascade and refresh-token family), client,
-- user, session. Expiry drives the purge. In a WITHOUT ROWID table each index also
-- holds the primary key, so bulk revocation can walk (cln_id, tkn_cde) in keyset batches.
CREATE INDEX tokens_by_grant ON tokens (grt_id);
CREATE INDEX tokens_by_client ON tokens (cln_id);
CREATE INDEX tokens_by_user ON tokens (usr_id) WHERE usr_id IS NOT NULL;
CREATE INDEX tokens_by_session ON tokens (ssn_id) WHERE ssn_id IS NOT NULL;
CREATE INDEX tokens_by_exp ON tokens (exp);

CREATE TABLE clients (
    inum TEXT PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE users (
    inum TEXT PRIMARY KEY,
    uid  TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL
);

CREATE TABLE scripts (
    inum TEXT PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE signing_keys (
    kid  TEXT PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE app_config (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    document TEXT NOT NULL,
    revision INTEGER NOT NULL
);
INSERT INTO app_config (id, document, revision) VALUES (1, '{}', 1);

CREATE TABLE revisions (
    kind     TEXT PRIMARY KEY,
    revision INTEGER NOT NULL
);
INSERT INTO revisions (kind, revision) VALUES ('clients', 1), ('scripts', 1), ('keys', 1);

-- Client-assertion ids seen, for replay protection (RFC 7523 section 3).
CREATE TABLE jti_seen (
    cln_id TEXT NOT NULL,
    jti    TEXT NOT NULL,
    exp    INTEGER NOT NULL,
    PRIMARY KEY (cln_id, jti)
) WITHOUT ROWID;
CREATE INDEX jti_seen_by_exp ON jti_seen (exp);

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    action  TEXT NOT NULL,
    actor   TEXT NOT NULL,
    reason  TEXT NOT NULL,
    cln_id  TEXT,
    count   INTEGER NOT NULL,
    details TEXT NOT NULL
);
