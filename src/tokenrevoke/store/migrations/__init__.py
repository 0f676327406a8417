"""Schema migrations: numbered SQL files per backend, applied in order, each once.

A deliberately small runner, the same for both stores (see docs/architecture.md): files
are `NNNN_name.sql`; the applied versions are kept in `schema_migrations`. Every pending
file runs in one transaction, under a lock that makes processes starting together wait
for each other: a file that fails leaves the schema as it was, and the next start tries
again. What differs per backend (the lock, how a file is run) is its `Ledger`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

from tokenrevoke.store.querying import Dialect, Params

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(backend: str) -> list[Migration]:
    folder = resources.files("tokenrevoke.store.migrations").joinpath(backend)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions in {backend}: {versions}")
    return found


def pending(backend: str, applied: set[int]) -> list[Migration]:
    return [m for m in load_migrations(backend) if m.version not in applied]


# `applied_at` in seconds; BIGINT is an integer column in both stores.
SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
)


class Ledger(Protocol):
    """One connection to a store, as the runner drives it."""

    backend: str  # the folder of its files
    dialect: Dialect

    async def begin(self) -> None:
        """Start the transaction and take the lock (a concurrent starter waits here);
        `schema_migrations` exists once this returns."""

    def statements(self, script: str) -> list[str]:
        """A file's statements, as the connection runs them."""

    async def execute(self, sql: str, *args: object) -> None: ...

    async def versions(self) -> set[int]:
        """The first column of `SELECT version FROM schema_migrations`."""

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


async def run(ledger: Ledger) -> list[str]:
    """Apply the pending migrations in one transaction; the names of those applied."""
    await ledger.begin()
    try:
        applied: list[str] = []
        for migration in pending(ledger.backend, await ledger.versions()):
            for statement in ledger.statements(migration.sql):
                await ledger.execute(statement)
            params = Params(ledger.dialect)
            values = ", ".join(
                map(params.add, (migration.version, migration.name, int(time.time())))
            )
            await ledger.execute(
                f"INSERT INTO schema_migrations (version, name, applied_at) VALUES ({values})",
                *params.values,
            )
            applied.append(migration.name)
        await ledger.commit()
    except BaseException:
        await ledger.rollback()
        raise
    return applied
