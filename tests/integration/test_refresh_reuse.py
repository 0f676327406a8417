"""Refresh-token reuse detection (RFC 9700 section 4.14.2) through a real `tokenrevoke
serve`, on SQLite and on PostgreSQL: a replayed refresh token revokes its family, the grace
window, per-client overrides set through the config API, and 50 concurrent refreshes.

Clients are made through the config API (their reuse attributes are part of Janssen's
client JSON there); the user through the `tokenrevoke user create` command.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.test_configapi_support import ConfigApi, admin_api
from tests.support.postgres import throwaway_database
from tests.support.server import AUTH, Client, Server
from tests.support.wire import sha256_hex

PASSWORD = "correct horse battery staple"
USERNAME = "rita"
TOKEN = f"{AUTH}/token"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp(f"reuse-{request.param}") / "data"
    if request.param == "sqlite":
        srv = Server(data_dir).start()
        try:
            srv.cli("user", "create", "--username", USERNAME, "--password", PASSWORD)
            yield srv
        finally:
            srv.stop()
        return
    with throwaway_database("tokenrevoke_reuse") as url:
        store_args = ["--database-url", url]
        srv = Server(data_dir, extra_args=store_args).start()
        try:
            srv.cli("user", "create", "--username", USERNAME, "--password", PASSWORD, *store_args)
            yield srv
        finally:
            srv.stop()


@pytest.fixture(scope="module")
def api(server: Server) -> ConfigApi:
    return admin_api(server)


def refresh_client(api: ConfigApi, **attributes: Any) -> Client:
    """A password + refresh_token client; `attributes` are its client JSON attributes
    (refreshTokenReuseDetection, refreshTokenReuseGraceSeconds)."""
    return api.create_client(
        grantTypes=["password", "refresh_token"], scopes=["openid"], attributes=attributes
    )


def login(server: Server, client: Client) -> dict[str, Any]:
    return server.password_token(client, USERNAME, PASSWORD)


def refresh(server: Server, client: Client, refresh_token: str) -> httpx.Response:
    return server.session.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=client.basic,
    )  # fmt: skip


def refused(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "refresh token is invalid, expired or revoked",
    }
    assert response.headers.get("cache-control") == "no-store"


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def token_entity(api: ConfigApi, raw: str) -> dict[str, Any]:
    entity: dict[str, Any] = api.ok("GET", f"/token/tknCde/{sha256_hex(raw)}")
    return entity


def test_replaying_a_rotated_refresh_token_kills_the_family(server: Server, api: ConfigApi) -> None:
    client = refresh_client(api)
    first = login(server, client)
    second = ok(refresh(server, client, first["refresh_token"]))
    current = ok(refresh(server, client, second["refresh_token"]))
    bystander = login(server, client)  # another grant of the same client and user
    assert server.is_active(current["access_token"]) and server.is_active(current["refresh_token"])

    refused(refresh(server, client, first["refresh_token"]))

    for token in (current["access_token"], current["refresh_token"], current["id_token"]):
        assert server.is_active(token) is False
    refused(refresh(server, client, current["refresh_token"]))
    assert server.is_active(bystander["refresh_token"]) is True
    # The tombstones say who and why; the rotated ones keep saying "rotated".
    killed = token_entity(api, current["refresh_token"])
    assert (killed["revokedBy"], killed["revocationReason"]) == (
        "refresh_token_reuse_detection", "refresh_token_reuse",
    )  # fmt: skip
    assert token_entity(api, first["refresh_token"])["revocationReason"] == "rotated"


def test_an_ordinarily_revoked_refresh_token_is_only_refused(
    server: Server, api: ConfigApi
) -> None:
    client = refresh_client(api)
    grant = login(server, client)
    assert server.send_revoke(client, token=grant["access_token"]).status_code == 200
    refused(refresh(server, client, grant["refresh_token"]))
    entity = token_entity(api, grant["refresh_token"])
    assert entity["revocationReason"] == "revoke_endpoint"  # not overwritten by detection


def test_inside_the_grace_window_the_previous_token_is_exchanged_again(
    server: Server, api: ConfigApi
) -> None:
    client = refresh_client(api, refreshTokenReuseGraceSeconds=60)
    first = login(server, client)
    lost = ok(refresh(server, client, first["refresh_token"]))  # the answer never arrived
    retry = ok(refresh(server, client, first["refresh_token"]))
    assert server.is_active(retry["refresh_token"]) and server.is_active(retry["access_token"])
    assert server.is_active(lost["refresh_token"]) is False  # one live refresh token
    assert token_entity(api, lost["refresh_token"])["revocationReason"] == "superseded"
    onward = ok(refresh(server, client, retry["refresh_token"]))
    # Now `first` is two rotations back: reuse, even inside the window.
    refused(refresh(server, client, first["refresh_token"]))
    assert server.is_active(onward["refresh_token"]) is False
    assert server.is_active(onward["access_token"]) is False


def test_after_the_grace_window_the_previous_token_is_reuse(server: Server, api: ConfigApi) -> None:
    client = refresh_client(api, refreshTokenReuseGraceSeconds=1)
    first = login(server, client)
    second = ok(refresh(server, client, first["refresh_token"]))
    time.sleep(1.05)  # whole seconds: now at least one second after the rotation
    refused(refresh(server, client, first["refresh_token"]))
    assert server.is_active(second["refresh_token"]) is False


def test_a_client_can_opt_out_and_the_config_api_shows_and_changes_it(
    server: Server, api: ConfigApi
) -> None:
    client = refresh_client(api, refreshTokenReuseDetection=False)
    shown = api.ok("GET", f"/openid/clients/{client.client_id}")["attributes"]
    assert shown["refreshTokenReuseDetection"] is False
    assert shown["refreshTokenReuseGraceSeconds"] is None  # follows the property
    first = login(server, client)
    second = ok(refresh(server, client, first["refresh_token"]))
    refused(refresh(server, client, first["refresh_token"]))
    assert server.is_active(second["refresh_token"]) is True

    # Back to the server's default (null), by JSON Patch: now a replay kills the family.
    patch = [{"op": "replace", "path": "/attributes/refreshTokenReuseDetection", "value": None}]
    patched = api.ok("PATCH", f"/openid/clients/{client.client_id}", patch=patch)
    assert patched["attributes"]["refreshTokenReuseDetection"] is None
    third = ok(refresh(server, client, second["refresh_token"]))
    server.wait_until(lambda: _replay_kills(server, client, second["refresh_token"], third))


def _replay_kills(server: Server, client: Client, spent: str, live: dict[str, Any]) -> bool:
    refused(refresh(server, client, spent))
    return not server.is_active(live["refresh_token"])


@pytest.mark.parametrize(
    "value", [-1, "5", True, 2**31], ids=["negative", "string", "bool", "too-big"]
)
def test_a_bad_client_grace_is_a_400(server: Server, api: ConfigApi, value: Any) -> None:
    response = api.call(
        "POST", "/openid/clients",
        json={"clientName": "bad", "attributes": {"refreshTokenReuseGraceSeconds": value}},
    )  # fmt: skip
    assert response.status_code == 400, response.text
    assert set(response.json()) >= {"code", "message", "description"}
    assert "refreshTokenReuseGraceSeconds" in response.text


def concurrent_refreshes(
    server: Server, client: Client, refresh_token: str, n: int = 50
) -> list[httpx.Response]:
    async def storm() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=n)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:
            form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
            return list(
                await asyncio.gather(
                    *(http.post(TOKEN, data=form, auth=client.basic) for _ in range(n))
                )
            )

    return asyncio.run(storm())


def test_fifty_concurrent_refreshes_one_winner(server: Server, api: ConfigApi) -> None:
    client = refresh_client(api)
    first = login(server, client)
    responses = concurrent_refreshes(server, client, first["refresh_token"])
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, [r.text for r in responses]
    for loser in responses:
        if loser.status_code != 200:
            refused(loser)
    # Fifty presentations of one token with no grace window: a replay, the family is gone.
    assert server.is_active(winners[0].json()["refresh_token"]) is False


def test_fifty_concurrent_refreshes_without_detection_one_live_winner(
    server: Server, api: ConfigApi
) -> None:
    client = refresh_client(api, refreshTokenReuseDetection=False)
    first = login(server, client)
    responses = concurrent_refreshes(server, client, first["refresh_token"])
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1, [r.text for r in responses]
    assert all(r.status_code == 400 for r in responses if r is not winners[0])
    assert server.is_active(winners[0].json()["refresh_token"]) is True


def test_fifty_concurrent_refreshes_inside_the_window_one_live_refresh_token(
    server: Server, api: ConfigApi
) -> None:
    client = refresh_client(api, refreshTokenReuseGraceSeconds=60)
    first = login(server, client)
    responses = concurrent_refreshes(server, client, first["refresh_token"])
    # Every retry of the previous token inside the window retires the one before it.
    assert [r.status_code for r in responses] == [200] * 50, [r.text for r in responses]
    live = [r for r in responses if server.is_active(r.json()["refresh_token"])]
    assert len(live) == 1


def test_the_cli_sets_the_client_overrides(server: Server) -> None:
    created = server.create_client(
        "--no-refresh-token-reuse-detection", "--refresh-token-reuse-grace-seconds", "5",
        grant_types=["password", "refresh_token"],
    )  # fmt: skip
    attributes = created.data["attributes"]
    assert attributes["refreshTokenReuseDetection"] is False
    assert attributes["refreshTokenReuseGraceSeconds"] == 5


def test_the_server_wide_property_turns_detection_off(server: Server, api: ConfigApi) -> None:
    client = refresh_client(api)
    bad = server.cli("config", "set", "refreshTokenReuseGraceSeconds", "-1", check=False)
    assert bad.returncode != 0 and "non-negative" in bad.stdout + bad.stderr
    server.set_config("refreshTokenReuseDetection", False)
    try:
        first = login(server, client)
        second = ok(refresh(server, client, first["refresh_token"]))
        refused(refresh(server, client, first["refresh_token"]))
        assert server.is_active(second["refresh_token"]) is True
    finally:
        server.set_config("refreshTokenReuseDetection", True)
