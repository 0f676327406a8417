"""A NUL character in an identifier, on both stores (docs/security.md, S7).

PostgreSQL's text cannot hold a NUL; SQLite's can. A `client_id=a%00b` once made every
lookup on PostgreSQL fail with an unthrottled, unauthenticated 500 and a stack trace in the
log. Each request here goes to a server on SQLite and one on PostgreSQL: neither answers
5xx, both answer alike, and neither logs an unexpected error.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Client, Server
from tests.support.stores import STORES, server_on
from tokenrevoke.paths import CONFIG_API_V1

NUL_ID = "a\x00b"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
USER, PASSWORD = "nul-user", "nul user password"


class Side:
    """One server and what the requests need from it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        server.create_user(USER, PASSWORD)
        self.client = server.create_client(
            grant_types=["client_credentials", "password"], scopes=["global_token_revocation"]
        )
        admin = server.fetch_token(Client(ADMIN_ID, ADMIN_SECRET))["access_token"]
        self.admin = {"Authorization": f"Bearer {admin}"}


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Side]]:
    with (
        server_on("sqlite", tmp_path_factory.mktemp("nul-sqlite") / "data") as lite,
        server_on("postgres", tmp_path_factory.mktemp("nul-postgres") / "data") as pg,
    ):
        yield {"sqlite": Side(lite), "postgres": Side(pg)}


def basic(user: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def form(path: str, body: str, **headers: str) -> Callable[[Side], httpx.Response]:
    return lambda s: s.server.session.post(
        f"{AUTH}{path}", content=body, headers={**FORM, **headers}
    )


def global_revocation(sub_id: dict[str, str], credentials: str = "basic") -> Callable[[Side], Any]:
    def send(s: Side) -> httpx.Response:
        document: dict[str, Any] = {"sub_id": sub_id}
        if credentials == "form":
            document["client_id"] = NUL_ID
            document["client_secret"] = "x" * 20
            return s.server.session.post(f"{AUTH}/global-token-revocation", json=document)
        return s.server.session.post(f"{AUTH}/global-token-revocation", json=document,
                                     auth=s.client.basic)  # fmt: skip

    return send


def config_api(method: str, path: str, body: Any = None) -> Callable[[Side], httpx.Response]:
    def send(s: Side) -> httpx.Response:
        return s.server.session.request(method, f"{CONFIG_API_V1}{path}", headers=s.admin,
                                        json=body)  # fmt: skip

    return send


def password_grant(s: Side) -> httpx.Response:
    body = {"grant_type": "password", "username": NUL_ID, "password": PASSWORD}
    return s.server.session.post(f"{AUTH}/token", data=body, auth=s.client.basic)


REQUESTS: dict[str, Callable[[Side], httpx.Response]] = {
    "token, form client_id": form(
        "/token", "grant_type=client_credentials&client_id=a%00b&client_secret=x"
    ),
    "token, public client_id": form("/token", "grant_type=client_credentials&client_id=a%00b"),
    "revoke, form client_id": form("/revoke", "token=x&client_id=a%00b"),
    "introspection, form client_id": form(
        "/introspection", "token=x&client_id=a%00b&client_secret=y"
    ),
    "token, Basic user": form("/token", "grant_type=client_credentials", **basic(NUL_ID, "s")),
    "revoke, Basic user": form("/revoke", "token=x", **basic(NUL_ID, "s")),
    "introspection, Basic user": form("/introspection", "token=x", **basic(NUL_ID, "s")),
    "introspection, bearer": form("/introspection", "token=x", Authorization="Bearer a%00b"),
    "password grant, username": password_grant,
    "global revocation, uid": global_revocation({"format": "uid", "id": NUL_ID}),
    "global revocation, email": global_revocation({"format": "email", "email": f"{NUL_ID}@x"}),
    "global revocation, opaque": global_revocation({"format": "opaque", "id": NUL_ID}),
    "global revocation, client_id member": global_revocation({"format": "uid", "id": USER}, "form"),
    "config API, client GET": config_api("GET", "/openid/clients/a%00b"),
    "config API, client search": config_api("GET", "/openid/clients?pattern=a%00b"),
    "config API, client DELETE": config_api("DELETE", "/openid/clients/a%00b"),
    "config API, client POST": config_api("POST", "/openid/clients", {"inum": NUL_ID}),
    "config API, client name": config_api("POST", "/openid/clients", {"clientName": NUL_ID}),
    "config API, tokens of a client": config_api("GET", "/token/client/a%00b"),
    "config API, token by code": config_api("GET", "/token/tknCde/a%00b"),
    "config API, token revoke": config_api("DELETE", "/token/revoke/a%00b"),
    "config API, token search": config_api("GET", "/token/search?pattern=a%00b"),
    "config API, token field": config_api("GET", "/token/search?fieldValuePair=clnId%3Da%00b"),
    "config API, user revoke": config_api("POST", "/token/revoke/user/a%00b"),
    "config API, scope POST": config_api("POST", "/scopes", {"id": NUL_ID}),
    "config API, scope DELETE": config_api("DELETE", "/scopes/a%00b"),
    "config API, script DELETE": config_api("DELETE", "/config/scripts/a%00b"),
}


@pytest.mark.parametrize("name", list(REQUESTS))
def test_a_nul_is_answered_alike_on_both_stores(sides: dict[str, Side], name: str) -> None:
    answers = {store: REQUESTS[name](sides[store]) for store in STORES}
    for store, response in answers.items():
        assert response.status_code < 500, (store, response.text)
        assert "Traceback" not in response.text
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/json"), store
            json.loads(response.text)
    lite, pg = answers["sqlite"], answers["postgres"]
    assert pg.status_code == lite.status_code, (lite.text, pg.text)


def test_no_unexpected_error_in_the_logs(sides: dict[str, Side]) -> None:
    """Last: nothing above made either server log an unexpected error."""
    for store, side in sides.items():
        log = side.server.log()
        assert "Traceback" not in log and "unexpected error" not in log, (store, log[-3000:])
