"""Token status lists on PostgreSQL (docs/status-list.md): handing out indices, reading a
list, and keeping the bits of revoked tokens the purge deletes. The functions take a
connection inside the store's transaction (store.py runs them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenrevoke.store import codec

# Hands out `count` ($2) fresh indices of list $1, creating it; the first of them.
ALLOCATE_INDICES = (
    "INSERT INTO status_lists (id, next_idx) VALUES ($1, $2) ON CONFLICT (id) "
    "DO UPDATE SET next_idx = status_lists.next_idx + $2 RETURNING next_idx - $2"
)
# One statement: one snapshot of both the purged bits and the revoked rows, read from
# the status-list index alone (`status_revoked`, migration 0013).
READ_LIST = (
    "SELECT next_idx, purged, ARRAY(SELECT status_idx FROM tokens "
    "WHERE status_list = s.id AND status_revoked) "
    "FROM status_lists s WHERE id = $1"
)
LIST_IDS = "SELECT id FROM status_lists ORDER BY id"


async def keep_purged_bits(conn: Any, entries: Sequence[tuple[int, int]]) -> None:
    """Set the purged bits of these (list, index) pairs of revoked tokens being deleted."""
    for list_id, indices in sorted(codec.indices_by_list(entries).items()):
        purged = await conn.fetchval(
            "SELECT purged FROM status_lists WHERE id = $1 FOR UPDATE", list_id
        )
        await conn.execute(
            "UPDATE status_lists SET purged = $2 WHERE id = $1",
            list_id,
            codec.merge_one_bit(purged, indices),
        )
