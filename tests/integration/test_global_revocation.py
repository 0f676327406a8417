"""Global token revocation through a real `tokenrevoke serve`: the endpoint
(`/jans-auth/restv1/global-token-revocation`), its discovery keys and flag, the config API
operation (`POST /token/revoke/user/{userId}`) and the CLI (`token revoke-user`).

Users log in with the password grant at three clients; the tokens are checked by
introspection, so "revoked" means what a resource server would see.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.integration.test_client_auth import ASSERTION_TYPE, public_jwk
from tests.integration.test_configapi_support import admin_api, assert_api_error
from tests.support.pki import new_key
from tests.support.server import AUTH, Client, Server
from tests.support.wire import assert_oauth_error, sha256_hex

ENDPOINT = f"{AUTH}/global-token-revocation"
PASSWORD = "global revocation password"
SCOPE = "global_token_revocation"
APP_GRANTS = ["password", "refresh_token", "client_credentials"]


@dataclass
class Setup:
    server: Server
    revoker: Client  # holds global_token_revocation
    unscoped: Client  # a confidential client without it
    apps: list[Client]  # three clients users log in to


@pytest.fixture(scope="module")
def setup(server: Server) -> Setup:
    revoker = server.create_client(grant_types=["client_credentials"], scopes=[SCOPE, "openid"])
    unscoped = server.create_client(grant_types=["client_credentials"], scopes=["openid"])
    apps = [server.create_client(grant_types=APP_GRANTS, scopes=["openid"]) for _ in range(3)]
    return Setup(server, revoker, unscoped, apps)


def new_user(server: Server, prefix: str = "user", email: str | None = None) -> tuple[str, str]:
    """A user who can log in: (uid, inum)."""
    uid = f"{prefix}-{uuid.uuid4().hex[:10]}"
    extra = ["--email", email] if email else []
    out = server.cli("user", "create", "--username", uid, "--password", PASSWORD, *extra, "--json")
    return uid, json.loads(out.stdout)["inum"]


def login(setup: Setup, uid: str, app: Client) -> dict[str, Any]:
    """Access, refresh and id token of one password grant."""
    tokens = setup.server.password_token(app, uid, PASSWORD, scope="openid")
    assert {"access_token", "refresh_token", "id_token"} <= set(tokens), tokens
    return tokens


def login_everywhere(setup: Setup, uid: str) -> list[dict[str, Any]]:
    return [login(setup, uid, app) for app in setup.apps]


INTROSPECTABLE = ("access_token", "refresh_token")  # id_tokens introspect inactive always
ALL_KINDS = (*INTROSPECTABLE, "id_token")


def raw_tokens(grants: list[dict[str, Any]], kinds: tuple[str, ...] = INTROSPECTABLE) -> list[str]:
    return [g[kind] for g in grants for kind in kinds]


def global_revoke(
    server: Server,
    body: Any,
    client: Client | None = None,
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    sent = {"Content-Type": "application/json", **(headers or {})}
    return server.session.post(
        ENDPOINT,
        content=content if content is not None else json.dumps(body).encode(),
        headers=sent,
        auth=client.basic if client else None,
    )


def sub(fmt: str, **members: str) -> dict[str, Any]:
    return {"sub_id": {"format": fmt, **members}}


def assert_no_content(response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert response.headers.get("cache-control") == "no-store"


def bind_to_session(server: Server, raw_token: str, session_id: str, *, user: bool = True) -> None:
    """We issue no session-bound tokens (no authorization endpoint), but a store migrated
    from Janssen holds them: bind one in the server's database, as such a row would be."""
    with sqlite3.connect(server.db_path, timeout=10) as db:
        changed = db.execute(
            "UPDATE tokens SET ssn_id = ?" + ("" if user else ", usr_id = NULL, usr_dn = NULL")
            + " WHERE tkn_cde = ?",
            (session_id, sha256_hex(raw_token)),
        ).rowcount  # fmt: skip
    assert changed == 1


# -- the endpoint revokes a user everywhere ------------------------------------------------
def test_revokes_every_token_of_the_user_at_every_client_and_no_one_elses(setup: Setup) -> None:
    server = setup.server
    alice, _ = new_user(server, "alice")
    bob, _ = new_user(server, "bob")
    alice_grants = login_everywhere(setup, alice)
    bob_grants = login_everywhere(setup, bob)
    others = server.fetch_token(setup.apps[0])["access_token"]  # a client's own token
    assert all(server.is_active(t) for t in raw_tokens(alice_grants))

    assert_no_content(global_revoke(server, sub("uid", id=alice), setup.revoker))

    assert not any(server.is_active(t) for t in raw_tokens(alice_grants))
    assert all(server.is_active(t) for t in raw_tokens(bob_grants))
    assert server.is_active(others)
    for app, grant in zip(setup.apps, alice_grants, strict=True):  # no refresh either
        response = server.session.post(
            f"{AUTH}/token", auth=app.basic,
            data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]},
        )  # fmt: skip
        assert_oauth_error(response, 400, "invalid_grant")
    # Re-authenticating is what the draft allows: a new login works and is live.
    assert server.is_active(login(setup, alice, setup.apps[0])["access_token"])


def test_revocation_is_committed_and_audited_before_the_204(setup: Setup) -> None:
    server = setup.server
    uid, inum = new_user(server, "audited")
    tokens = raw_tokens(login_everywhere(setup, uid), ALL_KINDS)
    assert_no_content(global_revoke(server, sub("uid", id=uid), setup.revoker))
    with sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True) as db:
        codes = [sha256_hex(t) for t in tokens]
        rows = db.execute(
            "SELECT t.revoked_at, r.revoke_reason, r.revoked_by FROM tokens AS t "
            "LEFT JOIN revokers AS r ON r.id = t.revoker "
            f"WHERE t.tkn_cde IN ({','.join('?' * len(codes))})",
            codes,
        ).fetchall()
        audit = db.execute(
            "SELECT action, actor, reason, count, details FROM audit "
            "WHERE action = 'global_revoke' AND details LIKE ?",
            (f'%"{inum}"%',),
        ).fetchall()
    actor = f"client:{setup.revoker.client_id}"
    assert len(rows) == 9 and all(r == (r[0], "global_token_revocation", actor) for r in rows)
    assert all(r[0] is not None for r in rows)
    assert [(a[0], a[1], a[2], a[3]) for a in audit] == [
        ("global_revoke", actor, "global_token_revocation", 9)
    ]
    assert json.loads(audit[0][4]) == {"format": "uid", "userId": inum, "sessions": []}
    assert not any(t in json.dumps(audit) for t in tokens)  # no raw token in the audit


@pytest.mark.parametrize(
    "fmt",
    ["uid", "opaque", "opaque-inum", "uid-inum", "inum", "email", "mail", "iss_sub"],
)
def test_every_subject_format_finds_the_user(setup: Setup, fmt: str) -> None:
    server = setup.server
    email = f"{uuid.uuid4().hex[:8]}@Example.org"
    uid, inum = new_user(server, fmt, email=email)
    tokens = raw_tokens([login(setup, uid, setup.apps[1])])
    body = {
        "uid": sub("uid", id=uid),
        "opaque": sub("opaque", id=uid),
        "opaque-inum": sub("opaque", id=inum),
        "uid-inum": sub("uid", id=inum),
        "inum": sub("inum", id=inum),
        "email": {"subject": {"format": "email", "email": email.upper()}},  # RFC 9493, draft-00
        "mail": sub("mail", id=email.lower()),  # Janssen: format = the attribute, value in id
        "iss_sub": sub("iss_sub", iss=server.discovery()["issuer"], sub=inum),
    }[fmt]
    assert_no_content(global_revoke(server, body, setup.revoker))
    assert not any(server.is_active(t) for t in tokens)


def test_every_user_sharing_an_email_is_revoked(setup: Setup) -> None:
    server = setup.server
    email = f"shared-{uuid.uuid4().hex[:8]}@example.org"
    first, _ = new_user(server, "first", email=email)
    second, _ = new_user(server, "second", email=email)
    tokens = raw_tokens([login(setup, first, setup.apps[0]), login(setup, second, setup.apps[2])])
    assert_no_content(global_revoke(server, sub("email", email=email), setup.revoker))
    assert not any(server.is_active(t) for t in tokens)


@pytest.mark.parametrize(
    "body",
    [
        sub("uid", id="no-such-user"),
        sub("opaque", id="no-such-user"),
        sub("email", email="nobody@example.org"),
        sub("inum", id="no-such-inum"),
        sub("session_id", id="no-such-session"),
    ],
)
def test_an_unknown_user_is_204_and_nothing_is_revoked(setup: Setup, body: Any) -> None:
    server = setup.server
    uid, _ = new_user(server, "bystander")
    tokens = raw_tokens([login(setup, uid, setup.apps[0])])
    assert_no_content(global_revoke(server, body, setup.revoker))
    assert all(server.is_active(t) for t in tokens)


def test_unknown_iss_sub_subject_is_204(setup: Setup) -> None:
    issuer = setup.server.discovery()["issuer"]
    response = global_revoke(setup.server, sub("iss_sub", iss=issuer, sub="nobody"), setup.revoker)
    assert_no_content(response)


# -- sessions ------------------------------------------------------------------------------
def test_the_users_sessions_end_with_every_token_bound_to_them(setup: Setup) -> None:
    server = setup.server
    alice, _ = new_user(server, "alice")
    bob, _ = new_user(server, "bob")
    session = f"session-{uuid.uuid4().hex}"
    grant = login(setup, alice, setup.apps[0])
    bind_to_session(server, grant["access_token"], session)
    # A token of the same session that names no user (issued to the app in that session).
    in_session = server.fetch_token(setup.apps[1])["access_token"]
    bind_to_session(server, in_session, session, user=False)
    bob_token = login(setup, bob, setup.apps[0])["access_token"]
    bind_to_session(server, bob_token, f"session-{uuid.uuid4().hex}")

    assert_no_content(global_revoke(server, sub("uid", id=alice), setup.revoker))
    assert not server.is_active(grant["access_token"])
    assert not server.is_active(in_session)
    assert server.is_active(bob_token)


def two_sessions(setup: Setup, uid: str) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """Two grants of the user, at two apps, whose access and refresh tokens are bound to
    two sessions: (first grant, second grant, first session, second session)."""
    first, second = login(setup, uid, setup.apps[0]), login(setup, uid, setup.apps[1])
    ended, kept = f"s-{uuid.uuid4().hex}", f"s-{uuid.uuid4().hex}"
    for kind in INTROSPECTABLE:
        bind_to_session(setup.server, first[kind], ended)
        bind_to_session(setup.server, second[kind], kept)
    return first, second, ended, kept


def test_session_id_format_ends_that_session_only(setup: Setup) -> None:
    server = setup.server
    uid, _ = new_user(server, "sessions")
    first, second, ended, _ = two_sessions(setup, uid)
    assert_no_content(global_revoke(server, sub("session_id", id=ended), setup.revoker))
    assert not server.is_active(first["access_token"])
    assert not server.is_active(first["refresh_token"])
    assert server.is_active(second["access_token"])
    assert server.is_active(second["refresh_token"])


# -- client authentication -----------------------------------------------------------------
def test_a_bearer_access_token_with_the_scope_authenticates(setup: Setup) -> None:
    server = setup.server
    uid, _ = new_user(server, "bearer")
    tokens = raw_tokens([login(setup, uid, setup.apps[2])])
    bearer = server.fetch_token(setup.revoker, scope=SCOPE)["access_token"]
    headers = {"Authorization": f"Bearer {bearer}"}
    assert_no_content(global_revoke(server, sub("uid", id=uid), headers=headers))
    assert not any(server.is_active(t) for t in tokens)


def test_client_secret_post_credentials_in_the_json_body(setup: Setup) -> None:
    server = setup.server
    poster = server.create_client(
        grant_types=["client_credentials"], scopes=[SCOPE], auth_method="client_secret_post"
    )
    uid, _ = new_user(server, "post")
    tokens = raw_tokens([login(setup, uid, setup.apps[0])])
    body = {**sub("uid", id=uid), "client_id": poster.client_id, "client_secret": poster.secret}
    assert_no_content(global_revoke(server, body))
    assert not any(server.is_active(t) for t in tokens)


def test_private_key_jwt_assertion_in_the_json_body(setup: Setup, tmp_path: Path) -> None:
    server = setup.server
    key = new_key("ec")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [public_jwk(key, "gtr-1", "ES256")]}))
    signer = server.create_client(
        "--jwks-file", str(jwks),
        grant_types=["client_credentials"], scopes=[SCOPE], auth_method="private_key_jwt",
    )  # fmt: skip
    uid, _ = new_user(server, "jwt")
    tokens = raw_tokens([login(setup, uid, setup.apps[1])])
    now = int(time.time())
    assertion = jwt.encode(
        {"iss": signer.client_id, "sub": signer.client_id, "aud": server.url + ENDPOINT,
         "jti": uuid.uuid4().hex, "iat": now, "exp": now + 60},
        key, algorithm="ES256", headers={"kid": "gtr-1"},
    )  # fmt: skip
    body = {**sub("uid", id=uid), "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion}  # fmt: skip
    assert_no_content(global_revoke(server, body))
    assert not any(server.is_active(t) for t in tokens)
    # The same assertion again is a replay: refused.
    assert_oauth_error(global_revoke(server, body), 401, "invalid_client")


# -- errors --------------------------------------------------------------------------------
def _unauthenticated_cases(setup: Setup) -> dict[str, dict[str, Any]]:
    public = setup.server.create_client(
        grant_types=["password"], scopes=[SCOPE], auth_method="none"
    )
    revoked = setup.server.fetch_token(setup.revoker, scope=SCOPE)["access_token"]
    assert setup.server.send_revoke(setup.revoker, token=revoked).status_code == 200
    return {
        "no credentials": {},
        "wrong secret": {"headers": {"Authorization": "Basic " + _basic("x", "y")}},
        "public client": {"extra": {"client_id": public.client_id}},
        "revoked bearer": {"headers": {"Authorization": f"Bearer {revoked}"}},
        "garbage bearer": {"headers": {"Authorization": "Bearer not-a-token"}},
    }


def _basic(user: str, password: str) -> str:
    import base64

    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_failed_client_authentication_is_401(setup: Setup) -> None:
    uid, _ = new_user(setup.server, "victim")
    tokens = raw_tokens([login(setup, uid, setup.apps[0])])
    for name, case in _unauthenticated_cases(setup).items():
        body = {**sub("uid", id=uid), **case.get("extra", {})}
        response = global_revoke(setup.server, body, headers=case.get("headers"))
        assert_oauth_error(response, 401, "invalid_client")
        assert response.headers.get("www-authenticate"), name
    assert all(setup.server.is_active(t) for t in tokens)


def test_missing_scope_is_403(setup: Setup) -> None:
    server = setup.server
    uid, _ = new_user(server, "victim")
    tokens = raw_tokens([login(setup, uid, setup.apps[0])])
    response = global_revoke(server, sub("uid", id=uid), setup.unscoped)
    assert_oauth_error(response, 403, "insufficient_scope")
    assert SCOPE in response.headers["www-authenticate"]
    # The client holds the scope, but this token of it was not granted it.
    narrow = server.fetch_token(setup.revoker, scope="openid")["access_token"]
    response = global_revoke(
        server, sub("uid", id=uid), headers={"Authorization": f"Bearer {narrow}"}
    )
    assert_oauth_error(response, 403, "insufficient_scope")
    assert all(server.is_active(t) for t in tokens)


BAD_BODIES: dict[str, tuple[bytes, str | None, int]] = {
    "form body": (b"sub_id=x", "application/x-www-form-urlencoded", 415),
    "no content type": (b'{"sub_id": {"format": "uid", "id": "x"}}', None, 415),
    "text": (b"hello", "text/plain", 415),
    "malformed json": (b'{"sub_id": ', "application/json", 400),
    "not utf-8": (b'{"sub_id": "\xff"}', "application/json", 400),
    "json array": (b"[]", "application/json", 400),
    "json string": (b'"uid"', "application/json", 400),
    "empty body": (b"", "application/json", 400),
    "no sub_id": (b"{}", "application/json", 400),
    "both names": (
        b'{"sub_id": {"format": "uid", "id": "x"}, "subject": {"format": "uid", "id": "x"}}',
        "application/json",
        400,
    ),
    "sub_id not an object": (b'{"sub_id": "alice"}', "application/json", 400),
    "no format": (b'{"sub_id": {"id": "alice"}}', "application/json", 400),
    "unsupported format": (
        b'{"sub_id": {"format": "phone_number", "phone_number": "+1"}}',
        "application/json",
        400,
    ),
    "no id": (b'{"sub_id": {"format": "uid"}}', "application/json", 400),
    "blank id": (b'{"sub_id": {"format": "opaque", "id": "  "}}', "application/json", 400),
    "id not a string": (b'{"sub_id": {"format": "uid", "id": 7}}', "application/json", 400),
    "email without address": (b'{"sub_id": {"format": "email"}}', "application/json", 400),
    "iss_sub without iss": (
        b'{"sub_id": {"format": "iss_sub", "sub": "x"}}',
        "application/json",
        400,
    ),
    "iss_sub of another issuer": (
        b'{"sub_id": {"format": "iss_sub", "iss": "https://elsewhere.example", "sub": "x"}}',
        "application/json",
        400,
    ),
    "id too long": (
        b'{"sub_id": {"format": "uid", "id": "' + b"a" * 2000 + b'"}}',
        "application/json",
        400,
    ),
    "client_id not a string": (
        b'{"sub_id": {"format": "uid", "id": "x"}, "client_id": 1}',
        "application/json",
        400,
    ),
    "too large": (b'{"x": "' + b"a" * 2_000_000 + b'"}', "application/json", 413),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_requests_are_shaped_errors(setup: Setup, case: str) -> None:
    content, content_type, status = BAD_BODIES[case]
    headers = {"Content-Type": content_type} if content_type else {}
    response = setup.server.session.post(
        ENDPOINT, content=content, headers=headers, auth=setup.revoker.basic
    )
    if content_type is None:
        assert "content-type" not in response.request.headers
    assert_oauth_error(response, status, "invalid_request")


def test_other_methods_are_405(setup: Setup) -> None:
    response = setup.server.session.get(ENDPOINT, auth=setup.revoker.basic)
    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"


# -- feature flag and discovery ------------------------------------------------------------
def test_flag_off_is_403_and_the_endpoint_leaves_discovery(setup: Setup) -> None:
    server = setup.server
    doc = server.discovery()
    assert doc["global_token_revocation_endpoint"] == doc["issuer"] + ENDPOINT
    assert "Bearer" in doc["global_token_revocation_endpoint_auth_methods_supported"]
    assert "client_secret_basic" in doc["global_token_revocation_endpoint_auth_methods_supported"]
    uid, _ = new_user(server, "flag")
    tokens = raw_tokens([login(setup, uid, setup.apps[0])])
    server.set_config("featureFlags", ["REVOKE_TOKEN", "INTROSPECTION"])
    try:
        doc = server.discovery()
        assert "global_token_revocation_endpoint" not in doc
        assert "global_token_revocation_endpoint_auth_methods_supported" not in doc
        response = global_revoke(server, sub("uid", id=uid), setup.revoker)
        assert_oauth_error(response, 403, "access_denied")
        assert all(server.is_active(t) for t in tokens)
    finally:
        server.set_config("featureFlags", [])
    assert "global_token_revocation_endpoint" in server.discovery()
    assert_no_content(global_revoke(server, sub("uid", id=uid), setup.revoker))
    assert not any(server.is_active(t) for t in tokens)


# -- config API and CLI --------------------------------------------------------------------
def test_config_api_revokes_a_user_by_uid_or_inum(setup: Setup) -> None:
    server = setup.server
    api = admin_api(server)
    uid, inum = new_user(server, "admin-revoked")
    bystander, _ = new_user(server, "bystander")
    tokens = raw_tokens(login_everywhere(setup, uid))
    kept = raw_tokens([login(setup, bystander, setup.apps[0])])
    body = api.ok("POST", f"/token/revoke/user/{uid}")
    assert body == {"userId": inum, "uid": uid, "revokedTokens": 9, "endedSessions": 0}
    assert not any(server.is_active(t) for t in tokens)
    assert all(server.is_active(t) for t in kept)
    # Again, by inum: nothing left to revoke, and that is no error.
    assert api.ok("POST", f"/token/revoke/user/{inum}")["revokedTokens"] == 0
    assert_api_error(api.call("POST", "/token/revoke/user/no-such-user"), 404)
    readonly = api.token_for("https://jans.io/oauth/config/token.readonly")
    assert_api_error(api.call("POST", f"/token/revoke/user/{uid}", token=readonly), 403)
    assert_api_error(api.call("POST", f"/token/revoke/user/{uid}", token=None), 401)


def test_config_api_operation_is_in_the_served_openapi(setup: Setup) -> None:
    doc = setup.server.session.get("/jans-config-api/openapi.json").json()
    operation = doc["paths"]["/api/v1/token/revoke/user/{userId}"]["post"]
    assert operation["operationId"] == "revoke-user-tokens"
    assert {"oauth2": ["https://jans.io/oauth/config/token.delete"]} in operation["security"]


def test_cli_revokes_a_users_tokens(setup: Setup) -> None:
    server = setup.server
    uid, inum = new_user(server, "cli-revoked")
    tokens = raw_tokens(login_everywhere(setup, uid))
    out = server.cli("token", "revoke-user", uid, "--json")
    assert json.loads(out.stdout) == {
        "userId": inum, "uid": uid, "revokedTokens": 9, "endedSessions": 0
    }  # fmt: skip
    assert not any(server.is_active(t) for t in tokens)
    text = server.cli("token", "revoke-user", inum).stdout
    assert f"revoked 0 tokens of user {inum} ({uid})" in text
    missing = server.cli("token", "revoke-user", "no-such-user", check=False)
    assert missing.returncode == 1
    assert "no-such-user" in missing.stderr + missing.stdout
