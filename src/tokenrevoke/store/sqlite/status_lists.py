"""Token status lists on SQLite (docs/status-list.md): handing out indices, and keeping
the bits of revoked tokens the purge deletes."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from tokenrevoke.store import codec

# Hands out `count` (?2) fresh indices of list ?1, creating it; the first of them.
ALLOCATE_INDICES = (
    "INSERT INTO status_lists (id, next_idx) VALUES (?1, ?2) ON CONFLICT (id) "
    "DO UPDATE SET next_idx = next_idx + ?2 RETURNING next_idx - ?2"
)


def keep_purged_bits(conn: sqlite3.Connection, entries: Sequence[tuple[int, int]]) -> None:
    """Set the purged bits of these (list, index) pairs of revoked tokens being deleted."""
    for list_id, indices in codec.indices_by_list(entries).items():
        row = conn.execute("SELECT purged FROM status_lists WHERE id = ?", (list_id,)).fetchone()
        if row is not None:
            conn.execute(
                "UPDATE status_lists SET purged = ? WHERE id = ?",
                (codec.merge_one_bit(row[0], indices), list_id),
            )
