"""No raw token, client secret or password anywhere it should not be, after a full run.

One server (debug, JSON and access logging: all it can ever say) goes through a whole
scenario: every grant, refresh, every revocation form, introspection (POST and GET, whose
query carries the token), the config API (token reads by code, a revocation by raw token in
the URL path, configuration changes), an interception script that prints what it is given,
and errors of every kind (wrong secrets, bad passwords, bad refresh tokens, another
client's token, malformed requests, with errorReasonEnabled). Then the server's log, the
SQLite database files (db, -wal, -shm) and every error body and header are scanned for
every secret the scenario used.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_client_auth import Signer, make_assertion
from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Client, Server
from tokenrevoke.crypto import sha256_hex
from tokenrevoke.scripts.host import REDACTED

USERNAME = "scan-user"
PASSWORD = "scan-user-password-Zq8#"
CONFIG_API = "/jans-config-api/api/v1"
# Prints everything a careless script could print: the token, the whole Authorization
# header, and the credentials sent in the form.
PRINTING_SCRIPT = """
from io.jans.model.custom.script.type.revoke import RevokeTokenType


class RevokeToken(RevokeTokenType):
    def getApiVersion(self):
        return 11

    def revoke(self, context):
        request = context.getHttpRequest()
        print("token", request.getParameter("token"))
        print("authorization", request.getHeader("Authorization"))
        print("client_secret", request.getParameter("client_secret"))
        context.getResponseBuilder().header("X-Scan-Script", "ran")
        return True
"""


class Scenario:
    """Runs requests, remembering every secret it handles and every error it gets."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = server.http()
        self.secrets: dict[str, str] = {"admin secret": ADMIN_SECRET, "password": PASSWORD}
        self.errors: list[httpx.Response] = []

    def remember(self, name: str, value: str | None) -> None:
        if value:
            self.secrets[f"{name} #{len(self.secrets)}"] = value

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            self.errors.append(response)
        return response

    def tokens(self, client: Client | None, **form: str) -> dict[str, Any]:
        auth = client.basic if client else None
        response = self.call("POST", f"{AUTH}/token", data=form, auth=auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        for kind in ("access_token", "refresh_token", "id_token"):
            self.remember(kind, body.get(kind))
            if kind in body and body[kind].count(".") == 2:  # a JWT: its signature is unique
                self.remember(f"{kind} signature", body[kind].rsplit(".", 1)[1])
        return body

    def revoke(self, client: Client | None, **form: str) -> httpx.Response:
        return self.call("POST", f"{AUTH}/revoke", data=form, auth=client.basic if client else None)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    # Every log line a request can write: debug, the access log, JSON (whose escaping must
    # not hide a secret either).
    server = Server(
        tmp_path_factory.mktemp("scan") / "data",
        extra_args=["--log-level", "debug", "--log-format", "json", "--access-log"],
    )
    server.start()
    try:
        scenario = Scenario(server)
        run_scenario(scenario, tmp_path_factory.mktemp("scripts"))
        yield scenario
    finally:
        scenario.http.close()
        server.stop()


def run_scenario(s: Scenario, tmp: Path) -> None:
    server = s.server
    options: dict[str, Any] = {
        "grant_types": ["client_credentials", "password", "refresh_token"],
        "scopes": ["openid"],
    }
    basic = server.create_client(**options)
    other = server.create_client(**options)
    as_jwt = server.create_client("--access-token-as-jwt", **options)
    post = server.create_client(auth_method="client_secret_post", **options)
    hs = server.create_client(auth_method="client_secret_jwt", **options)
    for client in (basic, other, as_jwt, post, hs):
        s.remember("client secret", client.secret)
    server.cli("user", "create", "--username", USERNAME, "--password", PASSWORD)
    server.set_config("errorReasonEnabled", True)
    server.set_config("allowAllValueForRevokeEndpoint", True)
    user = {"username": USERNAME, "password": PASSWORD}

    # -- issue, refresh
    cc = s.tokens(basic, grant_type="client_credentials")
    pw = s.tokens(basic, grant_type="password", scope="openid", **user)
    rotated = s.tokens(basic, grant_type="refresh_token", refresh_token=pw["refresh_token"])
    jwt_grant = s.tokens(as_jwt, grant_type="password", **user)
    assert post.secret is not None and hs.secret is not None
    post_form = {"client_id": post.client_id, "client_secret": post.secret}
    posted = s.tokens(None, grant_type="client_credentials", **post_form)
    assertion = make_assertion(hs.client_id, Signer(hs.secret, "HS256", None),
                               f"{server.url}{AUTH}/token")  # fmt: skip
    s.remember("client assertion", assertion)
    jwt_form = {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion}  # fmt: skip
    s.tokens(None, grant_type="client_credentials", **jwt_form)
    theirs = s.tokens(other, grant_type="password", **user)

    # -- introspection, POST and GET (the token in the query string)
    admin = (ADMIN_ID, ADMIN_SECRET)
    for token in (cc["access_token"], rotated["access_token"], jwt_grant["access_token"]):
        assert s.call("POST", f"{AUTH}/introspection", data={"token": token}, auth=admin).json()[
            "active"
        ]
        assert s.call("GET", f"{AUTH}/introspection", params={"token": token}, auth=admin).json()[
            "active"
        ]
    bearer = {"Authorization": f"Bearer {cc['access_token']}"}
    s.call("POST", f"{AUTH}/introspection", data={"token": posted["access_token"]}, headers=bearer)

    # -- errors of every kind
    s.call("POST", f"{AUTH}/token", data={"grant_type": "client_credentials"},
           auth=(basic.client_id, "wrong-" + (basic.secret or "")))  # fmt: skip
    s.call("POST", f"{AUTH}/token", data={"grant_type": "password", "username": USERNAME,
           "password": PASSWORD + "-wrong"}, auth=basic.basic)  # fmt: skip
    # A refresh token spent by rotation, then another client's.
    for spent in (pw["refresh_token"], theirs["refresh_token"]):
        s.call("POST", f"{AUTH}/token", data={"grant_type": "refresh_token",
               "refresh_token": spent}, auth=basic.basic)  # fmt: skip
    s.call("POST", f"{AUTH}/token", data={**post_form, "grant_type": "client_credentials"},
           auth=post.basic)  # two methods at once  # fmt: skip
    s.call("POST", f"{AUTH}/token", json={"grant_type": "password", **user}, auth=basic.basic)
    s.call("POST", f"{AUTH}/revoke", data={"token": theirs["access_token"]}, auth=basic.basic)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    s.call("POST", f"{AUTH}/revoke", content=f"token={cc['access_token']}&token=x".encode(),
           auth=basic.basic, headers=form)  # fmt: skip
    s.call("POST", f"{AUTH}/introspection", data={"token": cc["access_token"]},
           headers={"Authorization": "Bearer " + theirs["refresh_token"]})  # fmt: skip
    s.call("POST", f"{AUTH}/introspection", data={"token": cc["access_token"]},
           auth=(ADMIN_ID, ADMIN_SECRET + "x"))  # fmt: skip

    # -- an interception script that prints what it is given
    script = tmp / "printing.py"
    script.write_text(PRINTING_SCRIPT)
    server.cli("script", "add", "--name", "printing", "--file", str(script))
    server.wait_until(
        lambda: "x-scan-script" in s.revoke(basic, token="probe-unknown").headers, timeout=10
    )
    assert s.revoke(basic, token=cc["access_token"]).status_code == 200
    assert s.revoke(None, token=posted["access_token"], **post_form).status_code == 200
    server.cli("script", "remove", "printing")

    # -- every revocation form
    listed = [s.tokens(basic, grant_type="client_credentials")["access_token"] for _ in range(3)]
    assert s.revoke(basic, token=" ".join(listed)).status_code == 200
    assert s.revoke(basic, token=rotated["refresh_token"], token_type_hint="refresh_token")
    assert s.revoke(as_jwt, token="all", token_type_hint="access_token").status_code == 200
    assert s.revoke(as_jwt, token="anything", token_type_hint="all").status_code == 200
    other_bearer = s.tokens(other, grant_type="client_credentials")["access_token"]
    s.call("POST", f"{AUTH}/revoke", data={"token": theirs["access_token"]},
           headers={"Authorization": f"Bearer {other_bearer}"})  # fmt: skip

    # -- the config API: reads by code, a revocation by raw token in the URL path
    api_token = s.tokens(Client(ADMIN_ID, ADMIN_SECRET), grant_type="client_credentials")
    api = {"Authorization": f"Bearer {api_token['access_token']}"}
    fresh = s.tokens(basic, grant_type="password", **user)
    s.call("GET", f"{CONFIG_API}/token/search", params={"limit": "50"}, headers=api)
    s.call("GET", f"{CONFIG_API}/token/client/{basic.client_id}", headers=api)
    s.call("GET", f"{CONFIG_API}/token/tknCde/{sha256_hex(fresh['access_token'])}", headers=api)
    s.call("GET", f"{CONFIG_API}/openid/clients/{basic.client_id}", headers=api)
    s.call("GET", f"{CONFIG_API}/jans-auth-server/config", headers=api)
    assert s.call("DELETE", f"{CONFIG_API}/token/revoke/{fresh['refresh_token']}", headers=api)
    s.call("DELETE", f"{CONFIG_API}/token/revoke/{fresh['access_token']}", headers=api)  # 404 now
    unscoped = s.tokens(other, grant_type="client_credentials")["access_token"]
    for revoked_or_unscoped in (fresh["access_token"], unscoped):  # 401, 403
        s.call("GET", f"{CONFIG_API}/token/search",
               headers={"Authorization": "Bearer " + revoked_or_unscoped})  # fmt: skip
    assert {r.status_code for r in s.errors} >= {400, 401, 403, 404}, s.errors
    time.sleep(0.5)  # let the log catch up with the last requests


def leaks(scenario: Scenario, data: bytes) -> list[str]:
    return sorted(name for name, raw in scenario.secrets.items() if raw.encode() in data)


def test_database_files_hold_no_secret(scanned: Scenario) -> None:
    data_dir = scanned.server.data_dir
    files = sorted(p for p in data_dir.iterdir() if p.name.startswith("tokenrevoke.db"))
    names = {p.name for p in files}
    assert {"tokenrevoke.db", "tokenrevoke.db-wal", "tokenrevoke.db-shm"} <= names, names
    found = {p.name: leaks(scanned, p.read_bytes()) for p in files}
    assert all(not v for v in found.values()), found
    # The scan looked at the stored tokens: their sha256 codes are there.
    everything = b"".join(p.read_bytes() for p in files)
    codes = [sha256_hex(v).encode() for k, v in scanned.secrets.items() if k.startswith("access")]
    assert any(code in everything for code in codes)


def test_error_bodies_and_headers_hold_no_secret(scanned: Scenario) -> None:
    found = [
        (f"{r.request.method} {r.request.url.path} {r.status_code}", leaked)
        for r in scanned.errors
        if (leaked := leaks(scanned, r.content + "\n".join(r.headers.values()).encode("latin-1")))
    ]
    assert found == []
    # errorReasonEnabled was on: the bodies say why, still without secrets.
    assert any("reason" in r.json() for r in scanned.errors if r.request.url.path.startswith(AUTH))


def test_the_log_holds_no_secret(scanned: Scenario) -> None:
    log = scanned.server.log_path.read_bytes()
    # It did say things: the script's prints, with the secrets it was given redacted.
    assert f"script printing: token {REDACTED}".encode() in log, log[-3000:]
    assert b'"logger":"tokenrevoke.access"' in log  # the access log was written, and scanned
    assert leaks(scanned, log) == []
