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
    iat           BIGINT NOT NULL,
    exp           BIGINT NOT NULL,
    scp           TEXT NOT NULL DEFAULT '',
    jans_id       TEXT,
    attr          TEXT,
    del           SMALLINT NOT NULL DEFAULT 1,
    revoked_at    BIGINT,
    revoked_by    TEXT,
    revoke_reason TEXT
);

-- One index per revocation scope: grant (cascade and refresh-token family), client,
-- user, session. Expiry drives the purge. The token code after the scope column lets
-- bulk revocation walk a client's (user's, session's) tokens in keyset batches.
CREATE INDEX tokens_by_grant ON tokens (grt_id);
CREATE INDEX tokens_by_client ON tokens (cln_id, tkn_cde);
CREATE INDEX tokens_by_user ON tokens (usr_id, tkn_cde) WHERE usr_id IS NOT NULL;
CREATE INDEX tokens_by_session ON tokens (ssn_id, tkn_cde) WHERE ssn_id IS NOT NULL;
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
    revision BIGINT NOT NULL
);
INSERT INTO app_config (id, document, revision) VALUES (1, '{}', 1);

CREATE TABLE revisions (
    kind     TEXT PRIMARY KEY,
    revision BIGINT NOT NULL
);
INSERT INTO revisions (kind, revision) VALUES ('clients', 1), ('scripts', 1), ('keys', 1);

-- Client-assertion ids seen, for replay protection (RFC 7523 section 3).
CREATE TABLE jti_seen (
    cln_id TEXT NOT NULL,
    jti    TEXT NOT NULL,
    exp    BIGINT NOT NULL,
    PRIMARY KEY (cln_id, jti)
);
CREATE INDEX jti_seen_by_exp ON jti_seen (exp);

CREATE TABLE audit (
    id      BIGSERIAL PRIMARY KEY,
    at      BIGINT NOT NULL,
    action  TEXT NOT NULL,
    actor   TEXT NOT NULL,
    reason  TEXT NOT NULL,
    cln_id  TEXT,
    count   BIGINT NOT NULL,
    details TEXT NOT NULL
);
