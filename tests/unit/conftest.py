"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.harness import Harness
from tests.support.sqlite_store import loop as loop  # the fixtures, for every unit test
from tests.support.sqlite_store import store as store


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    """The real services in process over a real SQLite store (tests/support/harness.py)."""
    harness = Harness(tmp_path)
    harness.set(introspectionSkipAuthorization=True)
    try:
        yield harness
    finally:
        harness.close()
