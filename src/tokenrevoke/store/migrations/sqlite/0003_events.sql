-- The revocation-event outbox. Every revocation writes its event(s) here in the same
-- transaction as the tombstones, so an event exists exactly when its revocation committed.
-- `position` is assigned after commit by the (single) publisher, in publish order: the
-- stable, gap-free order that SSE subscribers resume from (Last-Event-ID).
CREATE TABLE revocation_events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL,
    at       INTEGER NOT NULL,
    position INTEGER UNIQUE,
    body     TEXT NOT NULL
);
CREATE INDEX revocation_events_unpublished ON revocation_events (seq) WHERE position IS NULL;

-- One row per (push receiver, event): delivered, permanently rejected, or due again at
-- `next_attempt_at` (a claim pushes it into the future: a lease against other deliverers).
CREATE TABLE event_deliveries (
    receiver        TEXT NOT NULL,
    position        INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    failed_at       INTEGER,
    last_error      TEXT,
    PRIMARY KEY (receiver, position)
) WITHOUT ROWID;
CREATE INDEX event_deliveries_due ON event_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX event_deliveries_by_position ON event_deliveries (position);

-- The last position handed out. A counter, not max(position): purged events must never
-- let a position be handed out twice (a subscriber's cursor would skip the new event).
INSERT INTO revisions (kind, revision) VALUES ('events', 0);
