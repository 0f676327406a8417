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
