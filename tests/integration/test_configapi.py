"""The config API (`/jans-config-api/api/v1/...`, docs/janssen-compatibility.md, *Config API*)
through a real `tokenrevoke serve` process.

Every operation of the table in `tokenrevoke.web.configapi_app` is exercised for success, for
401 (no token, a garbage token, a revoked and an expired token), 403 (a token without the
scopes) and, where the contract says so, 404; then 400/415 on bad input. Errors are always
Janssen's ApiError JSON, never a 500. Then the semantics: token revocation (cascade,
audit, search), properties and feature flags (in force without restart), clients, scopes
and scripts.

One server for the module; every test makes its own clients through the config API, and a
test that changes a property or installs an enabled script undoes it before it ends.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from tests.integration.test_configapi_support import (
    ADMIN,
    CFG,
    JSON,
    JSON_PATCH,
    ConfigApi,
    admin_api,
    assert_api_error,
    fill,
)
from tests.support.revoke_scripts import script_source
from tests.support.server import AUTH, Client, Server
from tests.support.wire import sha256_hex
from tokenrevoke.web.configapi_app import OPERATIONS, Operation

ALL_FLAGS = [
    "UNKNOWN", "HEALTH_CHECK", "USERINFO", "CLIENTINFO", "ID_GENERATION", "REGISTRATION",
    "INTROSPECTION", "REVOKE_TOKEN", "REVOKE_SESSION", "GLOBAL_TOKEN_REVOCATION",
    "STATUS_LIST", "LOGOUT_STATUS_JWT", "ACTIVE_SESSION", "END_SESSION", "STATUS_SESSION",
    "JANS_CONFIGURATION", "CIBA", "UMA", "U2F", "DEVICE_AUTHZ", "METRIC", "STAT", "PAR",
    "ACCESS_EVALUATION", "RATE_LIMIT", "SSA",
]  # fmt: skip
PASSWORD = "correct-horse-battery"  # noqa: S105 - test user
BY_ID = {op.operation_id: op for op in OPERATIONS}


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


ALLOW = script_source("return True\n")
VETO = script_source("""
    context.getResponseBuilder().header("X-Test-Script", "configapi-veto")
    return False
""")


# -- fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api(server: Server) -> ConfigApi:
    return admin_api(server)


@pytest.fixture(scope="module")
def user(server: Server) -> str:
    name = unique("user")
    server.create_user(name, PASSWORD)
    return name


@pytest.fixture(scope="module")
def password_client(api: ConfigApi) -> Client:
    return api.create_client(
        grantTypes=["password", "refresh_token", "client_credentials"],
        scopes=["openid", "profile"],
    )


def password_grant(
    server: Server, client: Client, user: str, scope: str = "profile"
) -> dict[str, Any]:
    """A grant with an access and a refresh token (and an id_token with scope openid)."""
    tokens = server.password_token(client, user, PASSWORD, scope=scope)
    assert tokens.get("refresh_token"), tokens
    return tokens


def grant_entries(api: ConfigApi, grant_id: str) -> list[dict[str, Any]]:
    page = api.ok("GET", "/token/search", params={"fieldValuePair": f"grtId={grant_id}"})
    entries: list[dict[str, Any]] = page["entries"]
    return entries


@dataclass
class World:
    """Things that exist, for the per-operation success calls."""

    client: Client
    token: str
    scope: dict[str, Any]
    script: dict[str, Any]
    revoked_token: str
    expired_token: str
    wrong_scope_token: str
    made: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def world(server: Server, api: ConfigApi) -> World:
    everything = [*_CONFIG_SCOPES]
    expiring = api.create_client(scopes=everything, accessTokenLifetime=1)
    expired = server.fetch_token(expiring)
    client = api.create_client(scopes=["openid"])
    token = server.fetch_token(client)["access_token"]
    scope = api.ok("POST", "/scopes", 201, json={"id": unique("scope"), "description": "world"})
    script = api.ok(
        "POST",
        "/config/scripts",
        201,
        json={
            "name": unique("world"),
            "scriptType": "revoke_token",
            "script": ALLOW,
            "enabled": False,
        },
    )
    revoked_holder = api.create_client(scopes=everything)
    revoked = server.fetch_token(revoked_holder)["access_token"]
    assert server.send_revoke(revoked_holder, token=revoked).status_code == 200
    wrong = server.fetch_token(client, scope="openid")["access_token"]
    # The expiring token lives one second; wait it out (once, for the whole module).
    deadline = time.time() + expired["expires_in"] + 1.05
    while time.time() < deadline:
        time.sleep(0.05)
    return World(client, token, scope, script, revoked, expired["access_token"], wrong)


SESSION = "/jans-auth-server/session"
_CONFIG_SCOPES = sorted({scope for op in OPERATIONS for scope in op.scopes})


# -- every operation: success -----------------------------------------------------------
@dataclass
class Call:
    method: str
    path: str
    status: int = 200
    json: Any = None
    patch: Any = None
    params: dict[str, Any] | None = None


def _fresh_token(server: Server, world: World) -> str:
    token: str = server.fetch_token(world.client)["access_token"]
    return token


def _new_user(server: Server) -> str:
    name = unique("user")
    server.create_user(name, PASSWORD)
    return name


def _signed_in(server: Server) -> str:
    """A new user signs in through the sign-in form: the id (sid) of their session."""
    import jwt

    from tests.support.browser import Browser, exchange, pkce_pair

    name, back_to = _new_user(server), "https://app.example/cb"
    app = server.create_client("--name", unique("app"), "--grant-type", "authorization_code",
                               "--scope", "openid", "--redirect-uri", back_to)  # fmt: skip
    verifier, challenge = pkce_pair()
    with Browser(server) as browser:
        back = browser.code(name, PASSWORD, response_type="code", client_id=app.client_id,
                            redirect_uri=back_to, scope="openid", nonce="n",
                            code_challenge=challenge, code_challenge_method="S256")  # fmt: skip
    tokens = exchange(server, back["code"], back_to, app.basic, code_verifier=verifier).json()
    sid: str = jwt.decode(tokens["id_token"], options={"verify_signature": False})["sid"]
    return sid


SUCCESS: dict[str, Callable[[Server, ConfigApi, World], Call]] = {
    "get-token-by-client": lambda s, a, w: Call("GET", f"/token/client/{w.client.client_id}"),
    "get-token-by-id": lambda s, a, w: Call("GET", f"/token/tknCde/{sha256_hex(w.token)}"),
    "revoke-token": lambda s, a, w: Call(
        "DELETE", f"/token/revoke/{sha256_hex(_fresh_token(s, w))}", 204
    ),
    "revoke-user-tokens": lambda s, a, w: Call("POST", f"/token/revoke/user/{_new_user(s)}"),
    "search-token": lambda s, a, w: Call("GET", "/token/search", params={"limit": 5}),
    "get-oauth-openid-clients": lambda s, a, w: Call("GET", "/openid/clients"),
    "put-oauth-openid-client": lambda s, a, w: Call(
        "PUT",
        "/openid/clients",
        json={**a.ok("GET", f"/openid/clients/{w.client.client_id}"), "clientName": "put"},
    ),
    "post-oauth-openid-client": lambda s, a, w: Call(
        "POST", "/openid/clients", 201, json={"clientName": unique("post")}
    ),
    "get-oauth-openid-clients-by-inum": lambda s, a, w: Call(
        "GET", f"/openid/clients/{w.client.client_id}"
    ),
    "delete-oauth-openid-client-by-inum": lambda s, a, w: Call(
        "DELETE", f"/openid/clients/{a.create_client().client_id}", 204
    ),
    "patch-oauth-openid-client-by-inum": lambda s, a, w: Call(
        "PATCH",
        f"/openid/clients/{w.client.client_id}",
        patch=[{"op": "replace", "path": "/clientName", "value": "patched"}],
    ),
    "get-oauth-scopes": lambda s, a, w: Call("GET", "/scopes"),
    "put-oauth-scopes": lambda s, a, w: Call(
        "PUT", "/scopes", json={**w.scope, "description": "put"}
    ),
    "post-oauth-scopes": lambda s, a, w: Call("POST", "/scopes", 201, json={"id": unique()}),
    "get-oauth-scopes-by-inum": lambda s, a, w: Call("GET", f"/scopes/{w.scope['inum']}"),
    "delete-oauth-scopes-by-inum": lambda s, a, w: Call(
        "DELETE", f"/scopes/{a.ok('POST', '/scopes', 201, json={'id': unique()})['inum']}", 204
    ),
    "patch-oauth-scopes-by-id": lambda s, a, w: Call(
        "PATCH",
        f"/scopes/{w.scope['inum']}",
        patch=[{"op": "replace", "path": "/description", "value": "patched"}],
    ),
    "get-scope-by-type": lambda s, a, w: Call("GET", "/scopes/type/oauth"),
    "get-properties": lambda s, a, w: Call("GET", "/jans-auth-server/config"),
    "patch-properties": lambda s, a, w: Call(
        "PATCH",
        "/jans-auth-server/config",
        patch=[{"op": "replace", "path": "/errorReasonEnabled", "value": False}],
    ),
    "get-feature-flag-type": lambda s, a, w: Call("GET", "/jans-auth-server/config/feature-flags"),
    "get-config-scripts": lambda s, a, w: Call("GET", "/config/scripts"),
    "put-config-scripts": lambda s, a, w: Call(
        "PUT", "/config/scripts", json={**w.script, "description": "put"}
    ),
    "post-config-scripts": lambda s, a, w: Call(
        "POST",
        "/config/scripts",
        201,
        json={
            "name": unique("post"),
            "scriptType": "revoke_token",
            "script": ALLOW,
            "enabled": False,
        },
    ),
    "delete-config-scripts-by-inum": lambda s, a, w: Call(
        "DELETE",
        "/config/scripts/"
        + a.ok(
            "POST",
            "/config/scripts",
            201,
            json={
                "name": unique("del"),
                "script": ALLOW,
                "scriptType": "revoke_token",
                "enabled": False,
            },
        )["inum"],
        204,
    ),
    "patch-config-scripts-by-inum": lambda s, a, w: Call(
        "PATCH",
        f"/config/scripts/{w.script['inum']}",
        patch=[{"op": "replace", "path": "/description", "value": "patched"}],
    ),
    "get-config-scripts-by-inum": lambda s, a, w: Call(
        "GET", f"/config/scripts/inum/{w.script['inum']}"
    ),
    "get-custom-script-by-name": lambda s, a, w: Call(
        "GET", f"/config/scripts/name/{w.script['name']}"
    ),
    "get-custom-script-type": lambda s, a, w: Call("GET", "/config/scripts/types"),
    "get-custom-script-types": lambda s, a, w: Call("GET", "/config/scripts/script-types"),
    "get-config-scripts-by-type": lambda s, a, w: Call("GET", "/config/scripts/type/revoke_token"),
    "get-properties-persistence": lambda s, a, w: Call("GET", f"{CONFIG}/persistence"),
    "get-config-logging": lambda s, a, w: Call("GET", "/logging"),
    "put-config-logging": lambda s, a, w: Call("PUT", "/logging", json={"loggingLayout": "text"}),
    "get-config-health": lambda s, a, w: Call("GET", "/health"),
    "get-config-health-live": lambda s, a, w: Call("GET", "/health/live"),
    "get-config-health-ready": lambda s, a, w: Call("GET", "/health/ready"),
    "get-app-version": lambda s, a, w: Call("GET", "/health/app-version"),
    "get-server-stat": lambda s, a, w: Call("GET", "/health/server-stat"),
    "get-plugins": lambda s, a, w: Call("GET", "/plugin"),
    "get-plugin-by-name": lambda s, a, w: Call("GET", "/plugin/scim"),
    "get-attributes": lambda s, a, w: Call("GET", "/attributes", params={"limit": 100}),
    "get-config-jwks": lambda s, a, w: Call("GET", "/config/jwks"),
    "get-acrs": lambda s, a, w: Call("GET", "/acrs"),
    "search-session": lambda s, a, w: Call(
        "GET", f"{SESSION}/search", params={"fieldValuePair": f"userDn={_new_user(s)}"}
    ),
    "get-session-by-id": lambda s, a, w: Call("GET", f"{SESSION}/sid/{_signed_in(s)}"),
    "delete-session": lambda s, a, w: Call("DELETE", f"{SESSION}/sid/{_signed_in(s)}", 204),
    "revoke-user-session": lambda s, a, w: Call("DELETE", f"{SESSION}/user/{_new_user(s)}", 204),
}


def test_every_operation_has_a_success_case() -> None:
    assert set(SUCCESS) == set(BY_ID)


@pytest.mark.parametrize("operation_id", sorted(BY_ID))
def test_success(server: Server, api: ConfigApi, world: World, operation_id: str) -> None:
    op = BY_ID[operation_id]
    call = SUCCESS[operation_id](server, api, world)
    assert call.method == op.method
    response = api.call(
        call.method, call.path, json=call.json, patch=call.patch, params=call.params
    )
    assert response.status_code == call.status == op.status, response.text
    assert response.headers.get("cache-control") == "no-store"
    if call.status == 204:
        assert response.content == b""
        return
    assert response.headers["content-type"].startswith(JSON)
    body = response.json()
    if op.response in ("PagedResult", "TokenEntityPagedResult"):
        assert set(body) == {"start", "totalEntriesCount", "entriesCount", "entries"}
        assert body["entriesCount"] == len(body["entries"])
    elif op.response in ("StringList", "ScopeList", "HealthStatusList", "PluginConfList"):
        assert isinstance(body, list)
    elif op.response == "Boolean":
        assert isinstance(body, bool)
    elif op.response == "AuthenticationMethod":
        assert body == {}  # no default ACR here
    else:
        assert isinstance(body, dict) and body


# -- every operation: 401, 403 ----------------------------------------------------------
def _any_call(api: ConfigApi, op: Operation, token: str | None | bool) -> httpx.Response:
    """The operation with a placeholder path and a harmless body; auth comes first."""
    body: Any = [] if op.request else None
    return api.call(
        op.method,
        fill(op.path),
        token=token,
        json=body,
        content_type=op.request_type if op.request else None,
    )


CREDENTIALS = ["none", "garbage", "revoked", "expired", "basic", "empty-bearer"]


# Janssen's health, liveness and readiness need no token.
PROTECTED = sorted(op_id for op_id, op in BY_ID.items() if op.scopes)


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize("operation_id", PROTECTED)
def test_unauthenticated_is_401(
    api: ConfigApi, world: World, operation_id: str, credential: str
) -> None:
    op = BY_ID[operation_id]
    headers: dict[str, str] = {}
    token: str | None = None
    if credential == "garbage":
        token = "not-a-token-" + uuid.uuid4().hex
    elif credential == "revoked":
        token = world.revoked_token
    elif credential == "expired":
        token = world.expired_token
    elif credential == "basic":
        headers = {"Authorization": "Basic dGVzdC1hZG1pbjp4"}
    elif credential == "empty-bearer":
        headers = {"Authorization": "Bearer"}
    body: Any = [] if op.request else None
    response = api.call(
        op.method,
        fill(op.path),
        token=token,
        json=body,
        headers=headers,
        content_type=op.request_type if op.request else None,
    )
    assert_api_error(response, 401)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    if credential in ("garbage", "revoked", "expired"):
        assert 'error="invalid_token"' in challenge


@pytest.mark.parametrize("operation_id", PROTECTED)
def test_token_without_the_scopes_is_403(api: ConfigApi, world: World, operation_id: str) -> None:
    op = BY_ID[operation_id]
    response = _any_call(api, op, world.wrong_scope_token)
    body = assert_api_error(response, 403)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="insufficient_scope"' in challenge
    # The challenge and the description name the scopes that would do.
    for scope in op.scopes:
        assert scope in challenge and scope in body["description"]


# -- 404 --------------------------------------------------------------------------------
NOT_FOUND: dict[str, Call] = {
    "get-token-by-client": Call("GET", "/token/client/no-such-client"),
    "get-token-by-id": Call("GET", "/token/tknCde/" + "0" * 64),
    "revoke-token": Call("DELETE", "/token/revoke/" + "0" * 64),
    "revoke-user-tokens": Call("POST", "/token/revoke/user/no-such-user"),
    "get-oauth-openid-clients-by-inum": Call("GET", "/openid/clients/no-such-client"),
    "delete-oauth-openid-client-by-inum": Call("DELETE", "/openid/clients/no-such-client"),
    "patch-oauth-openid-client-by-inum": Call(
        "PATCH",
        "/openid/clients/no-such-client",
        patch=[{"op": "replace", "path": "/clientName", "value": "x"}],
    ),
    "put-oauth-openid-client": Call(
        "PUT", "/openid/clients", json={"inum": "no-such-client", "clientName": "x"}
    ),
    "get-oauth-scopes-by-inum": Call("GET", "/scopes/no-such-scope"),
    "delete-oauth-scopes-by-inum": Call("DELETE", "/scopes/no-such-scope"),
    "patch-oauth-scopes-by-id": Call(
        "PATCH",
        "/scopes/no-such-scope",
        patch=[{"op": "replace", "path": "/description", "value": "x"}],
    ),
    "put-oauth-scopes": Call("PUT", "/scopes", json={"inum": "no-such-scope", "id": "x"}),
    "delete-config-scripts-by-inum": Call("DELETE", "/config/scripts/no-such-script"),
    "patch-config-scripts-by-inum": Call(
        "PATCH",
        "/config/scripts/no-such-script",
        patch=[{"op": "replace", "path": "/enabled", "value": False}],
    ),
    "get-config-scripts-by-inum": Call("GET", "/config/scripts/inum/no-such-script"),
    "get-session-by-id": Call("GET", "/jans-auth-server/session/sid/no-such-session"),
    "delete-session": Call("DELETE", "/jans-auth-server/session/sid/no-such-session"),
    "revoke-user-session": Call("DELETE", "/jans-auth-server/session/user/no-such-user"),
    "search-session": Call(
        "GET", "/jans-auth-server/session/search?fieldValuePair=userDn=no-such-user"
    ),
    "get-custom-script-by-name": Call("GET", "/config/scripts/name/no-such-script"),
    "put-config-scripts": Call(
        "PUT",
        "/config/scripts",
        json={
            "inum": "no-such-script",
            "name": "nope",
            "script": ALLOW,
            "scriptType": "revoke_token",
        },
    ),
}


@pytest.mark.parametrize("operation_id", sorted(NOT_FOUND))
def test_unknown_resource_is_404(api: ConfigApi, operation_id: str) -> None:
    call = NOT_FOUND[operation_id]
    assert call.method == BY_ID[operation_id].method
    response = api.call(call.method, call.path, json=call.json, patch=call.patch)
    assert_api_error(response, 404)


def test_unknown_path_and_wrong_method_are_api_errors(api: ConfigApi) -> None:
    assert_api_error(api.get("/no/such/resource"), 404)
    assert_api_error(api.get("/openid/clients/a/b"), 404)
    # Control characters in an id or an unknown path (found by schemathesis): still ApiError.
    assert_api_error(api.get("/openid/clients/%0Aa%15"), 404)
    assert_api_error(api.get("/no/such%0A/resource"), 404)
    response = api.call("PUT", "/token/search")
    assert_api_error(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert_api_error(api.get("/token/revoke/abc"), 405)
    head = api.call("HEAD", "/token/search")
    assert head.status_code == 200 and head.content == b""


def test_type_listings_of_an_unknown_type_are_empty(api: ConfigApi) -> None:
    assert api.ok("GET", "/scopes/type/no-such-type") == []
    paged = api.ok("GET", "/config/scripts/type/no-such-type")
    assert paged["totalEntriesCount"] == 0 and paged["entries"] == []


# -- 400 / 415 on bad input -------------------------------------------------------------
def _patch(path: str, value: Any, op: str = "replace") -> list[dict[str, Any]]:
    return [{"op": op, "path": path, "value": value}]


CONFIG = "/jans-auth-server/config"
BAD_INPUT: list[tuple[str, Call | Callable[[ConfigApi, World], Call], int]] = [
    # Not JSON, or the wrong media type.
    ("bad-json-client", Call("POST", "/openid/clients"), 400),
    ("bad-json-scope", Call("POST", "/scopes"), 400),
    ("bad-json-script", Call("POST", "/config/scripts"), 400),
    ("bad-json-patch", Call("PATCH", CONFIG), 400),
    ("text-plain-client", Call("POST", "/openid/clients"), 415),
    ("xml-patch", Call("PATCH", CONFIG), 415),
    ("no-content-type-scope", Call("POST", "/scopes"), 415),
    # Not a JSON Patch.
    ("patch-not-array", Call("PATCH", CONFIG, patch={"op": "replace"}), 400),
    ("patch-no-op", Call("PATCH", CONFIG, patch=[{"path": "/errorReasonEnabled"}]), 400),
    ("patch-bad-op", Call("PATCH", CONFIG, patch=_patch("/errorReasonEnabled", True, "frob")), 400),
    ("patch-missing-target", Call("PATCH", CONFIG, patch=[{"op": "remove", "path": "/a/b"}]), 400),
    ("patch-test-fails",
     Call("PATCH", CONFIG, patch=_patch("/errorReasonEnabled", 5, "test")), 400),
    ("patch-bad-pointer", Call("PATCH", CONFIG, patch=_patch("errorReasonEnabled", True)), 400),
    # Properties: unknown, wrong type, bad value.
    ("unknown-property", Call("PATCH", CONFIG, patch=_patch("/noSuchProperty", 1, "add")), 400),
    ("wrong-type-bool", Call("PATCH", CONFIG, patch=_patch("/errorReasonEnabled", "yes")), 400),
    ("wrong-type-flags", Call("PATCH", CONFIG, patch=_patch("/featureFlags", "REVOKE_TOKEN")), 400),
    ("negative-lifetime", Call("PATCH", CONFIG, patch=_patch("/accessTokenLifetime", -5)), 400),
    ("huge-lifetime", Call("PATCH", CONFIG, patch=_patch("/refreshTokenLifetime", 10**17)), 400),
    ("bad-url", Call("PATCH", CONFIG, patch=_patch("/tokenRevocationEndpoint", "revoke")), 400),
    ("bad-cors", Call("PATCH", CONFIG, patch=_patch("/corsConfigurationFilters", [{"x": 1}])), 400),
    # Paging.
    *[
        (f"limit-201{path.replace('/', '-')}", Call("GET", path, params={"limit": 201}), 400)
        for path in ("/token/search", "/openid/clients", "/scopes", "/config/scripts")
    ],
    ("limit-zero", Call("GET", "/token/search", params={"limit": 0}), 400),
    ("limit-empty", Call("GET", "/token/search", params={"limit": ""}), 400),
    ("limit-not-int", Call("GET", "/token/search", params={"limit": "ten"}), 400),
    ("start-negative", Call("GET", "/token/search", params={"startIndex": -1}), 400),
    ("start-huge", Call("GET", "/token/search", params={"startIndex": 10**25}), 400),
    ("bad-sort-order", Call("GET", "/token/search", params={"sortOrder": "sideways"}), 400),
    ("bad-sort-order-clients", Call("GET", "/openid/clients", params={"sortOrder": "up"}), 400),
    ("bad-sort-by", Call("GET", "/token/search", params={"sortBy": "secret"}), 400),
    ("fvp-no-equals", Call("GET", "/token/search", params={"fieldValuePair": "clnId"}), 400),
    ("fvp-unknown", Call("GET", "/token/search", params={"fieldValuePair": "pwd=x"}), 400),
    ("fvp-clients", Call("GET", "/openid/clients", params={"fieldValuePair": "nope=1"}), 400),
    # Clients.
    ("client-not-object", Call("POST", "/openid/clients", json=["x"]), 400),
    ("client-wrong-type", Call("POST", "/openid/clients", json={"disabled": "no"}), 400),
    ("client-bad-grant", Call("POST", "/openid/clients", json={"grantTypes": ["magic"]}), 400),
    ("client-bad-method",
     Call("POST", "/openid/clients", json={"tokenEndpointAuthMethod": "pigeon"}), 400),
    ("client-short-secret", Call("POST", "/openid/clients", json={"clientSecret": "short"}), 400),
    ("client-secret-type", Call("POST", "/openid/clients", json={"clientSecret": 12345}), 400),
    ("client-huge-lifetime",
     Call("POST", "/openid/clients", json={"accessTokenLifetime": 10**15}), 400),
    ("client-put-no-inum", Call("PUT", "/openid/clients", json={"clientName": "x"}), 400),
    ("client-patch-inum", lambda a, w: Call(
        "PATCH", f"/openid/clients/{w.client.client_id}", patch=_patch("/inum", "other")), 400),
    ("client-patch-type", lambda a, w: Call(
        "PATCH", f"/openid/clients/{w.client.client_id}", patch=_patch("/disabled", "yes")), 400),
    # Scopes.
    ("scope-no-id", Call("POST", "/scopes", json={"description": "x"}), 400),
    ("scope-space-id", Call("POST", "/scopes", json={"id": "two words"}), 400),
    ("scope-bad-type", Call("POST", "/scopes", json={"id": unique(), "scopeType": "x"}), 400),
    ("scope-wrong-type", Call("POST", "/scopes", json={"id": unique(), "defaultScope": 1}), 400),
    ("scope-patch-type", lambda a, w: Call(
        "PATCH", f"/scopes/{w.scope['inum']}", patch=_patch("/displayName", 7)), 400),
    # Scripts.
    ("script-does-not-compile", Call("POST", "/config/scripts", json={
        "name": unique("bad"), "scriptType": "revoke_token", "script": "def broken(:\n"}), 400),
    ("script-without-revoke", Call("POST", "/config/scripts", json={
        "name": unique("bad"), "scriptType": "revoke_token",
        "script": "class RevokeToken:\n    def getApiVersion(self):\n        return 11\n"}), 400),
    ("script-unsupported-type", Call("POST", "/config/scripts", json={
        "name": unique("bad"), "scriptType": "person_authentication", "script": ALLOW}), 400),
    ("script-unknown-type", Call("POST", "/config/scripts", json={
        "name": unique("bad"), "scriptType": "nope", "script": ALLOW}), 400),
    ("script-bad-name", Call("POST", "/config/scripts", json={
        "name": "has space", "scriptType": "revoke_token", "script": ALLOW}), 400),
    ("script-java", Call("POST", "/config/scripts", json={
        "name": unique("bad"), "scriptType": "revoke_token", "script": ALLOW,
        "programmingLanguage": "java"}), 400),
    ("script-enabled-type", Call("POST", "/config/scripts", json={
        "name": unique("bad"), "scriptType": "revoke_token", "script": ALLOW,
        "enabled": "yes"}), 400),
    ("script-huge-level", Call("POST", "/config/scripts", json={
        "name": unique("bad"), "scriptType": "revoke_token", "script": ALLOW,
        "level": 2**40}), 400),
    ("script-property-type", Call("POST", "/config/scripts", json={
        "name": unique("bad"), "scriptType": "revoke_token", "script": ALLOW,
        "configurationProperties": [{"value1": "k", "value2": {"x": 1}}]}), 400),
    ("script-patch-breaks-source", lambda a, w: Call(
        "PATCH", f"/config/scripts/{w.script['inum']}", patch=_patch("/script", "x = (")), 400),
]  # fmt: skip
RAW_BODIES = {
    "bad-json-client": (b'{"clientName": ', JSON),
    "bad-json-scope": (b"{'id': 'single quotes'}", JSON),
    "bad-json-script": (b"", JSON),
    "bad-json-patch": (b"[{]", JSON_PATCH),
    "text-plain-client": (b'{"clientName": "x"}', "text/plain"),
    "xml-patch": (b"<patch/>", "application/xml"),
    "no-content-type-scope": (b'{"id": "x"}', None),
}


@pytest.mark.parametrize(
    ("case", "status"), [(c, s) for _, c, s in BAD_INPUT], ids=[n for n, _, _ in BAD_INPUT]
)
def test_bad_input(
    request: pytest.FixtureRequest,
    api: ConfigApi,
    world: World,
    case: Call | Callable[[ConfigApi, World], Call],
    status: int,
) -> None:
    call = case if isinstance(case, Call) else case(api, world)
    name = request.node.callspec.id
    before = api.ok("GET", CONFIG)
    if name in RAW_BODIES:
        content, content_type = RAW_BODIES[name]
        response = api.call(call.method, call.path, content=content, content_type=content_type)
    else:
        response = api.call(
            call.method, call.path, json=call.json, patch=call.patch, params=call.params
        )
    assert_api_error(response, status)
    assert api.ok("GET", CONFIG) == before  # nothing changed


# -- tokens -----------------------------------------------------------------------------
def test_revoke_by_hashed_code_revokes_the_whole_grant_only(
    server: Server, api: ConfigApi, password_client: Client, user: str
) -> None:
    grant = password_grant(server, password_client, user, "openid profile")
    other = password_grant(server, password_client, user, "openid profile")
    bystander = server.fetch_token(password_client)["access_token"]
    code = sha256_hex(grant["access_token"])
    grant_id = api.ok("GET", f"/token/tknCde/{code}")["grantId"]
    entries = grant_entries(api, grant_id)
    assert {e["tokenType"] for e in entries} == {"access_token", "refresh_token", "id_token"}
    api.ok("DELETE", f"/token/revoke/{code}", 204)
    assert not server.is_active(grant["access_token"])
    assert not server.is_active(grant["refresh_token"])
    assert all(e["revoked"] for e in grant_entries(api, grant_id))  # the id_token too
    assert server.is_active(other["access_token"]) and server.is_active(other["refresh_token"])
    assert server.is_active(bystander)
    # The refresh token of the revoked grant is useless at the token endpoint too.
    response = server.session.post(
        f"{AUTH}/token",
        data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]},
        auth=password_client.basic,
    )
    assert response.status_code == 400, response.text


def test_revoke_by_raw_refresh_token_cascades(
    server: Server, api: ConfigApi, password_client: Client, user: str
) -> None:
    grant = password_grant(server, password_client, user)
    refreshed = server.refresh(password_client, grant["refresh_token"])
    api.ok("DELETE", f"/token/revoke/{refreshed['refresh_token']}", 204)
    for token in (grant["access_token"], refreshed["access_token"], refreshed["refresh_token"]):
        assert not server.is_active(token)
    # Already revoked: 404, by raw token and by code.
    assert_api_error(api.call("DELETE", f"/token/revoke/{refreshed['refresh_token']}"), 404)
    assert_api_error(api.call("DELETE", f"/token/revoke/{sha256_hex(grant['access_token'])}"), 404)


def test_revoke_expired_token_is_404(api: ConfigApi, world: World) -> None:
    assert_api_error(api.call("DELETE", f"/token/revoke/{world.expired_token}"), 404)
    assert_api_error(api.call("DELETE", f"/token/revoke/{sha256_hex(world.expired_token)}"), 404)


def test_revoked_token_stays_readable_and_audited(
    server: Server, api: ConfigApi, password_client: Client, user: str
) -> None:
    deleter_id = api.client_with_scopes(CFG + "token.delete")
    deleter = ConfigApi(server, server.fetch_token(deleter_id)["access_token"])
    grant = password_grant(server, password_client, user)
    code = sha256_hex(grant["access_token"])
    before = api.ok("GET", f"/token/tknCde/{code}")
    assert before["revoked"] is False and "revocationDate" not in before
    assert before["tokenType"] == "access_token" and before["tokenTypeEnum"] == "ACCESS_TOKEN"
    assert before["clientId"] == password_client.client_id
    assert before["grantType"] == "password" and before["tokenCode"] == code
    assert before["userId"] and before["userDn"].endswith(",ou=people,o=jans")
    assert before["dn"] == f"tknCde={code},ou=tokens,o=jans"
    started = int(time.time())
    deleter.ok("DELETE", f"/token/revoke/{code}", 204)
    after = api.ok("GET", f"/token/tknCde/{code}")
    assert after["revoked"] is True
    assert time.strptime(after["revocationDate"], "%Y-%m-%dT%H:%M:%S")
    refresh = api.ok("GET", f"/token/tknCde/{sha256_hex(grant['refresh_token'])}")
    assert refresh["revoked"] is True and refresh["grantId"] == before["grantId"]
    with sqlite3.connect(server.db_path) as db:
        rows = db.execute(
            "SELECT actor, action, cln_id, count, details FROM audit WHERE at >= ? AND actor = ?",
            (started - 1, f"admin:{deleter_id.client_id}"),
        ).fetchall()
    assert len(rows) == 1, rows
    actor, action, client_id, count, details = rows[0]
    assert action == "revoke" and client_id == password_client.client_id
    assert count == 2  # the access token and the refresh token of the grant
    assert code in details and grant["access_token"] not in details
    assert grant["refresh_token"] not in details


@pytest.fixture(scope="module")
def search_clients(server: Server, api: ConfigApi, user: str) -> list[tuple[Client, list[str]]]:
    """Three clients, each with two password grants (access + refresh each)."""
    out = []
    for _ in range(3):
        client = api.create_client(grantTypes=["password", "refresh_token"], scopes=["openid"])
        tokens: list[str] = []
        for _ in range(2):
            grant = password_grant(server, client, user)
            tokens += [grant["access_token"], grant["refresh_token"]]
        out.append((client, tokens))
    return out


def _codes(page: dict[str, Any]) -> list[str]:
    return [entry["tokenCode"] for entry in page["entries"]]


def test_search_pattern_is_an_or_of_pieces(
    api: ConfigApi, search_clients: list[tuple[Client, list[str]]]
) -> None:
    (a, a_tokens), (b, b_tokens), (_, c_tokens) = search_clients
    page = api.ok(
        "GET", "/token/search", params={"pattern": f"{a.client_id}|{b.client_id}", "limit": 200}
    )
    codes = set(_codes(page))
    assert codes == {sha256_hex(t) for t in a_tokens + b_tokens}
    assert page["totalEntriesCount"] == page["entriesCount"] == 8
    assert not codes & {sha256_hex(t) for t in c_tokens}


def test_search_field_value_pairs_are_anded(
    api: ConfigApi, search_clients: list[tuple[Client, list[str]]]
) -> None:
    a, a_tokens = search_clients[0]
    page = api.ok(
        "GET",
        "/token/search",
        params={"fieldValuePair": f"clnId={a.client_id},tknTyp=refresh_token"},
    )
    assert set(_codes(page)) == {sha256_hex(a_tokens[1]), sha256_hex(a_tokens[3])}
    assert all(e["tokenType"] == "refresh_token" for e in page["entries"])
    page = api.ok(
        "GET", "/token/search", params={"fieldValuePair": f"clnId={a.client_id},tknTyp=id_token"}
    )
    assert page["totalEntriesCount"] == 0 and page["entries"] == []


def test_search_paging_and_sorting(
    api: ConfigApi, search_clients: list[tuple[Client, list[str]]]
) -> None:
    b, b_tokens = search_clients[1]
    only_b = {"fieldValuePair": f"clnId={b.client_id}"}
    ascending = _codes(api.ok("GET", "/token/search", params={**only_b, "sortBy": "tknCde"}))
    assert ascending == sorted(sha256_hex(t) for t in b_tokens)
    descending = _codes(
        api.ok(
            "GET", "/token/search", params={**only_b, "sortBy": "tknCde", "sortOrder": "descending"}
        )
    )
    assert descending == ascending[::-1]
    page = api.ok("GET", "/token/search", params={**only_b, "limit": 3, "startIndex": 2})
    assert page["start"] == 2 and page["totalEntriesCount"] == 4
    assert page["entriesCount"] == 2 and _codes(page) == ascending[2:]
    page = api.ok("GET", "/token/search", params={**only_b, "limit": 1, "startIndex": 0})
    assert page["entriesCount"] == 1 and _codes(page) == ascending[:1]
    by_time = api.ok("GET", "/token/search", params={**only_b, "sortBy": "iat"})["entries"]
    assert [e["creationDate"] for e in by_time] == sorted(e["creationDate"] for e in by_time)


def test_tokens_by_client(api: ConfigApi, search_clients: list[tuple[Client, list[str]]]) -> None:
    c, c_tokens = search_clients[2]
    page = api.ok("GET", f"/token/client/{c.client_id}")
    assert set(_codes(page)) == {sha256_hex(t) for t in c_tokens}
    assert page["totalEntriesCount"] == 4 and page["start"] == 0
    assert_api_error(api.get(f"/token/client/{uuid.uuid4().hex}"), 404)


# -- properties and feature flags --------------------------------------------------------
def test_properties_use_janssen_names(api: ConfigApi, server: Server) -> None:
    props = api.ok("GET", CONFIG)
    for name in (
        "issuer",
        "tokenRevocationEndpoint",
        "introspectionEndpoint",
        "allowAllValueForRevokeEndpoint",
        "allowRevokeForOtherClients",
        "featureFlags",
        "errorReasonEnabled",
        "accessTokenLifetime",
        "refreshTokenLifetime",
        "corsConfigurationFilters",
        "discoveryAllowedKeys",
        "discoveryDenyKeys",
    ):
        assert name in props, name
    assert props["tokenRevocationEndpoint"] == f"{props['issuer']}/jans-auth/restv1/revoke"
    assert props["issuer"] == server.url
    assert api.ok("GET", f"{CONFIG}/feature-flags") == props["featureFlags"]


def test_patch_allow_all_value_takes_effect(
    server: Server, api: ConfigApi, password_client: Client
) -> None:
    assert api.ok("GET", CONFIG)["allowAllValueForRevokeEndpoint"] is False
    client = api.create_client()
    tokens = [server.fetch_token(client)["access_token"] for _ in range(2)]
    try:
        props = api.ok("PATCH", CONFIG, patch=_patch("/allowAllValueForRevokeEndpoint", True))
        assert props["allowAllValueForRevokeEndpoint"] is True
        assert api.ok("GET", CONFIG)["allowAllValueForRevokeEndpoint"] is True
        response = server.send_revoke(client, token="anything", token_type_hint="all")
        assert response.status_code == 200, response.text
        assert not any(server.is_active(t) for t in tokens)
    finally:
        api.ok("PATCH", CONFIG, patch=_patch("/allowAllValueForRevokeEndpoint", False))


def test_patch_is_atomic(api: ConfigApi) -> None:
    before = api.ok("GET", CONFIG)
    for bad in (
        _patch("/accessTokenLifetime", -1),
        [{"op": "remove", "path": "/noSuchProperty"}],
        _patch("/errorReasonEnabled", "true"),
    ):
        patch = [*_patch("/allowAllValueForRevokeEndpoint", True), *bad]
        assert_api_error(api.call("PATCH", CONFIG, patch=patch), 400)
        assert api.ok("GET", CONFIG) == before


def test_disabling_revoke_token_feature_without_restart(
    server: Server, api: ConfigApi, password_client: Client
) -> None:
    token = server.fetch_token(password_client)["access_token"]
    assert "revocation_endpoint" in server.discovery()
    without = [f for f in ALL_FLAGS if f != "REVOKE_TOKEN"]
    try:
        props = api.ok("PATCH", CONFIG, patch=_patch("/featureFlags", without))
        assert props["featureFlags"] == without
        assert api.ok("GET", f"{CONFIG}/feature-flags") == without
        # In force at once: no restart, no propagation wait.
        response = server.send_revoke(password_client, token=token)
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "access_denied"
        assert server.is_active(token)
        document = server.discovery()
        assert "revocation_endpoint" not in document
        assert "revocation_endpoint" not in server.discovery(
            "/jans-auth/.well-known/openid-configuration"
        )
        assert "introspection_endpoint" in document
    finally:
        api.ok("PATCH", CONFIG, patch=_patch("/featureFlags", []))
    assert api.ok("GET", f"{CONFIG}/feature-flags") == []
    assert server.discovery()["revocation_endpoint"].endswith("/jans-auth/restv1/revoke")
    assert server.send_revoke(password_client, token=token).status_code == 200
    assert not server.is_active(token)


def test_feature_flag_names_are_case_insensitive(
    server: Server, api: ConfigApi, password_client: Client
) -> None:
    try:
        api.ok("PATCH", CONFIG, patch=_patch("/featureFlags", ["introspection"]))
        assert "revocation_endpoint" not in server.discovery()
        api.ok("PATCH", CONFIG, patch=_patch("/featureFlags", ["introspection", "revoke_token"]))
        assert "revocation_endpoint" in server.discovery()
    finally:
        api.ok("PATCH", CONFIG, patch=_patch("/featureFlags", []))


# -- clients ----------------------------------------------------------------------------
def test_client_lifecycle(server: Server, api: ConfigApi) -> None:
    name = unique("lifecycle")
    created = api.ok(
        "POST",
        "/openid/clients",
        201,
        json={
            "clientName": name,
            "grantTypes": ["client_credentials"],
            "scopes": ["openid", "profile"],
        },
    )
    inum, secret = created["inum"], created["clientSecret"]
    assert created["dn"] == f"inum={inum},ou=clients,o=jans"
    assert created["clientName"] == name and created["disabled"] is False
    client = Client(inum, secret)
    # The secret works at the token endpoint, and is never shown again.
    token = server.fetch_token(client)["access_token"]
    assert server.is_active(token)
    fetched = api.ok("GET", f"/openid/clients/{inum}")
    assert "clientSecret" not in fetched
    assert all("clientSecret" not in e for e in api.ok("GET", "/openid/clients")["entries"])
    assert {k: v for k, v in created.items() if k != "clientSecret"} == fetched
    # PUT replaces (identified by the body's inum).
    replaced = api.ok(
        "PUT",
        "/openid/clients",
        json={**fetched, "clientName": name + "-put", "scopes": ["openid"]},
    )
    assert replaced["clientName"] == name + "-put"
    assert replaced["scopes"] == [api.scope_dn("openid")]  # as Janssen: scopes by DN
    assert api.ok("GET", f"/openid/clients/{inum}") == replaced
    # A secret given with PUT replaces the old one.
    new_secret = "a-brand-new-secret-" + uuid.uuid4().hex
    api.ok("PUT", "/openid/clients", json={**replaced, "clientSecret": new_secret})
    bad = server.session.post(
        f"{AUTH}/token", data={"grant_type": "client_credentials"}, auth=client.basic
    )
    assert bad.status_code == 401
    client = Client(inum, new_secret)
    second = server.fetch_token(client)["access_token"]
    # PATCH: disabling the client stops its token requests at once.
    patched = api.ok("PATCH", f"/openid/clients/{inum}", patch=_patch("/disabled", True))
    assert patched["disabled"] is True
    refused = server.session.post(
        f"{AUTH}/token", data={"grant_type": "client_credentials"}, auth=client.basic
    )
    assert refused.status_code in (400, 401), refused.text
    api.ok("PATCH", f"/openid/clients/{inum}", patch=_patch("/disabled", False))
    third = server.fetch_token(client)["access_token"]
    # DELETE: 204, every token of the client is inactive, then 404.
    api.ok("DELETE", f"/openid/clients/{inum}", 204)
    for t in (token, second, third):
        assert not server.is_active(t)
    assert_api_error(api.get(f"/openid/clients/{inum}"), 404)
    assert_api_error(api.call("DELETE", f"/openid/clients/{inum}"), 404)
    # The tokens stay readable (revoked) until purged.
    assert api.ok("GET", f"/token/tknCde/{sha256_hex(third)}")["revoked"] is True


def test_a_disabled_clients_tokens_stop_working_at_the_config_api(api: ConfigApi) -> None:
    """A token outlives nothing its client lost: disabling an operator's client locks its
    existing access tokens out of the config API at once, and enabling it lets them back."""
    scope = CFG + "token.readonly"
    operator = api.client_with_scopes(scope)
    token = api.server.fetch_token(operator, scope=scope)["access_token"]
    search = "/token/search"
    assert api.get(search, token=token).status_code == 200
    api.ok("PATCH", f"/openid/clients/{operator.client_id}", patch=_patch("/disabled", True))
    error = assert_api_error(api.get(search, token=token), 401)
    assert "disabled" in error["description"], error
    api.ok("PATCH", f"/openid/clients/{operator.client_id}", patch=_patch("/disabled", False))
    assert api.get(search, token=token).status_code == 200


def test_client_list_is_paged(api: ConfigApi) -> None:
    prefix = unique("paged")
    inums = sorted(api.create_client(clientName=f"{prefix}-{i}").client_id for i in range(3))
    page = api.ok("GET", "/openid/clients", params={"pattern": prefix, "limit": 2})
    assert page["totalEntriesCount"] == 3 and page["entriesCount"] == 2
    assert [e["inum"] for e in page["entries"]] == inums[:2]
    page = api.ok("GET", "/openid/clients", params={"pattern": prefix, "startIndex": 2})
    assert page["start"] == 2 and [e["inum"] for e in page["entries"]] == inums[2:]
    page = api.ok(
        "GET",
        "/openid/clients",
        params={"pattern": prefix, "sortBy": "inum", "sortOrder": "descending"},
    )
    assert [e["inum"] for e in page["entries"]] == inums[::-1]
    page = api.ok("GET", "/openid/clients", params={"fieldValuePair": f"clientName={prefix}-1"})
    assert [e["clientName"] for e in page["entries"]] == [f"{prefix}-1"]


def test_client_with_scope_dn(server: Server, api: ConfigApi) -> None:
    """Janssen clients list scopes by DN (given as DNs or ids, returned as DNs); the
    scope's id is what tokens carry. An id that names no scope is kept as it is."""
    scope = api.ok("POST", "/scopes", 201, json={"id": unique("dn")})
    client = api.create_client(scopes=[scope["dn"]])
    assert client.data["scopes"] == [scope["dn"]]
    assert server.fetch_token(client)["scope"] == scope["id"]
    by_id = api.create_client(scopes=[scope["id"], "no-such-scope"])
    assert by_id.data["scopes"] == [scope["dn"], "no-such-scope"]
    assert api.ok("GET", f"/openid/clients/{by_id.client_id}")["scopes"] == by_id.data["scopes"]
    assert_api_error(
        api.call("POST", "/openid/clients", json={"scopes": ["inum=nope,ou=scopes,o=jans"]}), 400
    )


def test_client_id_with_any_characters(server: Server, api: ConfigApi) -> None:
    """RFC 6749 client ids are any visible characters, "/" included: percent-encoded, the
    config API addresses them like any other."""
    inum = f"svc:reports+ops/β 1%&=?{uuid.uuid4().hex[:6]}"
    client = api.create_client(inum=inum)
    assert client.client_id == inum and client.secret
    # HTTP Basic credentials are form-urlencoded first (RFC 6749 section 2.3.1).
    basic = (quote_plus(inum), quote_plus(client.secret))
    response = server.session.post(
        f"{AUTH}/token", data={"grant_type": "client_credentials"}, auth=basic
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    path = quote(inum, safe="")
    assert api.ok("GET", f"/openid/clients/{path}")["inum"] == inum
    assert _codes(api.ok("GET", f"/token/client/{path}")) == [sha256_hex(token)]
    api.ok("PATCH", f"/openid/clients/{path}", patch=_patch("/clientName", "odd"))
    api.ok("DELETE", f"/openid/clients/{path}", 204)
    assert not server.is_active(token)
    assert_api_error(api.get(f"/openid/clients/{path}"), 404)


def test_admin_client_cannot_be_created_twice(api: ConfigApi) -> None:
    assert_api_error(api.call("POST", "/openid/clients", json={"inum": ADMIN.client_id}), 400)


# -- scopes -----------------------------------------------------------------------------
def test_builtin_scopes_exist(api: ConfigApi) -> None:
    ids = {s["id"] for s in api.ok("GET", "/scopes", params={"limit": 200})["entries"]}
    for scope in (
        "revoke_any_token",
        "introspection",
        "uma_protection",
        "openid",
        "global_token_revocation",
        CFG + "token.delete",
        CFG + "token.readonly",
    ):
        assert scope in ids, scope
    page = api.ok("GET", "/scopes", params={"pattern": "revoke_any_token"})
    assert [e["id"] for e in page["entries"]] == ["revoke_any_token"]
    assert any(s["id"] == "openid" for s in api.ok("GET", "/scopes/type/openid"))


def test_scope_lifecycle(api: ConfigApi) -> None:
    scope_id = unique("scope")
    created = api.ok(
        "POST", "/scopes", 201, json={"id": scope_id, "description": "made", "scopeType": "oauth"}
    )
    inum = created["inum"]
    assert created["dn"] == f"inum={inum},ou=scopes,o=jans" and created["id"] == scope_id
    assert api.ok("GET", f"/scopes/{inum}") == created
    listed = api.ok("GET", "/scopes", params={"pattern": scope_id})["entries"]
    assert [s["inum"] for s in listed] == [inum]
    assert inum in {
        s["inum"]
        for s in api.ok("GET", "/scopes", params={"type": "oauth", "limit": 200})["entries"]
    }
    assert inum not in {
        s["inum"] for s in api.ok("GET", "/scopes", params={"type": "openid"})["entries"]
    }
    assert inum in {s["inum"] for s in api.ok("GET", "/scopes/type/oauth")}
    patched = api.ok("PATCH", f"/scopes/{inum}", patch=_patch("/description", "patched"))
    assert patched["description"] == "patched"
    replaced = api.ok("PUT", "/scopes", json={**patched, "displayName": "Shown"})
    assert replaced["displayName"] == "Shown" and replaced["description"] == "patched"
    assert api.ok("GET", f"/scopes/{inum}") == replaced
    # A second scope with the same id is refused.
    assert_api_error(api.call("POST", "/scopes", json={"id": scope_id}), 409)
    api.ok("DELETE", f"/scopes/{inum}", 204)
    assert_api_error(api.get(f"/scopes/{inum}"), 404)
    assert_api_error(api.call("DELETE", f"/scopes/{inum}"), 404)


# -- scripts ----------------------------------------------------------------------------
def _revoke_probe(server: Server, client: Client, token: str) -> httpx.Response:
    response = server.send_revoke(client, token=token)
    assert response.status_code == 200, response.text
    return response


def test_script_lifecycle_and_veto(server: Server, api: ConfigApi) -> None:
    client = api.create_client()
    name = unique("veto")
    created = api.ok(
        "POST",
        "/config/scripts",
        201,
        json={
            "name": name,
            "scriptType": "revoke_token",
            "script": VETO,
            "description": "says no",
            "enabled": True,
            "configurationProperties": [{"value1": "k", "value2": "v"}],
        },
    )
    inum = created["inum"]
    try:
        assert created["dn"] == f"inum={inum},ou=scripts,o=jans"
        assert created["enabled"] is True and created["scriptType"] == "revoke_token"
        assert created["programmingLanguage"] == "python" and created["script"] == VETO
        assert {"value1": "k", "value2": "v", "hide": False} in created["configurationProperties"]
        # In force at once: /revoke answers 200 and revokes nothing.
        token = server.fetch_token(client)["access_token"]
        response = _revoke_probe(server, client, token)
        assert response.headers.get("x-test-script") == "configapi-veto"
        assert server.is_active(token)
        # Reads.
        assert api.ok("GET", f"/config/scripts/inum/{inum}") == created
        assert api.ok("GET", f"/config/scripts/name/{name}") == created
        assert "revoke_token" in api.ok("GET", "/config/scripts/types")
        assert "revoke_token" in api.ok("GET", "/config/scripts/script-types")
        listed = api.ok("GET", "/config/scripts/type/revoke_token", params={"pattern": name})
        assert [s["inum"] for s in listed["entries"]] == [inum]
        listed = api.ok("GET", "/config/scripts", params={"fieldValuePair": f"name={name}"})
        assert [s["inum"] for s in listed["entries"]] == [inum]
        # A second script with the same name is refused.
        duplicate = {"name": name, "scriptType": "revoke_token", "script": ALLOW}
        assert_api_error(api.call("POST", "/config/scripts", json=duplicate), 409)
        # Disabled: revocation works again.
        patched = api.ok("PATCH", f"/config/scripts/{inum}", patch=_patch("/enabled", False))
        assert patched["enabled"] is False and patched["revision"] > created["revision"]
        response = _revoke_probe(server, client, token)
        assert "x-test-script" not in response.headers
        assert not server.is_active(token)
        # PUT replaces, identified by the body's inum.
        replaced = api.ok(
            "PUT", "/config/scripts", json={**patched, "description": "now allows", "script": ALLOW}
        )
        assert replaced["description"] == "now allows" and replaced["script"] == ALLOW
    finally:
        api.call("PATCH", f"/config/scripts/{inum}", patch=_patch("/enabled", False))
        api.ok("DELETE", f"/config/scripts/{inum}", 204)
    assert_api_error(api.get(f"/config/scripts/inum/{inum}"), 404)
    assert_api_error(api.get(f"/config/scripts/name/{name}"), 404)
    assert_api_error(api.call("DELETE", f"/config/scripts/{inum}"), 404)


# -- the OpenAPI document ----------------------------------------------------------------
def test_openapi_document_is_served(server: Server) -> None:
    response = server.session.get("/jans-config-api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert doc["servers"] == [{"url": f"{server.url}/jans-config-api"}]
    served = {
        (method.upper(), path): spec["operationId"]
        for path, methods in doc["paths"].items()
        for method, spec in methods.items()
    }
    assert served == {(op.method, op.path): op.operation_id for op in OPERATIONS}
    schemas = doc["components"]["schemas"]
    assert set(schemas["ApiError"]["properties"]) == {"code", "message", "description"}
    docs = server.session.get("/jans-config-api/docs")
    assert docs.status_code == 200 and "revoke-token" in docs.text


def test_errors_never_leak_a_stack_trace(api: ConfigApi) -> None:
    response = api.call("POST", "/openid/clients", content=b"\xff\xfe" * 10, content_type=JSON)
    body = assert_api_error(response, 400)
    assert "Traceback" not in json.dumps(body)
