from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import throwaway_database
from tests.support.sqlite_store import loop as loop  # the fixture, for every store test
from tokenrevoke.store import Store, open_store

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database, dropped afterwards."""
    with throwaway_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> Iterator[Store]:
    """Each backend in turn; every contract test runs against all of them."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = loop.run_until_complete(open_store(url))
    try:
        yield opened
    finally:
        loop.run_until_complete(opened.close())
