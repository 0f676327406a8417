"""Helpers shared by the config API suites (no tests here).

Test clients are created through the config API itself (POST /openid/clients with the
admin token), not through the CLI, so these suites depend only on the wire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.server import ADMIN_ID, ADMIN_SECRET, Client, Server

PREFIX = "/jans-config-api"
API = f"{PREFIX}/api/v1"
CFG = "https://jans.io/oauth/config/"
AS_CFG = "https://jans.io/oauth/jans-auth-server/config/"
JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
ADMIN = Client(ADMIN_ID, ADMIN_SECRET)


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token is not None else {}


def fill(path: str, value: str = "no-such-thing") -> str:
    """A path template of the operation table (below /jans-config-api), relative to
    /jans-config-api/api/v1, with every `{param}` replaced."""
    return re.sub(r"\{[^}]+\}", value, path.removeprefix("/api/v1"))


def assert_api_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """Janssen's ApiError JSON: {"code", "message", "description"}, code = the status."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(JSON), response.headers
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "description"}, body
    assert body["code"] == str(status)
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["description"], str) and body["description"]
    assert response.headers.get("cache-control") == "no-store"
    return body


@dataclass
class ConfigApi:
    """The config API of one server, called with one bearer token (by default)."""

    server: Server
    token: str

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None | bool = True,
        json: Any = None,
        patch: Any = None,
        content: bytes | str | None = None,
        content_type: str | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """`path` below /jans-config-api/api/v1. `token=True`: this API's token; a string:
        that token; None/False: no Authorization header. `patch`: a JSON Patch body."""
        sent = dict(headers or {})
        if token is True:
            sent.update(bearer(self.token))
        elif isinstance(token, str):
            sent.update(bearer(token))
        body: bytes | str | None = content
        if patch is not None:
            body, content_type = httpx_json(patch), content_type or JSON_PATCH
        elif json is not None:
            body, content_type = httpx_json(json), content_type or JSON
        if content_type is not None:
            sent["Content-Type"] = content_type
        return self.server.session.request(
            method, API + path, content=body, params=params, headers=sent
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", path, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """Call and require `status`; the decoded JSON body (None for 204)."""
        response = self.call(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        if status == 204:
            assert response.content == b""
            return None
        assert response.headers["content-type"].startswith(JSON)
        return response.json()

    def create_client(self, **fields: Any) -> Client:
        """POST /openid/clients; the returned Client carries the once-shown secret."""
        body = {"clientName": "configapi-test", **fields}
        data = self.ok("POST", "/openid/clients", 201, json=body)
        assert isinstance(data.get("clientSecret"), str), data
        return Client(data["inum"], data["clientSecret"], data)

    def scope_dn(self, scope_id: str) -> str:
        """The DN of the stored scope with this id (clients list scopes by DN)."""
        entries = self.ok("GET", "/scopes", params={"pattern": scope_id, "limit": 200})["entries"]
        found = [s["dn"] for s in entries if s["id"] == scope_id]
        assert len(found) == 1, (scope_id, entries)
        return str(found[0])

    def client_with_scopes(self, *scopes: str, **fields: Any) -> Client:
        return self.create_client(scopes=list(scopes), **fields)

    def token_for(self, *scopes: str, lifetime: int | None = None) -> str:
        """An access token carrying exactly `scopes`, from a new client holding only them."""
        extra = {"accessTokenLifetime": lifetime} if lifetime else {}
        client = self.client_with_scopes(*scopes, **extra)
        form = {"scope": " ".join(scopes)} if scopes else {}
        token: str = self.server.fetch_token(client, **form)["access_token"]
        return token


def httpx_json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


def admin_api(server: Server) -> ConfigApi:
    """The config API with a fresh admin token (every config API scope)."""
    return ConfigApi(server, server.fetch_token(ADMIN)["access_token"])
