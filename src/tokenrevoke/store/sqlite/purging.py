"""The purge of what has expired on SQLite (`Store.purge_expired`): a batch of tokens past
their expiry (the status-list bits of the revoked ones kept), the status lists left
without tokens, and expired replay-cache entries and browser sessions. One writer job:
it runs on the writer thread, inside its transaction (store.py hands it to it)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from tokenrevoke.store.sqlite import sessions, status_lists


def purge_expired(
    conn: sqlite3.Connection, now: int, batch_size: int, keep_lists: Sequence[int] | None
) -> int:
    # The batch and, of its revoked tokens with a status-list index, the indices
    # (one step, see `revoking.tombstone`), then the DELETE of exactly those rows.
    (found,) = conn.execute(
        "SELECT json_group_array(json_array(seq, status_list, status_idx, "
        "revoked_at IS NOT NULL)) FROM (SELECT seq, status_list, status_idx, "
        "revoked_at FROM tokens WHERE exp <= ? LIMIT ?)",
        (now, batch_size),
    ).fetchone()
    picked: list[Any] = orjson.loads(found)
    if picked:
        conn.execute(
            "DELETE FROM tokens WHERE seq IN (SELECT value FROM json_each(?))",
            (orjson.dumps([row[0] for row in picked]).decode(),),
        )
    status_lists.keep_purged_bits(conn, [(r[1], r[2]) for r in picked if r[3] and r[1] is not None])
    if keep_lists is not None:
        conn.execute(
            "DELETE FROM status_lists WHERE id NOT IN (SELECT value FROM json_each(?)) "
            "AND NOT EXISTS (SELECT 1 FROM tokens WHERE status_list = status_lists.id)",
            (orjson.dumps(list(keep_lists)).decode(),),
        )
    conn.execute(
        "DELETE FROM jti_seen WHERE (cln_id, jti) IN "
        "(SELECT cln_id, jti FROM jti_seen WHERE exp <= ? LIMIT ?)",
        (now, batch_size),
    )
    sessions.purge(conn, now, batch_size)
    return len(picked)
