"""Conformance of the client, scope and token operations to Janssen's own document
(`../shared/janssen/jans-config-api-swagger.yaml`), through a real server.

schemathesis generates requests from Janssen's schemas (positive and negative data) for
every operation of these tags that we serve, and checks: no 5xx, documented content
types, and every answer whose status Janssen documents matches Janssen's schema for it.
Janssen's document leaves out some statuses Janssen itself answers (400 for a bad body
and 404 for an unknown inum on most of these operations); those are accepted, nothing
else undocumented is.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.support.fuzzing import run_operation
from tests.support.fuzzing import server as server  # the fixture: this suite's own server
from tests.support.janssen import CONFIG_API_DOC, janssen_doc
from tests.support.server import ADMIN_ID, ADMIN_SECRET, Client, Server
from tokenrevoke.paths import CONFIG_API
from tokenrevoke.web.configapi_app import OPERATIONS, T_CLIENT, T_SCOPE, T_TOKEN

OURS = [op for op in OPERATIONS if op.tag in (T_CLIENT, T_SCOPE, T_TOKEN)]
# 400 bad input, 404 unknown inum, 415 a body that is not JSON (or none at all).
UNDOCUMENTED_BUT_JANSSENS = {400, 404, 415}
# Janssen writes dates without an offset (`2024-09-23T15:03:50`: its own examples, and
# what its tools parse), which RFC 3339's date-time, the format its schemas name, does not
# allow; we answer as Janssen does (docs/janssen-compatibility.md). The copy of the
# document used here accepts that form for date-time members, and nothing else changes.
JANSSEN_DATE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"


def _served_in_janssens_document(negative: bool = False) -> list[Any]:
    """Our operations of these tags that Janssen's document has (revoke-user-tokens is
    ours alone), as pytest params; for negative data, those with something that can be
    wrong (a body or a query parameter). A placeholder that skips where the document is
    absent."""
    try:
        paths = janssen_doc(CONFIG_API_DOC)["paths"]
    except pytest.skip.Exception:
        return [pytest.param("GET", "", id="janssen-document-absent")]
    out = []
    for op in OURS:
        janssens = paths.get(op.path, {}).get(op.method.lower())
        if janssens is None:
            continue
        queried = any(p.get("in") == "query" for p in janssens.get("parameters", []))
        if negative and not (queried or "requestBody" in janssens):
            continue
        out.append(pytest.param(op.method, op.path, id=f"{op.method} {op.path}"))
    return out


OPS = _served_in_janssens_document()
NEGATIVE_OPS = _served_in_janssens_document(negative=True)


def _janssens_dates(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("format") == "date-time":
            return {**{k: v for k, v in node.items() if k != "format"}, "pattern": JANSSEN_DATE}
        return {k: _janssens_dates(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_janssens_dates(v) for v in node]
    return node


@pytest.fixture(scope="module")
def schema(server: Server) -> Any:
    loaded = schemathesis.openapi.from_dict(_janssens_dates(janssen_doc(CONFIG_API_DOC)))
    loaded.config.update(base_url=f"{server.url}{CONFIG_API}")
    return loaded


@pytest.fixture
def admin_headers(server: Server) -> dict[str, str]:
    token = server.fetch_token(Client(ADMIN_ID, ADMIN_SECRET))["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _touches_admin(case: Case[Any]) -> bool:
    """True for a case that could delete, disable or rewrite the admin client."""
    if ADMIN_ID in (case.path_parameters or {}).values():
        return True
    body = case.body
    return isinstance(body, dict) and body.get("inum") == ADMIN_ID


def _documented(case: Case[Any], response: Any) -> None:
    documented = {str(s) for s in case.operation.definition.raw.get("responses", {})}
    status = response.status_code
    assert str(status) in documented or status in UNDOCUMENTED_BUT_JANSSENS, (
        case.method,
        case.formatted_path,
        status,
        response.text[:300],
    )


# Status codes are checked by `_documented` (Janssen's document omits some of its own).
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


def _run(schema: Any, method: str, path: str, mode: GenerationMode, headers: Any) -> list[int]:
    return run_operation(
        schema, method, path, mode, headers, skip=_touches_admin, inspect=_documented, checks=CHECKS
    )


@pytest.mark.parametrize(("method", "path"), OPS)
def test_janssens_schemas_with_admin_token(
    schema: Any, admin_headers: dict[str, str], method: str, path: str
) -> None:
    statuses = _run(schema, method, path, GenerationMode.POSITIVE, admin_headers)
    assert statuses and 401 not in statuses and 403 not in statuses, statuses


@pytest.mark.parametrize(("method", "path"), NEGATIVE_OPS)
def test_janssens_schemas_negative_data(
    schema: Any, admin_headers: dict[str, str], method: str, path: str
) -> None:
    statuses = _run(schema, method, path, GenerationMode.NEGATIVE, admin_headers)
    assert statuses and 401 not in statuses and 403 not in statuses, statuses
