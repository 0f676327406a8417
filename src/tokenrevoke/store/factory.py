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
