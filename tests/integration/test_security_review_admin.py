"""Findings of the security review (docs/security.md, S2 to S21): no escalation through the
config API, disabled and deleted clients dead everywhere, refresh bounded by the client's
current scopes, throttling of passwords and of strangers, deep JSON, audit of config-API
writes, masked and encrypted receiver credentials, outbound URLs. Through real servers;
deletion racing issuance on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.test_configapi_support import (
    ADMIN,
    AS_CFG,
    CFG,
    ConfigApi,
    admin_api,
    assert_api_error,
)
from tests.support.postgres import throwaway_database
from tests.support.revoke_scripts import ALLOW_SCRIPT
from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Server

TOKEN = f"{AUTH}/token"
STREAM = f"{AUTH}/revocation-events"
USERNAME, PASSWORD = "rita", "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("review") / "data")
    srv.configure({"revocationEventHeartbeatSeconds": 1}).start()
    srv.create_user(USERNAME, PASSWORD)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def api(server: Server) -> ConfigApi:
    return admin_api(server)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- S2: no escalation through the config API -------------------------------------------
def test_clients_write_cannot_give_scopes_it_lacks_nor_take_over_the_admin(
    server: Server, api: ConfigApi
) -> None:
    writer = api.token_for(CFG + "openid/clients.write")
    for scopes in (
        [CFG + "write-all"],
        [CFG + "read-all", "openid"],
        [AS_CFG + "properties.write"],
    ):
        response = api.call("POST", "/openid/clients", token=writer,
                            json={"clientName": "escalate", "scopes": scopes})  # fmt: skip
        assert "beyond its own" in assert_api_error(response, 403)["description"]
    # An ordinary client is fine, and so are scopes the token carries.
    ordinary = api.ok("POST", "/openid/clients", 201, token=writer,
                      json={"clientName": "app", "scopes": ["openid"]})  # fmt: skip
    api.ok("POST", "/openid/clients", 201, token=writer,
           json={"clientName": "peer", "scopes": [CFG + "openid/clients.write"]})  # fmt: skip
    # Adding a config-API scope to an existing client is giving it too.
    grow = [{"op": "add", "path": "/scopes/-", "value": CFG + "delete-all"}]
    assert_api_error(api.call("PATCH", f"/openid/clients/{ordinary['inum']}", token=writer,
                              patch=grow), 403)  # fmt: skip
    # Taking over the admin client (a new secret, or another way in) is refused...
    takeovers = (
        [{"op": "add", "path": "/clientSecret", "value": "attacker-chosen-secret-0123"}],
        [{"op": "replace", "path": "/tokenEndpointAuthMethod", "value": "private_key_jwt"},
         {"op": "replace", "path": "/jwksUri", "value": "https://attacker.example/jwks"}],
    )  # fmt: skip
    for patch in takeovers:
        response = api.call("PATCH", f"/openid/clients/{ADMIN_ID}", token=writer, patch=patch)
        assert "credentials" in assert_api_error(response, 403)["description"]
    admin = api.ok("GET", f"/openid/clients/{ADMIN_ID}")
    put = {**admin, "clientSecret": "attacker-chosen-secret-0123"}
    assert_api_error(api.call("PUT", "/openid/clients", token=writer, json=put), 403)
    assert server.fetch_token(ADMIN)["access_token"]  # the admin's secret still works
    # ...but a client holding no config-API scope may have its secret reset.
    reset = [{"op": "add", "path": "/clientSecret", "value": "a-new-secret-for-the-app-0123"}]
    api.ok("PATCH", f"/openid/clients/{ordinary['inum']}", token=writer, patch=reset)
    # The admin token carries every config-API scope: it may give them.
    api.ok("POST", "/openid/clients", 201,
           json={"clientName": "operator", "scopes": [CFG + "write-all"]})  # fmt: skip


def test_a_config_api_token_acts_with_its_clients_current_scopes(api: ConfigApi) -> None:
    client = api.client_with_scopes(CFG + "scopes.readonly")
    token = api.server.fetch_token(client, scope=CFG + "scopes.readonly")["access_token"]
    assert api.call("GET", "/scopes", token=token).status_code == 200
    api.ok("PATCH", f"/openid/clients/{client.client_id}",
           patch=[{"op": "replace", "path": "/scopes", "value": ["openid"]}])  # fmt: skip
    assert_api_error(api.call("GET", "/scopes", token=token), 403)


# -- S3: a disabled client is dead everywhere ----------------------------------------------
def test_a_disabled_client_loses_the_event_stream_and_its_tokens(
    server: Server, api: ConfigApi
) -> None:
    subscriber = api.client_with_scopes("revocation_events")
    token = server.fetch_token(subscriber, scope="revocation_events")["access_token"]
    other = server.fetch_token(subscriber, scope="revocation_events")["access_token"]
    http = httpx.Client(base_url=server.url, timeout=httpx.Timeout(10, read=30))
    response = http.send(http.build_request("GET", STREAM, headers=bearer(token)), stream=True)
    assert response.status_code == 200
    ended = threading.Event()

    def read() -> None:
        try:
            for _ in response.iter_lines():
                pass
        except httpx.HTTPError:
            pass
        ended.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        api.ok("PATCH", f"/openid/clients/{subscriber.client_id}",
               patch=[{"op": "replace", "path": "/disabled", "value": True}])  # fmt: skip
        # The open stream ends within a heartbeat (1 s here).
        assert ended.wait(timeout=5), "the stream of a disabled client kept running"
    finally:
        response.close()
        http.close()
    refused = server.session.get(STREAM, headers=bearer(other))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
    assert server.introspect(other)["active"] is False
    revoke = server.session.post(f"{AUTH}/revoke", data={"token": other}, headers=bearer(other))
    assert revoke.status_code == 401
    assert api.call("GET", "/scopes", token=other).status_code == 401
    # Enabled again, its live tokens are its own again.
    api.ok("PATCH", f"/openid/clients/{subscriber.client_id}",
           patch=[{"op": "replace", "path": "/disabled", "value": False}])  # fmt: skip
    assert server.introspect(other)["active"] is True


# -- S5: refresh is bounded by the client's current scopes ----------------------------------
def test_a_scope_taken_from_a_client_is_gone_from_its_refresh_tokens(
    server: Server, api: ConfigApi
) -> None:
    client = api.create_client(grantTypes=["password", "refresh_token"],
                               scopes=["openid", CFG + "openid/clients.write"])  # fmt: skip
    first = server.password_token(client, USERNAME, PASSWORD)
    assert CFG + "openid/clients.write" in first["scope"].split()
    api.ok("PATCH", f"/openid/clients/{client.client_id}",
           patch=[{"op": "replace", "path": "/scopes", "value": ["openid"]}])  # fmt: skip
    refreshed = server.refresh(client, first["refresh_token"])
    assert refreshed["scope"].split() == ["openid"]
    assert server.introspect(refreshed["refresh_token"])["scope"] == "openid"
    assert_api_error(api.call("POST", "/openid/clients", token=refreshed["access_token"],
                              json={"clientName": "x"}), 403)  # fmt: skip
    # Asking for the removed scope explicitly gets nothing more either.
    again = server.refresh(client, refreshed["refresh_token"], scope="openid")
    assert again["scope"] == "openid"


# -- S9: deep JSON is a 400, never a 500 ---------------------------------------------------
def test_deeply_nested_json_is_a_400(server: Server, api: ConfigApi) -> None:
    deep: Any = "x"
    for _ in range(600):
        deep = [deep]
    client = api.create_client()
    scope = api.ok("GET", "/scopes", params={"limit": 1})["entries"][0]
    patch = [{"op": "add", "path": "/description", "value": deep}]
    for path in (f"/scopes/{scope['inum']}", "/jans-auth-server/config",
                 f"/openid/clients/{client.client_id}"):  # fmt: skip
        response = api.call("PATCH", path, patch=patch)
        assert "nested" in assert_api_error(response, 400)["description"]
    response = api.call("POST", "/openid/clients", json={"clientName": "deep", "x": deep})
    assert_api_error(response, 400)
    # Ordinary nesting is untouched.
    lifetime = [{"op": "replace", "path": "/attributes/idTokenLifetime", "value": 60}]
    api.ok("PATCH", f"/openid/clients/{client.client_id}", patch=lifetime)
    assert "Traceback" not in server.log()


# -- S4: deletion leaves no live token, whatever races it ----------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def any_store_server(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Server]:
    if request.param == "sqlite":
        srv = Server(tmp_path / "data").start()
        try:
            yield srv
        finally:
            srv.stop()
        return
    with throwaway_database("tokenrevoke_review") as url:
        srv = Server(tmp_path / "data", extra_args=["--database-url", url]).start()
        try:
            yield srv
        finally:
            srv.stop()


def test_no_token_survives_its_clients_deletion(any_store_server: Server) -> None:
    server = any_store_server
    api = admin_api(server)
    client = api.create_client()
    issued: list[str] = []
    unexpected: list[str] = []
    deleted = threading.Event()
    lock = threading.Lock()

    def issue() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            after = 0
            while after < 15:  # keep going a little past the 204
                response = http.post(TOKEN, data={"grant_type": "client_credentials"},
                                     auth=client.basic)  # fmt: skip
                with lock:
                    if response.status_code == 200:
                        issued.append(response.json()["access_token"])
                    elif response.status_code != 401:
                        unexpected.append(response.text)
                if deleted.is_set():
                    after += 1

    threads = [threading.Thread(target=issue) for _ in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(issued) < 100 and time.monotonic() < deadline:  # issuance in full swing
        time.sleep(0.01)
    api.ok("DELETE", f"/openid/clients/{client.client_id}", 204)
    deleted.set()
    for thread in threads:
        thread.join()
    assert unexpected == []
    assert len(issued) >= 100
    survivors = [t for t in issued if server.introspect(t)["active"]]
    assert survivors == [], f"{len(survivors)} of {len(issued)} tokens outlived their client"


# -- S21: every config-API write is audited, without secrets ------------------------------


def audit_rows(server: Server, actor: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    with sqlite3.connect(server.db_path) as db:
        rows = db.execute(
            "SELECT action, cln_id, details FROM audit WHERE actor = ? AND reason = 'config_api' "
            "ORDER BY id", (f"admin:{actor}",),
        ).fetchall()  # fmt: skip
    return [(action, client_id, json.loads(details)) for action, client_id, details in rows]


def test_every_config_api_write_is_audited_without_secrets(server: Server, api: ConfigApi) -> None:
    operator = api.client_with_scopes(CFG + "write-all", CFG + "delete-all")
    token = server.fetch_token(operator)["access_token"]
    op = ConfigApi(server, token)
    secret, new_secret = "first-secret-of-the-audited-0123", "second-secret-of-the-audited-0123"
    receiver_secret = "Bearer receiver-credential-0123456789"
    flags = api.ok("GET", "/jans-auth-server/config")["featureFlags"]
    created = op.ok(
        "POST",
        "/openid/clients",
        201,
        json={"clientName": "audited", "clientSecret": secret, "scopes": ["openid"]},
    )
    inum = created["inum"]
    op.ok("PATCH", f"/openid/clients/{inum}", patch=[
        {"op": "add", "path": "/clientSecret", "value": new_secret},
        {"op": "replace", "path": "/disabled", "value": True}])  # fmt: skip
    op.ok("PUT", "/openid/clients", json={**created, "clientName": "renamed",
                                          "disabled": False})  # fmt: skip
    scope = op.ok("POST", "/scopes", 201, json={"id": "audited-scope", "scopeType": "oauth"})
    op.ok("PATCH", f"/scopes/{scope['inum']}",
          patch=[{"op": "replace", "path": "/description", "value": "changed"}])  # fmt: skip
    op.ok("DELETE", f"/scopes/{scope['inum']}", 204)
    op.ok("PATCH", "/jans-auth-server/config", patch=[
        {"op": "add", "path": "/revocationEventReceivers", "value": [
            {"url": "http://127.0.0.1:9/events", "authorization": receiver_secret}]},
        {"op": "add", "path": "/featureFlags/-", "value": "GLOBAL_TOKEN_REVOCATION"}])  # fmt: skip
    script = op.ok("POST", "/config/scripts", 201,
                   json={"name": "audited-script", "scriptType": "revoke_token",
                         "script": ALLOW_SCRIPT, "enabled": False})  # fmt: skip
    op.ok("DELETE", f"/config/scripts/{script['inum']}", 204)
    op.ok("DELETE", f"/openid/clients/{inum}", 204)
    api.ok("PATCH", "/jans-auth-server/config", patch=[
        {"op": "replace", "path": "/revocationEventReceivers", "value": []},
        {"op": "replace", "path": "/featureFlags", "value": flags}])  # fmt: skip

    rows = audit_rows(server, operator.client_id)
    assert [action for action, _, _ in rows] == [
        "post-oauth-openid-client", "patch-oauth-openid-client-by-inum",
        "put-oauth-openid-client", "post-oauth-scopes", "patch-oauth-scopes-by-id",
        "delete-oauth-scopes-by-inum", "patch-properties", "post-config-scripts",
        "delete-config-scripts-by-inum", "delete-oauth-openid-client-by-inum",
    ]  # fmt: skip
    by_action = {action: (client_id, details) for action, client_id, details in rows}
    client_id, details = by_action["patch-oauth-openid-client-by-inum"]
    assert client_id == inum and details["resource"] == {"type": "client", "id": inum}
    assert details["changes"] == {"clientSecret": "(changed)",
                                  "disabled": {"from": False, "to": True}}  # fmt: skip
    assert by_action["put-oauth-openid-client"][1]["changes"]["clientName"] == {
        "from": "audited", "to": "renamed"}  # fmt: skip
    assert by_action["post-oauth-openid-client"][1]["changes"]["clientSecret"] == "(changed)"
    assert by_action["delete-oauth-openid-client-by-inum"][1]["changes"]["clientName"] == {
        "from": "renamed", "to": None}  # fmt: skip
    props = by_action["patch-properties"][1]["changes"]
    assert props["featureFlags"]["to"][-1] == "GLOBAL_TOKEN_REVOCATION"
    assert props["revocationEventReceivers"]["to"] == [
        {"url": "http://127.0.0.1:9/events", "authorization": "(redacted)"}]  # fmt: skip
    assert by_action["post-config-scripts"][1]["changes"]["script"]["to"] == ALLOW_SCRIPT
    with sqlite3.connect(server.db_path) as db:
        everything = "\n".join(str(row) for row in db.execute("SELECT * FROM audit"))
    # The same records through `tokenrevoke audit`, newest first.
    shown = server.cli("audit", "--json", "--limit", "100").stdout
    listed = [r for r in json.loads(shown) if r["actor"] == f"admin:{operator.client_id}"]
    assert [r["action"] for r in reversed(listed)] == [action for action, _, _ in rows]
    for leaked in (secret, new_secret, receiver_secret, "receiver-credential"):
        assert leaked not in everything and leaked not in shown


# -- S10: receivers' credentials are write-only and encrypted at rest ---------------------
def test_receiver_authorization_is_masked_and_encrypted_at_rest(
    server: Server, api: ConfigApi
) -> None:
    from tests.support.set_receiver import SetReceiver

    credential = "Bearer receiver-credential-s10-0123456789"
    receiver = SetReceiver().start()
    reader = api.token_for(AS_CFG + "properties.readonly")
    try:
        api.ok("PATCH", "/jans-auth-server/config", patch=[
            {"op": "replace", "path": "/revocationEventReceivers",
             "value": [{"url": receiver.url, "authorization": credential}]}])  # fmt: skip
        shown = api.ok("GET", "/jans-auth-server/config", token=reader)
        assert shown["revocationEventReceivers"] == [
            {"url": receiver.url, "authorization": "********"}]  # fmt: skip
        # Sent back masked (an unrelated change), the stored credential is kept...
        api.ok("PATCH", "/jans-auth-server/config", patch=[
            {"op": "replace", "path": "/revocationEventReceivers",
             "value": shown["revocationEventReceivers"]},
            {"op": "replace", "path": "/revocationEventHeartbeatSeconds", "value": 2}])  # fmt: skip
        # ...and used: a revocation's push carries it.
        client = api.create_client()
        token = server.fetch_token(client)["access_token"]
        assert server.send_revoke(client, token=token).status_code == 200
        receiver.wait_for(lambda: receiver.received)
        assert receiver.received[0].headers.get("authorization") == credential
        # The mask cannot carry a credential to another URL.
        moved = [{"url": "http://127.0.0.1:9/elsewhere", "authorization": "********"}]
        response = api.call("PATCH", "/jans-auth-server/config", patch=[
            {"op": "replace", "path": "/revocationEventReceivers", "value": moved}])  # fmt: skip
        assert_api_error(response, 400)
        stored = b"".join(
            path.read_bytes() for path in server.db_path.parent.glob("tokenrevoke.db*")
        )
        assert b"receiver-credential-s10" not in stored
    finally:
        api.ok("PATCH", "/jans-auth-server/config", patch=[
            {"op": "replace", "path": "/revocationEventReceivers", "value": []},
            {"op": "replace", "path": "/revocationEventHeartbeatSeconds", "value": 1}])  # fmt: skip
        receiver.stop()


# -- S11: outbound URLs are checked when saved; failed JWKS fetches are cached -------------
def test_jwks_uri_and_receivers_cannot_point_inside(tmp_path: Any) -> None:
    srv = Server(tmp_path / "data")
    srv.configure({"outboundAllowPrivateNetworks": False}).start()
    try:
        api = admin_api(srv)
        inside = ["http://127.0.0.1:6379/", "http://localhost:5432/x", "file:///etc/passwd",
                  "gopher://127.0.0.1:6379/_INFO", "http://169.254.169.254/latest/meta-data",
                  "http://10.0.0.8/jwks", "http://[::1]:8080/jwks", "http://0.0.0.0/",
                  "http://[::ffff:127.0.0.1]/", "https://no-such-host.invalid/jwks"]  # fmt: skip
        for url in inside:
            client = {"clientName": "ssrf", "tokenEndpointAuthMethod": "private_key_jwt",
                      "jwksUri": url}  # fmt: skip
            assert_api_error(api.call("POST", "/openid/clients", json=client), 400)
            receivers = [{"op": "replace", "path": "/revocationEventReceivers",
                          "value": [{"url": url}]}]  # fmt: skip
            assert_api_error(api.call("PATCH", "/jans-auth-server/config", patch=receivers), 400)
        public = {"clientName": "ok", "tokenEndpointAuthMethod": "private_key_jwt",
                  "jwksUri": "https://93.184.215.14/jwks"}  # fmt: skip
        api.ok("POST", "/openid/clients", 201, json=public)
    finally:
        srv.stop()


def test_a_failing_jwks_uri_is_not_fetched_on_every_assertion(
    server: Server, api: ConfigApi
) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    hits: list[str] = []

    class Failing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    jwks_server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=jwks_server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{jwks_server.server_address[1]}/jwks"
        client = api.ok("POST", "/openid/clients", 201, json={
            "clientName": "jwks", "tokenEndpointAuthMethod": "private_key_jwt",
            "jwksUri": url})  # fmt: skip
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        for _ in range(5):
            now = int(time.time())
            assertion = jwt.encode(
                {"iss": client["inum"], "sub": client["inum"], "aud": server.url + TOKEN,
                 "iat": now, "exp": now + 60, "jti": f"j{time.monotonic_ns()}"},
                key, algorithm="RS256", headers={"kid": "unknown"},
            )  # fmt: skip
            response = server.session.post(TOKEN, data={
                "grant_type": "client_credentials", "client_assertion": assertion,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_id": client["inum"]})  # fmt: skip
            assert response.status_code == 401
        assert len(hits) == 1, hits
    finally:
        jwks_server.shutdown()


# -- S6, S18: passwords are throttled; a stranger cannot lock a caller out ----------------
@pytest.fixture(scope="module")
def throttled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The default limits; loopback is a trusted proxy, so a test acts from any address
    with X-Forwarded-For."""
    srv = Server(tmp_path_factory.mktemp("throttled") / "data",
                 extra_args=["--trusted-proxy", "127.0.0.1"])  # fmt: skip
    srv.configure({"clientAuthFailureLimitPerClient": 10, "clientAuthFailureCeilingPerClient": 100,
                   "clientAuthFailureLimitPerAddress": 50, "passwordFailureLimitPerUser": 10,
                   "passwordFailureCeilingPerUser": 100}).start()  # fmt: skip
    srv.create_user(USERNAME, PASSWORD)
    try:
        yield srv
    finally:
        srv.stop()


def from_address(server: Server, address: str, form: dict[str, str],
                 auth: tuple[str, str] | None = None) -> httpx.Response:  # fmt: skip
    return server.session.post(TOKEN, data=form, auth=auth,
                               headers={"X-Forwarded-For": address})  # fmt: skip


def test_password_guessing_is_throttled_per_user_and_address(throttled: Server) -> None:
    app = admin_api(throttled).create_client(
        grantTypes=["password"], tokenEndpointAuthMethod="client_secret_basic", scopes=["openid"]
    )
    guess = {"grant_type": "password", "username": USERNAME, "password": "wrong"}
    right = {**guess, "password": PASSWORD}
    attacker, rita = "203.0.113.50", "198.51.100.50"
    statuses = [from_address(throttled, attacker, guess, app.basic).status_code
                for _ in range(12)]  # fmt: skip
    assert statuses[:10] == [400] * 10 and statuses[10:] == [429, 429], statuses
    locked = from_address(throttled, attacker, right, app.basic)
    assert locked.status_code == 429 and "password" in locked.json()["error_description"]
    assert int(locked.headers["retry-after"]) > 0
    # Rita herself, from her address, logs in.
    assert from_address(throttled, rita, right, app.basic).status_code == 200


def test_a_stranger_cannot_lock_a_client_out(throttled: Server) -> None:
    stranger, operator = "203.0.113.60", "198.51.100.60"
    form = {"grant_type": "client_credentials"}
    for _ in range(10):
        assert from_address(throttled, stranger, form, (ADMIN_ID, "wrong")).status_code == 401
    assert from_address(throttled, stranger, form, (ADMIN_ID, ADMIN_SECRET)).status_code == 429
    # The admin, from its own address, is not locked out.
    assert from_address(throttled, operator, form, (ADMIN_ID, ADMIN_SECRET)).status_code == 200
