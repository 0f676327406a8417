"""Refresh-token rotation across two server processes sharing one PostgreSQL: 50 concurrent
refreshes of one refresh token, split between the nodes, never leave two live refresh
tokens in a family, whatever the reuse-detection settings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.test_configapi_support import ConfigApi, admin_api
from tests.scaleout.test_nodes import node
from tests.support.server import AUTH, Client, Server

PASSWORD = "correct horse battery staple"
USERNAME = "nora"


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, shared_database: str, master_key: str
) -> Iterator[tuple[Server, Server]]:
    a = node(tmp_path_factory.mktemp("reuse-a"), shared_database, master_key).start()
    b = node(tmp_path_factory.mktemp("reuse-b"), shared_database, master_key).start()
    try:
        a.cli("user", "create", "--username", USERNAME, "--password", PASSWORD,
              "--database-url", shared_database)  # fmt: skip
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture(scope="module")
def api(nodes: tuple[Server, Server]) -> ConfigApi:
    return admin_api(nodes[0])


def storm(nodes: tuple[Server, Server], client: Client, refresh_token: str) -> list[Any]:
    """50 concurrent refreshes of one token, alternating between the nodes. Returns
    (status, body) pairs."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}

    async def run() -> list[Any]:
        limits = httpx.Limits(max_connections=50)
        async with (
            httpx.AsyncClient(base_url=nodes[0].url, timeout=30, limits=limits) as a,
            httpx.AsyncClient(base_url=nodes[1].url, timeout=30, limits=limits) as b,
        ):
            sent = [(a, b)[i % 2].post(f"{AUTH}/token", data=form, auth=client.basic)
                    for i in range(50)]  # fmt: skip
            return [(r.status_code, r.json()) for r in await asyncio.gather(*sent)]

    return asyncio.run(run())


def prepared(nodes: tuple[Server, Server], api: ConfigApi, **attributes: Any) -> tuple[Client, str]:
    client = api.create_client(
        grantTypes=["password", "refresh_token"], scopes=["openid"], attributes=attributes
    )
    # Node B learns of the new client within its cache poll (0.5 s).
    nodes[1].wait_until(lambda: _knows(nodes[1], client))
    return client, nodes[0].password_token(client, USERNAME, PASSWORD)["refresh_token"]


def _knows(server: Server, client: Client) -> bool:
    answer = server.session.post(
        f"{AUTH}/token", data={"grant_type": "refresh_token", "refresh_token": "unknown"},
        auth=client.basic,
    )  # fmt: skip
    return answer.status_code == 400  # 401 while the client is unknown there


def live_refresh_tokens(server: Server, results: list[Any]) -> list[str]:
    return [
        body["refresh_token"]
        for status, body in results
        if status == 200 and server.is_active(body["refresh_token"])
    ]


def test_one_winner_and_the_family_revoked(nodes: tuple[Server, Server], api: ConfigApi) -> None:
    client, refresh_token = prepared(nodes, api)
    results = storm(nodes, client, refresh_token)
    assert [s for s, _ in results].count(200) == 1, results
    assert all(body["error"] == "invalid_grant" for s, body in results if s != 200)
    assert live_refresh_tokens(nodes[0], results) == []  # the duplicates were a replay


def test_one_live_winner_without_detection(nodes: tuple[Server, Server], api: ConfigApi) -> None:
    client, refresh_token = prepared(nodes, api, refreshTokenReuseDetection=False)
    results = storm(nodes, client, refresh_token)
    assert [s for s, _ in results].count(200) == 1, results
    assert len(live_refresh_tokens(nodes[0], results)) == 1


def test_inside_a_grace_window_one_live_refresh_token(
    nodes: tuple[Server, Server], api: ConfigApi
) -> None:
    client, refresh_token = prepared(nodes, api, refreshTokenReuseGraceSeconds=60)
    results = storm(nodes, client, refresh_token)
    # Serialised on the presented token's row across both nodes: each retry retires the
    # successor before it.
    assert [s for s, _ in results] == [200] * 50, results
    assert len(live_refresh_tokens(nodes[0], results)) == 1
