"""Refresh-token rotation on SQLite: the presented token retired for its successors, and
the exchange of the previous token of a rotation within its grace period (see
`Store.exchange_previous_refresh_token`). The functions run on the writer thread, inside
its transaction (store.py hands them to it); the single writer serialises them with every
other rotation and revocation."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from tokenrevoke.model import TokenType
from tokenrevoke.model.token import ROTATED, ROTATED_FROM, ROTATION, SUPERSEDED
from tokenrevoke.store.base import PreviousRefreshToken, previous_refresh_verdict
from tokenrevoke.store.codec import token_from_row
from tokenrevoke.store.sqlite.rows import SELECT_TOKENS, TOMBSTONE_SET, insert_tokens, revoker_id


def rotate(
    conn: sqlite3.Connection, old_code: str, rows: Sequence[tuple[Any, ...]], at: int
) -> bool:
    """Retire the live `old_code` and store its successors' rows; False if it was not live."""
    cur = conn.execute(
        f"UPDATE tokens SET {TOMBSTONE_SET} WHERE tkn_cde = ? AND revoked_at IS NULL AND exp > ?",
        (at, revoker_id(conn, ROTATION, ROTATED), old_code, at),
    )
    if cur.rowcount != 1:
        return False
    insert_tokens(conn, rows)
    return True


def exchange_previous(
    conn: sqlite3.Connection,
    old_code: str,
    rows: Sequence[tuple[Any, ...]],
    at: int,
    grace_seconds: int,
) -> PreviousRefreshToken:
    found = conn.execute(f"{SELECT_TOKENS} WHERE t.tkn_cde = ?", (old_code,)).fetchone()
    old = token_from_row(found) if found else None
    verdict = previous_refresh_verdict(old, at, grace_seconds)
    if old is None or verdict is not PreviousRefreshToken.REISSUED:
        return verdict
    live = conn.execute(
        f"{SELECT_TOKENS} WHERE t.grt_id = ? AND t.tkn_typ = ? "
        "AND t.revoked_at IS NULL AND +t.exp > ?",
        (old.grant_id, TokenType.REFRESH_TOKEN.value, at),
    ).fetchall()
    for successor in map(token_from_row, live):
        if successor.attributes.get(ROTATED_FROM) != old_code:
            continue
        conn.execute(
            f"UPDATE tokens SET {TOMBSTONE_SET} WHERE tkn_cde = ? AND revoked_at IS NULL",
            (at, revoker_id(conn, ROTATION, SUPERSEDED), successor.code),
        )
        insert_tokens(conn, rows)
        return PreviousRefreshToken.REISSUED
    return PreviousRefreshToken.REUSED
