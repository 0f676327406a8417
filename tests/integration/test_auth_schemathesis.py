"""Property-based conformance of the auth server against its own OpenAPI document.

schemathesis loads `/jans-auth/restv1/openapi.json` from a real server and, for every
operation (token, revoke, introspection GET and POST, global token revocation, the
revocation event stream, JWKS, discovery, health, metrics), sends
schema-derived requests, positive and negative, checking that the server never answers
5xx, answers only documented status codes and content types with bodies that match their
schemas, never shows a stack trace, and always says `Cache-Control: no-store`. With a
client's Basic credentials, with a Bearer token, and with no credentials at all. The client
holds `global_token_revocation`, so valid global revocations reach the rules (204); it
lacks `revocation_events`, so the event stream only ever answers errors here (a stream
that opened would never end: its 200 is tested in test_event_stream.py).
Bounded and deterministic (tests/support/fuzzing.py).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import schemathesis
from schemathesis import Case, GenerationMode

from tests.support.fuzzing import run_operation
from tests.support.fuzzing import server as server  # the fixture: this suite's own server
from tests.support.server import AUTH, Client, Server
from tokenrevoke.web.auth_openapi import auth_openapi_document

OPS = [
    pytest.param(method.upper(), path, id=f"{method.upper()} {path}")
    for path, item in auth_openapi_document("http://127.0.0.1").get("paths", {}).items()
    for method in item
]
# Operations with something to get wrong (a body or a query).
# (Operations without parameters have no negative data: the JWKS, the current status list
# and the aggregation.)
NEGATIVE_OPS = [
    p
    for p in OPS
    if p.values[1].startswith(AUTH)
    and "jwks" not in p.values[1]
    and not (p.values[1].startswith(f"{AUTH}/status_list") and "{" not in p.values[1])
]
GLOBAL = f"{AUTH}/global-token-revocation"
STREAM = f"{AUTH}/revocation-events"
CLIENT_AUTH_OPS = {f"{AUTH}/token", f"{AUTH}/revoke", f"{AUTH}/introspection", GLOBAL}
BEARER_OPS = [*CLIENT_AUTH_OPS, STREAM]
CREDENTIALS = ["basic", "bearer", "none"]


@pytest.fixture(scope="module")
def schema(server: Server) -> Any:
    return schemathesis.openapi.from_url(f"{server.url}{AUTH}/openapi.json", timeout=10)


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return server.create_client(
        grant_types=["client_credentials", "password", "refresh_token"],
        scopes=["openid", "global_token_revocation"],
    )


@pytest.fixture(scope="module")
def basic(client: Client) -> dict[str, str]:
    pair = f"{client.client_id}:{client.secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


@pytest.fixture(scope="module")
def bearer(server: Server, client: Client) -> dict[str, str]:
    token = server.fetch_token(client, scope="openid global_token_revocation")["access_token"]
    return {"Authorization": "Bearer " + token}


@pytest.fixture(scope="module")
def credentials(basic: dict[str, str], bearer: dict[str, str]) -> dict[str, dict[str, str]]:
    return {"basic": basic, "bearer": bearer, "none": {}}


def inspect(case: Case[Any], response: Any) -> None:
    assert "Traceback" not in response.text
    # The JWKS, and a status list (an answer, not an error), are meant to be cached.
    listed = case.path.startswith(f"{AUTH}/status_list") and response.status_code in (200, 304)
    if case.path.startswith(AUTH) and case.path != f"{AUTH}/jwks" and not listed:
        assert response.headers.get("cache-control") == ["no-store"], response.headers


def run(
    schema: Any, method: str, path: str, mode: GenerationMode, headers: dict[str, str]
) -> list[int]:
    return run_operation(schema, method, path, mode, headers, max_examples=40, inspect=inspect)


def test_document_is_served_with_janssens_operation_ids(server: Server) -> None:
    doc = server.session.get(f"{AUTH}/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    ids = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    assert {"post-token", "revoke", "get-introspection", "post-introspection", "jwks"} <= ids
    revoke = doc["paths"][f"{AUTH}/revoke"]["post"]
    form = revoke["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["token"] and "token_type_hint" in form["properties"]


@pytest.mark.parametrize(("method", "path"), OPS)
def test_conformance_with_basic_credentials(
    schema: Any, basic: dict[str, str], method: str, path: str
) -> None:
    statuses = run(schema, method, path, GenerationMode.POSITIVE, basic)
    assert statuses


@pytest.mark.parametrize(("method", "path"), NEGATIVE_OPS)
def test_negative_data_with_basic_credentials(
    schema: Any, basic: dict[str, str], method: str, path: str
) -> None:
    statuses = run(schema, method, path, GenerationMode.NEGATIVE, basic)
    assert statuses


@pytest.mark.parametrize(("method", "path"), [p for p in OPS if p.values[1] in BEARER_OPS])
def test_conformance_with_bearer_token(
    schema: Any, bearer: dict[str, str], method: str, path: str
) -> None:
    assert run(schema, method, path, GenerationMode.POSITIVE, bearer)


@pytest.mark.parametrize(("method", "path"), [p for p in OPS if p.values[1] in CLIENT_AUTH_OPS])
def test_without_credentials_nothing_is_granted(schema: Any, method: str, path: str) -> None:
    statuses = run(schema, method, path, GenerationMode.POSITIVE, {})
    assert statuses
    if path != f"{AUTH}/revoke":  # an unknown client_id at /revoke is 200, nothing done
        assert not any(200 <= status < 300 for status in statuses), statuses


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_global_revocation_valid_bodies_reach_the_rules(
    schema: Any, credentials: dict[str, dict[str, str]], credential: str
) -> None:
    """Valid bodies with the scope-holding client's credentials are revoked (204) or are
    refused by the subject rules (400: blank id, a member the format needs, a foreign
    iss); without credentials they never get past client authentication."""
    statuses = run(schema, "POST", GLOBAL, GenerationMode.POSITIVE, credentials[credential])
    expected = {204, 400} if credential != "none" else {400, 401}
    assert set(statuses) <= expected and statuses, statuses
    if credential != "none":
        assert 204 in statuses, statuses


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_global_revocation_invalid_bodies_are_refused(
    schema: Any, credentials: dict[str, dict[str, str]], credential: str
) -> None:
    statuses = run(schema, "POST", GLOBAL, GenerationMode.NEGATIVE, credentials[credential])
    assert statuses and not any(200 <= status < 300 for status in statuses), statuses
