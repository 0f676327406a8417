"""The token endpoint through a real `tokenrevoke serve`: grants, tokens, errors, storage.

Every request goes over HTTP; clients and users are set up with the `tokenrevoke` CLI.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from tests.support.server import AUTH, Client, Server
from tests.support.wire import assert_no_store, assert_oauth_error, sha256_hex

TOKEN = f"{AUTH}/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PASSWORD = "correct horse battery staple"
USERNAME = "alice"


@dataclass
class Setup:
    server: Server
    cc: Client  # client_credentials only; scopes openid profile email
    full: Client  # client_credentials, password, refresh_token; openid profile email
    other: Client  # like `full`, a second client
    jwt_client: Client  # access tokens as JWT (RFC 9068)
    post: Client  # client_secret_post
    user_inum: str


@pytest.fixture(scope="module")
def setup(server: Server) -> Setup:
    scopes = ["openid", "profile", "email"]
    grants = ["client_credentials", "password", "refresh_token"]
    cc = server.create_client(grant_types=["client_credentials"], scopes=scopes)
    full = server.create_client(grant_types=grants, scopes=scopes)
    other = server.create_client(grant_types=grants, scopes=scopes)
    jwt_client = server.create_client("--access-token-as-jwt", grant_types=grants, scopes=scopes)
    post = server.create_client(grant_types=grants, scopes=scopes, auth_method="client_secret_post")
    out = server.cli("user", "create", "--username", USERNAME, "--password", PASSWORD, "--json")
    return Setup(server, cc, full, other, jwt_client, post, json.loads(out.stdout)["inum"])


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with server.http() as client:
        yield client


def post_token(http: httpx.Client, client: Client | None, **form: str) -> httpx.Response:
    return http.post(TOKEN, data=form, auth=client.basic if client else None)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert_no_store(response)
    body: dict[str, Any] = response.json()
    return body


def password_grant(
    http: httpx.Client, client: Client, scope: str | None = None, **extra: str
) -> dict[str, Any]:
    form = {"grant_type": "password", "username": USERNAME, "password": PASSWORD, **extra}
    if scope is not None:
        form["scope"] = scope
    return ok(post_token(http, client, **form))


# -- client_credentials -------------------------------------------------------------------
def test_client_credentials_grants_the_clients_scopes_by_default(
    setup: Setup, http: httpx.Client
) -> None:
    body = ok(post_token(http, setup.cc, grant_type="client_credentials"))
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and 0 < body["expires_in"] <= 300
    assert set(body["scope"].split()) == {"openid", "profile", "email"}
    assert "refresh_token" not in body
    assert "id_token" not in body  # no user, no id_token
    info = setup.server.introspect(body["access_token"])
    assert info["active"] is True
    assert info["client_id"] == setup.cc.client_id
    assert info["sub"] == setup.cc.client_id
    assert info["token_type"] == "Bearer"
    assert set(info["scope"].split()) == {"openid", "profile", "email"}
    assert info["exp"] - info["iat"] == body["expires_in"]


def test_client_credentials_scope_is_intersected_unknown_scopes_dropped(
    setup: Setup, http: httpx.Client
) -> None:
    body = ok(
        post_token(
            http,
            setup.cc,
            grant_type="client_credentials",
            scope="email not-a-scope openid revoke_any_token email",
        )
    )
    # Janssen: the intersection with the client's scopes; unknown ones and scopes the
    # client does not hold (revoke_any_token) are silently dropped, duplicates collapse.
    assert body["scope"].split() == ["email", "openid"]
    assert "refresh_token" not in body
    info = setup.server.introspect(body["access_token"])
    assert info["scope"].split() == ["email", "openid"]


def test_client_credentials_with_only_foreign_scopes_gets_no_scope(
    setup: Setup, http: httpx.Client
) -> None:
    body = ok(post_token(http, setup.cc, grant_type="client_credentials", scope="admin root"))
    assert body.get("scope", "") == ""
    info = setup.server.introspect(body["access_token"])
    assert info["active"] is True
    assert info["scope"] == ""


def test_client_credentials_never_issues_a_refresh_token(setup: Setup, http: httpx.Client) -> None:
    # Even for a client that is registered for refresh_token.
    body = ok(post_token(http, setup.full, grant_type="client_credentials", scope="openid"))
    assert "refresh_token" not in body
    assert "id_token" not in body


def test_client_secret_post_at_the_token_endpoint(setup: Setup, http: httpx.Client) -> None:
    assert setup.post.secret is not None
    body = ok(
        http.post(
            TOKEN,
            data={
                "grant_type": "client_credentials",
                "scope": "email",
                "client_id": setup.post.client_id,
                "client_secret": setup.post.secret,
            },
        )
    )
    assert body["scope"] == "email"
    # Registered for client_secret_post: HTTP Basic is refused.
    assert_oauth_error(
        post_token(http, setup.post, grant_type="client_credentials"), 401, "invalid_client"
    )


def test_bad_client_credentials_are_401(setup: Setup, http: httpx.Client) -> None:
    for auth in [(setup.cc.client_id, "wrong-secret-wrong-secret"), ("no-such-client", "x" * 20)]:
        response = http.post(TOKEN, data={"grant_type": "client_credentials"}, auth=auth)
        assert_oauth_error(response, 401, "invalid_client")
        assert response.headers["www-authenticate"] == 'Basic realm="jans-auth"'
    response = http.post(TOKEN, data={"grant_type": "client_credentials"})
    assert_oauth_error(response, 401, "invalid_client")


# -- password -----------------------------------------------------------------------------
def test_password_grant(setup: Setup, http: httpx.Client) -> None:
    body = password_grant(http, setup.full, scope="profile email")
    assert body["token_type"] == "Bearer"
    assert body["scope"].split() == ["profile", "email"]
    assert body["refresh_token"] and body["refresh_token"] != body["access_token"]
    assert "id_token" not in body  # no openid scope
    info = setup.server.introspect(body["access_token"])
    assert info["active"] is True
    assert info["sub"] == setup.user_inum
    assert info["username"] == USERNAME
    assert info["client_id"] == setup.full.client_id
    refresh = setup.server.introspect(body["refresh_token"])
    assert refresh["active"] is True
    assert "token_type" not in refresh  # RFC 7662 section 2.2: an access token's type


def test_password_grant_without_refresh_grant_gets_no_refresh_token(
    setup: Setup, server: Server, http: httpx.Client
) -> None:
    client = server.create_client(grant_types=["password"], scopes=["email"])
    body = password_grant(http, client)
    assert "refresh_token" not in body
    assert body["scope"] == "email"


def test_wrong_password_and_unknown_user_look_the_same(setup: Setup, http: httpx.Client) -> None:
    wrong = assert_oauth_error(
        post_token(
            http, setup.full, grant_type="password", username=USERNAME, password="not the password"
        ),
        400,
        "invalid_grant",
    )
    unknown = assert_oauth_error(
        post_token(
            http, setup.full, grant_type="password", username="nobody-here", password=PASSWORD
        ),
        400,
        "invalid_grant",
    )
    assert wrong == unknown  # same description: no user enumeration


def test_password_grant_needs_username_and_password(setup: Setup, http: httpx.Client) -> None:
    assert_oauth_error(
        post_token(http, setup.full, grant_type="password", username=USERNAME),
        400,
        "invalid_request",
    )
    assert_oauth_error(
        post_token(http, setup.full, grant_type="password", password=PASSWORD),
        400,
        "invalid_request",
    )


# -- refresh_token ------------------------------------------------------------------------
def test_refresh_rotates_and_the_old_refresh_token_is_dead(
    setup: Setup, http: httpx.Client
) -> None:
    first = password_grant(http, setup.full, scope="profile email")
    second = ok(
        post_token(
            http, setup.full, grant_type="refresh_token", refresh_token=first["refresh_token"]
        )
    )
    assert second["access_token"] not in (first["access_token"], first["refresh_token"])
    assert second["refresh_token"] not in (first["access_token"], first["refresh_token"])
    assert second["scope"].split() == ["profile", "email"]
    # Same grant: the new access token belongs to the same user.
    info = setup.server.introspect(second["access_token"])
    assert info["active"] is True and info["sub"] == setup.user_inum
    assert info["username"] == USERNAME
    # The old refresh token is spent; the rotated one works once more.
    assert setup.server.active(first["refresh_token"]) is False
    third = ok(
        post_token(
            http, setup.full, grant_type="refresh_token", refresh_token=second["refresh_token"]
        )
    )
    assert third["refresh_token"] != second["refresh_token"]
    # Presenting a spent one is refused (and, being a replay, revokes the family: see
    # test_refresh_reuse.py).
    assert_oauth_error(
        post_token(
            http, setup.full, grant_type="refresh_token", refresh_token=first["refresh_token"]
        ),
        400,
        "invalid_grant",
    )


def test_concurrent_refreshes_with_one_refresh_token_succeed_once(setup: Setup) -> None:
    first = password_grant_once(setup)

    def attempt(_: int) -> httpx.Response:
        with setup.server.http() as http:
            return post_token(
                http, setup.full, grant_type="refresh_token", refresh_token=first["refresh_token"]
            )

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(attempt, range(8)))
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, [r.text for r in responses]
    for loser in responses:
        if loser.status_code != 200:
            assert_oauth_error(loser, 400, "invalid_grant")
    # One refresh token presented eight times is a replay: reuse detection (on by default,
    # no grace window) revoked the winner's family too.
    assert setup.server.active(winners[0].json()["refresh_token"]) is False


def password_grant_once(setup: Setup) -> dict[str, Any]:
    with setup.server.http() as http:
        return password_grant(http, setup.full, scope="email")


def test_refresh_scope_may_narrow_but_not_widen(setup: Setup, http: httpx.Client) -> None:
    first = password_grant(http, setup.full, scope="profile email")
    wider = post_token(
        http,
        setup.full,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        scope="profile email openid",
    )
    assert_oauth_error(wider, 400, "invalid_scope")
    # A refused request does not spend the refresh token.
    narrow = ok(
        post_token(
            http,
            setup.full,
            grant_type="refresh_token",
            refresh_token=first["refresh_token"],
            scope="email",
        )
    )
    assert narrow["scope"] == "email"
    assert setup.server.introspect(narrow["access_token"])["scope"] == "email"
    # RFC 6749 section 6: the new refresh token keeps the scope of the original grant.
    again = ok(
        post_token(
            http,
            setup.full,
            grant_type="refresh_token",
            refresh_token=narrow["refresh_token"],
            scope="profile email",
        )
    )
    assert again["scope"].split() == ["profile", "email"]


def test_refresh_token_of_another_client_or_wrong_kind_is_invalid_grant(
    setup: Setup, http: httpx.Client
) -> None:
    theirs = password_grant(http, setup.other, scope="email")
    assert_oauth_error(
        post_token(
            http, setup.full, grant_type="refresh_token", refresh_token=theirs["refresh_token"]
        ),
        400,
        "invalid_grant",
    )
    # The failed attempt did not spend it for its owner.
    ok(
        post_token(
            http, setup.other, grant_type="refresh_token", refresh_token=theirs["refresh_token"]
        )
    )
    mine = password_grant(http, setup.full, scope="email")
    for bogus in (mine["access_token"], "not-a-refresh-token"):
        assert_oauth_error(
            post_token(http, setup.full, grant_type="refresh_token", refresh_token=bogus),
            400,
            "invalid_grant",
        )
    assert_oauth_error(
        post_token(http, setup.full, grant_type="refresh_token"), 400, "invalid_request"
    )


def test_refresh_after_revocation_is_invalid_grant(setup: Setup, http: httpx.Client) -> None:
    first = password_grant(http, setup.full, scope="email")
    revoked = setup.server.revoke(setup.full, token=first["access_token"])
    assert revoked.status_code == 200
    # Revoking the access token cascades to the whole grant, refresh token included.
    assert_oauth_error(
        post_token(
            http, setup.full, grant_type="refresh_token", refresh_token=first["refresh_token"]
        ),
        400,
        "invalid_grant",
    )


@pytest.mark.parametrize("change", ["deleted", "disabled", "replaced"])
def test_refresh_after_the_user_is_gone_is_invalid_grant(
    setup: Setup, server: Server, http: httpx.Client, change: str
) -> None:
    """A password-grant refresh token must not outlive its user: not once the user is deleted
    (it must not turn into a client token), disabled, or replaced by another account with
    the same username (it must not mint tokens for the new account)."""
    username = f"bob-{change}"
    client = server.create_client(grant_types=["password", "refresh_token"], scopes=["email"])
    server.cli("user", "create", "--username", username, "--password", PASSWORD)
    body = password_grant(http, client, username=username)
    info = server.introspect(body["access_token"])
    assert info["username"] == username
    _change_user(server, username, change)
    response = post_token(
        http, client, grant_type="refresh_token", refresh_token=body["refresh_token"]
    )
    if response.status_code == 200:
        after = server.introspect(response.json()["access_token"])
        pytest.fail(f"refresh after the user was {change} minted a token for {after} (was {info})")
    assert_oauth_error(response, 400, "invalid_grant")
    # And the password grant agrees.
    if change != "replaced":
        assert_oauth_error(
            post_token(http, client, grant_type="password", username=username, password=PASSWORD),
            400,
            "invalid_grant",
        )


def _change_user(server: Server, username: str, change: str) -> None:
    """No CLI for this yet, so straight in the store, as an operator's directory change would."""
    db = sqlite3.connect(server.data_dir / "tokenrevoke.db", timeout=10)
    try:
        if change == "disabled":
            (data,) = db.execute("SELECT data FROM users WHERE uid = ?", (username,)).fetchone()
            db.execute(
                "UPDATE users SET data = ? WHERE uid = ?",
                (json.dumps({**json.loads(data), "disabled": True}), username),
            )
        else:
            db.execute("DELETE FROM users WHERE uid = ?", (username,))
        db.commit()
    finally:
        db.close()
    if change == "replaced":
        server.cli("user", "create", "--username", username, "--password", PASSWORD)


# -- id_token -----------------------------------------------------------------------------
def test_id_token_for_openid_is_verifiable_with_the_jwks(setup: Setup, http: httpx.Client) -> None:
    body = password_grant(http, setup.full, scope="openid email")
    assert body["id_token"]
    discovery = http.get("/.well-known/openid-configuration").json()
    jwks = jwt.PyJWKClient(discovery["jwks_uri"], cache_keys=False)
    key = jwks.get_signing_key_from_jwt(body["id_token"])
    header = jwt.get_unverified_header(body["id_token"])
    assert header["alg"] == "RS256" and header["kid"] == key.key_id
    now = int(time.time())
    claims = jwt.decode(
        body["id_token"],
        key.key,
        algorithms=["RS256"],
        audience=setup.full.client_id,
        issuer=discovery["issuer"],
    )
    assert claims["sub"] == setup.user_inum
    assert abs(claims["iat"] - now) < 60
    assert claims["exp"] > now
    assert abs(claims["auth_time"] - now) < 60
    # Published keys carry what verifiers need.
    published = http.get(f"{AUTH}/jwks").json()["keys"]
    entry = next(k for k in published if k["kid"] == header["kid"])
    assert entry["kty"] == "RSA" and entry["use"] == "sig" and entry["alg"] == "RS256"
    assert "d" not in entry and "p" not in entry  # public parts only


def test_refresh_keeps_auth_time_and_the_refresh_token_expiry(
    setup: Setup, http: httpx.Client
) -> None:
    """Refreshing is not re-authenticating: the id_token keeps `auth_time`, and (Janssen,
    refreshTokenExtendLifetimeOnRotation=false) the rotated refresh token keeps the expiry
    of the one it replaces, so a grant cannot be kept alive for ever by refreshing."""
    first = password_grant(http, setup.full, scope="openid")
    first_exp = setup.server.introspect(first["refresh_token"])["exp"]
    time.sleep(1.1)
    second = ok(
        post_token(
            http, setup.full, grant_type="refresh_token", refresh_token=first["refresh_token"]
        )
    )
    assert second.get("id_token")
    a = jwt.decode(first["id_token"], options={"verify_signature": False})
    b = jwt.decode(second["id_token"], options={"verify_signature": False})
    assert b["auth_time"] == a["auth_time"]  # no new authentication happened
    assert b["sub"] == a["sub"] == setup.user_inum
    assert b["iat"] > a["iat"]
    assert setup.server.introspect(second["refresh_token"])["exp"] == first_exp
    # The new access token has its own, fresh lifetime.
    info = setup.server.introspect(second["access_token"])
    assert info["exp"] - info["iat"] == second["expires_in"]


def test_no_id_token_without_openid_or_without_user(setup: Setup, http: httpx.Client) -> None:
    assert "id_token" not in password_grant(http, setup.full, scope="email")
    assert "id_token" not in ok(
        post_token(http, setup.full, grant_type="client_credentials", scope="openid")
    )


# -- JWT access tokens (RFC 9068) ---------------------------------------------------------
def _verify_jwt_access_token(http: httpx.Client, token: str, client: Client) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    keys = jwt.PyJWKSet.from_dict(http.get(f"{AUTH}/jwks").json())
    key = next(k for k in keys.keys if k.key_id == header["kid"])
    issuer = http.get("/.well-known/openid-configuration").json()["issuer"]
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=client.client_id,
        issuer=issuer,
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
    )
    assert claims["client_id"] == client.client_id
    assert isinstance(claims["scope"], str)
    return claims


def test_jwt_access_token_client_credentials(setup: Setup, http: httpx.Client) -> None:
    body = ok(
        post_token(http, setup.jwt_client, grant_type="client_credentials", scope="email profile")
    )
    claims = _verify_jwt_access_token(http, body["access_token"], setup.jwt_client)
    assert claims["sub"] == setup.jwt_client.client_id
    assert claims["scope"] == "email profile" == body["scope"]
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    info = setup.server.introspect(body["access_token"])
    assert info["active"] is True
    assert info["jti"] == claims["jti"]
    assert info["exp"] == claims["exp"]
    # Revoked: still a valid signature, but introspection says inactive.
    assert setup.server.revoke(setup.jwt_client, token=body["access_token"]).status_code == 200
    _verify_jwt_access_token(http, body["access_token"], setup.jwt_client)
    assert setup.server.introspect(body["access_token"]) == {"active": False}


def test_jwt_access_token_password_grant(setup: Setup, http: httpx.Client) -> None:
    body = password_grant(http, setup.jwt_client, scope="openid email")
    claims = _verify_jwt_access_token(http, body["access_token"], setup.jwt_client)
    assert claims["sub"] == setup.user_inum
    assert claims["scope"] == "openid email"
    assert setup.server.introspect(body["access_token"])["jti"] == claims["jti"]
    # Refresh tokens stay opaque; the refreshed access token is a new JWT with a new jti.
    assert body["refresh_token"].count(".") == 0
    second = ok(
        post_token(
            http, setup.jwt_client, grant_type="refresh_token", refresh_token=body["refresh_token"]
        )
    )
    again = _verify_jwt_access_token(http, second["access_token"], setup.jwt_client)
    assert again["jti"] != claims["jti"]
    assert again["sub"] == setup.user_inum
    # The id_token is not an access token.
    id_header = jwt.get_unverified_header(body["id_token"])
    assert id_header.get("typ") != "at+jwt"


def test_opaque_access_tokens_by_default(setup: Setup, http: httpx.Client) -> None:
    body = ok(post_token(http, setup.cc, grant_type="client_credentials"))
    assert body["access_token"].count(".") == 0
    assert len(body["access_token"]) >= 40


# -- protocol errors ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "grant",
    [
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
        "PASSWORD",
        "x",
    ],
)
def test_unsupported_grant_type(setup: Setup, http: httpx.Client, grant: str) -> None:
    assert_oauth_error(
        post_token(http, setup.full, grant_type=grant), 400, "unsupported_grant_type"
    )


def test_grant_the_client_is_not_registered_for_is_unauthorized_client(
    setup: Setup, http: httpx.Client
) -> None:
    assert_oauth_error(
        post_token(http, setup.cc, grant_type="password", username=USERNAME, password=PASSWORD),
        400,
        "unauthorized_client",
    )
    assert_oauth_error(
        post_token(http, setup.cc, grant_type="refresh_token", refresh_token="whatever"),
        400,
        "unauthorized_client",
    )
    assert_oauth_error(
        post_token(http, setup.cc, grant_type="authorization_code", code="whatever"),
        400,
        "unauthorized_client",
    )


def test_missing_grant_type(setup: Setup, http: httpx.Client) -> None:
    assert_oauth_error(post_token(http, setup.cc), 400, "invalid_request")
    assert_oauth_error(post_token(http, setup.cc, grant_type=""), 400, "invalid_request")
    assert_oauth_error(post_token(http, setup.cc, scope="openid"), 400, "invalid_request")


# Bodies that are not forms, repeated parameters, oversized bodies and invalid UTF-8: at
# every endpoint in test_hostile_input.py.


def test_errors_never_leak_internals(setup: Setup, http: httpx.Client) -> None:
    response = post_token(
        http, setup.full, grant_type="password", username="x" * 10000, password="y"
    )
    assert response.status_code in (400, 413)
    assert "Traceback" not in response.text
    response = post_token(http, setup.full, grant_type="client_credentials", scope="s " * 5000)
    assert response.status_code == 400
    assert "Traceback" not in response.text


# -- what is stored -----------------------------------------------------------------------
def test_only_token_hashes_are_stored(setup: Setup, http: httpx.Client) -> None:
    server = setup.server
    issued: dict[str, str] = {}
    cc = ok(post_token(http, setup.cc, grant_type="client_credentials"))
    issued["client_credentials access"] = cc["access_token"]
    pw = password_grant(http, setup.full, scope="openid email")
    issued["password access"] = pw["access_token"]
    issued["password refresh"] = pw["refresh_token"]
    issued["id_token"] = pw["id_token"]
    refreshed = ok(
        post_token(http, setup.full, grant_type="refresh_token", refresh_token=pw["refresh_token"])
    )
    issued["rotated access"] = refreshed["access_token"]
    issued["rotated refresh"] = refreshed["refresh_token"]
    at_jwt = password_grant(http, setup.jwt_client, scope="email")
    issued["JWT access"] = at_jwt["access_token"]
    issued["JWT refresh"] = at_jwt["refresh_token"]
    assert server.revoke(setup.cc, token=cc["access_token"]).status_code == 200  # a tombstone too

    db_path = server.data_dir / "tokenrevoke.db"
    db = sqlite3.connect(db_path, timeout=10)
    try:
        rows = db.execute("SELECT tkn_cde, tkn_typ, cln_id FROM tokens").fetchall()
    finally:
        db.close()
    by_code = {code: (kind, client_id) for code, kind, client_id in rows}
    for code, _kind, _client in rows:
        assert len(code) == 64 and code == code.lower()
        int(code, 16)
    expected_types = {
        "client_credentials access": "access_token",
        "password access": "access_token",
        "password refresh": "refresh_token",
        "id_token": "id_token",
        "rotated access": "access_token",
        "rotated refresh": "refresh_token",
        "JWT access": "access_token",
        "JWT refresh": "refresh_token",
    }
    for name, raw in issued.items():
        digest = sha256_hex(raw)
        assert digest in by_code, f"{name}: sha256 not stored"
        assert by_code[digest][0] == expected_types[name], name

    # No raw token, secret or password in the store files or the log: test_secrets_scan.py.


# -- signing key rotation -----------------------------------------------------------------
def test_rotated_out_key_stays_published_while_its_tokens_live(fresh_server: Server) -> None:
    """A key that signed until a moment ago must stay in the JWKS until its tokens expire,
    even when it was current far longer than the rotation interval planned (here: the
    interval passed while it stayed current, so its planned expiry is already over)."""
    server = fresh_server
    client = server.create_client(
        "--access-token-as-jwt", grant_types=["client_credentials", "password"], scopes=["openid"]
    )
    server.cli("user", "create", "--username", USERNAME, "--password", PASSWORD)
    with server.http() as http:
        before = ok(post_token(http, client, grant_type="client_credentials"))
        id_token = password_grant(http, client, scope="openid")["id_token"]
        old_kid = jwt.get_unverified_header(before["access_token"])["kid"]
        assert [k["kid"] for k in http.get(f"{AUTH}/jwks").json()["keys"]] == [old_kid]

        _age_signing_key(server, old_kid, hours=50)  # interval is 48 h by default
        deadline = time.monotonic() + 10
        while len(http.get(f"{AUTH}/jwks").json()["keys"]) < 2:
            assert time.monotonic() < deadline, "the server did not rotate its key"
            time.sleep(0.1)
        time.sleep(2)  # several maintenance rounds
        kids = [k["kid"] for k in http.get(f"{AUTH}/jwks").json()["keys"]]
        assert old_kid in kids, "the previous key was dropped while its tokens are valid"
        jwks = jwt.PyJWKClient(f"{server.url}{AUTH}/jwks", cache_keys=False)
        for token in (before["access_token"], id_token):
            key = jwks.get_signing_key_from_jwt(token)
            jwt.decode(token, key.key, algorithms=["RS256"], audience=client.client_id)
        after = ok(post_token(http, client, grant_type="client_credentials"))
        new_kid = jwt.get_unverified_header(after["access_token"])["kid"]
        assert new_kid != old_kid and new_kid in kids
        jwt.decode(
            after["access_token"],
            jwks.get_signing_key_from_jwt(after["access_token"]).key,
            algorithms=["RS256"],
            audience=client.client_id,
        )


def _age_signing_key(server: Server, kid: str, hours: int) -> None:
    """Pretend the key was created `hours` ago with the default plan (48 h + 1 h of token
    lifetime), and make the server reload its keys."""
    db = sqlite3.connect(server.data_dir / "tokenrevoke.db", timeout=10)
    try:
        (data,) = db.execute("SELECT data FROM signing_keys WHERE kid = ?", (kid,)).fetchone()
        key = json.loads(data)
        key["created_at"] = int(time.time()) - hours * 3600
        key["expires_at"] = key["created_at"] + 48 * 3600 + 3600
        db.execute("UPDATE signing_keys SET data = ? WHERE kid = ?", (json.dumps(key), kid))
        db.execute("UPDATE revisions SET revision = revision + 1 WHERE kind = 'keys'")
        db.commit()
    finally:
        db.close()
