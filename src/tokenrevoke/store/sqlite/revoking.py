"""Revocation on SQLite: tombstones, with their audit records and outbox events, in the
writer's transaction; the revocations of presented tokens queued together run as one
bulk job (`REVOKE_GRANTS_OF`, a `BulkWork` of the group-commit writer)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from tokenrevoke.model import AuditEvent, TokenRecord
from tokenrevoke.store import codec
from tokenrevoke.store.base import GrantPlanner, RevocationTarget, TargetKind
from tokenrevoke.store.codec import REVOKED_COLUMNS, TARGET_COLUMN
from tokenrevoke.store.querying import SQLITE, Params, batch_end, batch_range
from tokenrevoke.store.sqlite.rows import (
    TOMBSTONE_SET,
    insert_rows,
    revoker_id,
    tokens_by_code,
)
from tokenrevoke.store.sqlite.writer import BulkWork

AuditEntry = tuple[int, AuditEvent, int]  # at, what, how many tokens


def write_audits(conn: sqlite3.Connection, entries: Sequence[AuditEntry]) -> None:
    """Audit records, in a statement per 64 (`insert_rows`)."""
    rows = [
        (at, a.action, a.actor, a.reason, a.client_id, count, orjson.dumps(a.details).decode())
        for at, a, count in entries
    ]
    insert_rows(conn, "audit (at, action, actor, reason, cln_id, count, details)", 7, rows)


def tombstone(
    conn: sqlite3.Connection,
    target: RevocationTarget,
    at: int,
    audit: AuditEvent,
    where: str,
    params: Sequence[Any],
) -> list[Any]:
    """Revoke the target's live tokens that match `where`; returns the rows newly revoked
    (REVOKED_COLUMNS, for the event). SELECT then UPDATE on one condition is exact here
    (the writer holds the write lock between them) and several times cheaper than
    UPDATE ... RETURNING through Python's sqlite3.

    The SELECT returns its rows as one JSON array, in one step: Python's sqlite3 lets go
    of the GIL around every step, i.e. every row, and on a busy server each retake waits
    for the event loop's thread (a revoke-all's 2,500-row batches: docs/benchmarks.md)."""
    type_filter = ""
    type_params: tuple[str, ...] = ()
    if target.token_types:
        type_filter = f" AND tkn_typ IN ({','.join('?' * len(target.token_types))})"
        type_params = tuple(t.value for t in target.token_types)
    # `+exp`: the expiry index would match every live token; only the scope column's
    # index may drive these statements (tokens_by_exp is for the purge).
    condition = f"revoked_at IS NULL AND +exp > ?{type_filter} AND {where}"
    bound = (at, *type_params, *params)
    (found,) = conn.execute(
        f"SELECT json_group_array(json_array({REVOKED_COLUMNS})) FROM tokens WHERE {condition}",
        bound,
    ).fetchone()
    revoked: list[Any] = orjson.loads(found)
    if revoked:
        conn.execute(
            f"UPDATE tokens SET {TOMBSTONE_SET} WHERE {condition}",
            (at, revoker_id(conn, audit.actor, audit.reason), *bound),
        )
    return revoked


EventEntry = tuple[str, int, AuditEvent, RevocationTarget, int, Sequence[Any]]


def write_events(conn: sqlite3.Connection, entries: Sequence[EventEntry]) -> None:
    """Revocation events (revocation id, at, audit, target, batch number, revoked rows), in
    the outbox, in the transaction of their tombstones (`insert_rows`)."""
    rows = []
    for revocation_id, at, audit, target, batch, revoked in entries:
        event_id, body = codec.revocation_event_body(
            revocation_id, batch, at, audit, (target.column, target.values), revoked
        )
        rows.append((event_id, at, body))
    insert_rows(conn, "revocation_events (id, at, body)", 3, rows)


GRANTS_IN = f"{TARGET_COLUMN[TargetKind.GRANT]} IN (SELECT value FROM json_each(?))"


def revoke_grants(
    conn: sqlite3.Connection,
    target: RevocationTarget,
    at: int,
    audit: AuditEvent,
    revocation_id: str,
) -> int:
    """A grant target, inside the writer's transaction: one statement pair, then the audit
    record and the event."""
    values = orjson.dumps(target.values).decode()
    revoked = tombstone(conn, target, at, audit, GRANTS_IN, (values,))
    if revoked:
        write_audits(conn, [(at, audit, len(revoked))])
        write_events(conn, [(revocation_id, at, audit, target, 1, revoked)])
    return len(revoked)


def revoke_sessions(
    conn: sqlite3.Connection, sids: Sequence[str], at: int, audit: AuditEvent, revocation_id: str
) -> int:
    """The tokens of sessions just ended (store.end_sessions), in the same transaction:
    one statement pair, the audit record (even of none) and the event."""
    target = RevocationTarget(TargetKind.SESSION, tuple(sids))
    in_sessions = "ssn_id IN (SELECT value FROM json_each(?))"
    revoked = tombstone(conn, target, at, audit, in_sessions, (orjson.dumps(sids).decode(),))
    write_audits(conn, [(at, audit, len(revoked))])
    if revoked:
        write_events(conn, [(revocation_id, at, audit, target, 1, revoked)])
    return len(revoked)


# A revocation of presented tokens' grants: (their unique codes, the planner, at, the
# revocation id); its result (the stored tokens among them, how many were revoked).
GrantJob = tuple[list[str], GrantPlanner, int, str]
GrantResult = tuple[list[TokenRecord], int]


def revoke_grants_of(conn: sqlite3.Connection, job: GrantJob) -> GrantResult:
    unique, plan, at, revocation_id = job
    records = tokens_by_code(conn, unique)
    decision = plan(records)
    if decision is None:
        return records, 0
    grants, audit = decision
    return records, revoke_grants(conn, RevocationTarget.grants(grants), at, audit, revocation_id)


class _Overlap(Exception):
    """Two revocations of one batch touch one grant: the batch runs job by job instead."""


def revoke_many_grants_of(conn: sqlite3.Connection, jobs: list[GrantJob]) -> list[GrantResult]:
    """What `revoke_grants_of` does for each job in turn, in a handful of statements for
    them all: one lookup of every presented code, the plans (Python), one SELECT and UPDATE
    pair per distinct (at, actor, reason), one INSERT of the audit records and one of the
    events. Jobs are independent unless two touch one grant (the later one would see the
    earlier one's tombstones), which raises `_Overlap` and so the writer's per-job pass."""
    found = {
        r.code: r for r in tokens_by_code(conn, list(dict.fromkeys(c for j in jobs for c in j[0])))
    }
    claimed: set[str] = set()
    planned: list[tuple[list[TokenRecord], set[str], AuditEvent | None]] = []
    for unique, plan, _, _ in jobs:
        records = [found[code] for code in unique if code in found]
        if any(r.grant_id in claimed for r in records):
            raise _Overlap
        decision = plan(records)
        grants, audit = decision if decision is not None else (set(), None)
        claimed.update(grants)
        planned.append((records, set(grants), audit))
    groups: dict[tuple[int, str, str], list[int]] = {}
    for index, (job, (_, grants, audit)) in enumerate(zip(jobs, planned, strict=True)):
        if grants and audit is not None:
            groups.setdefault((job[2], audit.actor, audit.reason), []).append(index)
    revoked: dict[str, list[Any]] = {}  # grant id -> its rows newly revoked
    for (at, _, _), members in groups.items():
        grants = sorted(g for i in members for g in planned[i][1])
        first = planned[members[0]][2]
        assert first is not None
        values = orjson.dumps(grants).decode()
        target = RevocationTarget.grants(grants)
        for row in tombstone(conn, target, at, first, GRANTS_IN, (values,)):
            revoked.setdefault(row[1], []).append(row)
    results: list[GrantResult] = []
    audits: list[AuditEntry] = []
    events: list[EventEntry] = []
    for (_, _, at, revocation_id), (records, grants, audit) in zip(jobs, planned, strict=True):
        rows = [row for grant in sorted(grants) for row in revoked.get(grant, ())]
        if rows and audit is not None:
            audits.append((at, audit, len(rows)))
            events.append((revocation_id, at, audit, RevocationTarget.grants(grants), 1, rows))
        results.append((records, len(rows)))
    if audits:
        write_audits(conn, audits)
        write_events(conn, events)
    return results


REVOKE_GRANTS_OF = BulkWork(revoke_grants_of, revoke_many_grants_of)


# The keyset that batched revocations (client, user, session) walk per scope column: the
# order of the scope's index after the scope column. Every index of a rowid table ends
# with the rowid, `seq` (migration 0006; 0005: a client's tokens by issue time).
REVOKE_KEYSET = {"cln_id": ("iat", "seq"), "usr_id": ("seq",), "ssn_id": ("seq",)}


def revoke_batch(
    conn: sqlite3.Connection, *, target: RevocationTarget, at: int, audit: AuditEvent,
    revocation_id: str, after: tuple[Any, ...], size: int, total: int, number: int,
    mark: int | None,
) -> tuple[int, tuple[Any, ...] | None, int]:  # fmt: skip
    """One batch of a client, user or session target, `size` tokens at most (store.revoke
    walks them, one writer job each: querying.py): its tombstones, its event (the
    `number`-th of the revocation), and after the last batch the audit record of all
    `total` + its own. Returns how many it revoked, its last key (None: the last) and the
    walk's `mark` (None before the first batch, which sets it).

    A token committed between two batches may sit behind the walk (a client's tokens are
    ordered by issue time, which its issuer read before queueing its write): the last
    batch also takes every live token of the target whose rowid is above `mark`, the
    highest when the walk began. SQLite numbers a new row after the highest present
    (lower only if the newest token expired and was purged during the walk), so when that
    batch commits no token of the target is live (the store's contract)."""
    if mark is None:  # the first batch: nothing can come between it and the walk
        mark = int(conn.execute("SELECT coalesce(max(seq), 0) FROM tokens").fetchone()[0])
    column = TARGET_COLUMN[target.column]
    keys = REVOKE_KEYSET[column]
    (value,) = target.values
    find = Params(SQLITE)
    last = conn.execute(batch_end(column, keys, value, after, size, find), find.values).fetchone()
    scope = Params(SQLITE)
    revoked = tombstone(
        conn, target, at, audit, batch_range(column, keys, value, after, last, scope), scope.values
    )
    if last is None and after:  # `+`: by rowid, past the mark, not the index
        revoked += tombstone(conn, target, at, audit, f"seq > ? AND +{column} = ?", (mark, value))
    if revoked:
        write_events(conn, [(revocation_id, at, audit, target, number, revoked)])
    if last is None and total + len(revoked):
        write_audits(conn, [(at, audit, total + len(revoked))])
    return len(revoked), last, mark
