-- Browser sessions (Janssen's session_id), made at sign-in. Only sha256_hex(cookie value)
-- is stored (cookie_hash), as for tokens; it changes at each sign-in, `sid` does not:
-- tokens issued in the session carry it as ssn_id (tokens_by_session finds them).
-- idle_exp: last use + sessionIdUnusedLifetime (never past exp); exp: creation +
-- sessionIdLifetime. Ended sessions stay until idle_exp, then the purge deletes them.
CREATE TABLE sessions (
    sid         TEXT PRIMARY KEY,
    cookie_hash TEXT NOT NULL UNIQUE,
    usr_id      TEXT NOT NULL,
    auth_time   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    last_used   INTEGER NOT NULL,
    idle_exp    INTEGER NOT NULL,
    exp         INTEGER NOT NULL,
    state       TEXT NOT NULL,
    ended_at    INTEGER,
    end_reason  TEXT,
    attr        TEXT
);
CREATE INDEX sessions_by_user ON sessions (usr_id);
CREATE INDEX sessions_by_idle_exp ON sessions (idle_exp);
