"""PostgreSQL implementation of the Store interface (asyncpg).

Any number of server processes and hosts share one database. Every write returns after
COMMIT. Issuances and revocations of presented tokens run in group-committed batches
(batcher.py), token reads in shared lookups; revoke-all in keyset batches (revoking.py).
The connection pools are connections.py, refresh-token rotation rotating.py, the purge of
what has expired purging.py, the events' outbox outbox.py, browser sessions (and code
redemption) sessions.py, status lists status_lists.py, the administrative records'
writes records.py, the token statements several of these run rows.py, the migration
runner's connection migrating.py; the search and count statements are store/querying.py's.
Connection failures surface as StoreUnavailable (503), never as a 200 or as `active:true`
for a token that could not be checked.

PostgreSQL's text cannot hold a NUL character, which SQLite's can (and which any client
can send: `client_id=a%00b`). No stored key holds one, so a lookup by a key with a NUL
finds nothing here without asking the database, as it finds nothing on SQLite; a write
of one is `UnstorableText` (400), never a database error (500).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg
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
    UnstorableText,
    holds_nul,
    storable_session_end,
    without_nul_keys,
    without_nul_patterns,
)
from tokenrevoke.store.postgres import (
    connections,
    outbox,
    purging,
    records,
    rotating,
    sessions,
    status_lists,
)
from tokenrevoke.store.postgres.batcher import (
    LOOKUP,
    UNAVAILABLE,
    WRITE_PARALLEL,
    Batcher,
    Claims,
    IssueJob,
    Outcome,
    RevokeJob,
    WriteJob,
    run_writes,
)
from tokenrevoke.store.postgres.migrating import migrate
from tokenrevoke.store.postgres.records import rows_affected
from tokenrevoke.store.postgres.revoking import revoke_scope
from tokenrevoke.store.postgres.rows import INSERT_TOKENS, SELECT_TOKENS
from tokenrevoke.store.querying import POSTGRES, token_count, token_search

T = TypeVar("T")
_UNAVAILABLE = UNAVAILABLE
# Bigger writes than this (seeding, imports) run on their own rather than in a batch.
_BATCH_ROWS = 256
# Token lookups in flight at once (each shared by the requests that arrived meanwhile).
_READ_PARALLEL = 4


# The database refused a character (a NUL; the encoding of the others is UTF-8).
_UNSTORABLE = (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)


class PostgresStore(Store):
    def __init__(self, pool: asyncpg.Pool, serial: asyncpg.Pool) -> None:
        self._pool = pool
        self._serial = serial  # REPEATABLE READ (connections.py)
        self.claims = Claims()  # keeps the write batches in flight grant-disjoint
        self.writes: Batcher[WriteJob] = Batcher(
            lambda jobs: run_writes(serial, jobs, self.claims), parallel=WRITE_PARALLEL
        )
        self.reads: Batcher[str] = Batcher(self._lookup, parallel=_READ_PARALLEL)

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PostgresStore:
        try:
            await migrate(url)
            pool, serial = await connections.open_pools(url, min_size, max_size)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"cannot reach PostgreSQL: {exc}") from exc
        return cls(pool, serial)

    # -- plumbing ---------------------------------------------------------------------
    async def _run(self, work: Callable[[Any], Awaitable[T]], *, transaction: bool = False) -> T:
        try:
            async with self._pool.acquire() as conn:
                if transaction:
                    async with conn.transaction():
                        return await work(conn)
                return await work(conn)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"postgres: {exc}") from exc
        except _UNSTORABLE as exc:  # a write of a value with a NUL (lookups never send one)
            raise UnstorableText("a value holds a character that cannot be stored") from exc

    async def _run_serial(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """`_run` on a connection whose transactions are REPEATABLE READ."""
        try:
            async with self._serial.acquire() as conn:
                return await work(conn)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"postgres: {exc}") from exc

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        rows: list[Any] = await self._run(lambda conn: conn.fetch(sql, *args))
        return rows

    async def _batched(self, job: WriteJob) -> Any:
        try:
            return await self.writes.submit(job)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"postgres: {exc}") from exc
        except _UNSTORABLE as exc:
            raise UnstorableText("a value holds a character that cannot be stored") from exc

    async def _lookup(self, codes: list[str]) -> list[Outcome]:
        """One read for the token lookups that arrived together (`reads`)."""
        rows = await self._fetch(LOOKUP, list(dict.fromkeys(codes)))
        found = {r[0]: r for r in rows}
        return [(True, found.get(code)) for code in codes]

    # -- tokens -----------------------------------------------------------------------
    async def insert_tokens(self, tokens: Sequence[TokenRecord]) -> None:
        rows = [codec.token_to_row(t) for t in tokens]
        if len(rows) > _BATCH_ROWS:
            await self._run(lambda conn: conn.executemany(INSERT_TOKENS, rows), transaction=True)
        elif rows:
            await self._batched(IssueJob(rows, None))

    async def issue_tokens(self, tokens: Sequence[TokenRecord]) -> bool:
        (client_id,) = {t.client_id for t in tokens}
        # In a batch whose statement locks the client FOR KEY SHARE (batcher.py).
        result: bool = await self._batched(
            IssueJob([codec.token_to_row(t) for t in tokens], client_id)
        )
        return result

    async def get_token(self, code: str) -> TokenRecord | None:
        if holds_nul(code):
            return None
        try:
            row = await self.reads.submit(code)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"postgres: {exc}") from exc
        return None if row is None else codec.token_from_row(row)

    async def get_tokens(self, codes: Sequence[str]) -> list[TokenRecord]:
        storable = [code for code in dict.fromkeys(codes) if not holds_nul(code)]
        if not storable:
            return []
        rows = await self._fetch(f"{SELECT_TOKENS} WHERE tkn_cde = ANY($1::text[])", storable)
        return [codec.token_from_row(r) for r in rows]

    async def revoke(self, target: RevocationTarget, at: int, audit: AuditEvent) -> int:
        storable = without_nul_keys(target)
        if storable is None:
            return 0
        if storable.column is TargetKind.GRANT:
            job = RevokeJob([], None, at, new_id(), (storable.values, audit))
            _, revoked = await self._batched(job)
            return int(revoked)
        return await revoke_scope(self._run, self._run_serial, storable, at, audit)

    async def revoke_grants_of(
        self, codes: Sequence[str], plan: GrantPlanner, at: int
    ) -> tuple[list[TokenRecord], int]:
        unique = [code for code in dict.fromkeys(codes) if not holds_nul(code)]
        result: tuple[list[TokenRecord], int] = await self._batched(
            RevokeJob(unique, plan, at, new_id())
        )
        return result

    async def rotate_refresh_token(
        self, old_code: str, new_tokens: Sequence[TokenRecord], at: int
    ) -> bool:
        rows = [codec.token_to_row(t) for t in new_tokens]
        return await self._run(lambda conn: rotating.rotate(conn, old_code, rows, at))

    async def exchange_previous_refresh_token(
        self, old_code: str, new_tokens: Sequence[TokenRecord], at: int, grace_seconds: int
    ) -> PreviousRefreshToken:
        rows = [codec.token_to_row(t) for t in new_tokens]
        return await self._run(
            lambda conn: rotating.exchange_previous(conn, old_code, rows, at, grace_seconds),
            transaction=True,
        )

    async def purge_expired(
        self, now: int, batch_size: int, keep_lists: Sequence[int] | None = None
    ) -> int:
        return await self._run(
            lambda conn: purging.purge_expired(conn, now, batch_size, keep_lists),
            transaction=True,
        )

    # -- token status lists (their SQL is in status_lists.py) ---------------------------
    async def allocate_status_indices(self, list_id: int, count: int) -> int:
        first = await self._run(
            lambda conn: conn.fetchval(status_lists.ALLOCATE_INDICES, list_id, count)
        )
        return int(first)

    async def read_status_list(self, list_id: int) -> StatusListState | None:
        rows = await self._fetch(status_lists.READ_LIST, list_id)
        if not rows:
            return None
        size, purged, revoked = rows[0]
        return StatusListState(int(size), [int(i) for i in revoked], bytes(purged or b""))

    async def status_list_ids(self) -> list[int]:
        return [int(r[0]) for r in await self._fetch(status_lists.LIST_IDS)]

    async def search_tokens(self, query: TokenQuery) -> tuple[int, list[TokenRecord]]:
        storable = without_nul_patterns(query)
        if storable is None:
            return 0, []
        count, select = token_search(storable, POSTGRES, SELECT_TOKENS)

        async def work(conn: Any) -> tuple[int, list[TokenRecord]]:
            total = await conn.fetchval(count.sql, *count.args)
            rows = await conn.fetch(select.sql, *select.args)
            return int(total), [codec.token_from_row(r) for r in rows]

        return await self._run(work)

    async def count_tokens(self, client_id: str | None = None, live_at: int | None = None) -> int:
        if holds_nul(client_id):
            return 0
        count = token_count(client_id, live_at, POSTGRES)
        rows = await self._fetch(count.sql, *count.args)
        return int(rows[0][0])

    # -- clients and users ------------------------------------------------------------
    async def get_client(self, client_id: str) -> Client | None:
        if holds_nul(client_id):
            return None
        rows = await self._fetch("SELECT data FROM clients WHERE inum = $1", client_id)
        return codec.client_from_json(rows[0][0]) if rows else None

    async def list_clients(self) -> list[Client]:
        rows = await self._fetch("SELECT data FROM clients ORDER BY inum")
        return [codec.client_from_json(r[0]) for r in rows]

    async def save_client(self, client: Client) -> None:
        await self._run(lambda conn: records.save_client(conn, client), transaction=True)

    async def delete_client(self, client_id: str) -> bool:
        if holds_nul(client_id):
            return False
        return await self._run(
            lambda conn: records.delete_client(conn, client_id), transaction=True
        )

    async def get_user_by_uid(self, uid: str) -> User | None:
        if holds_nul(uid):
            return None
        rows = await self._fetch("SELECT data FROM users WHERE uid = $1", uid)
        return codec.user_from_json(rows[0][0]) if rows else None

    async def get_user(self, inum: str) -> User | None:
        if holds_nul(inum):
            return None
        rows = await self._fetch("SELECT data FROM users WHERE inum = $1", inum)
        return codec.user_from_json(rows[0][0]) if rows else None

    async def find_users_by_email(self, email: str) -> list[User]:
        key = codec.email_key(email)
        if key is None or holds_nul(key):
            return []
        rows = await self._fetch("SELECT data FROM users WHERE email = $1", key)
        return sorted((codec.user_from_json(r[0]) for r in rows), key=lambda u: u.inum)

    async def save_user(self, user: User) -> None:
        await self._run(lambda conn: records.save_user(conn, user))

    async def session_ids_of_user(self, user_id: str) -> list[str]:
        if holds_nul(user_id):
            return []
        rows = await self._fetch(
            "SELECT DISTINCT ssn_id FROM tokens WHERE usr_id = $1 AND ssn_id IS NOT NULL",
            user_id,
        )
        return sorted(r[0] for r in rows)  # one order on both backends (no collation)

    # -- browser sessions: their SQL is in sessions.py ---------------------------------
    async def create_session(self, session: SessionRecord) -> None:
        await self._run(lambda conn: sessions.insert(conn, session))

    async def get_session(self, sid: str) -> SessionRecord | None:
        if holds_nul(sid):
            return None
        rows = await self._fetch(sessions.SELECT_BY_SID, sid)
        return codec.session_from_row(rows[0]) if rows else None

    async def get_session_by_cookie(self, cookie_hash: str) -> SessionRecord | None:
        if holds_nul(cookie_hash):
            return None
        rows = await self._fetch(sessions.SELECT_BY_COOKIE, cookie_hash)
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
        if holds_nul(sid):
            return None
        return await self._run(
            lambda conn: sessions.touch(conn, sid, at, idle_expires_at, cookie_hash, auth_time)
        )

    async def list_sessions(self, user_id: str, live_at: int | None = None) -> list[SessionRecord]:
        if holds_nul(user_id):
            return []
        return await self._run(lambda conn: sessions.of_user(conn, user_id, live_at))

    async def end_sessions(self, which: SessionEnd, at: int, audit: AuditEvent) -> EndedSessions:
        storable = storable_session_end(which)
        if storable is None:
            return EndedSessions((), 0)
        revocation_id = new_id()
        return await self._run(
            lambda conn: sessions.end(conn, storable, at, audit, revocation_id), transaction=True
        )

    async def redeem_code(
        self, code: str, new_tokens: Sequence[TokenRecord], at: int
    ) -> CodeRedemption:
        if holds_nul(code):
            return CodeRedemption.UNKNOWN
        return await self._run(
            lambda conn: sessions.redeem(conn, code, new_tokens, at), transaction=True
        )

    async def list_scopes(self) -> list[Scope]:
        rows = await self._fetch("SELECT data FROM scopes ORDER BY id")
        return [codec.scope_from_json(r[0]) for r in rows]

    async def save_scope(self, scope: Scope) -> None:
        await self._run(lambda conn: records.save_scope(conn, scope), transaction=True)

    async def delete_scope(self, inum: str) -> bool:
        if holds_nul(inum):
            return False
        return await self._run(lambda conn: records.delete_scope(conn, inum), transaction=True)

    # -- configuration, scripts, keys -------------------------------------------------
    async def load_config(self) -> tuple[dict[str, Any], int]:
        rows = await self._fetch("SELECT document, revision FROM app_config WHERE id = 1")
        return orjson.loads(rows[0][0]), int(rows[0][1])

    async def save_config(self, document: dict[str, Any], expected_revision: int | None) -> int:
        text = orjson.dumps(document).decode()
        return await self._run(
            lambda conn: records.save_config(conn, text, expected_revision), transaction=True
        )

    async def list_scripts(self) -> list[ScriptDefinition]:
        rows = await self._fetch("SELECT data FROM scripts")
        return sorted((codec.script_from_json(r[0]) for r in rows), key=lambda s: (s.level, s.name))

    async def save_script(self, script: ScriptDefinition) -> ScriptDefinition:
        return await self._run(lambda conn: records.save_script(conn, script), transaction=True)

    async def delete_script(self, inum: str) -> bool:
        if holds_nul(inum):
            return False
        return await self._run(lambda conn: records.delete_script(conn, inum), transaction=True)

    async def list_signing_keys(self) -> list[SigningKey]:
        rows = await self._fetch("SELECT data FROM signing_keys")
        return sorted(
            (codec.key_from_json(r[0]) for r in rows), key=lambda k: (k.created_at, k.kid)
        )

    async def save_signing_key(self, key: SigningKey) -> None:
        await self._run(lambda conn: records.save_signing_key(conn, key), transaction=True)

    async def delete_signing_key(self, kid: str) -> None:
        await self._run(lambda conn: records.delete_signing_key(conn, kid), transaction=True)

    async def revisions(self) -> Revisions:
        return await self._run(records.revisions)

    # -- replay protection, audit -----------------------------------------------------
    async def remember_jti(self, client_id: str, jti: str, expires_at: int) -> bool:
        status = await self._run(
            lambda conn: conn.execute(
                "INSERT INTO jti_seen (cln_id, jti, exp) VALUES ($1, $2, $3) "
                "ON CONFLICT (cln_id, jti) DO UPDATE SET exp = excluded.exp "
                "WHERE jti_seen.exp <= $4",
                client_id,
                jti,
                expires_at,
                int(time.time()),
            )
        )
        return rows_affected(status) == 1

    async def record_fact(self, name: str, value: str) -> str:
        async def work(conn: Any) -> str:
            await conn.execute(
                "INSERT INTO store_facts (name, value) VALUES ($1, $2) "
                "ON CONFLICT (name) DO NOTHING",
                name,
                value,
            )
            return str(await conn.fetchval("SELECT value FROM store_facts WHERE name = $1", name))

        return await self._run(work, transaction=True)

    async def append_audit(self, at: int, audit: AuditEvent) -> None:
        await self._run(lambda conn: records.write_audit(conn, at, audit, 0))

    async def list_audit(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self._fetch(
            "SELECT id, at, action, actor, reason, cln_id, count, details FROM audit "
            "ORDER BY id DESC LIMIT $1",
            limit,
        )
        return [codec.audit_from_row(r) for r in rows]

    # -- revocation events (the outbox: outbox.py) ------------------------------------
    async def publish_events(self, receivers: Sequence[str], limit: int) -> PublishedEvents:
        return await self._run(
            lambda conn: outbox.publish(conn, receivers, limit), transaction=True
        )

    async def list_events(self, after: int, limit: int) -> list[RevocationEvent]:
        rows = await self._fetch(outbox.LIST_EVENTS, after, limit)
        return [codec.event_from_row(r[0], r[1]) for r in rows]

    async def latest_event_position(self) -> int:
        rows = await self._fetch(outbox.LATEST_POSITION)
        return int(rows[0][0])

    async def claim_deliveries(
        self, receivers: Sequence[str], now: int, lease_seconds: int, limit: int
    ) -> list[Delivery]:
        if not receivers:
            return []
        return await self._run(
            lambda conn: outbox.claim(conn, receivers, now, lease_seconds, limit),
            transaction=True,
        )

    async def settle_deliveries(self, outcomes: Sequence[DeliveryOutcome], now: int) -> None:
        if not outcomes:
            return
        await self._run(lambda conn: outbox.settle(conn, outcomes, now), transaction=True)

    async def purge_events(self, before: int, batch_size: int, receivers: Sequence[str]) -> int:
        return await self._run(
            lambda conn: outbox.purge(conn, before, batch_size, receivers), transaction=True
        )

    async def close(self) -> None:
        await self.writes.close()
        await self.reads.close()
        await self._pool.close()
        await self._serial.close()
