"""PostgreSQL-specific behaviour: migrations under concurrency, an unreachable server."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tokenrevoke.store import StoreUnavailable, migrations, open_store
from tokenrevoke.store.postgres.store import migrate


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
