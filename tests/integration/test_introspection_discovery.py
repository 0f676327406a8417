"""Discovery (OpenID Connect Discovery 1.0, RFC 8414) with feature flags switched live,
and introspection (RFC 7662; docs/janssen-compatibility.md), through a real server.

Discovery changes are waited for by polling discovery itself; tests restore what they
change (or use their own server).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest

from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Client, Server, own_server

PATHS = (
    "/.well-known/openid-configuration",
    "/jans-auth/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",  # RFC 8414 section 3
)
MTLS_REVOKE = "https://mtls.example.com/jans-auth/restv1/revoke"
MTLS_INTROSPECT = "https://mtls.example.com/jans-auth/restv1/introspection"
PASSWORD = "introspect-me-please"  # noqa: S105 - test user


def both(server: Server) -> list[dict[str, Any]]:
    return [server.discovery(path) for path in PATHS]


def wait_discovery(server: Server, predicate: Callable[[dict[str, Any]], bool]) -> None:
    server.wait_until(lambda: predicate(server.discovery(PATHS[0])))


def post_introspect(server: Server, form: dict[str, str], **kwargs: Any) -> httpx.Response:
    return server.session.post(f"{AUTH}/introspection", data=form, **kwargs)


def bearer(token: str) -> dict[str, dict[str, str]]:
    return {"headers": {"Authorization": f"Bearer {token}"}}


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return server.create_client(
        name="plain",
        grant_types=["client_credentials", "password", "refresh_token"],
        scopes=["openid", "profile"],
    )


@pytest.fixture(scope="module")
def other(server: Server) -> Client:
    return server.create_client(name="other")


@pytest.fixture(scope="module")
def inspector(server: Server) -> Client:
    """A resource server: its tokens carry the `introspection` scope."""
    return server.create_client(name="inspector", scopes=["introspection"])


def mint(server: Server, client: Client, **form: str) -> str:
    return str(server.fetch_token(client, **form)["access_token"])


# -- discovery --------------------------------------------------------------------------
def test_discovery_document_on_every_path(server: Server) -> None:
    first, second, rfc8414 = both(server)
    assert first == second == rfc8414
    issuer = first["issuer"]
    assert first["revocation_endpoint"] == f"{issuer}{AUTH}/revoke"
    assert first["introspection_endpoint"] == f"{issuer}{AUTH}/introspection"
    assert first["token_endpoint"] == f"{issuer}{AUTH}/token"
    assert first["jwks_uri"] == f"{issuer}{AUTH}/jwks"
    # We publish what Janssen omits (RFC 8414).
    methods = first["revocation_endpoint_auth_methods_supported"]
    for method in (
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "tls_client_auth",
        "self_signed_tls_client_auth",
        "none",
        "Bearer",  # /revoke takes a Bearer access token (Janssen's rule)
    ):
        assert method in methods
    introspection = first["introspection_endpoint_auth_methods_supported"]
    assert {"client_secret_basic", "Bearer"} <= set(introspection)
    assert "none" not in introspection
    # Only names registered at IANA: "OAuth Token Endpoint Authentication Methods", or
    # (RFC 8414 section 2) the access token type "Bearer", spelled as registered.
    registered = {
        "none",
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "tls_client_auth",
        "self_signed_tls_client_auth",
        "Bearer",
    }
    for endpoint in ("token", "revocation", "introspection"):
        assert set(first[f"{endpoint}_endpoint_auth_methods_supported"]) <= registered
    # The authorization endpoint: the code flow, PKCE S256 only (docs/sign-in.md).
    assert first["authorization_endpoint"] == f"{first['issuer']}/jans-auth/restv1/authorize"
    assert first["response_types_supported"] == ["code"]
    assert first["code_challenge_methods_supported"] == ["S256"]
    assert first["userinfo_endpoint"] == f"{first['issuer']}/jans-auth/restv1/userinfo"
    # RFC 8414 section 2: required since the methods include client_secret_jwt/private_key_jwt.
    for endpoint in ("token", "revocation", "introspection"):
        algs = first[f"{endpoint}_endpoint_auth_signing_alg_values_supported"]
        assert {"HS256", "RS256", "ES256"} <= set(algs) and "none" not in algs
    assert set(first["token_endpoint_auth_methods_supported"]) >= {"client_secret_basic", "none"}
    assert {"authorization_code", "client_credentials", "password", "refresh_token"} <= set(
        first["grant_types_supported"]
    )
    assert "revoke_any_token" in first["scopes_supported"]
    assert first["tls_client_certificate_bound_access_tokens"] is True
    assert "mtls_endpoint_aliases" not in first  # no alias configured: blank values dropped
    assert all(value not in (None, "", [], {}) for value in first.values())


def test_rfc8414_path_follows_the_issuers_path(server: Server) -> None:
    """RFC 8414 section 3.1: for an issuer with a path, the path follows the well-known
    suffix; any other path after it is not metadata."""
    assert (
        server.session.get("/.well-known/oauth-authorization-server/elsewhere").status_code == 404
    )
    server.cli("config", "set", "issuer", f"{server.url}/tenant")
    try:
        server.wait_until(lambda: server.discovery()["issuer"] == f"{server.url}/tenant")
        doc = server.discovery("/.well-known/oauth-authorization-server/tenant")
        assert doc["issuer"] == f"{server.url}/tenant"
    finally:
        server.cli("config", "set", "issuer", server.url)
    server.wait_until(lambda: server.discovery()["issuer"] == server.url)


def test_revoke_token_flag_live(server: Server, client: Client) -> None:
    token = mint(server, client)
    server.cli("feature", "disable", "REVOKE_TOKEN")
    try:
        wait_discovery(server, lambda d: "revocation_endpoint" not in d)
        for doc in both(server):
            assert "revocation_endpoint" not in doc
            assert "revocation_endpoint_auth_methods_supported" not in doc
            assert "revocation_endpoint_auth_signing_alg_values_supported" not in doc
            assert "introspection_endpoint" in doc  # only REVOKE_TOKEN went off
        response = server.send_revoke(client, token=token)
        assert response.status_code == 403 and response.json()["error"] == "access_denied"
        assert server.is_active(token)
    finally:
        server.cli("feature", "enable", "REVOKE_TOKEN")
    wait_discovery(server, lambda d: "revocation_endpoint" in d)
    assert all("revocation_endpoint" in doc for doc in both(server))
    assert server.send_revoke(client, token=token).status_code == 200
    assert not server.is_active(token)


def test_introspection_flag_live(server: Server, client: Client) -> None:
    token = mint(server, client)
    server.cli("feature", "disable", "INTROSPECTION")
    try:
        wait_discovery(server, lambda d: "introspection_endpoint" not in d)
        for doc in both(server):
            assert "introspection_endpoint" not in doc
            assert "introspection_endpoint_auth_methods_supported" not in doc
            assert "introspection_endpoint_auth_signing_alg_values_supported" not in doc
            assert "revocation_endpoint" in doc
        response = post_introspect(server, {"token": token}, auth=(ADMIN_ID, ADMIN_SECRET))
        assert response.status_code == 403 and response.json()["error"] == "access_denied"
    finally:
        server.cli("feature", "enable", "INTROSPECTION")
    wait_discovery(server, lambda d: "introspection_endpoint" in d)
    assert all("introspection_endpoint" in doc for doc in both(server))
    assert server.is_active(token)


def test_feature_flags_are_case_insensitive(server: Server, client: Client) -> None:
    token = mint(server, client)
    server.cli("config", "set", "featureFlags", '["revoke_token"]')
    try:
        wait_discovery(server, lambda d: "introspection_endpoint" not in d)
        for doc in both(server):
            assert "revocation_endpoint" in doc and "introspection_endpoint" not in doc
        response = post_introspect(server, {"token": token}, auth=(ADMIN_ID, ADMIN_SECRET))
        assert response.status_code == 403
        assert server.send_revoke(client, token=token).status_code == 200
    finally:
        server.cli("config", "set", "featureFlags", "[]")
    wait_discovery(server, lambda d: "introspection_endpoint" in d)
    assert not server.is_active(token)


def test_mtls_aliases_follow_the_flags(server: Server) -> None:
    server.cli("config", "set", "mtlsTokenRevocationEndpoint", MTLS_REVOKE)
    server.cli("config", "set", "mtlsIntrospectionEndpoint", MTLS_INTROSPECT)
    aliases = {"revocation_endpoint": MTLS_REVOKE, "introspection_endpoint": MTLS_INTROSPECT}
    try:
        wait_discovery(server, lambda d: d.get("mtls_endpoint_aliases") == aliases)
        for doc in both(server):
            assert doc["mtls_endpoint_aliases"] == aliases
        server.cli("feature", "disable", "REVOKE_TOKEN")
        try:
            wait_discovery(server, lambda d: "revocation_endpoint" not in d)
            for doc in both(server):
                assert doc["mtls_endpoint_aliases"] == {"introspection_endpoint": MTLS_INTROSPECT}
        finally:
            server.cli("feature", "enable", "REVOKE_TOKEN")
        wait_discovery(server, lambda d: "revocation_endpoint" in d)
        assert server.discovery()["mtls_endpoint_aliases"]["revocation_endpoint"] == MTLS_REVOKE
    finally:
        server.cli("config", "set", "mtlsTokenRevocationEndpoint", "null")
        server.cli("config", "set", "mtlsIntrospectionEndpoint", "null")
    wait_discovery(server, lambda d: "mtls_endpoint_aliases" not in d)


def test_discovery_deny_and_allow_keys(server: Server) -> None:
    server.cli("config", "set", "discoveryDenyKeys", '["jwks_uri", "scopes_supported"]')
    try:
        wait_discovery(server, lambda d: "jwks_uri" not in d)
        for doc in both(server):
            assert "scopes_supported" not in doc and "revocation_endpoint" in doc
    finally:
        server.cli("config", "set", "discoveryDenyKeys", "[]")
    wait_discovery(server, lambda d: "jwks_uri" in d)
    server.cli("config", "set", "discoveryAllowedKeys", '["issuer", "revocation_endpoint"]')
    try:
        wait_discovery(server, lambda d: "jwks_uri" not in d)
        for doc in both(server):
            assert set(doc) == {"issuer", "revocation_endpoint"}
    finally:
        server.cli("config", "set", "discoveryAllowedKeys", "[]")
    wait_discovery(server, lambda d: "jwks_uri" in d)


# -- introspection: callers ---------------------------------------------------------------
def test_missing_credentials_is_401_invalid_client(server: Server, client: Client) -> None:
    """As at /revoke (Janssen: 400 "invalid_request"), with a challenge naming Basic."""
    for form in ({}, {"client_id": client.client_id}):
        response = post_introspect(server, {"token": mint(server, client), **form})
        assert response.status_code == 401
        assert response.json() == {
            "error": "invalid_client",
            "error_description": response.json()["error_description"],
        }
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["www-authenticate"] == 'Basic realm="jans-auth"'


@pytest.mark.parametrize("auth", [(ADMIN_ID, "wrong-secret"), ("no-such-client", "x")])
def test_bad_basic_is_401(server: Server, client: Client, auth: tuple[str, str]) -> None:
    response = post_introspect(server, {"token": mint(server, client)}, auth=auth)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_bad_bearer_is_401(server: Server, client: Client, inspector: Client) -> None:
    token = mint(server, client)
    for value in ("Bearer not-a-token", "Bearer", "bearer " + "x" * 43):
        response = post_introspect(server, {"token": token}, headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.json()["error"] == "invalid_token"
    # A revoked access token is no longer a valid caller either.
    caller = mint(server, inspector)
    assert post_introspect(server, {"token": token}, **bearer(caller)).status_code == 200
    assert server.send_revoke(inspector, token=caller).status_code == 200
    assert post_introspect(server, {"token": token}, **bearer(caller)).status_code == 401


def test_bearer_caller_and_get_form(server: Server, inspector: Client, other: Client) -> None:
    caller, token = mint(server, inspector), mint(server, other)
    response = post_introspect(server, {"token": token}, **bearer(caller))
    assert response.status_code == 200 and response.json()["active"] is True
    assert response.json()["client_id"] == other.client_id
    with server.http() as http:
        got = http.get(
            f"{AUTH}/introspection", params={"token": token}, auth=(ADMIN_ID, ADMIN_SECRET)
        )
        assert got.status_code == 200 and got.json()["active"] is True
        got = http.get(f"{AUTH}/introspection", params={"token": token}, **bearer(caller))
        assert got.status_code == 200 and got.json()["active"] is True
        assert http.get(f"{AUTH}/introspection", params={"token": token}).status_code == 401


def test_unknown_and_revoked_are_exactly_inactive(server: Server, client: Client) -> None:
    assert server.fetch_introspection("never-issued-token") == {"active": False}
    token = mint(server, client)
    assert server.send_revoke(client, token=token).status_code == 200
    assert server.fetch_introspection(token) == {"active": False}
    assert server.fetch_introspection(token, token_type_hint="access_token") == {"active": False}


def test_active_response_fields(server: Server, client: Client) -> None:
    server.create_user("carol", PASSWORD)
    body = server.password_token(client, "carol", PASSWORD, scope="openid profile")
    claims = server.fetch_introspection(body["access_token"])
    issuer = server.discovery()["issuer"]
    assert claims["active"] is True
    assert claims["scope"] == "openid profile"
    assert claims["client_id"] == client.client_id
    assert claims["username"] == "carol"
    assert claims["sub"] and claims["sub"] != client.client_id  # the user, not the client
    assert claims["iss"] == issuer
    assert claims["aud"] == client.client_id
    assert claims["token_type"] == "Bearer"
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert abs(claims["iat"] - time.time()) < 60
    assert "cnf" not in claims  # not certificate-bound
    refresh = server.fetch_introspection(body["refresh_token"])
    assert refresh["active"] is True and refresh["client_id"] == client.client_id
    # RFC 7662 section 2.2: token_type is an access token's type; a refresh token has none
    # (it said "refresh_token"; Janssen omits it too).
    assert "token_type" not in refresh
    # An id_token is not introspectable.
    assert server.fetch_introspection(body["id_token"]) == {"active": False}


# -- introspection: properties (own server, configured before it starts) ----------------
@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from own_server(
        tmp_path_factory,
        "strict",
        {
            "introspectionAccessTokenMustHaveIntrospectionScope": True,
            "introspectionRestrictBasicAuthnToOwnTokens": True,
        },
    )


def test_bearer_must_have_introspection_scope(strict_server: Server) -> None:
    server = strict_server
    plain = server.create_client(name="plain")
    scoped = server.create_client(name="scoped", scopes=["introspection"])
    target = mint(server, plain)
    response = post_introspect(server, {"token": target}, **bearer(mint(server, plain)))
    assert response.status_code == 401
    # A token of a client that has the scope, but not granted it, does not do either.
    unscoped = mint(server, scoped, scope="")
    assert post_introspect(server, {"token": target}, **bearer(unscoped)).status_code == 401
    # (This server also restricts callers to their own client's tokens.)
    own = mint(server, scoped)
    response = post_introspect(server, {"token": own}, **bearer(mint(server, scoped)))
    assert response.status_code == 200 and response.json()["active"] is True


def test_basic_restricted_to_own_tokens(strict_server: Server) -> None:
    server = strict_server
    first = server.create_client(name="first", scopes=["introspection"])
    second = server.create_client(name="second")
    own, foreign = mint(server, first), mint(server, second)
    response = post_introspect(server, {"token": foreign}, auth=first.basic)
    assert response.status_code == 200 and response.json() == {"active": False}
    response = post_introspect(server, {"token": own}, auth=first.basic)
    assert response.json()["active"] is True
    # A Bearer token of the same client is restricted alike (it was a way around it).
    response = post_introspect(server, {"token": foreign}, **bearer(own))
    assert response.status_code == 200 and response.json() == {"active": False}
    response = post_introspect(server, {"token": own}, **bearer(mint(server, first)))
    assert response.json()["active"] is True


def test_property_defaults(
    server: Server, client: Client, other: Client, inspector: Client
) -> None:
    """By default a Bearer caller needs the introspection scope (Janssen's default lets any
    access token scan every token: RFC 7662 section 4); Basic callers see every token."""
    foreign = mint(server, other)
    response = post_introspect(server, {"token": foreign}, **bearer(mint(server, client)))
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    response = post_introspect(server, {"token": foreign}, **bearer(mint(server, inspector)))
    assert response.json()["active"] is True
    assert post_introspect(server, {"token": foreign}, auth=client.basic).json()["active"] is True


@pytest.fixture(scope="module")
def janssen_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from own_server(
        tmp_path_factory, "janssen", {"introspectionAccessTokenMustHaveIntrospectionScope": False}
    )


def test_janssens_introspection_default_restored_by_property(janssen_server: Server) -> None:
    server = janssen_server
    plain, other = server.create_client(name="plain"), server.create_client(name="o")
    response = post_introspect(
        server, {"token": mint(server, other)}, **bearer(mint(server, plain))
    )
    assert response.status_code == 200 and response.json()["active"] is True


# -- JWT responses and JWT access tokens --------------------------------------------------
def jwks_keys(server: Server) -> dict[str, Any]:
    with server.http() as http:
        jwks = http.get(f"{AUTH}/jwks").json()
    return {key.key_id: key for key in jwt.PyJWKSet.from_dict(jwks).keys}


def verify(server: Server, token: str, **options: Any) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    key = jwks_keys(server)[header["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=[header["alg"]], options={"verify_aud": False, **options}
    )
    return claims


def test_response_as_jwt_is_verifiable(server: Server, client: Client) -> None:
    token = mint(server, client)
    time.sleep(1.05)  # so that "now" and the token's iat differ
    with server.http() as http:
        response = http.post(
            f"{AUTH}/introspection",
            data={"token": token, "response_as_jwt": "true"},
            auth=(ADMIN_ID, ADMIN_SECRET),
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/token-introspection+jwt"
    assert response.headers["cache-control"] == "no-store"
    claims = verify(server, response.text)
    plain = server.fetch_introspection(token)
    assert claims["active"] is True
    for name in ("client_id", "scope", "iss", "aud", "sub", "exp", "iat", "token_type"):
        assert claims[name] == plain[name], name  # the token's iat, not the response time
    # Tampering breaks it.
    head, _, signature = response.text.split(".")
    forged = (
        base64.urlsafe_b64encode(
            json.dumps({**claims, "active": True, "client_id": "evil"}).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(jwt.InvalidSignatureError):
        verify(server, f"{head}.{forged}.{signature}")


def test_revoked_jwt_access_token_is_inactive(server: Server) -> None:
    client = server.create_client("--access-token-as-jwt", name="jwt")
    token = mint(server, client)
    claims = verify(server, token)
    assert claims["client_id"] == client.client_id and claims["jti"]
    assert server.fetch_introspection(token)["active"] is True
    assert server.send_revoke(client, token=token).status_code == 200
    # Still cryptographically valid (signature and expiry) ...
    assert verify(server, token)["jti"] == claims["jti"]
    # ... but the server knows it is revoked.
    assert server.fetch_introspection(token) == {"active": False}
    # And it can no longer authenticate as a bearer caller.
    other = mint(server, client)
    assert post_introspect(server, {"token": other}, **bearer(token)).status_code == 401
