"""PostgreSQL-specific behaviour: migrations under concurrency, an unreachable server, HOT
revocations."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest

from tokenrevoke.store import StoreUnavailable, migrations, open_store
from tokenrevoke.store.postgres.migrating import migrate


def test_concurrent_starters_apply_migrations_once(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    async def scenario() -> tuple[list[list[str]], list[int]]:
        results = await asyncio.gather(*(migrate(postgres_url) for _ in range(5)))
        conn = await asyncpg.connect(postgres_url)
        try:
            versions = [
                r[0] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")
            ]
        finally:
            await conn.close()
        return list(results), versions

    results, versions = loop.run_until_complete(scenario())
    expected = [m.name for m in migrations.load_migrations("postgres")]
    assert sorted(results, key=len)[-1] == expected
    assert sum(len(r) for r in results) == len(expected)
    assert versions == [m.version for m in migrations.load_migrations("postgres")]


def test_both_backends_have_the_same_migrations() -> None:
    def names(backend: str) -> list[str]:
        return [m.name for m in migrations.load_migrations(backend)]

    assert names("postgres") == names("sqlite")


def test_unreachable_server_is_store_unavailable(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(StoreUnavailable):
        loop.run_until_complete(open_store("postgresql://postgres@127.0.0.1:1/none"))


def test_purge_runs_on_one_node_at_a_time(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """While one node holds the purge lock, another node's purge round does nothing."""
    import time
    import zlib

    from tokenrevoke.crypto import new_id, sha256_hex
    from tokenrevoke.model import TokenRecord, TokenType

    async def scenario() -> tuple[int, int]:
        store = await open_store(postgres_url)
        now = int(time.time())
        expired = [
            TokenRecord(
                sha256_hex(new_id()),
                f"g{i}",
                "c",
                TokenType.ACCESS_TOKEN,
                "client_credentials",
                now - 20,
                now - 10,
            )
            for i in range(5)
        ]
        await store.insert_tokens(expired)
        holder = await asyncpg.connect(postgres_url)
        try:
            async with holder.transaction():
                await holder.execute(
                    "SELECT pg_advisory_xact_lock($1)", zlib.crc32(b"tokenrevoke-purge")
                )
                blocked = await store.purge_expired(now, 100)
            done = await store.purge_expired(now, 100)
        finally:
            await holder.close()
            await store.close()
        return blocked, done

    assert loop.run_until_complete(scenario()) == (0, 5)


def test_a_refresh_committing_during_a_grant_revocation_is_revoked_too(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """Another node's refresh holds the family's refresh token when the revocation reaches
    it, then commits its successor, which the revocation's snapshot cannot see: the
    revocation runs again (REPEATABLE READ) and takes the successor too."""
    import time

    from tokenrevoke.crypto import new_id, sha256_hex
    from tokenrevoke.model import AuditEvent, TokenRecord, TokenType
    from tokenrevoke.store import RevocationTarget
    from tokenrevoke.store.codec import TOKEN_COLUMNS

    now = int(time.time())
    old, access = (
        TokenRecord(sha256_hex(new_id()), "family", "c", kind, "password", now, now + 300)
        for kind in (TokenType.REFRESH_TOKEN, TokenType.ACCESS_TOKEN)
    )
    successor = sha256_hex(new_id())
    copied = ", ".join(TOKEN_COLUMNS[1:-3])

    async def scenario() -> tuple[int, list[bool]]:
        store = await open_store(postgres_url)
        refresher = await asyncpg.connect(postgres_url)
        watcher = await asyncpg.connect(postgres_url)
        try:
            await store.insert_tokens([old, access])
            refresh = refresher.transaction()
            await refresh.start()
            await refresher.execute(
                "UPDATE tokens SET revoked_at = $1, revoked_by = 'rotation', "
                "revoke_reason = 'rotated' WHERE tkn_cde = $2",
                now,
                old.code,
            )
            await refresher.execute(
                f"INSERT INTO tokens (tkn_cde, {copied}) SELECT $1, {copied} FROM tokens "
                "WHERE tkn_cde = $2",
                successor,
                old.code,
            )
            audit = AuditEvent("revoke", "tester", "race")
            revoking = asyncio.create_task(
                store.revoke(RevocationTarget.grants(["family"]), now, audit)
            )
            waiting = (
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            for _ in range(500):  # until the revocation waits on the refresh token's row
                if await watcher.fetchval(waiting):
                    break
                await asyncio.sleep(0.01)
            await refresh.commit()
            revoked = await revoking
            found = {r.code: r for r in await store.get_tokens([access.code, successor])}
            return revoked, [found[c].is_live(now) for c in (access.code, successor)]
        finally:
            await refresher.close()
            await watcher.close()
            await store.close()

    assert loop.run_until_complete(scenario()) == (2, [False, False])


def test_a_batched_revocation_writes_no_index_entry(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """Revoking a client's tokens changes no indexed column (migration 0013), so where
    their page has room every new row version is HOT (heap-only): revoke-all's cost is
    the rows, not an entry in each of the token table's indexes per row."""
    from tests.store.test_store_contract import NOW, audit, token
    from tokenrevoke.store import RevocationTarget
    from tokenrevoke.store.postgres.revoking import revoke_scope

    async def scenario() -> tuple[int, int]:
        store = await open_store(postgres_url)
        conn = await asyncpg.connect(postgres_url)
        try:
            # A few rows: one page, with room for all their new versions.
            await store.insert_tokens([token(f"g{i}", "c1", user="u1") for i in range(8)])

            async def here(work: Any) -> Any:  # the walk's statements on this connection
                return await work(conn)

            revoked = await revoke_scope(
                here, here, RevocationTarget.client("c1"), NOW, audit("hot")
            )
            await conn.execute("SELECT pg_stat_force_next_flush()")
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            hot = await conn.fetchval(
                "SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'tokens'"
            )
            return revoked, int(hot)
        finally:
            await conn.close()
            await store.close()

    assert loop.run_until_complete(scenario()) == (8, 8)


def test_migration_0013_keeps_the_revoked_tokens_of_status_lists(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """A store migrated up to 0012 that holds revoked tokens in a status list: 0013 copies
    them into status_revoked, which lists are then read from."""
    import dataclasses

    from tests.store.test_store_contract import NOW, token
    from tokenrevoke.store import codec
    from tokenrevoke.store.codec import TOKEN_COLUMNS

    revoked, live = (
        dataclasses.replace(
            token(f"g{i}"),
            status_list=4,
            status_idx=i,
            revoked_at=NOW - 1 if i == 1 else None,
            revoked_by="t" if i == 1 else None,
        )  # fmt: skip
        for i in (1, 2)
    )

    async def scenario() -> list[int] | None:
        conn = await asyncpg.connect(postgres_url)
        try:
            await conn.execute(migrations.SCHEMA_MIGRATIONS)
            for migration in migrations.load_migrations("postgres"):
                if migration.version < 13:
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations VALUES ($1, $2, 0)",
                        migration.version,
                        migration.name,
                    )
            await conn.execute("INSERT INTO status_lists (id, next_idx) VALUES (4, 3)")
            names = ", ".join(TOKEN_COLUMNS)
            marks = ", ".join(f"${n + 1}" for n in range(len(TOKEN_COLUMNS)))
            for record in (revoked, live):
                row = codec.token_to_row(record)
                await conn.execute(f"INSERT INTO tokens ({names}) VALUES ({marks})", *row)
        finally:
            await conn.close()
        store = await open_store(postgres_url)  # applies 0013
        try:
            state = await store.read_status_list(4)
        finally:
            await store.close()
        return None if state is None else state.revoked

    assert loop.run_until_complete(scenario()) == [1]


def test_revocation_event_bodies_are_stored_uncompressed(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """Migration 0014: a body goes out of line as it is, never through pglz, which spent a
    sixth of a revoke-all's server CPU failing to shrink bodies of hex digests. (Here the
    body would compress, a long grant id repeated: only the storage setting stops it.)"""
    from tests.store.test_store_contract import NOW, audit, token
    from tokenrevoke.store import RevocationTarget

    async def scenario() -> tuple[int, int]:
        store = await open_store(postgres_url)
        conn = await asyncpg.connect(postgres_url)
        try:
            await store.insert_tokens([token("g" * 300, "c1") for _ in range(20)])
            await store.revoke(RevocationTarget.client("c1"), NOW, audit("bulk"))
            row = await conn.fetchrow(
                "SELECT octet_length(body) AS length, pg_column_size(body) AS stored "
                "FROM revocation_events"
            )
            return int(row["length"]), int(row["stored"])
        finally:
            await conn.close()
            await store.close()

    length, stored = loop.run_until_complete(scenario())
    assert length > 4_000  # out of line, where compression would be tried
    assert stored >= length


def test_a_revoke_all_batch_reads_only_its_own_tokens(
    postgres_url: str, loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokens that share one issue time (a burst, the benchmark's bulk client): each
    batch's statements read the client index's pages of the batch, not the rest of that
    issue time's (a range `(iat, tkn_cde) <= (x, y)` of the index stops only where iat
    passes x, so every batch read on to the client's last token). The last statement
    scans the whole target by design, and is left out."""
    from tests.store.test_store_contract import NOW, audit, token
    from tokenrevoke.store import RevocationTarget
    from tokenrevoke.store.postgres import revoking

    size = 50  # the client index holds about 80 tokens a page: 500 of them, 7 pages
    monkeypatch.setattr(revoking, "REVOKE_BATCH", size)

    def index_pages(plan: dict[str, Any]) -> int:
        """The pages of the client index the plan's scans read (an index-only scan's
        visits to the table left out)."""
        here = 0
        if plan.get("Index Name") == "tokens_by_client":
            blocks = int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])
            here = blocks - int(plan.get("Heap Fetches", 0))
        return here + sum(index_pages(p) for p in plan.get("Plans", []))

    async def scenario() -> tuple[int, list[int]]:
        store = await open_store(postgres_url)
        conn = await asyncpg.connect(postgres_url)
        read: list[int] = []

        class Counted:  # each statement's plan, run once in a rolled-back transaction
            async def _count(self, sql: str, *args: Any) -> None:
                tx = conn.transaction()
                await tx.start()
                try:
                    explain = f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"
                    plan = json.loads(await conn.fetchval(explain, *args))[0]["Plan"]
                    read.append(index_pages(plan))
                finally:
                    await tx.rollback()

            async def fetchrow(self, sql: str, *args: Any) -> Any:
                await self._count(sql, *args)
                return await conn.fetchrow(sql, *args)

            async def fetchval(self, sql: str, *args: Any) -> Any:
                await self._count(sql, *args)
                return await conn.fetchval(sql, *args)

        async def batches(work: Any) -> Any:
            return await work(Counted())

        async def last(work: Any) -> Any:
            return await work(conn)

        try:
            others = [token(f"o{i}", "c2") for i in range(2_000)]  # a table worth an index
            await store.insert_tokens([*others, *(token(f"g{i}", "c1") for i in range(10 * size))])
            await conn.execute("ANALYZE tokens")
            # Plans for these arguments: a generic plan for a table this small may read the
            # client's index whole (at scale it is the same index seek, EXPLAIN EXECUTE).
            await conn.execute("SET plan_cache_mode = force_custom_plan")
            revoked = await revoking.revoke_scope(
                batches, last, RevocationTarget.client("c1"), NOW, audit("bulk")
            )
            return revoked, read
        finally:
            await conn.close()
            await store.close()

    revoked, read = loop.run_until_complete(scenario())
    assert revoked == 10 * size
    assert len(read) >= 10, read
    assert max(read) <= 4, read  # the root, the batch's leaf or two, per read
