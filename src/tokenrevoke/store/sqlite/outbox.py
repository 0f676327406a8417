"""The revocation events' outbox on SQLite (docs/events.md): numbering the events and
queueing their deliveries, leasing and settling deliveries, purging what every receiver
has. Each function is one writer job (store.py runs them)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from tokenrevoke.model import Delivery, DeliveryOutcome
from tokenrevoke.store import codec

# Whether any event waits for its position (a read: the publisher polls).
UNPUBLISHED = "SELECT 1 FROM revocation_events WHERE position IS NULL LIMIT 1"


def publish(
    conn: sqlite3.Connection, receivers: Sequence[str], limit: int
) -> tuple[int, list[Any]]:
    """Number up to `limit` events and queue their deliveries, in a few statements of one
    step each; it decodes nothing (the events decode when read). Returns the position
    before the first, and the (seq, body) of each."""
    (found,) = conn.execute(
        "SELECT json_group_array(json_array(seq, body)) FROM (SELECT seq, body "
        "FROM revocation_events WHERE position IS NULL ORDER BY seq LIMIT ?)",
        (limit,),
    ).fetchone()
    rows: list[Any] = orjson.loads(found)
    (last,) = conn.execute(
        "UPDATE revisions SET revision = revision + ? WHERE kind = 'events' RETURNING revision",
        (len(rows),),
    ).fetchone()
    top = int(last) - len(rows)
    conn.execute(
        "UPDATE revocation_events SET position = json_extract(p.value, '$[1]') "
        "FROM json_each(?) AS p WHERE seq = json_extract(p.value, '$[0]')",
        (orjson.dumps([(seq, top + n) for n, (seq, _) in enumerate(rows, 1)]).decode(),),
    )
    conn.executemany(
        "INSERT INTO event_deliveries (receiver, position, next_attempt_at) "
        "VALUES (?, ?, 0) ON CONFLICT DO NOTHING",  # due at once
        [(r, top + n) for n in range(1, len(rows) + 1) for r in receivers],
    )
    return top, rows


def due(receivers: Sequence[str]) -> str:
    """FROM ... WHERE of the deliveries due to these receivers (parameters: now, then the
    receivers)."""
    marks = ",".join("?" * len(receivers))
    return (
        "FROM event_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL "
        f"AND next_attempt_at <= ? AND receiver IN ({marks})"
    )


def claim(
    conn: sqlite3.Connection, due: str, receivers: Sequence[str], now: int, lease_seconds: int,
    limit: int,
) -> list[Delivery]:  # fmt: skip
    """Lease up to `limit` due deliveries (`due`) for `lease_seconds`."""
    claimed = conn.execute(
        "UPDATE event_deliveries SET attempts = attempts + 1, next_attempt_at = ? "
        f"WHERE (receiver, position) IN (SELECT receiver, position {due} "
        "ORDER BY position LIMIT ?) RETURNING receiver, position, attempts",
        (now + lease_seconds, now, *receivers, limit),
    ).fetchall()
    positions = sorted({p for _, p, _ in claimed})
    bodies = dict(
        conn.execute(
            "SELECT position, body FROM revocation_events "
            f"WHERE position IN ({','.join('?' * len(positions))})",
            positions,
        ).fetchall()
    )
    return sorted(
        (
            Delivery(receiver, attempts, codec.event_from_row(bodies[p], p))
            for receiver, p, attempts in claimed
            if p in bodies
        ),
        key=lambda d: (d.event.position or 0, d.receiver),
    )


def settle(conn: sqlite3.Connection, outcomes: Sequence[DeliveryOutcome], now: int) -> None:
    conn.executemany(
        "UPDATE event_deliveries SET delivered_at = ?, failed_at = ?, "
        "next_attempt_at = coalesce(?, next_attempt_at), last_error = ? "
        "WHERE receiver = ? AND position = ?",
        [codec.settlement(o, now) for o in outcomes],
    )


def purge(conn: sqlite3.Connection, before: int, batch_size: int, receivers: Sequence[str]) -> int:
    """Delete up to `batch_size` published events older than `before` that no configured
    receiver still waits for, with their deliveries."""
    marks = ",".join("?" * len(receivers))
    waiting = (
        "SELECT 1 FROM event_deliveries d WHERE d.position = e.position "
        f"AND d.delivered_at IS NULL AND d.failed_at IS NULL AND d.receiver IN ({marks})"
    )
    gone = conn.execute(
        "DELETE FROM revocation_events WHERE seq IN (SELECT seq FROM revocation_events e "
        f"WHERE at < ? AND position IS NOT NULL AND NOT EXISTS ({waiting}) LIMIT ?) "
        "RETURNING position",
        (before, *receivers, batch_size),
    ).fetchall()
    conn.executemany("DELETE FROM event_deliveries WHERE position = ?", gone)
    return len(gone)
