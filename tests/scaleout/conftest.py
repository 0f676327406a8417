from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import Iterator

import asyncpg
import pytest

from tests.scaleout.postgres_cluster import PrivatePostgres

ADMIN_URL = os.environ.get(
    "TOKENREVOKE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def shared_database() -> Iterator[str]:
    """A throwaway database on the machine's PostgreSQL, shared by the nodes of a test."""
    name = f"tokenrevoke_nodes_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def master_key() -> str:
    """Nodes sharing a database must share the master key (client secrets, signing keys)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    cluster.start()
    cluster.wait_ready()
    try:
        yield cluster
    finally:
        cluster.destroy()
