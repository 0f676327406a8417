"""The store's connection pools to PostgreSQL and their settings: one pool for most work,
and a small one whose transactions are REPEATABLE READ by default, for the revocations'
last statements (one statement, one transaction, one round trip: batcher.py, revoking.py).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from tokenrevoke.store.postgres.batcher import WRITE_PARALLEL


async def _keep_session(conn: Any) -> None:
    """The pool's reset between uses: nothing to undo (no listeners, cursors or
    session-level locks are ever used, and a pool's session settings are its own; asyncpg
    still rolls back an open transaction first), so none of asyncpg's default reset query,
    a round trip per use."""


async def open_pools(url: str, min_size: int, max_size: int) -> tuple[asyncpg.Pool, asyncpg.Pool]:
    """(the pool, the REPEATABLE READ pool)."""
    options: dict[str, Any] = {"command_timeout": 30, "timeout": 10, "reset": _keep_session}
    pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, **options)
    serial = await asyncpg.create_pool(
        url, min_size=1, max_size=WRITE_PARALLEL + 1, **options,  # + a revoke-all
        server_settings={"default_transaction_isolation": "repeatable read"},
    )  # fmt: skip
    return pool, serial
