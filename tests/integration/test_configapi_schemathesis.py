"""Property-based conformance of the config API against its own OpenAPI document.

schemathesis loads `/jans-config-api/openapi.json` from a real server and, for every
operation of the table that drives routes and document alike, sends schema-derived
requests (positive and negative data), checking that the server never fails with a 5xx,
answers only documented status codes and content types, and that documented bodies match
their schemas. Once with an admin bearer token, once without one (always 401).

Bounded and deterministic (tests/support/fuzzing.py), a few examples per operation. The
admin client cannot be broken by fuzzing: cases that would touch it are skipped, and the
run has its own server (the module-scoped `server` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from schemathesis import Case, GenerationMode

from tests.support.fuzzing import run_operation
from tests.support.fuzzing import server as server  # the fixture: this suite's own server
from tests.support.server import ADMIN_ID, ADMIN_SECRET, Client, Server
from tokenrevoke.paths import CONFIG_API
from tokenrevoke.web.configapi_app import OPERATIONS

OPS = [pytest.param(op.method, op.path, id=f"{op.method} {op.path}") for op in OPERATIONS]
# Negative data needs something that can be wrong: a body or a typed query parameter (any
# string is a valid path parameter).
NEGATIVE_OPS = [
    pytest.param(op.method, op.path, id=f"{op.method} {op.path}")
    for op in OPERATIONS
    if op.request or op.query
]


@pytest.fixture(scope="module")
def schema(server: Server) -> Any:
    return schemathesis.openapi.from_url(f"{server.url}{CONFIG_API}/openapi.json", timeout=10)


@pytest.fixture(scope="module")
def admin_headers(server: Server) -> dict[str, str]:
    token = server.fetch_token(Client(ADMIN_ID, ADMIN_SECRET))["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _touches_admin(case: Case[Any]) -> bool:
    """True for a case that could delete, disable or rewrite the admin client."""
    if (case.path_parameters or {}).get("inum") == ADMIN_ID:
        return True
    body = case.body
    return isinstance(body, dict) and body.get("inum") == ADMIN_ID


def _run(
    schema: Any, method: str, path: str, mode: GenerationMode, headers: dict[str, str]
) -> list[int]:
    return run_operation(schema, method, path, mode, headers, skip=_touches_admin)


@pytest.mark.parametrize(("method", "path"), OPS)
def test_conformance_with_admin_token(
    schema: Any, admin_headers: dict[str, str], method: str, path: str
) -> None:
    statuses = _run(schema, method, path, GenerationMode.POSITIVE, admin_headers)
    assert statuses
    assert 401 not in statuses and 403 not in statuses, statuses


@pytest.mark.parametrize(("method", "path"), NEGATIVE_OPS)
def test_negative_data_with_admin_token(
    schema: Any, admin_headers: dict[str, str], method: str, path: str
) -> None:
    statuses = _run(schema, method, path, GenerationMode.NEGATIVE, admin_headers)
    assert statuses
    assert 401 not in statuses and 403 not in statuses, statuses


# Janssen's health, liveness and readiness need no token.
PROTECTED_OPS = [
    pytest.param(op.method, op.path, id=f"{op.method} {op.path}") for op in OPERATIONS if op.scopes
]


@pytest.mark.parametrize(("method", "path"), PROTECTED_OPS)
def test_conformance_without_token(schema: Any, method: str, path: str) -> None:
    statuses = _run(schema, method, path, GenerationMode.POSITIVE, {})
    assert statuses and set(statuses) == {401}, statuses
