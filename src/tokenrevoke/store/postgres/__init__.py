"""The PostgreSQL backend (asyncpg): the shared store for many server processes and hosts."""

from tokenrevoke.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
