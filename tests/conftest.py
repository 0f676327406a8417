from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import services
from tests.support.chromium import chromium as chromium  # the fixture, for every test
from tests.support.server import Server

TESTS = Path(__file__).resolve().parent
# How a test shows that it needs a service, so that tests anyone adds are marked too.
POSTGRES_FIXTURES = {"postgres_url", "shared_database", "private_postgres"}
POSTGRES_NAMES = {"throwaway_database", "asyncpg"}
REDIS_NAMES = {"redis", "Redis"}
BROWSER_FIXTURES = {"chromium"}
SLOW_PATHS = ("scaleout/", "test_bench_smoke.py", "schemathesis", "integration/test_durability.py",
              "unit/test_token_lifecycle_model.py")  # fmt: skip
TERRAFORM_FREE = ("terraform/test_docs.py", "terraform/test_resources_unit.py")
# In-process suites: no server process, no CLI subprocesses.
FAST_PATHS = ("unit/", "store/")
SERVICE_MARKERS = ("postgres", "redis", "terraform", "slow")


def _code_mentions(item: pytest.Item) -> tuple[set[str], list[str]]:
    """Global names and string constants in the test function's code."""
    function = getattr(item, "function", None)
    code = getattr(function, "__code__", None)
    if code is None:
        return set(), []
    return set(code.co_names), [c for c in code.co_consts if isinstance(c, str)]


def needs(item: pytest.Item) -> set[str]:
    """The markers (pyproject.toml) a test earns from its fixtures, parameters, code and place."""
    path = item.path.resolve().relative_to(TESTS).as_posix()
    fixtures = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    params = set(map(str, callspec.params.values())) if callspec else set()
    names, strings = _code_mentions(item)
    earned = set()
    if (fixtures & POSTGRES_FIXTURES or "postgres" in params or names & POSTGRES_NAMES
            or path.startswith("scaleout/")):  # fmt: skip
        earned.add("postgres")
    if (names & REDIS_NAMES or any(s.startswith("redis://") for s in strings)
            or "redis" in path):  # fmt: skip
        earned.add("redis")
    if fixtures & BROWSER_FIXTURES:
        earned.add("browser")
    if path.startswith("terraform/") and not path.startswith(TERRAFORM_FREE):
        earned.add("terraform")
    if any(part in path for part in SLOW_PATHS):
        earned.add("slow")
    return earned


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for name in needs(item):
            item.add_marker(getattr(pytest.mark, name))
        # `fast` (README, *Tests*): an in-process test that needs no service and is not slow.
        path = item.path.resolve().relative_to(TESTS).as_posix()
        if path.startswith(FAST_PATHS) and not any(
            item.get_closest_marker(name) for name in SERVICE_MARKERS
        ):
            item.add_marker(pytest.mark.fast)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture: a test whose service is missing skips with the reason (fails,
    under TOKENREVOKE_REQUIRE_SERVICES=1)."""
    for name, probe in services.PROBES.items():
        if item.get_closest_marker(name) is None:
            continue
        problem = probe()
        if problem is None:
            continue
        if services.required():
            pytest.fail(f"{name} unavailable and {services.REQUIRE_ENV}=1: {problem}")
        pytest.skip(f"{name} unavailable: {problem}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module; tests make their own clients. A test that changes
    properties restores them (or uses `fresh_server`)."""
    srv = Server(tmp_path_factory.mktemp("srv") / "data").start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "data").start()
    try:
        yield srv
    finally:
        srv.stop()
