"""Choose a backend from a database URL."""

from __future__ import annotations

from pathlib import Path

from tokenrevoke.store.base import Store


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'tokenrevoke.db').resolve()}"


async def open_store(url: str) -> Store:
    """Open (and migrate) the store at `url`: `sqlite:///path/to/file.db` or
    `postgresql://user@host:5432/database`."""
    if url.startswith("sqlite:///"):
        from tokenrevoke.store.sqlite import SqliteStore

        return await SqliteStore.open(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        from tokenrevoke.store.postgres import PostgresStore

        return await PostgresStore.open(url)
    scheme = url.split(":", 1)[0]
    raise ValueError(
        f"unsupported database URL scheme {scheme!r} (expected sqlite:///... or postgresql://...)"
    )


async def upgrade(url: str) -> list[str]:
    """Apply pending migrations to the store at `url`; returns the names applied."""
    if url.startswith("sqlite:///"):
        from tokenrevoke.store.sqlite.migrating import migrate as migrate_sqlite

        return await migrate_sqlite(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        from tokenrevoke.store.postgres.migrating import migrate as migrate_postgres

        return await migrate_postgres(url)
    raise ValueError(f"unsupported database URL {url.split(':', 1)[0]!r}")


def describe(url: str) -> dict[str, str]:
    """The store behind `url` in the members of Janssen's PersistenceConfiguration: the
    product, driver and database name; never the user, password or host."""
    from urllib.parse import urlsplit

    if url.startswith("sqlite:///"):
        import sqlite3

        return {
            "productName": "SQLite",
            "productVersion": sqlite3.sqlite_version,
            "driverName": "sqlite3",
            "databaseName": Path(url.removeprefix("sqlite:///")).name,
        }
    import asyncpg

    return {
        "productName": "PostgreSQL",
        "driverName": "asyncpg",
        "driverVersion": asyncpg.__version__,
        "databaseName": urlsplit(url).path.lstrip("/"),
    }
