"""Token Status List through a real `tokenrevoke serve`, on SQLite and PostgreSQL: JWT access
tokens carry `status.status_list`, and whatever revokes a token (every path below) makes its
bit read INVALID in the published, signed list within a rebuild interval of the 200, while
the tokens nobody revoked stay VALID. Plus the endpoint's HTTP (negotiation, ETag, caching,
CORS), discovery, introspection, the config API's token entries and the STATUS_LIST flag.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from tests.integration.test_configapi_support import ConfigApi, admin_api
from tests.support.browser import Browser, exchange, pkce_pair
from tests.support.server import AUTH, Client, Server
from tests.support.stores import STORES, server_on
from tests.support.wire import sha256_hex
from tokenrevoke.oauth.status_list import INVALID, VALID, StatusList
from tokenrevoke.oauth.status_lists import REBUILD_SECONDS

STATUS_LIST = f"{AUTH}/status_list"
JWT_TYPE = "application/statuslist+jwt"
JSON_TYPE = "application/statuslist+json"
PASSWORD = "status list password"  # noqa: S105 - test users
# A list is rebuilt at most once a second (oauth/status_lists.py REBUILD_SECONDS): a
# revocation shows within that, plus the time to fetch.
FRESHNESS_SECONDS = 3.0
GRANTS = ["password", "refresh_token", "client_credentials"]


@pytest.fixture(scope="module", params=STORES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp(f"status-{request.param}") / "data"
    properties = {"allowAllValueForRevokeEndpoint": True, "statusListTtlSeconds": 5}
    with server_on(request.param, data_dir) as srv:
        srv.configure(properties)
        yield srv


@dataclass
class Grant:
    access: str
    refresh: str | None


@dataclass
class Setup:
    server: Server
    api: ConfigApi
    openid: str  # the openid scope's DN
    users: list[str]  # uids: 0 for global revocation, 1 shared, 2 for the config API


@pytest.fixture(scope="module")
def setup(server: Server) -> Setup:
    api = admin_api(server)
    users = [f"u{n}-{uuid.uuid4().hex[:10]}" for n in range(3)]
    for uid in users:
        server.create_user(uid, PASSWORD)
    return Setup(server, api, api.scope_dn("openid"), users)


def app(setup: Setup) -> Client:
    """A client issuing JWT access tokens (made through the config API: no CLI process)."""
    return setup.api.create_client(grantTypes=GRANTS, scopes=[setup.openid], accessTokenAsJwt=True)


def login(server: Server, client: Client, uid: str) -> Grant:
    tokens = server.password_token(client, uid, PASSWORD)
    return Grant(tokens["access_token"], tokens["refresh_token"])


def status_ref(access: str) -> dict[str, Any]:
    ref: dict[str, Any] = jwt.decode(access, options={"verify_signature": False})["status"][
        "status_list"
    ]
    return ref


def fetch_list(server: Server, uri: str) -> tuple[StatusList, dict[str, Any]]:
    """The list at `uri` as a verifier reads it: the Status List Token, its signature
    checked against our JWKS, its `sub` the uri."""
    response = httpx.get(uri, headers={"Accept": JWT_TYPE}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(JWT_TYPE)
    header = jwt.get_unverified_header(response.text)
    assert header["typ"] == "statuslist+jwt"
    keys = jwt.PyJWKSet.from_dict(server.session.get(f"{AUTH}/jwks").json())
    key = next(k for k in keys.keys if k.key_id == header["kid"])
    claims: dict[str, Any] = jwt.decode(
        response.text, key.key, algorithms=["RS256"], options={"verify_aud": False}
    )
    assert claims["sub"] == uri and claims["exp"] > claims["iat"] and claims["ttl"] > 0
    body = claims["status_list"]
    return StatusList.decode(body["bits"], body["lst"]), claims


def status(server: Server, access: str) -> int:
    ref = status_ref(access)
    status_list, _ = fetch_list(server, ref["uri"])
    return status_list.get(ref["idx"])


def eventually_invalid(server: Server, revoked: list[str], untouched: list[str]) -> None:
    deadline = time.monotonic() + FRESHNESS_SECONDS
    while any(status(server, t) != INVALID for t in revoked):
        assert time.monotonic() < deadline, "a revoked token's bit did not turn INVALID"
        time.sleep(0.1)
    assert all(status(server, t) == VALID for t in untouched)


def ok(response: httpx.Response, code: int = 200) -> None:
    assert response.status_code == code, response.text


# -- every revocation path ------------------------------------------------------------------
def test_revoke_endpoint(setup: Setup) -> None:
    server, client = setup.server, app(setup)
    revoked, kept = server.fetch_token(client), server.fetch_token(client)
    assert status(server, revoked["access_token"]) == VALID
    ok(server.send_revoke(client, token=revoked["access_token"]))
    eventually_invalid(server, [revoked["access_token"]], [kept["access_token"]])


def test_cascade_from_the_refresh_token(setup: Setup) -> None:
    server, client = setup.server, app(setup)
    revoked, kept = login(server, client, setup.users[1]), login(server, client, setup.users[1])
    ok(server.send_revoke(client, token=revoked.refresh or ""))
    eventually_invalid(server, [revoked.access], [kept.access])


def test_revoke_all_of_a_client(setup: Setup) -> None:
    server, client, other = setup.server, app(setup), app(setup)
    mine = [server.fetch_token(client)["access_token"] for _ in range(3)]
    theirs = server.fetch_token(other)["access_token"]
    ok(server.send_revoke(client, token="all"))
    eventually_invalid(server, mine, [theirs])


def test_global_token_revocation(setup: Setup) -> None:
    server, client = setup.server, app(setup)
    revoker = setup.api.create_client(
        grantTypes=["client_credentials"],
        scopes=[setup.api.scope_dn("global_token_revocation")],
    )
    revoked, kept = login(server, client, setup.users[0]), login(server, client, setup.users[1])
    body = {"sub_id": {"format": "uid", "id": setup.users[0]}}
    ok(server.session.post(f"{AUTH}/global-token-revocation", json=body, auth=revoker.basic), 204)
    eventually_invalid(server, [revoked.access], [kept.access])


def test_refresh_token_reuse_detection(setup: Setup) -> None:
    server, client = setup.server, app(setup)
    first = login(server, client, setup.users[1])
    second = server.refresh(client, first.refresh or "")
    kept = login(server, client, setup.users[1])
    replay = server.session.post(
        f"{AUTH}/token",
        data={"grant_type": "refresh_token", "refresh_token": first.refresh},
        auth=client.basic,
    )
    assert replay.status_code == 400
    eventually_invalid(server, [first.access, second["access_token"]], [kept.access])


def test_client_deletion(setup: Setup) -> None:
    server, client, other = setup.server, app(setup), app(setup)
    revoked = server.fetch_token(client)["access_token"]
    kept = server.fetch_token(other)["access_token"]
    setup.api.ok("DELETE", f"/openid/clients/{client.client_id}", 204)
    eventually_invalid(server, [revoked], [kept])


def test_config_api_revocations(setup: Setup) -> None:
    server, client = setup.server, app(setup)
    one = server.fetch_token(client)["access_token"]
    kept = server.fetch_token(client)["access_token"]
    setup.api.ok("DELETE", f"/token/revoke/{sha256_hex(one)}", 204)
    eventually_invalid(server, [one], [kept])
    grants = [login(server, client, setup.users[2]) for _ in range(2)]
    setup.api.ok("POST", f"/token/revoke/user/{setup.users[2]}", 200)
    eventually_invalid(server, [g.access for g in grants], [kept])


# -- the endpoint ---------------------------------------------------------------------------
def test_claim_list_token_introspection_and_token_entry_agree(setup: Setup) -> None:
    server = setup.server
    access = server.fetch_token(app(setup))["access_token"]
    ref = status_ref(access)
    issuer = server.discovery()["issuer"]
    assert ref["uri"].startswith(f"{issuer}{STATUS_LIST}/") and isinstance(ref["idx"], int)
    _, claims = fetch_list(server, ref["uri"])
    assert claims["iss"] == issuer and claims["ttl"] == 5
    assert server.fetch_introspection(access)["status"] == {"status_list": ref}
    entry = setup.api.ok("GET", f"/token/tknCde/{sha256_hex(access)}")
    assert entry["attributes"]["statusListIndex"] == ref["idx"]
    # Opaque access tokens carry no index.
    opaque = setup.api.create_client(grantTypes=["client_credentials"])
    assert "status" not in server.fetch_introspection(server.fetch_token(opaque)["access_token"])


STATUS_OPAQUE = "statusListForOpaqueTokens"  # our client attribute (docs/status-list.md)


def test_opaque_tokens_get_an_index_where_their_client_asks(setup: Setup) -> None:
    server = setup.server
    asking = setup.api.create_client(
        grantTypes=["client_credentials"], attributes={STATUS_OPAQUE: True}
    )
    assert asking.data["attributes"][STATUS_OPAQUE] is True  # kept as given
    revoked, kept = server.fetch_token(asking), server.fetch_token(asking)
    assert revoked["access_token"].count(".") != 2  # opaque, not a JWT
    refs = [server.fetch_introspection(t["access_token"])["status"]["status_list"]
            for t in (revoked, kept)]  # fmt: skip
    ok(server.send_revoke(asking, token=revoked["access_token"]))
    deadline = time.monotonic() + FRESHNESS_SECONDS
    while fetch_list(server, refs[0]["uri"])[0].get(refs[0]["idx"]) != INVALID:
        assert time.monotonic() < deadline, "a revoked token's bit did not turn INVALID"
        time.sleep(0.1)
    assert fetch_list(server, refs[1]["uri"])[0].get(refs[1]["idx"]) == VALID
    wrong = {"grantTypes": ["client_credentials"], "attributes": {STATUS_OPAQUE: "yes"}}
    bad = setup.api.call("POST", "/openid/clients", json=wrong)
    assert bad.status_code == 400


def test_indices_are_unique_and_not_in_issue_order(setup: Setup) -> None:
    server, client = setup.server, app(setup)
    refs = [status_ref(server.fetch_token(client)["access_token"]) for _ in range(40)]
    indices = [r["idx"] for r in refs]
    assert len(set(indices)) == len(indices)
    assert indices != sorted(indices) and indices != sorted(indices, reverse=True)


def test_negotiation_etag_caching_and_cors(setup: Setup) -> None:
    server = setup.server
    access = server.fetch_token(app(setup))["access_token"]
    uri = status_ref(access)["uri"]
    as_json = httpx.get(uri, headers={"Accept": JSON_TYPE, "Origin": "https://rp.example"})
    assert as_json.status_code == 200 and as_json.headers["content-type"] == JSON_TYPE
    assert set(as_json.json()) == {"bits", "lst"} and as_json.json()["bits"] == 2
    assert as_json.headers["cache-control"] == "public, max-age=5"
    assert as_json.headers["access-control-allow-origin"] in ("*", "https://rp.example")
    again = httpx.get(uri, headers={"Accept": JSON_TYPE, "If-None-Match": as_json.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    # Rebuilt, the unchanged list keeps its signed token, and so its validator.
    as_jwt = httpx.get(uri, headers={"Accept": JWT_TYPE})
    time.sleep(REBUILD_SECONDS)
    revalidated = httpx.get(
        uri, headers={"Accept": JWT_TYPE, "If-None-Match": as_jwt.headers["etag"]}
    )
    assert revalidated.status_code == 304, revalidated.text
    # No Accept: a Status List Token, as Janssen answers; the bare endpoint is the current list.
    bare = httpx.get(server.url + STATUS_LIST)
    assert bare.status_code == 200 and bare.headers["content-type"].startswith(JWT_TYPE)
    assert jwt.decode(bare.text, options={"verify_signature": False})["sub"] == uri
    for missing in ("99999999999", "abc", "1" * 40):
        response = httpx.get(f"{server.url}{STATUS_LIST}/{missing}")
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    aggregation = httpx.get(server.url + f"{AUTH}/status_list_aggregation")
    assert uri in aggregation.json()["status_lists"]


def test_flag_off_then_on_without_restart(setup: Setup) -> None:
    server, client = setup.server, app(setup)
    doc = server.discovery()
    assert doc["status_list_endpoint"] == doc["issuer"] + STATUS_LIST
    server.set_config("featureFlags", ["REVOKE_TOKEN", "INTROSPECTION"])
    try:
        assert "status_list_endpoint" not in server.discovery()
        response = httpx.get(server.url + STATUS_LIST)
        assert response.status_code == 403 and response.json()["error"] == "access_denied"
        access = server.fetch_token(client)["access_token"]
        assert "status" not in jwt.decode(access, options={"verify_signature": False})
    finally:
        server.set_config("featureFlags", [])
    assert "status_list_endpoint" in server.discovery()
    access = server.fetch_token(client)["access_token"]
    assert status(server, access) == VALID


# -- browser sign-in: the authorization code's tokens, code reuse, ending the session -------
def test_code_reuse_and_ending_the_session(setup: Setup) -> None:
    server = setup.server
    redirect = "https://app.example/callback"
    spa = server.create_client(
        "--auth-method", "none", "--grant-type", "authorization_code", "--scope", "openid",
        "--redirect-uri", redirect, "--access-token-as-jwt",
    )  # fmt: skip
    revoker = setup.api.create_client(
        grantTypes=["client_credentials"],
        scopes=[setup.api.scope_dn("global_token_revocation")],
    )

    def sign_in(browser: Browser) -> tuple[str, str]:
        """(a code, its PKCE verifier), from a sign-in of users[1] in this browser."""
        verifier, challenge = pkce_pair()
        back = browser.code(
            setup.users[1], PASSWORD, response_type="code", client_id=spa.client_id,
            redirect_uri=redirect, scope="openid", code_challenge=challenge,
            code_challenge_method="S256",
        )  # fmt: skip
        return back["code"], verifier

    def redeem(code: str, verifier: str) -> httpx.Response:
        return exchange(server, code, redirect, client_id=spa.client_id, code_verifier=verifier)

    with Browser(server) as first, Browser(server) as second:
        code, verifier = sign_in(first)
        reused = redeem(code, verifier).json()["access_token"]
        assert status(server, reused) == VALID
        ended = redeem(*sign_in(second)).json()
        kept = server.fetch_token(app(setup))["access_token"]
        assert redeem(code, verifier).status_code == 400  # a reused code: its grant goes
        eventually_invalid(server, [reused], [ended["access_token"], kept])
        sid = jwt.decode(ended["id_token"], options={"verify_signature": False})["sid"]
        body = {"sub_id": {"format": "session_id", "id": sid}}
        response = server.session.post(
            f"{AUTH}/global-token-revocation", json=body, auth=revoker.basic
        )
        ok(response, 204)
        eventually_invalid(server, [ended["access_token"]], [kept])
