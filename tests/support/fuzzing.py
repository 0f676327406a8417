"""Driving schemathesis over a real server, bounded and deterministic.

schemathesis' own pytest plugin (`from_fixture(...).parametrize()`) does not work with this
pytest version, so each operation runs as a plain Hypothesis test over
`APIOperation.as_strategy`: `derandomize`d, no example database, a few examples each;
fewer on PostgreSQL (the suites run on both stores: everything above the store is the
same code, so a smaller sample there looks for what only that store gets wrong, and CI
stays short).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.server import Server
from tests.support.stores import STORES, is_postgres, server_on

# The share of each operation's examples run against a server on PostgreSQL.
POSTGRES_SHARE = 0.3
_share = 1.0


@contextmanager
def example_budget(postgres: bool) -> Iterator[None]:
    """While a suite's server is on PostgreSQL, run_operation sends POSTGRES_SHARE of its
    examples (at least 5)."""
    global _share
    _share = POSTGRES_SHARE if postgres else 1.0
    try:
        yield
    finally:
        _share = 1.0


@pytest.fixture(scope="module", params=STORES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A fuzzing suite's own server, on each store (conftest's is SQLite only), with the
    example budget of its store. Suites import it as their `server` fixture."""
    data_dir = tmp_path_factory.mktemp(f"fuzz-{request.param}") / "data"
    with server_on(request.param, data_dir) as srv, example_budget(is_postgres(srv)):
        yield srv


# No 5xx; only documented status codes and content types; documented bodies match.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def run_operation(
    schema: Any,
    method: str,
    path: str,
    mode: GenerationMode,
    headers: dict[str, str],
    *,
    max_examples: int = 15,
    skip: Callable[[Case[Any]], bool] | None = None,
    inspect: Callable[[Case[Any], Any], None] | None = None,
    checks: list[Any] | None = None,
    follow_redirects: bool = True,
) -> list[int]:
    """Send generated cases of one operation (with `headers` on top of what schemathesis
    generates), run CHECKS on every answer and return the statuses seen. `skip` leaves out
    cases that must not be sent; `inspect(case, response)` adds checks of the caller's;
    `checks` replaces CHECKS; `follow_redirects=False` checks a redirect itself."""
    operation = schema[path][method]
    statuses: list[int] = []

    @settings(
        max_examples=max(5, round(max_examples * _share)) if _share < 1 else max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Case[Any]) -> None:
        if skip is not None and skip(case):
            return
        response = case.call_and_validate(
            checks=CHECKS if checks is None else checks,
            headers=headers,
            timeout=10,
            allow_redirects=follow_redirects,
        )
        statuses.append(response.status_code)
        if inspect is not None:
            inspect(case, response)

    check()
    return statuses
