"""The SQLite side of the migration runner (store/migrations): its connection, its lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tokenrevoke.store import migrations
from tokenrevoke.store.querying import SQLITE
from tokenrevoke.store.sqlite.connections import connect
from tokenrevoke.store.sqlite.files import make_private

# How long a process waits for another one's migrations (workers start together, and
# 0006 rewrites the token table: ~15 s per million tokens) before it gives up.
_MIGRATION_WAIT_MS = 15 * 60 * 1000


async def migrate(path: Path) -> list[str]:
    """Apply pending migrations. Safe to run concurrently from several processes."""
    make_private(path)  # before SQLite creates the file, world-readable
    conn = connect(path)
    conn.execute(f"PRAGMA busy_timeout={_MIGRATION_WAIT_MS}")
    try:
        return await migrations.run(_Ledger(conn))
    finally:
        conn.close()


class _Ledger:
    """Statements run on the calling thread: migrations run before the store serves."""

    backend = "sqlite"
    dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def begin(self) -> None:
        self._conn.execute(migrations.SCHEMA_MIGRATIONS)
        self._conn.execute("BEGIN IMMEDIATE")  # serialises concurrent starters

    def statements(self, script: str) -> list[str]:
        return _split_sql(script)

    async def execute(self, sql: str, *args: object) -> None:
        self._conn.execute(sql, args)

    async def versions(self) -> set[int]:
        return {int(r[0]) for r in self._conn.execute("SELECT version FROM schema_migrations")}

    async def commit(self) -> None:
        self._conn.execute("COMMIT")

    async def rollback(self) -> None:
        self._conn.execute("ROLLBACK")


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
