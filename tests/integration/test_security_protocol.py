"""Regression tests for the security review's protocol findings (docs/security.md, rows
S8, S12, S14, S15, S26), through a real server. S13, S22 and S23 are shown in
test_revocation.py, S13, S24, S25 and S26's shapes in test_introspection_discovery.py.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from tests.support.server import AUTH, Client, Server

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PASSWORD = "a long and secret passphrase"  # noqa: S105 - test user
ENDPOINTS = {"token": f"{AUTH}/token", "revoke": f"{AUTH}/revoke",
             "introspection": f"{AUTH}/introspection"}  # fmt: skip


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Revoke-all and cross-client revocation switched on, as a deployment may."""
    server = Server(tmp_path_factory.mktemp("secproto") / "data")
    server.configure({"allowAllValueForRevokeEndpoint": True, "allowRevokeForOtherClients": True})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def mint(server: Server, client: Client, **form: str) -> str:
    return str(server.fetch_token(client, **form)["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def revoke(server: Server, form: dict[str, str], **kwargs: Any) -> httpx.Response:
    return server.session.post(f"{AUTH}/revoke", data=form, **kwargs)


# -- S8: revoke-all needs the client's own credentials ----------------------------------------
def test_a_bearer_token_cannot_revoke_every_token_of_its_client(srv: Server) -> None:
    client = srv.create_client(name="s8")
    victims = [mint(srv, client) for _ in range(3)]
    handed_to_a_resource_server = mint(srv, client)
    for form in ({"token": "all"}, {"token": "x", "token_type_hint": "all"},
                 {"token": "ALL", "token_type_hint": "refresh_token"}):  # fmt: skip
        response = revoke(srv, form, headers=bearer(handed_to_a_resource_server))
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"] == 'Bearer realm="jans-auth"'
        assert all(srv.is_active(t) for t in [*victims, handed_to_a_resource_server])
    # The client itself, authenticated, still can.
    response = srv.send_revoke(client, token="all")
    assert response.status_code == 200
    assert not any(srv.is_active(t) for t in [*victims, handed_to_a_resource_server])


# -- S14: revoke_any_token is checked on the token presented ----------------------------------
def test_revoke_any_token_must_be_granted_to_the_bearer_token(srv: Server) -> None:
    admin = srv.create_client(name="s14", scopes=["openid", "revoke_any_token"])
    owner = srv.create_client(name="s14-owner")
    foreign = mint(srv, owner)
    narrow = mint(srv, admin, scope="openid")
    response = revoke(srv, {"token": foreign}, headers=bearer(narrow))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert srv.is_active(foreign)
    # A token granted the scope may; so may the client with its own credentials.
    response = revoke(srv, {"token": foreign}, headers=bearer(mint(srv, admin)))
    assert response.status_code == 200, response.text
    assert not srv.is_active(foreign)
    other = mint(srv, owner)
    assert srv.send_revoke(admin, token=other).status_code == 200
    assert not srv.is_active(other)


# -- S12, S15: JWT client assertions ----------------------------------------------------------
def assertion(server: Server, client_id: str, key: str, **claims: Any) -> dict[str, str]:
    now = int(time.time())
    payload = {"iss": client_id, "sub": client_id, "aud": server.url + ENDPOINTS["token"],
               "jti": uuid.uuid4().hex, "iat": now, "exp": now + 60, **claims}  # fmt: skip
    signed = jwt.encode(payload, key, algorithm="HS256")
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": signed}


def call(server: Server, endpoint: str, form: dict[str, str]) -> httpx.Response:
    form = {**form, "grant_type": "client_credentials"} if endpoint == "token" else form
    if endpoint != "token":
        form = {**form, "token": "some-token"}
    return server.session.post(ENDPOINTS[endpoint], data=form)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_assertion_clients_cannot_be_told_apart(srv: Server, endpoint: str) -> None:
    """A junk assertion gets the same answer whether its client uses assertions, uses
    another method, or does not exist."""
    jwt_client = srv.create_client(auth_method="client_secret_jwt")
    basic_client = srv.create_client(auth_method="client_secret_basic")
    junk = "junk-key-that-is-long-enough-for-hs256"
    answers = []
    for client_id in (jwt_client.client_id, basic_client.client_id, "no-such-client"):
        response = call(srv, endpoint, assertion(srv, client_id, junk))
        assert response.status_code == 401, response.text
        answers.append((response.json(), response.headers.get("www-authenticate")))
    assert answers[0] == answers[1] == answers[2], answers
    assert answers[0] == ({"error": "invalid_client",
                           "error_description": "client authentication failed"}, None)  # fmt: skip


def jti_rows(server: Server) -> list[tuple[str, int]]:
    conn = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
    try:
        return [(row[0], row[1]) for row in conn.execute("SELECT jti, exp FROM jti_seen")]
    finally:
        conn.close()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_assertion_bounds(srv: Server, endpoint: str) -> None:
    """Validly signed, but `exp` overflowing (was a 500), a century ahead, or a huge `jti`
    (both were accepted and stored): 401 invalid_client, nothing stored."""
    client = srv.create_client(scopes=["openid"], auth_method="client_secret_jwt")
    key = str(client.secret)
    now = int(time.time())
    before = jti_rows(srv)
    cases = {
        "exp overflow": assertion(srv, client.client_id, key, exp=1e19),
        "exp infinite": assertion(srv, client.client_id, key, exp=10**400),
        "exp in a century": assertion(srv, client.client_id, key, exp=now + 100 * 365 * 86400),
        "huge jti": assertion(srv, client.client_id, key, jti="j" * 500_000),
        "jti not a string": assertion(srv, client.client_id, key, jti={"a": 1}),
        "iat overflow": assertion(srv, client.client_id, key, iat=1e308 * 10),
    }
    for case, form in cases.items():
        response = call(srv, endpoint, form)
        assert response.status_code == 401, (case, response.status_code, response.text[:200])
        assert response.json()["error"] == "invalid_client", case
    assert jti_rows(srv) == before
    # An ordinary assertion (an hour ahead, Authlib's default) still works.
    ok = call(srv, endpoint, assertion(srv, client.client_id, key, exp=now + 3600))
    assert ok.status_code == 200, ok.text


# -- S26: the challenge matches what the client used --------------------------------------------
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_wrong_client_secret_post_gets_no_basic_challenge(srv: Server, endpoint: str) -> None:
    post = srv.create_client(auth_method="client_secret_post")
    form = {"client_id": post.client_id, "client_secret": "wrong-secret"}
    response = call(srv, endpoint, form)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert "www-authenticate" not in response.headers
    # HTTP Basic, wrong: the Basic challenge (RFC 6749 section 5.2).
    basic = srv.create_client(auth_method="client_secret_basic")
    form = {"grant_type": "client_credentials"} if endpoint == "token" else {"token": "x"}
    response = srv.session.post(ENDPOINTS[endpoint], data=form, auth=(basic.client_id, "wrong"))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"] == 'Basic realm="jans-auth"'
