"""Refresh-token rotation on PostgreSQL: the presented token retired for its successors,
and the exchange of the previous token of a rotation within its grace period (see
`Store.exchange_previous_refresh_token`). The functions take a connection (store.py runs
`exchange_previous` inside its transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenrevoke.model import TokenType
from tokenrevoke.model.token import ROTATED, ROTATED_FROM, ROTATION, SUPERSEDED
from tokenrevoke.store import codec
from tokenrevoke.store.base import PreviousRefreshToken, previous_refresh_verdict
from tokenrevoke.store.codec import TOKEN_COLUMN_LIST
from tokenrevoke.store.postgres.batcher import token_arrays, token_columns
from tokenrevoke.store.postgres.records import rows_affected
from tokenrevoke.store.postgres.rows import INSERT_TOKENS, SELECT_TOKENS

_ROTATE = (
    f"WITH r AS (UPDATE tokens SET revoked_at = $1, revoked_by = '{ROTATION}', "
    f"revoke_reason = '{ROTATED}' WHERE tkn_cde = $2 AND revoked_at IS NULL AND exp > $1 "
    f"RETURNING 1), ins AS (INSERT INTO tokens ({TOKEN_COLUMN_LIST}) SELECT * FROM "
    f"unnest({token_arrays(3)}) WHERE EXISTS (SELECT 1 FROM r)) SELECT count(*) FROM r"
)


async def rotate(conn: Any, old_code: str, rows: Sequence[tuple[Any, ...]], at: int) -> bool:
    """Retire the live `old_code` and store its successors' rows; False if it was not live.
    One statement, one round trip: a concurrent rotation's UPDATE waits for this one's row
    lock, then finds the token revoked and inserts nothing."""
    retired = await conn.fetchval(_ROTATE, at, old_code, *token_columns(rows))
    return bool(retired)


async def exchange_previous(
    conn: Any, old_code: str, rows: Sequence[tuple[Any, ...]], at: int, grace_seconds: int
) -> PreviousRefreshToken:
    # The row lock serialises every exchange of this token across nodes: a second
    # one waits here, then sees the first one's successor (READ COMMITTED).
    found = await conn.fetchrow(f"{SELECT_TOKENS} WHERE tkn_cde = $1 FOR UPDATE", old_code)
    old = codec.token_from_row(found) if found else None
    verdict = previous_refresh_verdict(old, at, grace_seconds)
    if old is None or verdict is not PreviousRefreshToken.REISSUED:
        return verdict
    live = await conn.fetch(
        f"{SELECT_TOKENS} WHERE grt_id = $1 AND tkn_typ = $2 "
        "AND revoked_at IS NULL AND exp + 0 > $3",
        old.grant_id,
        TokenType.REFRESH_TOKEN.value,
        at,
    )
    for successor in map(codec.token_from_row, live):
        if successor.attributes.get(ROTATED_FROM) != old_code:
            continue
        # Conditional: the successor's own rotation may have won since the read.
        status = await conn.execute(
            "UPDATE tokens SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 "
            "WHERE tkn_cde = $4 AND revoked_at IS NULL",
            at,
            ROTATION,
            SUPERSEDED,
            successor.code,
        )
        if rows_affected(status) == 1:
            await conn.executemany(INSERT_TOKENS, rows)
            return PreviousRefreshToken.REISSUED
    return PreviousRefreshToken.REUSED
