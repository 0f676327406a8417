"""Janssen's own TUI, replayed: the requests it makes from start-up to saving featureFlags
without REVOKE_TOKEN, and its Logging tab's save, against a real server; each answer is
checked for what the TUI reads from it.

Taken from JanssenProject/jans, jans-cli-tui/cli_tui/:
- jans_cli_tui.py: `create_cli` (GET health, every item `"status": "UP"`, else it exits),
  `check_available_plugins` (the background tasks below, then get-plugins: `response.ok`,
  each item's `name`);
- cli/config_cli.py: `check_connection` (client_credentials at the token endpoint, GET
  acrs when it holds an access token, discovery), `get_scope_for_endpoint` and
  `get_scoped_access_token` (a token per call, asking for every scope of the operation's
  `security`), `process_command_patch` (a patch `path` gets its leading "/");
- utils/background_tasks.py: get-attributes with `limit:100,startIndex:1` until
  `entriesCount` is falsy; get-properties-persistence (200, JSON);
- plugins/010_auth_server/main.py: `init_plugin` (get-properties, get-oauth-scopes with
  `limit:200,startIndex:0`, reading `entries`), `oauth_get_keys`/`oauth_update_keys`
  (get-config-jwks: each key's `name`, `exp` in ms, `kid`), `save_logging` (patch-properties,
  one `replace` per changed Logging field, relative to what get-properties returned);
- plugins/010_auth_server/view_property.py: `save` (patch-properties `replace` of the
  property, then get-properties again).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.janssen import CONFIG_API_DOC, janssen_doc
from tests.support.server import ADMIN_ID, ADMIN_SECRET, Client, Server
from tests.support.stores import STORES, server_on

CONFIG = "/jans-config-api"
# The featureFlags dialog offers the enum of Janssen's AppConfiguration schema.
LOGGING_SAVE = {  # what the Logging tab's widgets hold when the operator presses Save
    "loggingLevel": "DEBUG",
    "loggingLayout": "text",
    "httpLoggingEnabled": True,
    "disableJdkLogger": True,
    "enabledOAuthAuditLogging": False,
}


class JanssenTui:
    """The HTTP side of Janssen's TUI in test-client mode (`-use-test-client`)."""

    def __init__(self, server: Server) -> None:
        self.doc = janssen_doc(CONFIG_API_DOC)
        self.http = server.http()
        self.client = Client(ADMIN_ID, ADMIN_SECRET)
        self.ops: dict[str, tuple[str, str, dict[str, Any]]] = {
            op["operationId"]: (method, path, op)
            for path, item in self.doc["paths"].items()
            for method, op in item.items()
            if isinstance(op, dict) and "operationId" in op
        }

    def _token(self, op: dict[str, Any]) -> str:
        scope = " ".join(s for sec in op.get("security", []) for v in sec.values() for s in v)
        response = self.http.post(
            "/jans-auth/restv1/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=self.client.basic,
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def call(
        self, operation_id: str, endpoint_args: dict[str, Any] | None = None, data: Any = None
    ) -> httpx.Response:
        method, path, op = self.ops[operation_id]
        headers = {"Accept": "application/json"}
        if op.get("security"):
            headers["Authorization"] = f"Bearer {self._token(op)}"
        if method == "patch":
            data = [{**item, "path": "/" + item["path"].lstrip("/")} for item in data]
            headers["Content-Type"] = "application/json-patch+json"
            return self.http.patch(CONFIG + path, json=data, headers=headers)
        if method in ("post", "put"):
            return self.http.request(method.upper(), CONFIG + path, json=data, headers=headers)
        return self.http.get(CONFIG + path, params=endpoint_args, headers=headers)

    def flag_names(self) -> list[str]:
        schema = self.doc["components"]["schemas"]["AppConfiguration"]["properties"]
        names: list[str] = schema["featureFlags"]["items"]["enum"]
        return names


@pytest.fixture(params=STORES)
def fresh_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server of its own, on SQLite or on a throwaway PostgreSQL database."""
    with server_on(request.param, tmp_path / "data") as server:
        yield server


@pytest.fixture
def tui(fresh_server: Server) -> JanssenTui:
    return JanssenTui(fresh_server)


def _start_up(server: Server, tui: JanssenTui) -> dict[str, Any]:
    """Everything up to the Auth Server screen; returns get-properties' answer."""
    health = tui.call("get-config-health")
    assert health.status_code == 200, health.text
    assert isinstance(health.json(), list) and health.json()
    assert all(item["status"] == "UP" for item in health.json())

    # check_connection: the credentials work, the (access-token mode) token is good,
    # discovery is read.
    token = server.http().post(
        "/jans-auth/restv1/token", data={"grant_type": "client_credentials"}, auth=tui.client.basic
    )
    assert token.status_code == 200, token.text
    acrs = tui.call("get-acrs")
    assert acrs.status_code == 200, acrs.text
    assert isinstance(server.discovery(), dict)

    attributes = tui.call("get-attributes", {"limit": 100, "startIndex": 1})
    assert attributes.status_code == 200, attributes.text
    assert not attributes.json().get("entriesCount")  # the loop stops here

    persistence = tui.call("get-properties-persistence")
    assert persistence.status_code in (200, 201), persistence.text
    assert persistence.json()["productName"] in ("SQLite", "PostgreSQL")

    plugins = tui.call("get-plugins")
    assert plugins.is_success, plugins.text
    assert all("name" in p for p in plugins.json())

    properties = tui.call("get-properties")
    assert properties.status_code in (200, 201), properties.text
    app_configuration: dict[str, Any] = properties.json()
    assert app_configuration  # else the Properties tab says "No matching result"
    scopes = tui.call("get-oauth-scopes", {"limit": 200, "startIndex": 0})
    assert isinstance(scopes.json()["entries"], list)

    keys = tui.call("get-config-jwks").json()["keys"]
    assert keys
    for key in keys:
        assert key["name"] and key["kid"] and isinstance(key["exp"], int)
        assert key["exp"] > 1_000_000_000_000  # milliseconds
    return app_configuration


def _revocation_works(server: Server) -> bool:
    client = server.create_client()
    token = server.fetch_token(client)["access_token"]
    status = server.send_revoke(client, token=token).status_code
    assert status in (200, 403), status
    listed = "revocation_endpoint" in server.discovery()
    assert listed == (status == 200)
    return status == 200


def test_tui_disables_and_reenables_the_revocation_endpoint(
    fresh_server: Server, tui: JanssenTui
) -> None:
    app_configuration = _start_up(fresh_server, tui)
    assert app_configuration["featureFlags"] == []
    assert _revocation_works(fresh_server)

    # Properties -> featureFlags: every box ticked but REVOKE_TOKEN, Save.
    without = [f for f in tui.flag_names() if f != "REVOKE_TOKEN"]
    saved = tui.call(
        "patch-properties", data=[{"op": "replace", "path": "featureFlags", "value": without}]
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["featureFlags"] == without
    assert tui.call("get-properties").json()["featureFlags"] == without
    assert not _revocation_works(fresh_server)

    # And back: every box ticked.
    everything = tui.flag_names()
    saved = tui.call(
        "patch-properties", data=[{"op": "replace", "path": "featureFlags", "value": everything}]
    )
    assert saved.status_code == 200, saved.text
    assert _revocation_works(fresh_server)


def test_tui_logging_tab_saves(fresh_server: Server, tui: JanssenTui) -> None:
    app_configuration = _start_up(fresh_server, tui)
    patches = [
        {"op": "replace", "path": key, "value": value}
        for key, value in LOGGING_SAVE.items()
        if app_configuration.get(key) != value
    ]
    # Fields the fresh server never had (loggingLayout, the three switches) are among them.
    assert {p["path"] for p in patches} >= {"httpLoggingEnabled", "disableJdkLogger"}
    saved = tui.call("patch-properties", data=patches)
    assert saved.status_code == 200, saved.text
    after = tui.call("get-properties").json()
    assert {k: after[k] for k in LOGGING_SAVE} == LOGGING_SAVE
    # Janssen's Logging resource shows the same settings.
    logging = tui.call("get-config-logging")
    assert logging.status_code == 200, logging.text
    assert logging.json() == LOGGING_SAVE
