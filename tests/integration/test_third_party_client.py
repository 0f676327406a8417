"""A third-party OAuth 2 client (Authlib's httpx `OAuth2Client`) against the real server.

The endpoints come from discovery, never hard-coded; both shared-secret client
authentication methods Authlib speaks are exercised at the token, revocation and
introspection endpoints.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from tests.support.server import Client, Server

with warnings.catch_warnings():
    # Authlib prefers the `httpx2` package and warns when it falls back to `httpx`.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client, OAuthError

METHODS = ["client_secret_basic", "client_secret_post"]
USERNAME = "carol"
PASSWORD = "a long and secret passphrase"
INTROSPECTION_ALGS = "introspection_endpoint_auth_signing_alg_values_supported"


@dataclass
class Endpoints:
    issuer: str
    token: str
    revocation: str
    introspection: str
    jwks: str


@pytest.fixture(scope="module")
def endpoints(server: Server) -> Endpoints:
    document = httpx.get(f"{server.url}/.well-known/openid-configuration", timeout=10).json()
    return Endpoints(
        document["issuer"],
        document["token_endpoint"],
        document["revocation_endpoint"],
        document["introspection_endpoint"],
        document["jwks_uri"],
    )


@pytest.fixture(scope="module")
def clients(server: Server) -> dict[str, Client]:
    server.cli("user", "create", "--username", USERNAME, "--password", PASSWORD)
    return {
        method: server.create_client(
            grant_types=["client_credentials", "password", "refresh_token"],
            scopes=["openid", "email", "profile"],
            auth_method=method,
        )
        for method in METHODS
    }


@pytest.fixture(params=METHODS)
def oauth(
    request: pytest.FixtureRequest, clients: dict[str, Client], endpoints: Endpoints
) -> Iterator[OAuth2Client]:
    method: str = request.param
    registered = clients[method]
    with OAuth2Client(
        client_id=registered.client_id,
        client_secret=registered.secret,
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        token_endpoint=endpoints.token,
        timeout=10,
    ) as client:
        yield client


def introspect(
    client: OAuth2Client, endpoints: Endpoints, token: str, hint: str | None = None
) -> dict[str, Any]:
    response = client.introspect_token(endpoints.introspection, token=token, token_type_hint=hint)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def revoke(client: OAuth2Client, endpoints: Endpoints, token: str, hint: str | None) -> None:
    response = client.revoke_token(endpoints.revocation, token=token, token_type_hint=hint)
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"


# -- discovery ----------------------------------------------------------------------------
def test_discovery_is_valid_rfc8414_metadata(
    server: Server, endpoints: Endpoints, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test server speaks plain HTTP
    document = httpx.get(f"{server.url}/.well-known/openid-configuration", timeout=10).json()
    assert document["response_types_supported"] == ["code"]
    metadata = AuthorizationServerMetadata(document)
    metadata.validate()
    assert endpoints.issuer == server.url
    for method in METHODS:
        assert method in metadata.token_endpoint_auth_methods_supported
        assert method in metadata.revocation_endpoint_auth_methods_supported
    assert "client_secret_basic" in metadata.introspection_endpoint_auth_methods_supported
    for grant in ("authorization_code", "client_credentials", "password", "refresh_token"):
        assert grant in metadata.grant_types_supported
    # The Janssen path is an alias of the same document.
    alias = httpx.get(f"{server.url}/jans-auth/.well-known/openid-configuration", timeout=10)
    assert alias.json() == document


def test_discovery_publishes_introspection_signing_algs(server: Server) -> None:
    """RFC 8414 section 2: `introspection_endpoint_auth_signing_alg_values_supported` MUST be
    present when `introspection_endpoint_auth_methods_supported` lists private_key_jwt or
    client_secret_jwt (Authlib's metadata validation refuses the document without it)."""
    document = httpx.get(f"{server.url}/.well-known/openid-configuration", timeout=10).json()
    methods = set(document["introspection_endpoint_auth_methods_supported"])
    assert methods & {"private_key_jwt", "client_secret_jwt"}
    assert document.get(INTROSPECTION_ALGS)


# -- client_credentials -------------------------------------------------------------------
def test_client_credentials_revoke_then_introspect(
    oauth: OAuth2Client, endpoints: Endpoints
) -> None:
    token = oauth.fetch_token(grant_type="client_credentials", scope="email profile")
    assert token["token_type"] == "Bearer"
    assert set(token["scope"].split()) == {"email", "profile"}
    assert "refresh_token" not in token
    assert not token.is_expired()
    info = introspect(oauth, endpoints, token["access_token"], "access_token")
    assert info["active"] is True
    assert info["client_id"] == oauth.client_id
    revoke(oauth, endpoints, token["access_token"], "access_token")
    assert introspect(oauth, endpoints, token["access_token"]) == {"active": False}
    # Revoking again, or revoking nonsense, is still a 200 (RFC 7009 section 2.2).
    revoke(oauth, endpoints, token["access_token"], "access_token")
    revoke(oauth, endpoints, "never-issued-token", None)


def test_authlib_default_token_selection(oauth: OAuth2Client, endpoints: Endpoints) -> None:
    """With no explicit token, Authlib revokes its current token (the refresh token if any)."""
    oauth.fetch_token(grant_type="client_credentials")
    access = oauth.token["access_token"]
    response = oauth.revoke_token(endpoints.revocation)
    assert response.status_code == 200
    assert introspect(oauth, endpoints, access)["active"] is False


# -- password grant with refresh ----------------------------------------------------------
def password_token(oauth: OAuth2Client) -> dict[str, Any]:
    token: dict[str, Any] = oauth.fetch_token(
        username=USERNAME, password=PASSWORD, scope="openid email"
    )
    assert oauth.metadata["grant_type"] == "password"  # guessed by Authlib from the arguments
    assert token["refresh_token"] and token["id_token"]
    return token


def test_refresh_then_revoking_the_refresh_token_kills_the_access_token(
    oauth: OAuth2Client, endpoints: Endpoints
) -> None:
    first = password_token(oauth)
    refreshed = oauth.refresh_token(refresh_token=first["refresh_token"])
    assert refreshed["access_token"] != first["access_token"]
    assert refreshed["refresh_token"] != first["refresh_token"]
    assert oauth.token["access_token"] == refreshed["access_token"]
    # Rotation: the old refresh token is spent.
    assert introspect(oauth, endpoints, first["refresh_token"])["active"] is False

    info = introspect(oauth, endpoints, refreshed["access_token"])
    assert info["active"] is True and info["username"] == USERNAME
    revoke(oauth, endpoints, refreshed["refresh_token"], "refresh_token")
    # The cascade: every token of the grant is gone, the first access token included.
    for token in (refreshed["refresh_token"], refreshed["access_token"], first["access_token"]):
        assert introspect(oauth, endpoints, token) == {"active": False}
    with pytest.raises(OAuthError) as revoked:
        oauth.refresh_token(refresh_token=refreshed["refresh_token"])
    assert revoked.value.error == "invalid_grant"
    # The spent one is refused too (presented before the revocation, that replay would have
    # revoked the grant itself: reuse detection, see test_refresh_reuse.py).
    with pytest.raises(OAuthError) as spent:
        oauth.refresh_token(refresh_token=first["refresh_token"])
    assert spent.value.error == "invalid_grant"


def test_revoking_the_access_token_kills_the_refresh_token(
    oauth: OAuth2Client, endpoints: Endpoints
) -> None:
    token = password_token(oauth)
    revoke(oauth, endpoints, token["access_token"], "access_token")
    assert introspect(oauth, endpoints, token["access_token"])["active"] is False
    assert introspect(oauth, endpoints, token["refresh_token"])["active"] is False
    with pytest.raises(OAuthError) as caught:
        oauth.refresh_token(refresh_token=token["refresh_token"])
    assert caught.value.error == "invalid_grant"


def test_refresh_token_with_access_token_hint_is_revoked(
    oauth: OAuth2Client, endpoints: Endpoints
) -> None:
    """RFC 7009 section 2.1: the hint is only a hint (Janssen: no fallback, the refresh
    token stayed alive)."""
    token = password_token(oauth)
    revoke(oauth, endpoints, token["refresh_token"], "access_token")
    assert introspect(oauth, endpoints, token["refresh_token"])["active"] is False
    assert introspect(oauth, endpoints, token["access_token"])["active"] is False


def test_a_client_cannot_revoke_another_clients_token(
    clients: dict[str, Client], endpoints: Endpoints
) -> None:
    basic, post = clients["client_secret_basic"], clients["client_secret_post"]
    with (
        OAuth2Client(
            basic.client_id,
            basic.secret,
            token_endpoint_auth_method="client_secret_basic",
            token_endpoint=endpoints.token,
        ) as owner,
        OAuth2Client(
            post.client_id,
            post.secret,
            token_endpoint_auth_method="client_secret_post",
            revocation_endpoint_auth_method="client_secret_post",
        ) as stranger,
    ):
        token = owner.fetch_token(grant_type="client_credentials")
        response = stranger.revoke_token(endpoints.revocation, token=token["access_token"])
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
        assert introspect(owner, endpoints, token["access_token"])["active"] is True


def test_wrong_auth_method_is_rejected(clients: dict[str, Client], endpoints: Endpoints) -> None:
    """A client registered for client_secret_post may not use client_secret_basic."""
    post = clients["client_secret_post"]
    with OAuth2Client(
        post.client_id,
        post.secret,
        token_endpoint_auth_method="client_secret_basic",
        token_endpoint=endpoints.token,
    ) as client:
        with pytest.raises(OAuthError) as caught:
            client.fetch_token(grant_type="client_credentials")
        assert caught.value.error == "invalid_client"


# -- JWT client authentication (RFC 7523) through Authlib ---------------------------------
@pytest.mark.parametrize("method", ["client_secret_jwt", "private_key_jwt"])
def test_jwt_client_authentication(
    server: Server, endpoints: Endpoints, tmp_path: Path, method: str
) -> None:
    """Authlib's ClientSecretJWT / PrivateKeyJWT assertions (audience: the token endpoint,
    a fresh jti each time) are accepted at the token, revocation and introspection
    endpoints."""
    from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    args = ["--auth-method", method, "--grant-type", "client_credentials", "--scope", "email"]
    if method == "private_key_jwt":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
        jwks = tmp_path / "jwks.json"
        jwks.write_text(json.dumps({"keys": [public]}))
        registered = server.create_client(*args, "--jwks-file", str(jwks))
        secret: Any = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        auth: Any = PrivateKeyJWT(endpoints.token, headers={"kid": "k1"})
    else:
        registered = server.create_client(*args)
        secret = registered.secret
        auth = ClientSecretJWT(endpoints.token)
    with OAuth2Client(
        registered.client_id,
        secret,
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        token_endpoint=endpoints.token,
        timeout=10,
    ) as client:
        client.register_client_auth_method(auth)
        token = client.fetch_token(grant_type="client_credentials")
        assert token["scope"] == "email"
        assert introspect(client, endpoints, token["access_token"])["active"] is True
        revoke(client, endpoints, token["access_token"], "access_token")
        assert introspect(client, endpoints, token["access_token"]) == {"active": False}
