"""PostgreSQL-specific behaviour: migrations under concurrency, an unreachable server, HOT
revocations."""

from __future__ import annotations

import asyncio

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


def test_revocations_are_hot_updates(postgres_url: str, loop: asyncio.AbstractEventLoop) -> None:
    """Migration 0013: no token index holds revoked_at, so a revocation's UPDATE of a token
    outside a status list is HOT (writes no index entry); one in a list still sets the
    status-list index's column and is read back as revoked."""
    from tests.store.test_store_contract import NOW, audit, token
    from tokenrevoke.store import RevocationTarget

    async def scenario() -> None:
        store = await open_store(postgres_url)
        conn = await asyncpg.connect(postgres_url)
        try:
            plain, listed = token("plain"), token("listed")
            await store.insert_tokens([plain, listed])
            await conn.execute(
                "UPDATE tokens SET status_list = 5, status_idx = 3 WHERE tkn_cde = $1", listed.code
            )
            await conn.execute("INSERT INTO status_lists (id, next_idx) VALUES (5, 10)")
            async with conn.transaction():  # the statement the batches run, on one grant
                await conn.execute(
                    "UPDATE tokens SET revoked_at = $1, revoked_by = 'x', revoke_reason = 'y' "
                    "WHERE grt_id = 'plain'",
                    NOW,
                )
                hot = await conn.fetchval(
                    "SELECT pg_stat_get_xact_tuples_hot_updated('tokens'::regclass)"
                )
            assert hot == 1
            assert await store.revoke(RevocationTarget.grants(["listed"]), NOW, audit()) == 1
            state = await store.read_status_list(5)
            assert state is not None and list(state.revoked) == [3]
        finally:
            await conn.close()
            await store.close()

    loop.run_until_complete(scenario())
