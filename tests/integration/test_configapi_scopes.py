"""The config API's scope matrix: for every operation, each scope Janssen accepts gets
past authorization, and every other config API scope is refused with 403.

The source of truth is Janssen's jans-config-api swagger (security lists are
OR-alternatives), written out below with our few extensions; the served OpenAPI document
and the operation table must agree with it. One client holds every scope; one token per
scope is cached for the module, so the matrix costs one request per cell.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.test_configapi_support import (
    AS_CFG,
    CFG,
    PREFIX,
    ConfigApi,
    admin_api,
    assert_api_error,
    fill,
)
from tests.support.server import Server
from tokenrevoke.web.configapi_app import OPERATIONS, Operation

_READ_ALL, _WRITE_ALL, _DELETE_ALL = CFG + "read-all", CFG + "write-all", CFG + "delete-all"


def _read(resource: str) -> tuple[str, ...]:
    return (f"{resource}.readonly", f"{resource}.write", f"{resource}.admin", _READ_ALL,
            _WRITE_ALL)  # fmt: skip


def _write(resource: str) -> tuple[str, ...]:
    return (f"{resource}.write", f"{resource}.admin", _WRITE_ALL)


def _delete(resource: str) -> tuple[str, ...]:
    return (f"{resource}.delete", f"{resource}.admin", _DELETE_ALL)


TOKEN, CLIENTS, SCOPES = CFG + "token", CFG + "openid/clients", CFG + "scopes"
SCRIPTS, PROPS = CFG + "scripts", AS_CFG + "properties"
OPENID_READ, OPENID_WRITE = CFG + "openid/openid.readonly", CFG + "openid/openid.write"
OPENID_DELETE = CFG + "openid/openid.delete"
SESSION = "https://jans.io/oauth/jans-auth-server/session"
SESSION_READ = (f"{SESSION}.readonly", f"{SESSION}.admin", _READ_ALL, _WRITE_ALL)
SESSION_DELETE = (f"{SESSION}.delete", f"{SESSION}.admin", _DELETE_ALL)

# (method, path) -> (operationId, accepted scopes), from Janssen's swagger.
JANSSEN: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("GET", "/api/v1/token/client/{clientId}"): ("get-token-by-client", _read(TOKEN)),
    ("GET", "/api/v1/token/tknCde/{tknCde}"): ("get-token-by-id", _read(TOKEN)),
    ("DELETE", "/api/v1/token/revoke/{tknCde}"): (
        "revoke-token", (TOKEN + ".delete", OPENID_DELETE, TOKEN + ".admin", _DELETE_ALL)),
    ("GET", "/api/v1/token/search"): ("search-token", _read(TOKEN)),
    ("GET", "/api/v1/openid/clients"): (
        "get-oauth-openid-clients", (*_read(CLIENTS), OPENID_READ)),
    ("PUT", "/api/v1/openid/clients"): (
        "put-oauth-openid-client", (*_write(CLIENTS), OPENID_WRITE)),
    ("POST", "/api/v1/openid/clients"): (
        "post-oauth-openid-client", (*_write(CLIENTS), OPENID_WRITE)),
    ("GET", "/api/v1/openid/clients/{inum}"): (
        "get-oauth-openid-clients-by-inum", _read(CLIENTS)),
    ("DELETE", "/api/v1/openid/clients/{inum}"): (
        "delete-oauth-openid-client-by-inum", (*_delete(CLIENTS), OPENID_DELETE)),
    ("PATCH", "/api/v1/openid/clients/{inum}"): (
        "patch-oauth-openid-client-by-inum", (*_write(CLIENTS), OPENID_WRITE)),
    ("GET", "/api/v1/scopes"): ("get-oauth-scopes", _read(SCOPES)),
    ("PUT", "/api/v1/scopes"): ("put-oauth-scopes", _write(SCOPES)),
    ("POST", "/api/v1/scopes"): ("post-oauth-scopes", _write(SCOPES)),
    ("GET", "/api/v1/scopes/{inum}"): ("get-oauth-scopes-by-inum", _read(SCOPES)),
    ("DELETE", "/api/v1/scopes/{inum}"): ("delete-oauth-scopes-by-inum", _delete(SCOPES)),
    ("PATCH", "/api/v1/scopes/{inum}"): ("patch-oauth-scopes-by-id", _write(SCOPES)),
    ("GET", "/api/v1/scopes/type/{type}"): ("get-scope-by-type", _read(SCOPES)),
    ("GET", "/api/v1/jans-auth-server/config"): ("get-properties", _read(PROPS)),
    ("PATCH", "/api/v1/jans-auth-server/config"): ("patch-properties", _write(PROPS)),
    ("GET", "/api/v1/jans-auth-server/config/feature-flags"): (
        "get-feature-flag-type", _read(PROPS)),
    ("GET", "/api/v1/config/scripts"): ("get-config-scripts", _read(SCRIPTS)),
    ("PUT", "/api/v1/config/scripts"): ("put-config-scripts", _write(SCRIPTS)),
    ("POST", "/api/v1/config/scripts"): ("post-config-scripts", _write(SCRIPTS)),
    ("DELETE", "/api/v1/config/scripts/{inum}"): (
        "delete-config-scripts-by-inum", _delete(SCRIPTS)),
    ("PATCH", "/api/v1/config/scripts/{inum}"): ("patch-config-scripts-by-inum", _write(SCRIPTS)),
    ("GET", "/api/v1/config/scripts/inum/{inum}"): ("get-config-scripts-by-inum", _read(SCRIPTS)),
    ("GET", "/api/v1/config/scripts/name/{name}"): ("get-custom-script-by-name", _read(SCRIPTS)),
    ("GET", "/api/v1/config/scripts/types"): ("get-custom-script-type", _read(SCRIPTS)),
    ("GET", "/api/v1/config/scripts/script-types"): ("get-custom-script-types", _read(SCRIPTS)),
    ("GET", "/api/v1/config/scripts/type/{type}"): ("get-config-scripts-by-type", _read(SCRIPTS)),
    ("GET", "/api/v1/jans-auth-server/config/persistence"): (
        "get-properties-persistence", _read(PROPS)),
    ("GET", "/api/v1/logging"): ("get-config-logging", _read(CFG + "logging")),
    ("PUT", "/api/v1/logging"): ("put-config-logging", _write(CFG + "logging")),
    ("GET", "/api/v1/health"): ("get-config-health", ()),
    ("GET", "/api/v1/health/live"): ("get-config-health-live", ()),
    ("GET", "/api/v1/health/ready"): ("get-config-health-ready", ()),
    ("GET", "/api/v1/health/app-version"): (
        "get-app-version", (CFG + "app-version.readonly", CFG + "health.admin", _READ_ALL)),
    ("GET", "/api/v1/plugin"): (
        "get-plugins", (CFG + "plugin.readonly", CFG + "plugin.admin", _READ_ALL, _WRITE_ALL)),
    ("GET", "/api/v1/plugin/{pluginName}"): (
        "get-plugin-by-name",
        (CFG + "plugin.readonly", CFG + "plugin.admin", _READ_ALL, _WRITE_ALL)),
    ("GET", "/api/v1/attributes"): ("get-attributes", _read(CFG + "attributes")),
    ("GET", "/api/v1/acrs"): ("get-acrs", _read(CFG + "acrs")),
    ("GET", "/api/v1/config/jwks"): ("get-config-jwks", _read(CFG + "jwks")),
    ("GET", "/api/v1/jans-auth-server/session/search"): ("search-session", SESSION_READ),
    ("GET", "/api/v1/jans-auth-server/session/sid/{sid}"): ("get-session-by-id", SESSION_READ),
}  # fmt: skip
# Janssen's server-stat has no security; ours takes app-version's scopes (host figures).
# Janssen's session deletions name session.delete together with revoke_session in one
# requirement; ours take session.delete alone, never revoke_session (an auth-server scope a
# relying party may hold) alone.
STRICTER: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("GET", "/api/v1/health/server-stat"): (
        "get-server-stat", JANSSEN[("GET", "/api/v1/health/app-version")][1]),
    ("DELETE", "/api/v1/jans-auth-server/session/sid/{sid}"): ("delete-session", SESSION_DELETE),
    ("DELETE", "/api/v1/jans-auth-server/session/user/{userDn}"): (
        "revoke-user-session", SESSION_DELETE),
}  # fmt: skip
# Our extensions, not in Janssen's swagger: each takes the scopes of its nearest Janssen
# operation (revoking a user's tokens takes what revoking one token takes).
EXTENSIONS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("POST", "/api/v1/token/revoke/user/{userId}"): (
        "revoke-user-tokens", JANSSEN[("DELETE", "/api/v1/token/revoke/{tknCde}")][1]),
}  # fmt: skip
EXPECTED = {**JANSSEN, **STRICTER, **EXTENSIONS}
# Every scope any operation accepts, plus ordinary scopes: the universe of "wrong" scopes.
ALL_SCOPES = sorted({s for _, scopes in EXPECTED.values() for s in scopes} | {"openid"})
BY_KEY = {(op.method, op.path): op for op in OPERATIONS}


@pytest.fixture(scope="module")
def api(server: Server) -> ConfigApi:
    return admin_api(server)


@pytest.fixture(scope="module")
def tokens(server: Server, api: ConfigApi) -> dict[str, str]:
    """One access token per scope, each carrying only that scope."""
    holder = api.client_with_scopes(*ALL_SCOPES)
    out = {}
    for scope in ALL_SCOPES:
        granted = server.fetch_token(holder, scope=scope)
        assert granted["scope"] == scope, granted
        out[scope] = granted["access_token"]
    return out


def _harmless_call(api: ConfigApi, op: Operation, token: str) -> httpx.Response:
    """Gets past authorization, changes nothing: unknown ids (404), `[]` as the body (400
    for a resource, an empty JSON Patch for the properties)."""
    body: Any = [] if op.request else None
    return api.call(op.method, fill(op.path), token=token, json=body,
                    content_type=op.request_type if op.request else None)  # fmt: skip


def test_the_table_matches_janssen() -> None:
    ours = {(op.method, op.path): (op.operation_id, set(op.scopes)) for op in OPERATIONS}
    janssen = {key: (op_id, set(scopes)) for key, (op_id, scopes) in EXPECTED.items()}
    assert ours == janssen


def test_the_served_document_matches_janssen(server: Server) -> None:
    doc = server.session.get(f"{PREFIX}/openapi.json").json()
    served = {
        (method.upper(), path): (
            spec["operationId"],
            {scope for entry in spec["security"] for scope in entry["oauth2"]},
        )
        for path, methods in doc["paths"].items()
        for method, spec in methods.items()
    }
    assert served == {key: (op_id, set(scopes)) for key, (op_id, scopes) in EXPECTED.items()}
    # Each alternative is its own requirement object: any one scope is enough.
    for methods in doc["paths"].values():
        for spec in methods.values():
            assert all(len(entry["oauth2"]) == 1 for entry in spec["security"])
    declared = doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert set(ALL_SCOPES) - {"openid"} <= set(declared["scopes"])


ACCEPTED = [
    pytest.param(method, path, scope, id=f"{op_id}-{scope.rsplit('/', 1)[-1]}")
    for (method, path), (op_id, scopes) in EXPECTED.items()
    for scope in scopes
]


@pytest.mark.parametrize(("method", "path", "scope"), ACCEPTED)
def test_accepted_scope_passes(
    api: ConfigApi, tokens: dict[str, str], method: str, path: str, scope: str
) -> None:
    response = _harmless_call(api, BY_KEY[(method, path)], tokens[scope])
    assert response.status_code not in (401, 403, 500), response.text
    assert response.status_code < 500


@pytest.mark.parametrize(
    ("method", "path"),
    [pytest.param(m, p, id=op_id) for (m, p), (op_id, s) in EXPECTED.items() if s],
)
def test_every_other_scope_is_403(
    api: ConfigApi, tokens: dict[str, str], method: str, path: str
) -> None:
    _, accepted = EXPECTED[(method, path)]
    wrong = [scope for scope in ALL_SCOPES if scope not in accepted]
    assert wrong
    for scope in wrong:
        response = _harmless_call(api, BY_KEY[(method, path)], tokens[scope])
        assert_api_error(response, 403)
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and 'error="insufficient_scope"' in challenge, (
            scope,
            challenge,
        )
