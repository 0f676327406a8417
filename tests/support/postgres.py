"""Throwaway databases on the machine's PostgreSQL (trust auth; CI makes sure it runs)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Iterator

import asyncpg

ADMIN_URL = os.environ.get(
    "TOKENREVOKE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run(sql: str) -> None:
    """Run an admin statement from sync code, inside or outside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_admin(sql))
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _admin(sql)).result()


@contextlib.contextmanager
def throwaway_database(prefix: str = "tokenrevoke_test") -> Iterator[str]:
    """A fresh database's URL, dropped (with its connections) afterwards."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    _run(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
