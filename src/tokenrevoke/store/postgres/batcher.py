"""Group commit on PostgreSQL: concurrent requests share one statement and one round trip.

`Batcher` collects the jobs submitted during one pass of the event loop and runs them as
one batch; while `parallel` batches are in flight, what arrives waits and becomes the
next batch. A job only ever joins a batch that has not been sent yet, so a read batch
reads a snapshot taken after every one of its requests arrived (as fresh as a read of its
own), and a write's caller hears of it only after the COMMIT of its batch.

`run_writes` runs one batch of issuances and grant revocations: one lookup of every
presented token code (the plans, i.e. client rights and hints, need the records), then a
single statement over arrays (`unnest`) that checks the clients (`FOR KEY SHARE`), inserts
the tokens, tombstones the planned grants and writes their audit records and outbox
events. A single statement is its own transaction, committed before its answer comes
back: two round trips per batch, however many requests it holds. It runs REPEATABLE
READ (the connections' default): should a refresh of a token of those grants commit
during it, the statement fails rather than miss the successor, and the round runs again
(lookup, plans, statement) and revokes that too (the store's contract, base.py `revoke`).
Should the batch fail otherwise (a duplicate token, a value PostgreSQL cannot store), each
job runs again alone, so only the failing one fails. A lost connection fails them all
(503): whether that statement committed is unknown, so nobody hears it succeeded.

The store keeps `WRITE_PARALLEL` write batches in flight, each on its own connection, so
that one batch's lookup and statement overlap the other's commit. Batches in flight on
one node stay grant-disjoint (`Claims`): a revocation whose grants (those of its records,
or its fixed target) another in-flight batch has claimed waits for that batch's COMMIT
and then runs in this batch's next round, from the lookup, as a job touching a grant
claimed earlier in its own round does. So our own batches never wait on each other's row
locks: no deadlock, no serialization failure, no revocation planned on records another
batch is tombstoning. Across nodes, batches may still touch one grant at once; there the
REPEATABLE READ retry above decides (the later statement fails and runs again), as it
does for a refresh racing a revocation on any node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
import orjson

from tokenrevoke.model import AuditEvent, TokenRecord
from tokenrevoke.store import codec
from tokenrevoke.store.base import GrantPlanner
from tokenrevoke.store.codec import TOKEN_COLUMN_LIST, TOKEN_COLUMNS
from tokenrevoke.store.postgres.revoking import RETRYABLE, SERIALIZATION_RETRIES

log = logging.getLogger("tokenrevoke.store")

J = TypeVar("J")
# Write batches in flight at once (each on a connection of the store's serial pool).
WRITE_PARALLEL = 2
Outcome = tuple[bool, Any]  # (succeeded, its result or its exception)

# Failures that mean "the database is not there right now", as opposed to a bad query.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)


class Batcher(Generic[J]):
    """Runs submitted jobs in batches of at most `max_batch`, `parallel` batches at once.
    `run(jobs)` returns one outcome per job, in order, and never raises."""

    def __init__(
        self,
        run: Callable[[list[J]], Awaitable[list[Outcome]]],
        *,
        parallel: int = 1,
        max_batch: int = 512,
    ) -> None:
        self._run = run
        self._parallel = parallel
        self._max_batch = max_batch
        self._pending: list[tuple[J, asyncio.Future[Any]]] = []
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # batches run (tests and measurements look at it)

    async def submit(self, job: J) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        if not self._scheduled and self._in_flight < self._parallel:
            # After this pass of the loop: the requests handled in it share the batch.
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        while self._pending and self._in_flight < self._parallel:
            batch, self._pending = (
                self._pending[: self._max_batch],
                self._pending[self._max_batch :],
            )
            self._in_flight += 1
            task = asyncio.create_task(self._batch(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _batch(self, batch: list[tuple[J, asyncio.Future[Any]]]) -> None:
        try:
            try:
                outcomes = await self._run([job for job, _ in batch])
            except BaseException as exc:  # never leave a caller waiting
                outcomes = [(False, exc)] * len(batch)
            self.batches += 1
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():  # the caller went away; the write stands regardless
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        finally:
            self._in_flight -= 1
            if self._pending and not self._scheduled:
                self._flush()

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


# -- the write batch -------------------------------------------------------------------


class Claims:
    """The grants that this node's in-flight write batches are revoking: each maps to a
    future done when its batch's statement has committed (or failed)."""

    def __init__(self) -> None:
        self._held: dict[str, asyncio.Future[None]] = {}
        self.waits = 0  # rounds that waited for another batch (tests look at it)

    def holders(self, grants: set[str]) -> set[asyncio.Future[None]]:
        return {held for g in grants if (held := self._held.get(g)) is not None}

    def take(self, grants: Sequence[str]) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for g in grants:
            self._held[g] = done
        return done

    def release(self, grants: Sequence[str], done: asyncio.Future[None]) -> None:
        for g in grants:
            if self._held.get(g) is done:
                del self._held[g]
        done.set_result(None)


@dataclass(frozen=True, slots=True)
class IssueJob:
    """Tokens to insert; with `client_id`, only if that client still exists (True/False)."""

    rows: list[tuple[Any, ...]]  # codec.token_to_row
    client_id: str | None


@dataclass(frozen=True, slots=True)
class RevokeJob:
    """Revoke the grants `plan` picks from the records of `codes` (revoke_grants_of), or,
    without codes, the grants of `fixed` (a grant target); result (records, revoked)."""

    codes: list[str]
    plan: GrantPlanner | None
    at: int
    revocation_id: str
    fixed: tuple[tuple[str, ...], AuditEvent] | None = None


WriteJob = IssueJob | RevokeJob

_TYPES = {
    "iat": "bigint", "exp": "bigint", "del": "smallint", "status_list": "bigint",
    "status_idx": "bigint", "revoked_at": "bigint",
}  # fmt: skip


def token_arrays(first: int) -> str:
    """One typed array parameter per token column from $first, for `unnest`."""
    return ", ".join(
        f"${i}::{_TYPES.get(c, 'text')}[]" for i, c in enumerate(TOKEN_COLUMNS, start=first)
    )


def token_columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows (codec.token_to_row) as one list per column, for `token_arrays`."""
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in TOKEN_COLUMNS]


_TOKEN_ARRAYS = token_arrays(1)
_N = len(TOKEN_COLUMNS)
# Issuance: the clients named are locked FOR KEY SHARE (a deletion waits for this
# statement, and once committed makes it find no row: docs/security.md), and only the
# rows of clients found (or of unchecked jobs) go in.
_ISSUE_CTES = (
    f"c AS (SELECT inum FROM clients WHERE inum = ANY(${_N + 1}::text[]) FOR KEY SHARE), "
    f"ins AS (INSERT INTO tokens ({TOKEN_COLUMN_LIST}) SELECT {TOKEN_COLUMN_LIST} "
    f"FROM unnest({_TOKEN_ARRAYS}, ${_N + 2}::bool[]) AS v({TOKEN_COLUMN_LIST}, checked) "
    "WHERE NOT v.checked OR v.cln_id IN (SELECT inum FROM c))"
)
_ISSUE_PARAMS = _N + 2


def _revoke_ctes(p: int) -> str:
    """Grant revocations, all in one JSON text parameter $p (`_revoke_param`): per grant
    (grant, job, at, actor, reason), per job (job, revocation id, at, action, actor,
    reason, client, details, grants, the last two as JSON text). One text costs asyncpg
    a fraction of what 14 typed arrays did (a type check per element; PostgreSQL's
    `json_to_recordset` unpacks it in about the same time as `unnest`). `exp + 0`: only
    the grant index may drive the UPDATE (store.py, `revoke`)."""
    return (
        f"b AS (SELECT ${p}::json AS b), "
        "g AS (SELECT g.* FROM b, json_to_recordset(b.b -> 'g') "
        "AS g(grt_id text, job int, at bigint, actor text, reason text)), "
        "upd AS (UPDATE tokens t SET revoked_at = g.at, revoked_by = g.actor, "
        "revoke_reason = g.reason FROM g WHERE t.grt_id = g.grt_id "
        "AND t.revoked_at IS NULL AND t.exp + 0 > g.at "
        "RETURNING g.job, t.tkn_cde, t.grt_id, t.cln_id, t.usr_id), "
        "per AS (SELECT job, count(*) AS n, "
        "json_agg(json_build_array(tkn_cde, grt_id, cln_id, usr_id)) AS revoked "
        "FROM upd GROUP BY job), "
        "j AS (SELECT j.* FROM b, json_to_recordset(b.b -> 'j') AS j(job int, rid text, "
        "at bigint, action text, actor text, reason text, cln_id text, details text, "
        "grants text)), "
        "aud AS (INSERT INTO audit (at, action, actor, reason, cln_id, count, details) "
        "SELECT j.at, j.action, j.actor, j.reason, j.cln_id, per.n, j.details "
        "FROM per JOIN j USING (job) ORDER BY job), "
        # The event body as codec.revocation_event_body makes it (one batch, number 1).
        "ev AS (INSERT INTO revocation_events (id, at, body) SELECT j.rid || '.1', j.at, "
        "json_build_array(j.rid, 1, j.at, j.action, j.actor, j.reason, 'grant', "
        "j.grants::json, per.revoked)::text FROM per JOIN j USING (job) ORDER BY job)"
    )


_WRITE_SQL = {
    (True, False): f"WITH {_ISSUE_CTES} SELECT 0, inum, 0::bigint FROM c",
    (False, True): f"WITH {_revoke_ctes(1)} SELECT job, NULL, n FROM per",
    (True, True): (
        f"WITH {_ISSUE_CTES}, {_revoke_ctes(_ISSUE_PARAMS + 1)} "
        "SELECT 0, inum, 0::bigint FROM c UNION ALL SELECT job, NULL, n FROM per"
    ),
}
LOOKUP = f"SELECT {TOKEN_COLUMN_LIST} FROM tokens WHERE tkn_cde = ANY($1::text[])"


async def run_writes(
    pool: asyncpg.Pool, jobs: list[WriteJob], claims: Claims | None = None
) -> list[Outcome]:
    """One outcome per job: see the module's docstring."""
    claims = Claims() if claims is None else claims
    outcomes: dict[int, Outcome] = {}  # filled as each round commits
    todo = list(range(len(jobs)))
    try:
        async with pool.acquire() as conn:
            attempts = 0
            while todo:  # a revocation touching a grant claimed earlier waits a round
                try:
                    todo, busy = await _round(conn, jobs, todo, outcomes, claims)
                    if busy:  # claimed by another batch in flight: after its COMMIT
                        claims.waits += 1
                        await asyncio.wait(busy)
                except RETRYABLE:
                    # A write on one of its rows committed after its snapshot (REPEATABLE
                    # READ): the round again, from the lookup, sees it.
                    attempts += 1
                    if attempts >= SERIALIZATION_RETRIES:
                        raise
                    todo = [i for i in todo if i not in outcomes]
    except UNAVAILABLE as exc:
        for i in todo:
            outcomes.setdefault(i, (False, exc))
    except asyncpg.PostgresError as exc:
        todo = [i for i in todo if i not in outcomes]  # those decided need no write
        if len(todo) == 1:
            outcomes[todo[0]] = (False, exc)
        else:
            log.info("a batch of %d writes failed (%s); each runs alone", len(todo), exc)
            for i in todo:
                (outcomes[i],) = await run_writes(pool, [jobs[i]], claims)
    return [outcomes[i] for i in range(len(jobs))]


async def _round(
    conn: Any, jobs: list[WriteJob], todo: list[int], outcomes: dict[int, Outcome], claims: Claims
) -> tuple[list[int], set[asyncio.Future[None]]]:
    """Runs what it can of `todo`; returns the jobs left for the next round and the
    futures of the other batches they wait for."""
    codes = list(
        dict.fromkeys(c for i in todo if isinstance(job := jobs[i], RevokeJob) for c in job.codes)
    )
    found = (
        {r.code: r for r in map(codec.token_from_row, await conn.fetch(LOOKUP, codes))}
        if codes
        else {}
    )
    later: list[int] = []
    busy: set[asyncio.Future[None]] = set()
    claimed: set[str] = set()
    issues: list[int] = []
    revokes: list[Planned] = []
    for i in todo:
        job = jobs[i]
        if isinstance(job, IssueJob):
            issues.append(i)
            continue
        records = [found[c] for c in job.codes if c in found]
        touched = {r.grant_id for r in records}.union(job.fixed[0] if job.fixed else ())
        if not claimed.isdisjoint(touched):
            later.append(i)  # it would see the earlier job's tombstones: after this commit
            continue
        if held := claims.holders(touched):
            later.append(i)  # another batch in flight is revoking them: after its commit
            busy |= held
            continue
        try:
            decision = job.fixed if job.fixed is not None else job.plan(records)  # type: ignore[misc]
        except Exception as exc:  # a planner must not raise; if one does, only its job fails
            outcomes[i] = (False, exc)
            continue
        grants = tuple(sorted(decision[0])) if decision else ()
        if decision is None or not grants:
            outcomes[i] = (True, (records, 0))
            continue
        claimed.update(grants)
        revokes.append((i, job, records, grants, decision[1]))
    if issues or revokes:
        params: list[Any] = []
        if issues:
            params += _issue_params([jobs[i] for i in issues])  # type: ignore[misc]
        if revokes:
            params.append(_revoke_param(revokes))
        mine = sorted(claimed)
        done = claims.take(mine)
        try:
            rows = await conn.fetch(_WRITE_SQL[bool(issues), bool(revokes)], *params)
        finally:
            claims.release(mine, done)
        clients = {r[1] for r in rows if r[1] is not None}
        counts = {r[0]: r[2] for r in rows if r[1] is None}
        for i in issues:
            job = jobs[i]
            assert isinstance(job, IssueJob)
            outcomes[i] = (True, job.client_id is None or job.client_id in clients)
        for i, _, records, _, _ in revokes:
            outcomes[i] = (True, (records, int(counts.get(i, 0))))
    return later, busy


def _issue_params(jobs: Sequence[IssueJob]) -> list[Any]:
    rows = [row for job in jobs for row in job.rows]
    checked = [job.client_id is not None for job in jobs for _ in job.rows]
    clients = sorted({job.client_id for job in jobs if job.client_id is not None})
    return [*token_columns(rows), clients, checked]


Planned = tuple[int, RevokeJob, list[TokenRecord], tuple[str, ...], AuditEvent]


def _revoke_param(revokes: list[Planned]) -> str:
    # Grants in one order everywhere, so that two nodes' batches lock rows alike.
    per_grant = sorted(
        ((grant, i, job.at, audit) for i, job, _, grants, audit in revokes for grant in grants),
        key=lambda entry: entry[0],
    )
    g = [
        {"grt_id": grant, "job": i, "at": at, "actor": audit.actor, "reason": audit.reason}
        for grant, i, at, audit in per_grant
    ]
    j = [
        {
            "job": i,
            "rid": job.revocation_id,
            "at": job.at,
            "action": audit.action,
            "actor": audit.actor,
            "reason": audit.reason,
            "cln_id": audit.client_id,
            "details": orjson.dumps(audit.details).decode(),
            "grants": orjson.dumps(grants).decode(),
        }
        for i, job, _, grants, audit in revokes
    ]
    return orjson.dumps({"g": g, "j": j}).decode()
