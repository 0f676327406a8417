"""Revoking a whole client, user or session on PostgreSQL: committed keyset batches.

Each batch is one round trip and no explicit transaction: one statement that reads the
batch's keys (the next REVOKE_BATCH of the scope's index after the previous batch's last
key, `querying.batch_keys`), tombstones those tokens through the primary key, writes the
batch's outbox event and returns the batch's last key. One statement is one transaction,
so the event exists exactly when its tombstones do. The walk ends with one statement over
the whole target (REPEATABLE READ, with the audit record: see `revoke_scope`). Between
batches nothing is held, and a batch locks only this scope's rows, so the writes of other
requests (the batcher's, on other connections) never wait for a revoke-all.

The batch's tokens are found by their keys, not by a range of the scope's index: a range
`(iat, tkn_cde) <= (x, y)` stops only where `iat` passes x, so where many tokens share an
issue time (a burst, the benchmark's 100,000) each batch scanned the rest of the client's
index (docs/benchmarks.md).

A revocation changes no indexed column (migration 0013), so its new row versions are HOT
(heap-only) wherever their page has room: no index entry is written. Committed batches are
what makes that room: the next batch's visit to a page prunes the versions the previous
ones left dead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import orjson

from tokenrevoke.crypto import new_id
from tokenrevoke.model import AuditEvent
from tokenrevoke.store.base import REVOKE_BATCH, RevocationTarget, StoreUnavailable
from tokenrevoke.store.codec import TARGET_COLUMN
from tokenrevoke.store.querying import POSTGRES, Params, batch_keys

# Attempts at a REPEATABLE READ statement before giving up (503): each failure means a
# write on one of its rows committed first, which a retry then sees.
SERIALIZATION_RETRIES = 20
RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)
# The keyset the batches walk per scope column: the order of the scope's index after the
# scope column, which ends with the token hash (migration 0005: a client's tokens are
# indexed by issue time).
_KEYSET = {"cln_id": ("iat", "tkn_cde"), "usr_id": ("tkn_cde",), "ssn_id": ("tkn_cde",)}


def _write(condition: str, batch: str | None = None, keys: Sequence[str] = ()) -> str:
    """A write over the tokens `condition` picks: a batch's (`batch`, the statement of its
    `keys`, given) or the last statement's. Its parameters: $1 at, $2 actor, $3 reason, $4
    types, $5 revocation id, $6 batch number, $7 action, $8 target kind, $9 target values
    (JSON), $10 audit client, $11 audit details, $12 tokens revoked by the earlier batches,
    $13 whether this is the last statement (it writes the audit record), then the
    condition's and the batch's own. Returns how many it revoked; a batch's also returns
    how many keys it read and the last of them (no row: there were none)."""
    order = ", ".join(f"{key} DESC" for key in keys)
    return (
        ("WITH batch AS MATERIALIZED (" + batch + "), " if batch else "WITH ")
        + "upd AS (UPDATE tokens SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 "
        # `exp + 0`: the expiry index would match every live token; only the primary key
        # (a batch) or the scope column's index may drive this statement (tokens_by_exp
        # is for the purge).
        "WHERE revoked_at IS NULL AND exp + 0 > $1 AND ($4::text[] IS NULL OR tkn_typ = ANY($4)) "
        + f"AND {condition} RETURNING tkn_cde, grt_id, cln_id, usr_id), "
        "n AS (SELECT count(*) AS n, json_agg(json_build_array(tkn_cde, grt_id, cln_id, usr_id)) "
        "AS revoked FROM upd), "
        # The event body as codec.revocation_event_body makes it.
        "ev AS (INSERT INTO revocation_events (id, at, body) "
        "SELECT $5::text || '.' || $6::int, $1, "
        "json_build_array($5::text, $6::int, $1::bigint, $7::text, $2::text, $3::text, "
        "$8::text, $9::json, n.revoked)::text FROM n WHERE n.n > 0), "
        "aud AS (INSERT INTO audit (at, action, actor, reason, cln_id, count, details) "
        "SELECT $1, $7, $2, $3, $10, $12 + n.n, $11 FROM n WHERE $13 AND $12 + n.n > 0) "
        + (
            f"SELECT (SELECT n FROM n), (SELECT count(*) FROM batch), {', '.join(keys)} "
            f"FROM batch ORDER BY {order} LIMIT 1"
            if batch
            else "SELECT n FROM n"
        )
    )


_BY_KEY = "tkn_cde = ANY(ARRAY(SELECT tkn_cde FROM batch))"


def _fetchrow(statement: list[Any]) -> Callable[[Any], Awaitable[Any]]:
    """The work of running `statement` (its text, then its arguments): its first row."""
    return lambda conn: conn.fetchrow(*statement)


Runner = Callable[[Callable[[Any], Awaitable[Any]]], Awaitable[Any]]


async def revoke_scope(
    run: Runner, run_serial: Runner, target: RevocationTarget, at: int, audit: AuditEvent
) -> int:
    """Revoke a client, user or session target (without NUL keys) in committed batches
    (each `run` on a connection of its own), then once more over the whole target with
    `run_serial` (REPEATABLE READ by default there): a refresh that committed its
    successor behind the walk, or commits it during that last statement (which then fails
    and runs again, seeing it), leaves nothing live (the store's contract, base.py).
    Returns how many tokens were newly revoked.

    That last statement scans the whole target, not only what follows a high-water mark
    as SQLite's does: PostgreSQL numbers no row in commit order (a sequence hands out its
    values at insert, not at commit, and a token's key is its issue time or its hash), so
    no mark could tell a successor committed behind the walk from a token walked."""
    column = TARGET_COLUMN[target.column]
    keys = _KEYSET[column]
    (value,) = target.values
    types = [t.value for t in target.token_types] if target.token_types else None
    head = (at, audit.actor, audit.reason, types, new_id())
    tail = (
        audit.action, str(target.column), orjson.dumps(target.values).decode(),
        audit.client_id, orjson.dumps(audit.details).decode(),
    )  # fmt: skip
    total = 0
    number = 1
    after: tuple[Any, ...] = ()

    def write(after: Sequence[Any] | None) -> list[Any]:
        """The statement of the batch after `after` (None: the last statement, over the
        whole target), then its arguments."""
        params = Params(POSTGRES)
        for fixed in (*head, number, *tail, total, after is None):
            params.add(fixed)
        if after is None:
            return [_write(f"{column} = {params.add(value)}"), *params.values]
        batch = batch_keys(column, keys, value, after, REVOKE_BATCH, params)
        # By primary key alone: the keys are the scope's (no statement changes a token's
        # client, user or session), and a scope condition would let the planner read the
        # scope's index instead, the rest of it.
        return [_write(_BY_KEY, batch, keys), *params.values]

    while True:
        row = await run(_fetchrow(write(after)))
        if row is None:  # no token after `after`
            break
        count, size, *last = row
        total += int(count)
        number += 1 if count else 0
        after = tuple(last)
        if size < REVOKE_BATCH:  # the scope's end: the rest is the last statement's
            break
    finish = write(None)
    for _ in range(SERIALIZATION_RETRIES):
        try:
            rest = await run_serial(lambda conn: conn.fetchval(*finish))
            revoked: int = total + int(rest)
            return revoked
        except RETRYABLE:
            continue  # a write on one of its rows committed first: the retry sees it
    raise StoreUnavailable("postgres: the revocation kept losing to concurrent writes")
