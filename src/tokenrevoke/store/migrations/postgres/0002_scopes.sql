-- OAuth scopes managed through the config API (Janssen's Scope entity).
CREATE TABLE scopes (
    inum TEXT PRIMARY KEY,
    id   TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL
);
INSERT INTO revisions (kind, revision) VALUES ('scopes', 1);
