"""SQLite implementation of the Store interface.

Reads run on the caller's thread over their own connection (WAL lets them proceed while
the writer commits); writes go through the group-commit writer thread.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson

from tokenrevoke.crypto import new_id
from tokenrevoke.model import (
    AuditEvent,
    Client,
    Delivery,
    DeliveryOutcome,
    PublishedEvents,
    RevocationEvent,
    Scope,
    ScriptDefinition,
    TokenRecord,
    TokenType,
    User,
)
from tokenrevoke.model.session import CodeRedemption, EndedSessions, SessionEnd, SessionRecord
from tokenrevoke.model.token import (
    REDEEMED,
    REDEMPTION,
    ROTATED,
    ROTATED_FROM,
    ROTATION,
    SUPERSEDED,
)
from tokenrevoke.store import codec, migrations
from tokenrevoke.store.base import (
    PATTERN_ATTRIBUTES,
    REVOKE_BATCH,
    TOKEN_ATTRIBUTES,
    ConflictError,
    GrantPlanner,
    PreviousRefreshToken,
    Revisions,
    RevocationTarget,
    SigningKey,
    StatusListState,
    Store,
    StoreUnavailable,
    TargetKind,
    TokenQuery,
    holds_nul,
    previous_refresh_verdict,
    storable_session_end,
    without_nul_keys,
    without_nul_patterns,
)
from tokenrevoke.store.codec import (
    REVOKED_COLUMNS,
    TARGET_COLUMN,
    TOKEN_COLUMNS,
    token_from_row,
    token_to_row,
)
from tokenrevoke.store.sqlite import sessions
from tokenrevoke.store.sqlite.checkpoint import Checkpointer, Writeback
from tokenrevoke.store.sqlite.files import make_private
from tokenrevoke.store.sqlite.reader import SnapshotReader, WalIndexHeader
from tokenrevoke.store.sqlite.writer import BulkWork, GroupCommitWriter

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 (a bulk write's item)
R = TypeVar("R")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: every commit is fsynced, so a 200 survives power loss, not just a crash.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    # 64 MiB of page cache per connection: the upper levels of the indexes of a large
    # store stay in memory. (No mmap: mapped pages would count against the server's RSS.)
    conn.execute("PRAGMA cache_size=-65536")
    return conn


# The writer's own checkpoints are only a backstop (the checkpointer thread does the
# work, store/sqlite/checkpoint.py): should it fall behind, the writer checkpoints once the
# WAL holds this many pages (~400 MiB; the WAL is not mapped, so it is not in RSS). Past
# it the writer checkpoints after every COMMIT, so it must stay above what a burst writes
# while the checkpointer cannot start the WAL over: a revoke-all of 100,000 tokens leaves
# 55,000 to 65,000 frames (at 20,000 pages the same revoke-all took 10 to 20% longer and
# its concurrent p99 doubled: docs/benchmarks.md).
_WAL_BACKSTOP_PAGES = 100_000
# After such a burst the WAL file is cut back to this size once SQLite starts it over
# (steady writes stay below it: the checkpointer restarts the WAL at ~40 MiB).
_WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def _connect_writer(path: Path) -> sqlite3.Connection:
    conn = _connect(path)
    conn.execute(f"PRAGMA wal_autocheckpoint={_WAL_BACKSTOP_PAGES}")
    conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT_BYTES}")
    # NORMAL: a COMMIT writes its WAL frames without waiting for them to reach the disk;
    # `WalSync` does that before any caller hears of the commit (store/sqlite/writer.py).
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class WalSync:
    """fdatasync of the database's WAL: what synchronous=FULL does inside every COMMIT,
    done after it, for all commits since the last sync at once. fdatasync flushes the
    file, whichever descriptor wrote it. The WAL file lives while any connection to the
    database is open (the store's are open until it closes); should it be replaced all the
    same, the file is opened again (a stat per sync, against syncing a deleted file)."""

    def __init__(self, path: Path) -> None:
        self._wal = Path(f"{path}-wal")
        self._fd: int | None = None
        self._inode = -1

    def __call__(self) -> None:
        inode = os.stat(self._wal).st_ino
        if inode != self._inode:
            self.close()
            self._fd = os.open(self._wal, os.O_RDONLY | os.O_CLOEXEC)
            self._inode = os.fstat(self._fd).st_ino
        assert self._fd is not None
        os.fdatasync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# Who revoked a token and why are in `revokers` (migration 0007): a token's row holds the
# pair's id, `revoker`. Tokens are read through the join, written with the id. (The
# stored columns are also what bench/sqlite_layout.py inserts.)
STORED_COLUMNS = (*TOKEN_COLUMNS[:-2], "revoker", "spare")
# A live token's `spare` (migration 0008): as many bytes as its revocation will write
# (`revoked_at`, 4 bytes until 2038, and `revoker`, 1 byte), given back by setting it to
# NULL then, so that the row keeps its size and is overwritten in place, never split.
SPARE = bytes(5)
# What every revocation of a stored token sets (then: the time, the revoker's id).
TOMBSTONE_SET = "revoked_at = ?, revoker = ?, spare = NULL"
INSERT_TOKEN = (
    f"INSERT INTO tokens ({', '.join(STORED_COLUMNS)}) "
    f"VALUES ({','.join('?' * len(STORED_COLUMNS))})"
)
# A token's values in TOKEN_COLUMNS order, FROM `_TOKENS_JOINED` (tokens are `t`).
_TOKEN_VALUES = ", ".join(
    [*(f"t.{c}" for c in TOKEN_COLUMNS[:-2]), "r.revoked_by", "r.revoke_reason"]
)
_TOKENS_JOINED = "tokens AS t LEFT JOIN revokers AS r ON r.id = t.revoker"
_SELECT_TOKENS = f"SELECT {_TOKEN_VALUES} FROM {_TOKENS_JOINED}"


def _revoker(conn: sqlite3.Connection, revoked_by: str | None, reason: str | None) -> int | None:
    """The id of this (revoked_by, revoke_reason) pair in `revokers`, added if new; None
    for a token nobody revoked. Inside the writer's transaction; the pair is nearly always
    there already, so that is looked for first (one statement)."""
    if revoked_by is None and reason is None:
        return None
    find = "SELECT id FROM revokers WHERE revoked_by IS ? AND revoke_reason IS ?"
    found = conn.execute(find, (revoked_by, reason)).fetchone()
    if found is None:
        conn.execute(
            "INSERT INTO revokers (revoked_by, revoke_reason) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (revoked_by, reason),
        )
        found = conn.execute(find, (revoked_by, reason)).fetchone()
    return int(found[0])


def _bump(conn: sqlite3.Connection, kind: str) -> None:
    conn.execute("UPDATE revisions SET revision = revision + 1 WHERE kind = ?", (kind,))


# Rows per multi-row INSERT at most; a run of rows goes in chunks of powers of two up to
# it, so that a handful of statement texts (each prepared once, then cached) cover any
# count. One step per chunk: executemany would take one step, and one GIL retake, per row,
# and for rows appended to a table (audit, events) costs more CPU too (2.2 against 1.3 us).
_ROWS_PER_INSERT = 64
# The keyset that batched revocations (client, user, session) walk per scope column: the
# order of the scope's index after the scope column. Every index of a rowid table ends
# with the rowid, `seq` (migration 0006; 0005: a client's tokens by issue time).
_REVOKE_KEYSET = {"cln_id": ("iat", "seq"), "usr_id": ("seq",), "ssn_id": ("seq",)}


def _insert_rows(
    conn: sqlite3.Connection, into: str, width: int, rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT INTO `into` (a table and its column list, `width` columns) these rows."""
    start = 0
    while start < len(rows):
        size = min(_ROWS_PER_INSERT, 1 << ((len(rows) - start).bit_length() - 1))
        chunk = rows[start : start + size]
        marks = ",".join(["(" + ",".join("?" * width) + ")"] * size)
        conn.execute(f"INSERT INTO {into} VALUES {marks}", [v for row in chunk for v in row])
        start += size


AuditEntry = tuple[int, AuditEvent, int]  # at, what, how many tokens


def _write_audits(conn: sqlite3.Connection, entries: Sequence[AuditEntry]) -> None:
    """Audit records, in a statement per 64 (`_insert_rows`)."""
    rows = [
        (at, a.action, a.actor, a.reason, a.client_id, count, orjson.dumps(a.details).decode())
        for at, a, count in entries
    ]
    _insert_rows(conn, "audit (at, action, actor, reason, cln_id, count, details)", 7, rows)


def _tokens_by_code(conn: sqlite3.Connection, unique_codes: Sequence[str]) -> list[TokenRecord]:
    """The stored tokens among these codes, in one statement step (see `_tombstone`)."""
    (found,) = conn.execute(
        f"SELECT json_group_array(json_array({_TOKEN_VALUES})) FROM {_TOKENS_JOINED} "
        "WHERE t.tkn_cde IN (SELECT value FROM json_each(?))",
        (orjson.dumps(unique_codes).decode(),),
    ).fetchone()
    return [token_from_row(row) for row in orjson.loads(found)]


def _tombstone(
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
            (at, _revoker(conn, audit.actor, audit.reason), *bound),
        )
    return revoked


EventEntry = tuple[str, int, AuditEvent, RevocationTarget, int, Sequence[Any]]


def _write_events(conn: sqlite3.Connection, entries: Sequence[EventEntry]) -> None:
    """Revocation events (revocation id, at, audit, target, batch number, revoked rows), in
    the outbox, in the transaction of their tombstones (`_insert_rows`)."""
    rows = []
    for revocation_id, at, audit, target, batch, revoked in entries:
        event_id, body = codec.revocation_event_body(
            revocation_id, batch, at, audit, (target.column, target.values), revoked
        )
        rows.append((event_id, at, body))
    _insert_rows(conn, "revocation_events (id, at, body)", 3, rows)


_GRANTS_IN = f"{TARGET_COLUMN[TargetKind.GRANT]} IN (SELECT value FROM json_each(?))"


def _revoke_grants(
    conn: sqlite3.Connection,
    target: RevocationTarget,
    at: int,
    audit: AuditEvent,
    revocation_id: str,
) -> int:
    """A grant target, inside the writer's transaction: one statement pair, then the audit
    record and the event."""
    values = orjson.dumps(target.values).decode()
    revoked = _tombstone(conn, target, at, audit, _GRANTS_IN, (values,))
    if revoked:
        _write_audits(conn, [(at, audit, len(revoked))])
        _write_events(conn, [(revocation_id, at, audit, target, 1, revoked)])
    return len(revoked)


# A revocation of presented tokens' grants: (their unique codes, the planner, at, the
# revocation id); its result (the stored tokens among them, how many were revoked).
GrantJob = tuple[list[str], GrantPlanner, int, str]
GrantResult = tuple[list[TokenRecord], int]


def _revoke_grants_of(conn: sqlite3.Connection, job: GrantJob) -> GrantResult:
    unique, plan, at, revocation_id = job
    records = _tokens_by_code(conn, unique)
    decision = plan(records)
    if decision is None:
        return records, 0
    grants, audit = decision
    return records, _revoke_grants(conn, RevocationTarget.grants(grants), at, audit, revocation_id)


class _Overlap(Exception):
    """Two revocations of one batch touch one grant: the batch runs job by job instead."""


def _revoke_many_grants_of(conn: sqlite3.Connection, jobs: list[GrantJob]) -> list[GrantResult]:
    """What `_revoke_grants_of` does for each job in turn, in a handful of statements for
    them all: one lookup of every presented code, the plans (Python), one SELECT and UPDATE
    pair per distinct (at, actor, reason), one INSERT of the audit records and one of the
    events. Jobs are independent unless two touch one grant (the later one would see the
    earlier one's tombstones), which raises `_Overlap` and so the writer's per-job pass."""
    found = {
        r.code: r for r in _tokens_by_code(conn, list(dict.fromkeys(c for j in jobs for c in j[0])))
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
        for row in _tombstone(conn, target, at, first, _GRANTS_IN, (values,)):
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
        _write_audits(conn, audits)
        _write_events(conn, events)
    return results


REVOKE_GRANTS_OF = BulkWork(_revoke_grants_of, _revoke_many_grants_of)


def _insert_tokens(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Tokens (token_to_row). executemany, unlike `_insert_rows`: one multi-row INSERT
    for a batch's tokens was measured no cheaper, with the tokens keyed by their hash (33
    against 22 to 28 us a row) and in issue order alike (docs/benchmarks.md)."""
    conn.executemany(
        INSERT_TOKEN,
        [  # who revoked it and why as the pair's id; room for the revocation while live
            (*row[:-2], _revoker(conn, row[-2], row[-1]), SPARE if row[-3] is None else None)
            for row in rows
        ],
    )


# Hands out `count` (?2) fresh indices of list ?1, creating it; the first of them.
ALLOCATE_STATUS_INDICES = (
    "INSERT INTO status_lists (id, next_idx) VALUES (?1, ?2) ON CONFLICT (id) "
    "DO UPDATE SET next_idx = next_idx + ?2 RETURNING next_idx - ?2"
)


def _keep_purged_bits(conn: sqlite3.Connection, entries: Sequence[tuple[int, int]]) -> None:
    """Set the purged bits of these (list, index) pairs of revoked tokens being deleted."""
    by_list: dict[int, list[int]] = {}
    for list_id, index in entries:
        by_list.setdefault(int(list_id), []).append(int(index))
    for list_id, indices in by_list.items():
        row = conn.execute("SELECT purged FROM status_lists WHERE id = ?", (list_id,)).fetchone()
        if row is not None:
            conn.execute(
                "UPDATE status_lists SET purged = ? WHERE id = ?",
                (codec.merge_one_bit(row[0], indices), list_id),
            )


# An issuance: (the client's id, its tokens' rows); its result, whether the client exists.
IssueJob = tuple[str, list[tuple[Any, ...]]]


def _issue(conn: sqlite3.Connection, job: IssueJob) -> bool:
    return _issue_many(conn, [job])[0]


def _issue_many(conn: sqlite3.Connection, jobs: list[IssueJob]) -> list[bool]:
    """Tokens of clients that exist, in two statements for them all: the clients' lookup
    and the INSERT. One writer: nothing can delete a client between the two."""
    wanted = orjson.dumps(list({client_id for client_id, _ in jobs})).decode()
    (found,) = conn.execute(
        "SELECT json_group_array(inum) FROM clients WHERE inum IN (SELECT value FROM json_each(?))",
        (wanted,),
    ).fetchone()
    known = set(orjson.loads(found))
    _insert_tokens(conn, [row for client_id, rows in jobs if client_id in known for row in rows])
    return [client_id in known for client_id, _ in jobs]


ISSUE_TOKENS = BulkWork(_issue, _issue_many)


class SqliteStore(Store):
    def __init__(self, path: Path) -> None:
        self.path = path
        # Descriptors of our own on the database's files, closed after every connection
        # (`close`): closing one drops every POSIX lock this process holds on that file.
        self._wal_index = WalIndexHeader(path)
        self._wal_sync = WalSync(path)
        self._writeback = Writeback(str(path))
        self._reader = SnapshotReader(_connect(path), self._wal_index)
        self._writer = GroupCommitWriter(lambda: _connect_writer(path), sync=self._wal_sync)
        self._checkpointer = Checkpointer(lambda: _connect(path), writeback=self._writeback)

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
        migrate(path)
        return cls(path)

    # -- plumbing ---------------------------------------------------------------------
    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return await self._writer.submit(work)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"sqlite write failed: {exc}") from exc

    async def _write_bulk(self, kind: BulkWork[I, R], item: I) -> R:
        try:
            return await self._writer.submit_bulk(kind, item)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"sqlite write failed: {exc}") from exc

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._reader.connection().execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            self._reader.end()
            raise StoreUnavailable(f"sqlite read failed: {exc}") from exc

    # -- tokens -----------------------------------------------------------------------
    async def insert_tokens(self, tokens: Sequence[TokenRecord]) -> None:
        rows = [token_to_row(t) for t in tokens]
        await self._write(lambda conn: _insert_tokens(conn, rows))

    async def issue_tokens(self, tokens: Sequence[TokenRecord]) -> bool:
        (client_id,) = {t.client_id for t in tokens}
        job: IssueJob = (client_id, [token_to_row(t) for t in tokens])
        return await self._write_bulk(ISSUE_TOKENS, job)

    async def get_token(self, code: str) -> TokenRecord | None:
        rows = self._read(f"{_SELECT_TOKENS} WHERE t.tkn_cde = ?", (code,))
        return token_from_row(rows[0]) if rows else None

    async def get_tokens(self, codes: Sequence[str]) -> list[TokenRecord]:
        unique = [code for code in dict.fromkeys(codes) if not holds_nul(code)]
        try:
            return _tokens_by_code(self._reader.connection(), unique)
        except sqlite3.OperationalError as exc:
            self._reader.end()
            raise StoreUnavailable(f"sqlite read failed: {exc}") from exc

    async def revoke(self, target: RevocationTarget, at: int, audit: AuditEvent) -> int:
        storable = without_nul_keys(target)  # (json_each would cut "c1\0" to "c1")
        if storable is None:
            return 0
        target = storable
        column = TARGET_COLUMN[target.column]
        # One id for the whole revocation (its batches share it); made here, outside the
        # writer's jobs, so a job the writer runs again keeps it.
        revocation_id = new_id()
        if target.column is TargetKind.GRANT:
            return await self._write(
                lambda conn: _revoke_grants(conn, target, at, audit, revocation_id)
            )

        (value,) = target.values
        # The batches walk the scope's index in its order (each index ends with the rowid),
        # from just after the previous batch's last key to this batch's last key. A token
        # committed between two batches may sit behind the walk (a client's tokens are
        # ordered by issue time, which its issuer read before queueing its write): the last
        # batch also takes every live token of the target whose rowid is above `mark`, the
        # highest when the walk began. SQLite numbers a new row after the highest present
        # (lower only if the newest token expired and was purged during the walk), so when
        # that batch commits no token of the target is live (the store's contract).
        keys = ", ".join(_REVOKE_KEYSET[column])
        marks = ",".join("?" * len(_REVOKE_KEYSET[column]))
        total = 0
        events = 0
        after: tuple[Any, ...] = ()
        mark: int | None = None
        while True:

            def batch(
                conn: sqlite3.Connection, after: tuple[Any, ...] = after, total: int = total,
                number: int = events + 1, mark: int | None = mark,
            ) -> tuple[int, tuple[Any, ...] | None, int]:  # fmt: skip
                if mark is None:  # the first batch: nothing can come between it and the walk
                    mark = conn.execute("SELECT coalesce(max(seq), 0) FROM tokens").fetchone()[0]
                lower = f" AND ({keys}) > ({marks})" if after else ""
                last = conn.execute(
                    f"SELECT {keys} FROM tokens WHERE {column} = ?{lower} "
                    f"ORDER BY {keys} LIMIT 1 OFFSET ?",
                    (value, *after, REVOKE_BATCH - 1),
                ).fetchone()
                # No key that far: this is the last batch, everything after `after`.
                upper = f" AND ({keys}) <= ({marks})" if last else ""
                revoked = _tombstone(
                    conn, target, at, audit, f"{column} = ?{lower}{upper}",
                    (value, *after, *(last or ())),
                )  # fmt: skip
                if last is None and after:  # `+`: by rowid, past the mark, not the index
                    revoked += _tombstone(
                        conn, target, at, audit, f"seq > ? AND +{column} = ?", (mark, value)
                    )
                if revoked:
                    _write_events(conn, [(revocation_id, at, audit, target, number, revoked)])
                if last is None and total + len(revoked):
                    _write_audits(conn, [(at, audit, total + len(revoked))])
                assert mark is not None
                return len(revoked), last, mark

            count, last, mark = await self._write(batch)
            total += count
            events += 1 if count else 0
            if last is None:
                return total
            after = tuple(last)

    async def revoke_grants_of(
        self, codes: Sequence[str], plan: GrantPlanner, at: int
    ) -> tuple[list[TokenRecord], int]:
        unique = [code for code in dict.fromkeys(codes) if not holds_nul(code)]
        job: GrantJob = (unique, plan, at, new_id())
        return await self._write_bulk(REVOKE_GRANTS_OF, job)

    async def rotate_refresh_token(
        self, old_code: str, new_tokens: Sequence[TokenRecord], at: int
    ) -> bool:
        rows = [token_to_row(t) for t in new_tokens]

        def work(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                f"UPDATE tokens SET {TOMBSTONE_SET} "
                "WHERE tkn_cde = ? AND revoked_at IS NULL AND exp > ?",
                (at, _revoker(conn, ROTATION, ROTATED), old_code, at),
            )
            if cur.rowcount != 1:
                return False
            _insert_tokens(conn, rows)
            return True

        return await self._write(work)

    async def exchange_previous_refresh_token(
        self, old_code: str, new_tokens: Sequence[TokenRecord], at: int, grace_seconds: int
    ) -> PreviousRefreshToken:
        rows = [token_to_row(t) for t in new_tokens]

        # The single writer thread serialises this with every rotation and revocation.
        def work(conn: sqlite3.Connection) -> PreviousRefreshToken:
            found = conn.execute(f"{_SELECT_TOKENS} WHERE t.tkn_cde = ?", (old_code,)).fetchone()
            old = token_from_row(found) if found else None
            verdict = previous_refresh_verdict(old, at, grace_seconds)
            if old is None or verdict is not PreviousRefreshToken.REISSUED:
                return verdict
            live = conn.execute(
                f"{_SELECT_TOKENS} WHERE t.grt_id = ? AND t.tkn_typ = ? "
                "AND t.revoked_at IS NULL AND +t.exp > ?",
                (old.grant_id, TokenType.REFRESH_TOKEN.value, at),
            ).fetchall()
            for successor in map(token_from_row, live):
                if successor.attributes.get(ROTATED_FROM) != old_code:
                    continue
                conn.execute(
                    f"UPDATE tokens SET {TOMBSTONE_SET} WHERE tkn_cde = ? AND revoked_at IS NULL",
                    (at, _revoker(conn, ROTATION, SUPERSEDED), successor.code),
                )
                _insert_tokens(conn, rows)
                return PreviousRefreshToken.REISSUED
            return PreviousRefreshToken.REUSED

        return await self._write(work)

    async def purge_expired(
        self, now: int, batch_size: int, keep_lists: Sequence[int] | None = None
    ) -> int:
        def work(conn: sqlite3.Connection) -> int:
            # The batch and, of its revoked tokens with a status-list index, the indices
            # (one step, see `_tombstone`), then the DELETE of exactly those rows.
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
            _keep_purged_bits(conn, [(r[1], r[2]) for r in picked if r[3] and r[1] is not None])
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

        return await self._write(work)

    # -- token status lists -------------------------------------------------------------
    async def allocate_status_indices(self, list_id: int, count: int) -> int:
        def work(conn: sqlite3.Connection) -> int:
            (first,) = conn.execute(ALLOCATE_STATUS_INDICES, (list_id, count)).fetchone()
            return int(first)

        return await self._write(work)

    async def read_status_list(self, list_id: int) -> StatusListState | None:
        # One statement: one snapshot of both the purged bits and the revoked rows.
        rows = self._read(
            "SELECT next_idx, purged, (SELECT json_group_array(status_idx) FROM tokens "
            "WHERE status_list = s.id AND revoked_at IS NOT NULL) "
            "FROM status_lists AS s WHERE id = ?",
            (list_id,),
        )
        if not rows:
            return None
        size, purged, revoked = rows[0]
        return StatusListState(int(size), orjson.loads(revoked), bytes(purged or b""))

    async def status_list_ids(self) -> list[int]:
        return [int(r[0]) for r in self._read("SELECT id FROM status_lists ORDER BY id")]

    async def search_tokens(self, query: TokenQuery) -> tuple[int, list[TokenRecord]]:
        storable = without_nul_patterns(query)  # (LIKE would cut "c1\0" to "c1")
        if storable is None:
            return 0, []
        query = storable
        clauses: list[str] = []
        params: list[Any] = []
        if query.patterns:
            ors = []
            for piece in query.patterns:
                like = (
                    "%" + piece.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                )
                for attr in PATTERN_ATTRIBUTES:
                    ors.append(f"{TOKEN_ATTRIBUTES[attr]} LIKE ? ESCAPE '\\'")
                    params.append(like)
            clauses.append(f"({' OR '.join(ors)})")
        for attr, value in query.fields:
            clauses.append(f"{TOKEN_ATTRIBUTES[attr]} = ?")
            params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        total = int(self._read(f"SELECT count(*) FROM tokens{where}", params)[0][0])
        order = (
            f"{TOKEN_ATTRIBUTES[query.sort_by]} {'DESC' if query.descending else 'ASC'}, tkn_cde"
        )
        rows = self._read(
            f"{_SELECT_TOKENS}{where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, query.limit, query.start],
        )
        return total, [token_from_row(r) for r in rows]

    async def count_tokens(self, client_id: str | None = None, live_at: int | None = None) -> int:
        clauses, params = [], []
        if client_id is not None:
            clauses.append("cln_id = ?")
            params.append(client_id)
        if live_at is not None:
            clauses.append("revoked_at IS NULL AND exp > ?")
            params.append(str(live_at))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return int(self._read(f"SELECT count(*) FROM tokens{where}", params)[0][0])

    # -- clients and users ------------------------------------------------------------
    async def get_client(self, client_id: str) -> Client | None:
        rows = self._read("SELECT data FROM clients WHERE inum = ?", (client_id,))
        return codec.client_from_json(rows[0][0]) if rows else None

    async def list_clients(self) -> list[Client]:
        return [
            codec.client_from_json(r[0])
            for r in self._read("SELECT data FROM clients ORDER BY inum")
        ]

    async def save_client(self, client: Client) -> None:
        data = codec.to_json(client)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO clients (inum, data) VALUES (?, ?) "
                "ON CONFLICT (inum) DO UPDATE SET data = excluded.data",
                (client.client_id, data),
            )
            _bump(conn, "clients")

        await self._write(work)

    async def delete_client(self, client_id: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            deleted = conn.execute("DELETE FROM clients WHERE inum = ?", (client_id,)).rowcount
            _bump(conn, "clients")
            return deleted == 1

        return await self._write(work)

    async def get_user_by_uid(self, uid: str) -> User | None:
        rows = self._read("SELECT data FROM users WHERE uid = ?", (uid,))
        return codec.user_from_json(rows[0][0]) if rows else None

    async def get_user(self, inum: str) -> User | None:
        rows = self._read("SELECT data FROM users WHERE inum = ?", (inum,))
        return codec.user_from_json(rows[0][0]) if rows else None

    async def find_users_by_email(self, email: str) -> list[User]:
        key = codec.email_key(email)
        if key is None:
            return []
        rows = self._read("SELECT data FROM users WHERE email = ?", (key,))
        return sorted((codec.user_from_json(r[0]) for r in rows), key=lambda u: u.inum)

    async def save_user(self, user: User) -> None:
        data = codec.to_json(user)
        email = codec.email_key(user.email)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO users (inum, uid, email, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (inum) DO UPDATE SET uid = excluded.uid, email = excluded.email, "
                "data = excluded.data",
                (user.inum, user.uid, email, data),
            )

        await self._write(work)

    async def session_ids_of_user(self, user_id: str) -> list[str]:
        rows = self._read(
            "SELECT DISTINCT ssn_id FROM tokens WHERE usr_id = ? AND ssn_id IS NOT NULL",
            (user_id,),
        )
        return sorted(r[0] for r in rows)  # one order on both backends (no collation)

    # -- browser sessions: their SQL is in sessions.py ---------------------------------
    async def create_session(self, session: SessionRecord) -> None:
        await self._write(lambda conn: sessions.insert(conn, session))

    async def get_session(self, sid: str) -> SessionRecord | None:
        rows = self._read(sessions.SELECT_BY_SID, (sid,))
        return codec.session_from_row(rows[0]) if rows else None

    async def get_session_by_cookie(self, cookie_hash: str) -> SessionRecord | None:
        rows = self._read(sessions.SELECT_BY_COOKIE, (cookie_hash,))
        return codec.session_from_row(rows[0]) if rows else None

    async def touch_session(
        self,
        sid: str,
        at: int,
        idle_expires_at: int,
        *,
        cookie_hash: str | None = None,
        auth_time: int | None = None,
    ) -> SessionRecord | None:
        return await self._write(
            lambda conn: sessions.touch(conn, sid, at, idle_expires_at, cookie_hash, auth_time)
        )

    async def list_sessions(self, user_id: str, live_at: int | None = None) -> list[SessionRecord]:
        if live_at is None:
            rows = self._read(sessions.SELECT_OF_USER + sessions.ORDER, (user_id,))
        else:
            sql = sessions.SELECT_OF_USER + sessions.LIVE + sessions.ORDER
            rows = self._read(sql, (user_id, live_at, live_at))
        return [codec.session_from_row(r) for r in rows]

    async def end_sessions(self, which: SessionEnd, at: int, audit: AuditEvent) -> EndedSessions:
        storable = storable_session_end(which)  # (json_each would cut "s1\0" to "s1")
        if storable is None:
            return EndedSessions((), 0)
        revocation_id = new_id()  # outside the job: a job run again keeps it

        def work(conn: sqlite3.Connection) -> EndedSessions:
            sids = sessions.end(conn, storable, at, audit.reason)
            if not sids:
                return EndedSessions((), 0)
            target = RevocationTarget(TargetKind.SESSION, tuple(sids))
            in_sessions = "ssn_id IN (SELECT value FROM json_each(?))"
            revoked = _tombstone(
                conn, target, at, audit, in_sessions, (orjson.dumps(sids).decode(),)
            )
            _write_audits(conn, [(at, audit, len(revoked))])
            if revoked:
                _write_events(conn, [(revocation_id, at, audit, target, 1, revoked)])
            return EndedSessions(tuple(sids), len(revoked))

        return await self._write(work)

    async def redeem_code(
        self, code: str, new_tokens: Sequence[TokenRecord], at: int
    ) -> CodeRedemption:
        rows = [token_to_row(t) for t in new_tokens]

        # The single writer serialises this with `end_sessions`.
        def work(conn: sqlite3.Connection) -> CodeRedemption:
            found = conn.execute(
                "SELECT ssn_id, revoked_at IS NULL AND exp > ? FROM tokens "
                "WHERE tkn_cde = ? AND tkn_typ = ?",
                (at, code, TokenType.AUTHORIZATION_CODE.value),
            ).fetchone()
            if found is None:
                return CodeRedemption.UNKNOWN
            session_id, live = found
            if not live:
                return CodeRedemption.SPENT
            conn.execute(
                f"UPDATE tokens SET {TOMBSTONE_SET} WHERE tkn_cde = ?",
                (at, _revoker(conn, REDEMPTION, REDEEMED), code),
            )
            if session_id is not None and not sessions.is_live(conn, session_id, at):
                return CodeRedemption.SESSION_ENDED
            _insert_tokens(conn, rows)
            return CodeRedemption.REDEEMED

        return await self._write(work)

    async def list_scopes(self) -> list[Scope]:
        return [
            codec.scope_from_json(r[0]) for r in self._read("SELECT data FROM scopes ORDER BY id")
        ]

    async def save_scope(self, scope: Scope) -> None:
        data = codec.to_json(scope)

        def work(conn: sqlite3.Connection) -> None:
            taken = conn.execute(
                "SELECT inum FROM scopes WHERE id = ? AND inum <> ?", (scope.id, scope.inum)
            ).fetchone()
            if taken:
                raise ConflictError(f"scope id {scope.id!r} already exists")
            conn.execute(
                "INSERT INTO scopes (inum, id, data) VALUES (?, ?, ?) "
                "ON CONFLICT (inum) DO UPDATE SET id = excluded.id, data = excluded.data",
                (scope.inum, scope.id, data),
            )
            _bump(conn, "scopes")

        await self._write(work)

    async def delete_scope(self, inum: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            deleted = conn.execute("DELETE FROM scopes WHERE inum = ?", (inum,)).rowcount
            _bump(conn, "scopes")
            return deleted == 1

        return await self._write(work)

    # -- configuration, scripts, keys -------------------------------------------------
    async def load_config(self) -> tuple[dict[str, Any], int]:
        document, revision = self._read("SELECT document, revision FROM app_config WHERE id = 1")[0]
        return orjson.loads(document), int(revision)

    async def save_config(self, document: dict[str, Any], expected_revision: int | None) -> int:
        text = orjson.dumps(document).decode()

        def work(conn: sqlite3.Connection) -> int:
            (current,) = conn.execute("SELECT revision FROM app_config WHERE id = 1").fetchone()
            if expected_revision is not None and current != expected_revision:
                raise ConflictError(f"configuration changed (revision {current})")
            conn.execute(
                "UPDATE app_config SET document = ?, revision = ? WHERE id = 1",
                (text, current + 1),
            )
            return int(current) + 1

        return await self._write(work)

    async def list_scripts(self) -> list[ScriptDefinition]:
        rows = self._read("SELECT data FROM scripts")
        scripts = [codec.script_from_json(r[0]) for r in rows]
        return sorted(scripts, key=lambda s: (s.level, s.name))

    async def save_script(self, script: ScriptDefinition) -> ScriptDefinition:
        def work(conn: sqlite3.Connection) -> ScriptDefinition:
            (revision,) = conn.execute(
                "SELECT revision FROM revisions WHERE kind = 'scripts'"
            ).fetchone()
            saved = dataclasses.replace(script, revision=int(revision) + 1)
            conn.execute(
                "INSERT INTO scripts (inum, data) VALUES (?, ?) "
                "ON CONFLICT (inum) DO UPDATE SET data = excluded.data",
                (saved.inum, codec.to_json(saved)),
            )
            _bump(conn, "scripts")
            return saved

        return await self._write(work)

    async def delete_script(self, inum: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            deleted = conn.execute("DELETE FROM scripts WHERE inum = ?", (inum,)).rowcount
            _bump(conn, "scripts")
            return deleted == 1

        return await self._write(work)

    async def list_signing_keys(self) -> list[SigningKey]:
        rows = self._read("SELECT data FROM signing_keys")
        keys = [codec.key_from_json(r[0]) for r in rows]
        return sorted(keys, key=lambda k: k.created_at)

    async def save_signing_key(self, key: SigningKey) -> None:
        data = codec.to_json(key)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO signing_keys (kid, data) VALUES (?, ?)", (key.kid, data))
            _bump(conn, "keys")

        await self._write(work)

    async def delete_signing_key(self, kid: str) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM signing_keys WHERE kid = ?", (kid,))
            _bump(conn, "keys")

        await self._write(work)

    async def revisions(self) -> Revisions:
        rows = dict(self._read("SELECT kind, revision FROM revisions"))
        (config,) = self._read("SELECT revision FROM app_config WHERE id = 1")[0]
        return Revisions(
            config=int(config),
            clients=int(rows["clients"]),
            scripts=int(rows["scripts"]),
            keys=int(rows["keys"]),
            scopes=int(rows["scopes"]),
        )

    # -- replay protection, audit -----------------------------------------------------
    async def remember_jti(self, client_id: str, jti: str, expires_at: int) -> bool:
        now = int(time.time())

        def work(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT INTO jti_seen (cln_id, jti, exp) VALUES (?, ?, ?) "
                "ON CONFLICT (cln_id, jti) DO UPDATE SET exp = excluded.exp "
                "WHERE jti_seen.exp <= ?",
                (client_id, jti, expires_at, now),
            )
            return cur.rowcount == 1

        return await self._write(work)

    async def record_fact(self, name: str, value: str) -> str:
        def work(conn: sqlite3.Connection) -> str:
            conn.execute(
                "INSERT INTO store_facts (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, value),
            )
            row = conn.execute("SELECT value FROM store_facts WHERE name = ?", (name,)).fetchone()
            return str(row[0])

        return await self._write(work)

    async def append_audit(self, at: int, audit: AuditEvent) -> None:
        await self._write(lambda conn: _write_audits(conn, [(at, audit, 0)]))

    async def list_audit(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT id, at, action, actor, reason, cln_id, count, details FROM audit "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [codec.audit_from_row(r) for r in rows]

    # -- revocation events (the outbox) -----------------------------------------------
    async def publish_events(self, receivers: Sequence[str], limit: int) -> PublishedEvents:
        # A read first: the publisher polls, and an idle poll must not take the writer.
        if not self._read("SELECT 1 FROM revocation_events WHERE position IS NULL LIMIT 1"):
            return codec.published_events()

        # The writer's job numbers the events and queues their deliveries in a few
        # statements of one step each; it decodes nothing (the events decode when read).
        def work(conn: sqlite3.Connection) -> tuple[int, list[Any]]:
            (found,) = conn.execute(
                "SELECT json_group_array(json_array(seq, body)) FROM (SELECT seq, body "
                "FROM revocation_events WHERE position IS NULL ORDER BY seq LIMIT ?)",
                (limit,),
            ).fetchone()
            rows: list[Any] = orjson.loads(found)
            (last,) = conn.execute(
                "UPDATE revisions SET revision = revision + ? WHERE kind = 'events' "
                "RETURNING revision",
                (len(rows),),
            ).fetchone()
            top = int(last) - len(rows)
            conn.execute(
                "UPDATE revocation_events SET position = json_extract(p.value, '$[1]') "
                "FROM json_each(?) AS p WHERE seq = json_extract(p.value, '$[0]')",
                (orjson.dumps([(seq, top + n) for n, (seq, _) in enumerate(rows, 1)]).decode(),),
            )
            conn.executemany(
                "INSERT INTO event_deliveries (receiver, position, next_attempt_at) "
                "VALUES (?, ?, 0) ON CONFLICT DO NOTHING",  # due at once
                [(r, top + n) for n in range(1, len(rows) + 1) for r in receivers],
            )
            return top, rows

        top, rows = await self._write(work)
        positioned = [(body, top + n) for n, (_, body) in enumerate(rows, 1)]
        return codec.published_events(positioned)

    async def list_events(self, after: int, limit: int) -> list[RevocationEvent]:
        rows = self._read(
            "SELECT body, position FROM revocation_events WHERE position > ? "
            "ORDER BY position LIMIT ?",
            (after, limit),
        )
        return [codec.event_from_row(body, position) for body, position in rows]

    async def latest_event_position(self) -> int:
        return int(self._read("SELECT revision FROM revisions WHERE kind = 'events'")[0][0])

    async def claim_deliveries(
        self, receivers: Sequence[str], now: int, lease_seconds: int, limit: int
    ) -> list[Delivery]:
        if not receivers:
            return []
        marks = ",".join("?" * len(receivers))
        due = (
            "FROM event_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL "
            f"AND next_attempt_at <= ? AND receiver IN ({marks})"
        )
        if not self._read(f"SELECT 1 {due} LIMIT 1", (now, *receivers)):
            return []

        def work(conn: sqlite3.Connection) -> list[Delivery]:
            claimed = conn.execute(
                "UPDATE event_deliveries SET attempts = attempts + 1, next_attempt_at = ? "
                f"WHERE (receiver, position) IN (SELECT receiver, position {due} "
                "ORDER BY position LIMIT ?) RETURNING receiver, position, attempts",
                (now + lease_seconds, now, *receivers, limit),
            ).fetchall()
            positions = sorted({p for _, p, _ in claimed})
            bodies = dict(
                conn.execute(
                    "SELECT position, body FROM revocation_events "
                    f"WHERE position IN ({','.join('?' * len(positions))})",
                    positions,
                ).fetchall()
            )
            return sorted(
                (
                    Delivery(receiver, attempts, codec.event_from_row(bodies[p], p))
                    for receiver, p, attempts in claimed
                    if p in bodies
                ),
                key=lambda d: (d.event.position or 0, d.receiver),
            )

        return await self._write(work)

    async def settle_deliveries(self, outcomes: Sequence[DeliveryOutcome], now: int) -> None:
        if not outcomes:
            return

        def work(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE event_deliveries SET delivered_at = ?, failed_at = ?, "
                "next_attempt_at = coalesce(?, next_attempt_at), last_error = ? "
                "WHERE receiver = ? AND position = ?",
                [codec.settlement(o, now) for o in outcomes],
            )

        await self._write(work)

    async def purge_events(self, before: int, batch_size: int, receivers: Sequence[str]) -> int:
        marks = ",".join("?" * len(receivers))
        waiting = (
            "SELECT 1 FROM event_deliveries d WHERE d.position = e.position "
            f"AND d.delivered_at IS NULL AND d.failed_at IS NULL AND d.receiver IN ({marks})"
        )

        def work(conn: sqlite3.Connection) -> int:
            gone = conn.execute(
                "DELETE FROM revocation_events WHERE seq IN (SELECT seq FROM revocation_events e "
                f"WHERE at < ? AND position IS NOT NULL AND NOT EXISTS ({waiting}) LIMIT ?) "
                "RETURNING position",
                (before, *receivers, batch_size),
            ).fetchall()
            conn.executemany("DELETE FROM event_deliveries WHERE position = ?", gone)
            return len(gone)

        return await self._write(work)

    async def close(self) -> None:
        self._checkpointer.close()
        self._writer.close()
        self._reader.close()
        # Only now that no connection is left (see __init__).
        self._wal_sync.close()
        self._writeback.close()
        self._wal_index.close()


# How long a process waits for another one's migrations (workers start together, and
# 0006 rewrites the token table: ~15 s per million tokens) before it gives up.
_MIGRATION_WAIT_MS = 15 * 60 * 1000


def migrate(path: Path) -> list[str]:
    """Apply pending migrations. Safe to run concurrently from several processes."""
    make_private(path)  # before SQLite creates the file, world-readable
    conn = _connect(path)
    conn.execute(f"PRAGMA busy_timeout={_MIGRATION_WAIT_MS}")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
        )
        applied_names: list[str] = []
        conn.execute("BEGIN IMMEDIATE")  # serialises concurrent starters
        try:
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for migration in migrations.pending("sqlite", done):
                for statement in _split_sql(migration.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, int(time.time())),
                )
                applied_names.append(migration.name)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return applied_names
    finally:
        conn.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration file into statements (executescript would commit implicitly)."""
    statements, current = [], []
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if sqlite3.complete_statement("\n".join(current)):
            statements.append("\n".join(current).strip())
            current = []
    if "\n".join(current).strip():
        raise ValueError("migration ends with an incomplete statement")
    return [s for s in statements if s]
