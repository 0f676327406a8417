"""The PostgreSQL side of the migration runner (store/migrations): its connection, its lock."""

from __future__ import annotations

import zlib
from typing import Any

import asyncpg

from tokenrevoke.store import migrations
from tokenrevoke.store.querying import POSTGRES

_MIGRATION_LOCK = zlib.crc32(b"tokenrevoke-migrations")


async def migrate(url: str) -> list[str]:
    """Apply pending migrations under an advisory lock (safe with many starting nodes)."""
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return await migrations.run(_Ledger(conn))
    finally:
        await conn.close()


class _Ledger:
    """The runner's connection (store/migrations): the lock is a transaction's advisory
    lock, and a whole file goes in one call (asyncpg runs a script without arguments)."""

    backend = "postgres"
    dialect = POSTGRES

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._transaction = conn.transaction()

    async def begin(self) -> None:
        await self._transaction.start()
        await self._conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await self._conn.execute(migrations.SCHEMA_MIGRATIONS)

    def statements(self, script: str) -> list[str]:
        return [script]

    async def execute(self, sql: str, *args: object) -> None:
        await self._conn.execute(sql, *args)

    async def versions(self) -> set[int]:
        return {int(r[0]) for r in await self._conn.fetch("SELECT version FROM schema_migrations")}

    async def commit(self) -> None:
        await self._transaction.commit()

    async def rollback(self) -> None:
        await self._transaction.rollback()
