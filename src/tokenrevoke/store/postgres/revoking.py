"""Revoking a whole client, user or session on PostgreSQL: committed keyset batches.

Each batch is two round trips and no explicit transaction: a read of the batch's last key
(the REVOKE_BATCH-th key after the previous batch's, on the scope's index), then one
statement that tombstones the rows between the two keys and writes the batch's outbox
event. One statement is one transaction, so the event exists exactly when its tombstones
do. The walk ends with one statement over the whole target (REPEATABLE READ, with the
audit record: see `revoke_scope`). Between batches nothing is held, and a batch locks
only this scope's rows, so the writes of other requests (the batcher's, on other
connections) never wait for a revoke-all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson

from tokenrevoke.crypto import new_id
from tokenrevoke.model import AuditEvent
from tokenrevoke.store.base import REVOKE_BATCH, RevocationTarget, StoreUnavailable
from tokenrevoke.store.codec import TARGET_COLUMN

# Attempts at a REPEATABLE READ statement before giving up (503): each failure means a
# write on one of its rows committed first, which a retry then sees.
SERIALIZATION_RETRIES = 20
RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)
# The keyset the batches walk per scope column: the order of the scope's index after the
# scope column, which ends with the token hash (migration 0005: a client's tokens are
# indexed by issue time).
_KEYSET = {"cln_id": ("iat", "tkn_cde"), "usr_id": ("tkn_cde",), "ssn_id": ("tkn_cde",)}


def _params(first: int, count: int) -> str:
    """`count` numbered parameters from $first: "$6, $7"."""
    return ", ".join(f"${n}" for n in range(first, first + count))


def _statements(column: str, after: bool, last: bool) -> tuple[str, str]:
    """The read of the batch's last key and the batch's write. Parameters of the write:
    $1 at, $2 actor, $3 reason, $4 types, $5 scope value, $6 revocation id, $7 batch
    number, $8 action, $9 target kind, $10 target values (JSON), $11 audit client,
    $12 audit details, $13 tokens revoked by the earlier batches, $14 whether this is the
    last batch, then the lower bound (after) and the upper bound (last)."""
    keys = ", ".join(_KEYSET[column])
    width = len(_KEYSET[column])
    lower = f" AND ({keys}) > ({_params(2, width)})" if after else ""
    read = (
        f"SELECT {keys} FROM tokens WHERE {column} = $1{lower} "
        f"ORDER BY {keys} LIMIT 1 OFFSET {REVOKE_BATCH - 1}"
    )
    bounds = f" AND ({keys}) > ({_params(15, width)})" if after else ""
    if last:
        bounds += f" AND ({keys}) <= ({_params(15 + (width if after else 0), width)})"
    write = (
        "WITH upd AS (UPDATE tokens SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 "
        # `exp + 0`: the expiry index would match every live token; only the scope
        # column's index may drive this statement (tokens_by_exp is for the purge).
        "WHERE revoked_at IS NULL AND exp + 0 > $1 AND ($4::text[] IS NULL OR tkn_typ = ANY($4)) "
        f"AND {column} = $5{bounds} RETURNING tkn_cde, grt_id, cln_id, usr_id), "
        "n AS (SELECT count(*) AS n, json_agg(json_build_array(tkn_cde, grt_id, cln_id, usr_id)) "
        "AS revoked FROM upd), "
        # The event body as codec.revocation_event_body makes it.
        "ev AS (INSERT INTO revocation_events (id, at, body) "
        "SELECT $6::text || '.' || $7::int, $1, "
        "json_build_array($6::text, $7::int, $1::bigint, $8::text, $2::text, $3::text, "
        "$9::text, $10::json, n.revoked)::text FROM n WHERE n.n > 0), "
        "aud AS (INSERT INTO audit (at, action, actor, reason, cln_id, count, details) "
        "SELECT $1, $8, $2, $3, $11, $13 + n.n, $12 FROM n WHERE $14 AND $13 + n.n > 0) "
        "SELECT n FROM n"
    )
    return read, write


Runner = Callable[[Callable[[Any], Awaitable[Any]]], Awaitable[Any]]


async def revoke_scope(
    run: Runner, run_serial: Runner, target: RevocationTarget, at: int, audit: AuditEvent
) -> int:
    """Revoke a client, user or session target (without NUL keys) in committed batches
    (each `run` on a connection of its own), then once more over the whole target with
    `run_serial` (REPEATABLE READ by default there): a refresh that committed its
    successor behind the walk, or commits it during that last statement (which then fails
    and runs again, seeing it), leaves nothing live (the store's contract, base.py).
    Returns how many tokens were newly revoked."""
    column = TARGET_COLUMN[target.column]
    (value,) = target.values
    types = [t.value for t in target.token_types] if target.token_types else None
    fixed = (at, audit.actor, audit.reason, types, value, new_id())
    tail = (
        audit.action, str(target.column), orjson.dumps(target.values).decode(),
        audit.client_id, orjson.dumps(audit.details).decode(),
    )  # fmt: skip
    total = 0
    number = 1
    after: tuple[Any, ...] = ()

    async def batch(conn: Any) -> tuple[int, tuple[Any, ...] | None]:
        read, _ = _statements(column, bool(after), False)
        last = await conn.fetchrow(read, value, *after)
        if last is None:  # the rest is the last statement's
            return 0, None
        _, write = _statements(column, bool(after), True)
        count = await conn.fetchval(write, *fixed, number, *tail, total, False, *after, *last)
        return int(count), tuple(last)

    while True:
        count, last = await run(batch)
        total += count
        number += 1 if count else 0
        if last is None:
            break
        after = last
    _, finish = _statements(column, False, False)
    for _ in range(SERIALIZATION_RETRIES):
        try:
            rest = await run_serial(
                lambda conn: conn.fetchval(finish, *fixed, number, *tail, total, True)
            )
            revoked: int = total + int(rest)
            return revoked
        except RETRYABLE:
            continue  # a write on one of its rows committed first: the retry sees it
    raise StoreUnavailable("postgres: the revocation kept losing to concurrent writes")
