"""The embedded SQLite backend (WAL, one writer thread with group commit)."""

from tokenrevoke.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
