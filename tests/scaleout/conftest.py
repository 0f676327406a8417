from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator

import pytest

from tests.scaleout.postgres_cluster import PrivatePostgres
from tests.support.postgres import throwaway_database


@pytest.fixture(scope="module")
def shared_database() -> Iterator[str]:
    """A throwaway database on the machine's PostgreSQL, shared by the nodes of a test."""
    with throwaway_database("tokenrevoke_nodes") as url:
        yield url


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
