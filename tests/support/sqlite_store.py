"""A real SQLite store in process for synchronous tests that drive it through their own
event loop: the `loop` and `store` fixtures. tests/unit/conftest.py offers both to the unit
tests; tests/store/conftest.py takes `loop` (its `store` is each backend in turn)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tokenrevoke.store.sqlite import SqliteStore


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.close()


@pytest.fixture
def store(tmp_path: Path, loop: asyncio.AbstractEventLoop) -> Iterator[SqliteStore]:
    """A fresh SQLite store in the test's temporary folder, closed afterwards."""
    opened = loop.run_until_complete(SqliteStore.open(tmp_path / "store.db"))
    try:
        yield opened
    finally:
        loop.run_until_complete(opened.close())
