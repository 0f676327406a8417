"""The purge of what has expired on PostgreSQL (`Store.purge_expired`): a batch of tokens
past their expiry (the status-list bits of the revoked ones kept), the status lists left
without tokens, and expired replay-cache entries and browser sessions. It takes a
connection inside the store's transaction (store.py runs it)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from tokenrevoke.store.postgres import sessions, status_lists

_PURGE_LOCK = zlib.crc32(b"tokenrevoke-purge")


async def purge_expired(
    conn: Any, now: int, batch_size: int, keep_lists: Sequence[int] | None
) -> int:
    # One node purges at a time; the others skip this round.
    if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _PURGE_LOCK):
        return 0
    gone = await conn.fetch(
        "DELETE FROM tokens WHERE tkn_cde IN "
        "(SELECT tkn_cde FROM tokens WHERE exp <= $1 LIMIT $2) "
        "RETURNING status_list, status_idx, revoked_at IS NOT NULL",
        now,
        batch_size,
    )
    # The status-list bits of the revoked ones outlive their rows.
    await status_lists.keep_purged_bits(
        conn, [(ls, i) for ls, i, revoked in gone if revoked and ls is not None]
    )
    if keep_lists is not None:
        await conn.execute(
            "DELETE FROM status_lists s WHERE id <> ALL($1::bigint[]) AND NOT EXISTS "
            "(SELECT 1 FROM tokens WHERE status_list = s.id)",
            list(keep_lists),
        )
    await conn.execute(
        "DELETE FROM jti_seen WHERE (cln_id, jti) IN "
        "(SELECT cln_id, jti FROM jti_seen WHERE exp <= $1 LIMIT $2)",
        now,
        batch_size,
    )
    await sessions.purge(conn, now, batch_size)
    return len(gone)
