"""The /revoke wire contract (RFC 7009; docs/janssen-compatibility.md, *Revocation, as
Janssen does it*), through a real server.

One server for the module; every test makes its own tokens, and a test that changes a
property restores it before it ends.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.server import AUTH, Client, Server, own_server
from tests.support.wire import BASIC_CHALLENGE, assert_no_store, assert_oauth_error, sha256_hex

PASSWORD = "correct-horse-battery"  # noqa: S105 - test user
#: Every raw token this module obtained; none may ever show up in the audit table.
ISSUED: set[str] = set()


# -- helpers ----------------------------------------------------------------------------
def assert_ok(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert_no_store(response)


def assert_error(
    response: httpx.Response, status: int, error: str, *, reason: bool = False
) -> dict[str, Any]:
    """Exactly Janssen's members (`reason` only where asked), and the challenge of a 401."""
    return assert_oauth_error(response, status, error, reason=reason, challenge=True)


def post_revoke(server: Server, form: dict[str, str], **kwargs: Any) -> httpx.Response:
    return server.session.post(f"{AUTH}/revoke", data=form, **kwargs)


@dataclass
class Grant:
    access: str
    refresh: str


@pytest.fixture(scope="module")
def user(server: Server) -> str:
    server.create_user("alice", PASSWORD)
    return "alice"


@pytest.fixture(scope="module")
def client_a(server: Server) -> Client:
    return server.create_client(
        name="a", grant_types=["client_credentials", "password", "refresh_token"]
    )


@pytest.fixture(scope="module")
def client_b(server: Server) -> Client:
    return server.create_client(name="b")


@pytest.fixture(scope="module")
def super_client(server: Server) -> Client:
    return server.create_client(name="super", scopes=["revoke_any_token"])


@pytest.fixture(scope="module")
def public_client(server: Server) -> Client:
    return server.create_client(name="spa", grant_types=["password"], auth_method="none")


def mint(server: Server, client: Client) -> str:
    token = str(server.fetch_token(client)["access_token"])
    ISSUED.add(token)
    return token


def grant(server: Server, client: Client, user: str) -> Grant:
    body = server.password_token(client, user, PASSWORD)
    ISSUED.update((body["access_token"], body["refresh_token"]))
    return Grant(body["access_token"], body["refresh_token"])


def refreshed(server: Server, client: Client, refresh_token: str) -> Grant:
    body = server.refresh(client, refresh_token)
    ISSUED.update((body["access_token"], body["refresh_token"]))
    return Grant(body["access_token"], body["refresh_token"])


@pytest.fixture(scope="module")
def permissive_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from own_server(
        tmp_path_factory,
        "permissive",
        {
            "allowAllValueForRevokeEndpoint": True,
            "allowRevokeForOtherClients": True,
            "errorReasonEnabled": True,
        },
    )


@pytest.fixture(scope="module")
def disabled_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Every feature but REVOKE_TOKEN (INTROSPECTION stays on for `server.active`).
    yield from own_server(
        tmp_path_factory,
        "disabled",
        {
            "featureFlags": ["INTROSPECTION", "GLOBAL_TOKEN_REVOCATION"],
            "errorReasonEnabled": True,
        },
    )


# -- 2.5 status table -------------------------------------------------------------------
def test_success_is_200_empty_no_store_and_revokes(server: Server, client_a: Client) -> None:
    token = mint(server, client_a)
    assert server.is_active(token)
    response = server.send_revoke(client_a, token=token)
    assert_ok(response)
    assert "content-type" not in response.headers or response.headers["content-length"] == "0"
    assert not server.is_active(token)
    # Revoking it again is an unknown/dead token: still 200.
    assert_ok(server.send_revoke(client_a, token=token))


def test_unknown_token_is_200(server: Server, client_a: Client) -> None:
    assert_ok(server.send_revoke(client_a, token="no-such-token-" + "x" * 20))


def test_client_secret_post_and_bearer_authentication(server: Server, client_a: Client) -> None:
    post = server.create_client(name="post", auth_method="client_secret_post")
    with server.http() as http:
        issued = http.post(
            f"{AUTH}/token",
            data={
                "grant_type": "client_credentials",
                "client_id": post.client_id,
                "client_secret": post.basic[1],
            },
        )
    token = issued.json()["access_token"]
    ISSUED.add(token)
    form = {"token": token, "client_id": post.client_id, "client_secret": post.basic[1]}
    # A client may only use the method it is registered for.
    assert_error(server.send_revoke(post, token=token), 401, "invalid_client")
    assert server.is_active(token)
    assert_ok(post_revoke(server, form))
    assert not server.is_active(token)
    # Janssen accepts a Bearer access token of the client at /revoke.
    bearer, target = mint(server, client_a), mint(server, client_a)
    response = post_revoke(server, {"token": target}, headers={"Authorization": f"Bearer {bearer}"})
    assert_ok(response)
    assert not server.is_active(target)
    assert server.is_active(bearer)


def test_confidential_client_id_without_credentials_is_401(
    server: Server, client_a: Client
) -> None:
    """S23. RFC 6749 sections 2.3, 5.2 (Janssen: 200 and nothing revoked, a silent
    failure)."""
    token = mint(server, client_a)
    response = post_revoke(server, {"token": token, "client_id": client_a.client_id})
    assert_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"] == BASIC_CHALLENGE  # no credentials sent
    assert server.is_active(token)


def test_unknown_client_id_is_401(server: Server, client_a: Client) -> None:
    token = mint(server, client_a)
    assert_error(post_revoke(server, {"token": token, "client_id": "no-such-client"}), 401,
                 "invalid_client")  # fmt: skip
    assert server.is_active(token)


def test_public_client_identified_by_client_id(
    server: Server, public_client: Client, user: str
) -> None:
    assert public_client.secret is None
    with server.http() as http:
        issued = http.post(
            f"{AUTH}/token",
            data={
                "grant_type": "password",
                "username": user,
                "password": PASSWORD,
                "client_id": public_client.client_id,
            },
        )
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    ISSUED.add(token)
    assert_ok(post_revoke(server, {"token": token, "client_id": public_client.client_id}))
    assert not server.is_active(token)


@pytest.mark.parametrize(
    "form", [{}, {"token": ""}, {"token": "   "}, {"token_type_hint": "access_token"}]
)
def test_missing_or_blank_token_is_400(
    server: Server, client_a: Client, form: dict[str, str]
) -> None:
    assert_error(server.send_revoke(client_a, **form), 400, "invalid_request")


def test_client_authentication_checked_before_the_token(server: Server) -> None:
    # A bare client_id authenticates nobody: 401 before the blank token's 400.
    assert_error(
        post_revoke(server, {"token": "", "client_id": "no-such-client"}), 401, "invalid_client"
    )


def test_other_clients_token_is_400_and_not_revoked(
    server: Server, client_a: Client, client_b: Client, super_client: Client
) -> None:
    token = mint(server, client_b)
    live = assert_error(server.send_revoke(client_a, token=token), 400, "invalid_request")
    assert server.is_active(token)
    # S13: the answer does not tell whether another client's token is still alive.
    dead = mint(server, client_b)
    assert_ok(server.send_revoke(client_b, token=dead))
    assert assert_error(server.send_revoke(client_a, token=dead), 400, "invalid_request") == live
    # The scope alone is not enough while allowRevokeForOtherClients is false.
    assert_error(server.send_revoke(super_client, token=token), 400, "invalid_request")
    assert server.is_active(token)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"auth": ("no-such-client", "secret")},
        {"headers": {"Authorization": "Basic !!!not-base64"}},
        {"headers": {"Authorization": "Bearer not-a-live-token"}},
        {},  # no credentials and no client_id at all
    ],
    ids=["unknown-client", "malformed-basic", "bad-bearer", "no-credentials"],
)
def test_failed_client_authentication_is_401(
    server: Server, client_a: Client, kwargs: dict[str, Any]
) -> None:
    token = mint(server, client_a)
    assert_error(post_revoke(server, {"token": token}, **kwargs), 401, "invalid_client")
    assert server.is_active(token)


def test_wrong_secret_is_401(server: Server, client_a: Client) -> None:
    token = mint(server, client_a)
    wrong = Client(client_a.client_id, "wrong-secret")
    assert_error(server.send_revoke(wrong, token=token), 401, "invalid_client")
    assert_error(
        post_revoke(
            server, {"token": token, "client_id": client_a.client_id, "client_secret": "wrong"}
        ),
        401,
        "invalid_client",
    )
    assert server.is_active(token)


def test_revoke_token_disabled_and_order_of_checks(disabled_server: Server) -> None:
    server = disabled_server
    client = server.create_client(name="a")
    token = mint(server, client)
    # errorReasonEnabled is on here: every error carries a reason.
    body = assert_error(server.send_revoke(client, token=token), 403, "access_denied", reason=True)
    assert "REVOKE_TOKEN" in body["reason"]
    # 1 before 2: bad credentials are still 401, not 403.
    bad = Client(client.client_id, "wrong-secret")
    assert_error(server.send_revoke(bad, token=token), 401, "invalid_client", reason=True)
    assert_error(post_revoke(server, {"token": token}), 401, "invalid_client", reason=True)
    # 2 before 3: a blank or missing token is 403 while the flag is off.
    assert_error(server.send_revoke(client, token=" "), 403, "access_denied", reason=True)
    assert_error(server.send_revoke(client), 403, "access_denied", reason=True)
    # A bare client_id authenticates nobody: 401 comes first.
    assert_error(
        post_revoke(server, {"token": token, "client_id": "nobody"}),
        401,
        "invalid_client",
        reason=True,
    )
    assert server.is_active(token)


def test_reason_only_with_error_reason_enabled(
    server: Server, permissive_server: Server, client_a: Client, client_b: Client
) -> None:
    # Default (false): never a reason.
    foreign = mint(server, client_b)
    bad = Client(client_a.client_id, "wrong-secret")
    assert_error(server.send_revoke(client_a, token=foreign), 400, "invalid_request")
    assert_error(server.send_revoke(client_a, token=""), 400, "invalid_request")
    assert_error(server.send_revoke(bad, token=foreign), 401, "invalid_client")
    # errorReasonEnabled=true: the same errors carry a reason.
    srv = permissive_server
    own, other = srv.create_client(name="own"), srv.create_client(name="other")
    foreign = mint(srv, other)
    body = assert_error(srv.send_revoke(own, token=foreign), 400, "invalid_request", reason=True)
    assert body["error_description"] and body["reason"] != body["error_description"]
    assert_error(srv.send_revoke(own, token=""), 400, "invalid_request", reason=True)
    assert_error(
        srv.send_revoke(Client(own.client_id, "wrong"), token=foreign),
        401,
        "invalid_client",
        reason=True,
    )
    assert srv.is_active(foreign)


# -- 2.3 hints --------------------------------------------------------------------------
@pytest.mark.parametrize("hint", ["access_token", "tx_token"])
def test_access_hint_with_refresh_token_extends_the_search(
    server: Server, client_a: Client, user: str, hint: str
) -> None:
    """S22. RFC 7009 section 2.1: the hint is only a hint; the server MUST extend its
    search (Janssen: 200, and the refresh token stayed alive and could still refresh)."""
    g = grant(server, client_a, user)
    assert_ok(server.send_revoke(client_a, token=g.refresh, token_type_hint=hint))
    assert not server.is_active(g.refresh)
    assert not server.is_active(g.access)
    refresh = server.session.post(
        f"{AUTH}/token",
        auth=client_a.basic,
        data={"grant_type": "refresh_token", "refresh_token": g.refresh},
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


@pytest.fixture(scope="module")
def janssen_hint_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from own_server(tmp_path_factory, "hint", {"revokeTokenTypeHintRestrictsSearch": True})


@pytest.mark.parametrize("hint", ["access_token", "tx_token"])
def test_property_restores_janssens_hint_rule(janssen_hint_server: Server, hint: str) -> None:
    server = janssen_hint_server
    server.create_user(f"h-{hint}", PASSWORD)
    client = server.create_client(grant_types=["password", "refresh_token"])
    g = grant(server, client, f"h-{hint}")
    assert_ok(server.send_revoke(client, token=g.refresh, token_type_hint=hint))
    assert server.is_active(g.refresh) and server.is_active(g.access)


def test_access_hint_with_access_token_revokes(server: Server, client_a: Client, user: str) -> None:
    g = grant(server, client_a, user)
    assert_ok(server.send_revoke(client_a, token=g.access, token_type_hint="access_token"))
    assert not server.is_active(g.access)
    assert not server.is_active(g.refresh)  # the grant cascade


@pytest.mark.parametrize("hint", ["refresh_token", None, "garbage", "id_token", ""])
@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_other_hints_match_any_type(
    server: Server, client_a: Client, user: str, hint: str | None, kind: str
) -> None:
    g = grant(server, client_a, user)
    form = {"token": getattr(g, kind)}
    if hint is not None:
        form["token_type_hint"] = hint
    response = server.send_revoke(client_a, **form)
    assert_ok(response)  # never unsupported_token_type
    assert not server.is_active(g.access)
    assert not server.is_active(g.refresh)


# -- 2.3 cascade and lists --------------------------------------------------------------
def test_refresh_token_revocation_cascades_to_the_grant_only(
    server: Server, client_a: Client, user: str
) -> None:
    first = grant(server, client_a, user)
    second = refreshed(server, client_a, first.refresh)  # same grant, new access token
    other = grant(server, client_a, user)
    other_cc = mint(server, client_a)
    assert server.is_active(first.access) and server.is_active(second.access)
    assert_ok(server.send_revoke(client_a, token=second.refresh))
    for dead in (first.access, second.access, second.refresh, first.refresh):
        assert not server.is_active(dead)
    for alive in (other.access, other.refresh, other_cc):
        assert server.is_active(alive)
    with server.http() as http:
        again = http.post(
            f"{AUTH}/token",
            auth=client_a.basic,
            data={"grant_type": "refresh_token", "refresh_token": second.refresh},
        )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_access_token_revocation_cascades_to_refresh_token(
    server: Server, client_a: Client, user: str
) -> None:
    first = grant(server, client_a, user)
    second = refreshed(server, client_a, first.refresh)
    other = grant(server, client_a, user)
    assert_ok(server.send_revoke(client_a, token=first.access))
    for dead in (first.access, second.access, second.refresh):
        assert not server.is_active(dead)
    assert server.is_active(other.access) and server.is_active(other.refresh)


def test_space_separated_tokens_all_revoked(server: Server, client_a: Client, user: str) -> None:
    tokens = [mint(server, client_a) for _ in range(3)]
    g = grant(server, client_a, user)
    bystander = mint(server, client_a)
    assert_ok(
        server.send_revoke(client_a, token=" ".join([*tokens, "unknown-token-zzz", g.refresh]))
    )
    for dead in (*tokens, g.access, g.refresh):
        assert not server.is_active(dead)
    assert server.is_active(bystander)


def test_list_with_foreign_token_is_atomic(
    server: Server, client_a: Client, client_b: Client
) -> None:
    own = [mint(server, client_a) for _ in range(2)]
    foreign = mint(server, client_b)
    assert_error(
        server.send_revoke(client_a, token=f"{own[0]} {foreign} {own[1]}"), 400, "invalid_request"
    )
    for token in (*own, foreign):
        assert server.is_active(token)


# -- 2.4 revoke all ---------------------------------------------------------------------
@dataclass
class Tokens:
    access: list[str]
    refresh: list[str]

    @property
    def all(self) -> list[str]:
        return self.access + self.refresh


def tokens_of(server: Server, client: Client, user: str) -> Tokens:
    g = grant(server, client, user)
    return Tokens([g.access, mint(server, client), mint(server, client)], [g.refresh])


def test_revoke_all_forms(permissive_server: Server) -> None:
    server = permissive_server  # allowAllValueForRevokeEndpoint=true
    server.create_user("bob", PASSWORD)
    grants = (
        "--grant-type",
        "client_credentials",
        "--grant-type",
        "password",
        "--grant-type",
        "refresh_token",
    )
    client = server.create_client("--name", "all", *grants)
    other = server.create_client("--name", "bystander", *grants)
    bystanders = tokens_of(server, other, "bob")

    # token_type_hint=all (the seed document's form): every token of the caller.
    for hint in ("all", "ALL"):
        t = tokens_of(server, client, "bob")
        assert_ok(server.send_revoke(client, token="anything", token_type_hint=hint))
        assert not any(server.is_active(x) for x in t.all)

    # token=all + hint access_token: only access tokens.
    t = tokens_of(server, client, "bob")
    assert_ok(server.send_revoke(client, token="all", token_type_hint="access_token"))
    assert not any(server.is_active(x) for x in t.access)
    assert all(server.is_active(x) for x in t.refresh)

    # token=all + hint refresh_token: only refresh tokens.
    t = tokens_of(server, client, "bob")
    assert_ok(server.send_revoke(client, token="ALL", token_type_hint="refresh_token"))
    assert all(server.is_active(x) for x in t.access)
    assert not any(server.is_active(x) for x in t.refresh)
    assert_ok(server.send_revoke(client, token="all", token_type_hint="access_token"))  # clean up

    # token=all without a hint (or with an unknown one): everything.
    for form in ({"token": "all"}, {"token": "All", "token_type_hint": "garbage"}):
        t = tokens_of(server, client, "bob")
        assert_ok(server.send_revoke(client, **form))
        assert not any(server.is_active(x) for x in t.all)

    # Never another client's tokens.
    assert all(server.is_active(x) for x in bystanders.all)
    # One audit record per revoke-all, naming the types, never a token.
    # (The client's creation is audited too, as a config-API write: not a revocation.)
    rows = [
        r
        for r in read_audit(server)
        if r["cln_id"] == client.client_id and r["reason"] != "config_api"
    ]
    assert [r["action"] for r in rows] == ["revoke_all"] * 7
    assert [json.loads(r["details"])["token_types"] for r in rows] == [
        "all",
        "all",
        ["access_token"],
        ["refresh_token"],
        ["access_token"],
        "all",
        "all",
    ]
    # (the refresh-only pass also takes the refresh token the access-only pass left)
    assert [r["count"] for r in rows] == [4, 4, 3, 2, 3, 4, 4]
    everything = json.dumps(read_audit(server))
    assert not [t for t in ISSUED if t in everything]


def test_public_client_cannot_revoke_all(permissive_server: Server) -> None:
    # Deliberately stricter than Janssen: a public client_id is no secret, so "revoke all"
    # would let anyone end every user's session of that app. For it `all` is ordinary.
    server = permissive_server
    server.create_user("dave", PASSWORD)
    spa = server.create_client(name="spa", grant_types=["password"], auth_method="none")

    def login() -> str:
        form = {"grant_type": "password", "username": "dave", "password": PASSWORD}
        response = server.session.post(f"{AUTH}/token", data={**form, "client_id": spa.client_id})
        assert response.status_code == 200, response.text
        token = str(response.json()["access_token"])
        ISSUED.add(token)
        return token

    first, second = login(), login()
    for form in ({"token": "all"}, {"token": "x", "token_type_hint": "all"}):
        assert_ok(post_revoke(server, {**form, "client_id": spa.client_id}))
    assert server.is_active(first) and server.is_active(second)
    # Its own token it can still revoke, by possession.
    assert_ok(
        post_revoke(server, {"token": first, "token_type_hint": "all", "client_id": spa.client_id})
    )
    assert not server.is_active(first) and server.is_active(second)


def test_all_is_an_ordinary_token_when_property_off(
    server: Server, client_a: Client, user: str
) -> None:
    t = tokens_of(server, client_a, user)
    assert_ok(server.send_revoke(client_a, token="all"))
    assert_ok(server.send_revoke(client_a, token="all", token_type_hint="access_token"))
    assert all(server.is_active(x) for x in t.all)
    # hint=all is "no hint": only the named token's grant goes.
    assert_ok(server.send_revoke(client_a, token=t.access[0], token_type_hint="all"))
    assert not server.is_active(t.access[0]) and not server.is_active(t.refresh[0])
    assert all(server.is_active(x) for x in (t.access[1], t.access[2]))


# -- 2.3 cross-client -------------------------------------------------------------------
def test_cross_client_needs_property_and_scope(permissive_server: Server) -> None:
    server = permissive_server  # allowRevokeForOtherClients=true
    plain = server.create_client(name="plain")
    owner = server.create_client(name="owner")
    admin = server.create_client(name="super", scopes=["revoke_any_token"])
    foreign = mint(server, owner)
    assert_error(server.send_revoke(plain, token=foreign), 400, "invalid_request", reason=True)
    assert server.is_active(foreign)
    assert_ok(server.send_revoke(admin, token=foreign))
    assert not server.is_active(foreign)
    # Mixed list: own and foreign tokens together.
    own, foreign = mint(server, admin), mint(server, owner)
    assert_ok(server.send_revoke(admin, token=f"{own} {foreign}"))
    assert not server.is_active(own) and not server.is_active(foreign)


# -- 2.5 audit --------------------------------------------------------------------------
def read_audit(server: Server) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM audit ORDER BY id")]
    finally:
        conn.close()


def test_audit_record_per_revocation_without_raw_tokens(
    server: Server, client_a: Client, user: str
) -> None:
    before = {row["id"] for row in read_audit(server)}
    single = mint(server, client_a)
    listed = [mint(server, client_a), mint(server, client_a)]
    g = grant(server, client_a, user)
    assert_ok(server.send_revoke(client_a, token=single))
    assert_ok(server.send_revoke(client_a, token=" ".join(listed)))
    assert_ok(server.send_revoke(client_a, token=g.refresh, token_type_hint="refresh_token"))
    # 200 means committed: the records are readable straight away.
    rows = [row for row in read_audit(server) if row["id"] not in before]
    assert len(rows) == 3, rows
    for row, raws, count in zip(rows, ([single], listed, [g.refresh]), (1, 2, 2), strict=True):
        assert row["action"] == "revoke"
        assert row["cln_id"] == client_a.client_id
        assert row["actor"] == f"client:{client_a.client_id}"
        assert row["count"] == count
        details = json.loads(row["details"])
        assert details["token_codes"] == sorted(sha256_hex(r) for r in raws)
    # The token rows are keyed by sha256 hex too (tombstones kept for revoked ones).
    conn = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
    try:
        codes = {row[0] for row in conn.execute("SELECT tkn_cde FROM tokens")}
        stored = json.dumps(  # blobs (migration 0008's spare bytes) as hex
            [list(row) for row in conn.execute("SELECT * FROM tokens")], default=bytes.hex
        )
    finally:
        conn.close()
    assert sha256_hex(single) in codes and single not in codes
    assert not [t for t in ISSUED if t in stored]
    # No raw token anywhere in the audit trail (only sha256 hex codes).
    everything = json.dumps(read_audit(server))
    leaked = [t for t in ISSUED if t in everything]
    assert not leaked
    assert {single, *listed, g.access, g.refresh} <= ISSUED  # the scan covered them
