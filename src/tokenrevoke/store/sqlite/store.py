"""SQLite implementation of the Store interface.

Reads run on the caller's thread over their own connection (WAL lets them proceed while
the writer commits); writes go through the group-commit writer thread. Around it:
connections.py (the connections' settings), migrating.py, rows.py (the token table's
layout), revoking.py (the revocation engine), rotating.py (refresh-token rotation),
purging.py (the purge of what has expired), sessions.py (browser sessions, and code
redemption), status_lists.py, records.py (the administrative records' writes), outbox.py
(the events' outbox), and store/querying.py (the search and count statements both stores
share).
"""

from __future__ import annotations

import functools
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
    User,
)
from tokenrevoke.model.session import CodeRedemption, EndedSessions, SessionEnd, SessionRecord
from tokenrevoke.store import codec
from tokenrevoke.store.base import (
    REVOKE_BATCH,
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
    storable_session_end,
    without_nul_keys,
    without_nul_patterns,
)
from tokenrevoke.store.codec import token_from_row, token_to_row
from tokenrevoke.store.querying import SQLITE, token_count, token_search
from tokenrevoke.store.sqlite import outbox, purging, records, rotating, sessions, status_lists
from tokenrevoke.store.sqlite.checkpoint import Checkpointer, Writeback
from tokenrevoke.store.sqlite.connections import WalSync, connect, connect_writer
from tokenrevoke.store.sqlite.migrating import migrate
from tokenrevoke.store.sqlite.reader import SnapshotReader, WalIndexHeader
from tokenrevoke.store.sqlite.revoking import (
    REVOKE_GRANTS_OF,
    GrantJob,
    revoke_batch,
    revoke_grants,
    revoke_sessions,
    write_audits,
)
from tokenrevoke.store.sqlite.rows import (
    ISSUE_TOKENS,
    SELECT_TOKENS,
    IssueJob,
    insert_tokens,
    tokens_by_code,
)
from tokenrevoke.store.sqlite.writer import BulkWork, GroupCommitWriter

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 (a bulk write's item)
R = TypeVar("R")


class SqliteStore(Store):
    def __init__(self, path: Path) -> None:
        self.path = path
        # Descriptors of our own on the database's files, closed after every connection
        # (`close`): closing one drops every POSIX lock this process holds on that file.
        self._wal_index = WalIndexHeader(path)
        self._wal_sync = WalSync(path)
        self._writeback = Writeback(str(path))
        self._reader = SnapshotReader(connect(path), self._wal_index)
        self._writer = GroupCommitWriter(lambda: connect_writer(path), sync=self._wal_sync)
        self._checkpointer = Checkpointer(lambda: connect(path), writeback=self._writeback)

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
        await migrate(path)
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
        await self._write(lambda conn: insert_tokens(conn, rows))

    async def issue_tokens(self, tokens: Sequence[TokenRecord]) -> bool:
        (client_id,) = {t.client_id for t in tokens}
        job: IssueJob = (client_id, [token_to_row(t) for t in tokens])
        return await self._write_bulk(ISSUE_TOKENS, job)

    async def get_token(self, code: str) -> TokenRecord | None:
        rows = self._read(f"{SELECT_TOKENS} WHERE t.tkn_cde = ?", (code,))
        return token_from_row(rows[0]) if rows else None

    async def get_tokens(self, codes: Sequence[str]) -> list[TokenRecord]:
        # A code holding a NUL names nothing (store.base.holds_nul, inlined: per request).
        unique = [code for code in dict.fromkeys(codes) if "\0" not in code]
        try:
            return tokens_by_code(self._reader.connection(), unique)
        except sqlite3.OperationalError as exc:
            self._reader.end()
            raise StoreUnavailable(f"sqlite read failed: {exc}") from exc

    async def revoke(self, target: RevocationTarget, at: int, audit: AuditEvent) -> int:
        storable = without_nul_keys(target)  # (json_each would cut "c1\0" to "c1")
        if storable is None:
            return 0
        target = storable
        # One id for the whole revocation (its batches share it); made here, outside the
        # writer's jobs, so a job the writer runs again keeps it.
        revocation_id = new_id()
        if target.column is TargetKind.GRANT:
            return await self._write(
                lambda conn: revoke_grants(conn, target, at, audit, revocation_id)
            )

        total = 0
        events = 0
        after: tuple[Any, ...] = ()
        mark: int | None = None  # set by the first batch (revoke_batch)
        while True:
            batch = functools.partial(
                revoke_batch, target=target, at=at, audit=audit, revocation_id=revocation_id,
                after=after, size=REVOKE_BATCH, total=total, number=events + 1, mark=mark,
            )  # fmt: skip
            count, last, mark = await self._write(batch)
            total += count
            events += 1 if count else 0
            if last is None:
                return total
            after = tuple(last)

    async def revoke_grants_of(
        self, codes: Sequence[str], plan: GrantPlanner, at: int
    ) -> tuple[list[TokenRecord], int]:
        unique = [code for code in dict.fromkeys(codes) if "\0" not in code]
        job: GrantJob = (unique, plan, at, new_id())
        return await self._write_bulk(REVOKE_GRANTS_OF, job)

    async def rotate_refresh_token(
        self, old_code: str, new_tokens: Sequence[TokenRecord], at: int
    ) -> bool:
        rows = [token_to_row(t) for t in new_tokens]
        return await self._write(lambda conn: rotating.rotate(conn, old_code, rows, at))

    async def exchange_previous_refresh_token(
        self, old_code: str, new_tokens: Sequence[TokenRecord], at: int, grace_seconds: int
    ) -> PreviousRefreshToken:
        rows = [token_to_row(t) for t in new_tokens]
        return await self._write(
            lambda conn: rotating.exchange_previous(conn, old_code, rows, at, grace_seconds)
        )

    async def purge_expired(
        self, now: int, batch_size: int, keep_lists: Sequence[int] | None = None
    ) -> int:
        return await self._write(
            lambda conn: purging.purge_expired(conn, now, batch_size, keep_lists)
        )

    # -- token status lists -------------------------------------------------------------
    async def allocate_status_indices(self, list_id: int, count: int) -> int:
        def work(conn: sqlite3.Connection) -> int:
            (first,) = conn.execute(status_lists.ALLOCATE_INDICES, (list_id, count)).fetchone()
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
        count, select = token_search(storable, SQLITE, SELECT_TOKENS)
        total = int(self._read(count.sql, count.args)[0][0])
        return total, [token_from_row(r) for r in self._read(select.sql, select.args)]

    async def count_tokens(self, client_id: str | None = None, live_at: int | None = None) -> int:
        count = token_count(client_id, live_at, SQLITE)
        return int(self._read(count.sql, count.args)[0][0])

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
        await self._write(lambda conn: records.save_client(conn, client, data))

    async def delete_client(self, client_id: str) -> bool:
        return await self._write(lambda conn: records.delete_client(conn, client_id))

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
        await self._write(lambda conn: records.save_user(conn, user, email, data))

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
            return EndedSessions(tuple(sids), revoke_sessions(conn, sids, at, audit, revocation_id))

        return await self._write(work)

    async def redeem_code(
        self, code: str, new_tokens: Sequence[TokenRecord], at: int
    ) -> CodeRedemption:
        rows = [token_to_row(t) for t in new_tokens]
        return await self._write(lambda conn: sessions.redeem(conn, code, rows, at))

    async def list_scopes(self) -> list[Scope]:
        return [
            codec.scope_from_json(r[0]) for r in self._read("SELECT data FROM scopes ORDER BY id")
        ]

    async def save_scope(self, scope: Scope) -> None:
        data = codec.to_json(scope)
        await self._write(lambda conn: records.save_scope(conn, scope, data))

    async def delete_scope(self, inum: str) -> bool:
        return await self._write(lambda conn: records.delete_scope(conn, inum))

    # -- configuration, scripts, keys -------------------------------------------------
    async def load_config(self) -> tuple[dict[str, Any], int]:
        document, revision = self._read("SELECT document, revision FROM app_config WHERE id = 1")[0]
        return orjson.loads(document), int(revision)

    async def save_config(self, document: dict[str, Any], expected_revision: int | None) -> int:
        text = orjson.dumps(document).decode()
        return await self._write(lambda conn: records.save_config(conn, text, expected_revision))

    async def list_scripts(self) -> list[ScriptDefinition]:
        rows = self._read("SELECT data FROM scripts")
        scripts = [codec.script_from_json(r[0]) for r in rows]
        return sorted(scripts, key=lambda s: (s.level, s.name))

    async def save_script(self, script: ScriptDefinition) -> ScriptDefinition:
        return await self._write(lambda conn: records.save_script(conn, script))

    async def delete_script(self, inum: str) -> bool:
        return await self._write(lambda conn: records.delete_script(conn, inum))

    async def list_signing_keys(self) -> list[SigningKey]:
        rows = self._read("SELECT data FROM signing_keys")
        keys = [codec.key_from_json(r[0]) for r in rows]
        return sorted(keys, key=lambda k: k.created_at)

    async def save_signing_key(self, key: SigningKey) -> None:
        data = codec.to_json(key)
        await self._write(lambda conn: records.save_signing_key(conn, key, data))

    async def delete_signing_key(self, kid: str) -> None:
        await self._write(lambda conn: records.delete_signing_key(conn, kid))

    async def revisions(self) -> Revisions:
        return codec.revisions_from_rows(self._read(codec.SELECT_REVISIONS))

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
        await self._write(lambda conn: write_audits(conn, [(at, audit, 0)]))

    async def list_audit(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT id, at, action, actor, reason, cln_id, count, details FROM audit "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [codec.audit_from_row(r) for r in rows]

    # -- revocation events (the outbox: outbox.py) ------------------------------------
    async def publish_events(self, receivers: Sequence[str], limit: int) -> PublishedEvents:
        # A read first: the publisher polls, and an idle poll must not take the writer.
        if not self._read(outbox.UNPUBLISHED):
            return codec.published_events()
        top, rows = await self._write(lambda conn: outbox.publish(conn, receivers, limit))
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
        due = outbox.due(receivers)
        if not self._read(f"SELECT 1 {due} LIMIT 1", (now, *receivers)):
            return []
        return await self._write(
            lambda conn: outbox.claim(conn, due, receivers, now, lease_seconds, limit)
        )

    async def settle_deliveries(self, outcomes: Sequence[DeliveryOutcome], now: int) -> None:
        if outcomes:
            await self._write(lambda conn: outbox.settle(conn, outcomes, now))

    async def purge_events(self, before: int, batch_size: int, receivers: Sequence[str]) -> int:
        return await self._write(lambda conn: outbox.purge(conn, before, batch_size, receivers))

    async def close(self) -> None:
        self._checkpointer.close()
        self._writer.close()
        self._reader.close()
        # Only now that no connection is left (see __init__).
        self._wal_sync.close()
        self._writeback.close()
        self._wal_index.close()
