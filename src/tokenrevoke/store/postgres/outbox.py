"""The revocation events' outbox on PostgreSQL (docs/events.md): numbering the events and
queueing their deliveries, leasing and settling deliveries, purging what every receiver
has. The functions take a connection inside the store's transaction (store.py runs them)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from tokenrevoke.model import Delivery, DeliveryOutcome, PublishedEvents
from tokenrevoke.store import codec

_PUBLISH_LOCK = zlib.crc32(b"tokenrevoke-publish-events")

# The events after a position, in order (a read: the stream and the feed poll it).
LIST_EVENTS = (
    "SELECT body, position FROM revocation_events WHERE position > $1 ORDER BY position LIMIT $2"
)
LATEST_POSITION = "SELECT revision FROM revisions WHERE kind = 'events'"


async def publish(conn: Any, receivers: Sequence[str], limit: int) -> PublishedEvents:
    if not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM revocation_events WHERE position IS NULL)"
    ):
        return codec.published_events()
    # One publisher at a time, holding the lock until COMMIT: positions are handed
    # out in commit order, so a reader that has seen position N never later finds
    # a new event below N (sequence values alone could commit out of order).
    if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _PUBLISH_LOCK):
        return codec.published_events()
    rows = await conn.fetch(
        "SELECT seq, body FROM revocation_events WHERE position IS NULL ORDER BY seq LIMIT $1",
        limit,
    )
    top = int(
        await conn.fetchval(
            "UPDATE revisions SET revision = revision + $1 WHERE kind = 'events' "
            "RETURNING revision",
            len(rows),
        )
    ) - len(rows)
    positions = list(range(top + 1, top + 1 + len(rows)))
    await conn.execute(
        "UPDATE revocation_events e SET position = v.position "
        "FROM unnest($1::bigint[], $2::bigint[]) AS v(seq, position) WHERE e.seq = v.seq",
        [r["seq"] for r in rows],
        positions,
    )
    await conn.execute(
        "INSERT INTO event_deliveries (receiver, position, next_attempt_at) "
        "SELECT r, p, 0 FROM unnest($1::text[]) AS r, unnest($2::bigint[]) AS p "
        "ON CONFLICT DO NOTHING",  # due at once
        list(receivers),
        positions,
    )
    positioned = [(r["body"], p) for r, p in zip(rows, positions, strict=True)]
    return codec.published_events(positioned)


async def claim(
    conn: Any, receivers: Sequence[str], now: int, lease_seconds: int, limit: int
) -> list[Delivery]:
    # SKIP LOCKED: nodes claiming at the same moment take different rows.
    rows = await conn.fetch(
        "WITH due AS (SELECT receiver, position FROM event_deliveries "
        "WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 "
        "AND receiver = ANY($2::text[]) ORDER BY position LIMIT $3 "
        "FOR UPDATE SKIP LOCKED) "
        "UPDATE event_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $4 "
        "FROM due WHERE d.receiver = due.receiver AND d.position = due.position "
        "RETURNING d.receiver, d.position, d.attempts, "
        "(SELECT body FROM revocation_events e WHERE e.position = d.position) AS body",
        now,
        list(receivers),
        limit,
        now + lease_seconds,
    )
    return sorted(
        (
            Delivery(r["receiver"], r["attempts"], codec.event_from_row(r["body"], p))
            for r in rows
            if r["body"] is not None and (p := r["position"]) is not None
        ),
        key=lambda d: (d.event.position or 0, d.receiver),
    )


async def settle(conn: Any, outcomes: Sequence[DeliveryOutcome], now: int) -> None:
    await conn.executemany(
        "UPDATE event_deliveries SET delivered_at = $1, failed_at = $2, "
        "next_attempt_at = coalesce($3, next_attempt_at), last_error = $4 "
        "WHERE receiver = $5 AND position = $6",
        [codec.settlement(o, now) for o in outcomes],
    )


async def purge(conn: Any, before: int, batch_size: int, receivers: Sequence[str]) -> int:
    gone = await conn.fetch(
        "DELETE FROM revocation_events WHERE seq IN (SELECT seq FROM revocation_events e "
        "WHERE at < $1 AND position IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
        "event_deliveries d WHERE d.position = e.position AND d.delivered_at IS NULL "
        "AND d.failed_at IS NULL AND d.receiver = ANY($2::text[])) LIMIT $3) "
        "RETURNING position",
        before,
        list(receivers),
        batch_size,
    )
    await conn.execute(
        "DELETE FROM event_deliveries WHERE position = ANY($1::bigint[])",
        [r[0] for r in gone],
    )
    return len(gone)
