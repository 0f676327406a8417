"""Several server processes sharing one PostgreSQL: no stale revocation, configuration
reaching every node within a second, and outages answered with 503, never a false 200."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.scaleout.postgres_cluster import PrivatePostgres
from tests.support.server import ADMIN_ID, ADMIN_SECRET, AUTH, Server

CONFIG = "/jans-config-api/api/v1"
INTERLEAVINGS = 10_000


def node(data_dir: Path, database_url: str, master_key: str) -> Server:
    return Server(
        data_dir,
        extra_args=["--database-url", database_url],
        env={"TOKENREVOKE_MASTER_KEY": master_key},
    )


def admin_token(server: Server) -> str:
    response = httpx.post(
        f"{server.url}{AUTH}/token",
        data={"grant_type": "client_credentials"},
        auth=(ADMIN_ID, ADMIN_SECRET),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def create_client(server: Server, name: str) -> tuple[str, str]:
    response = httpx.post(
        f"{server.url}{CONFIG}/openid/clients",
        json={"clientName": name, "grantTypes": ["client_credentials"], "scopes": []},
        headers={"Authorization": f"Bearer {admin_token(server)}"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["inum"], body["clientSecret"]


def patch_config(server: Server, patch: list[dict[str, Any]]) -> None:
    response = httpx.patch(
        f"{server.url}{CONFIG}/jans-auth-server/config",
        json=patch,
        headers={
            "Authorization": f"Bearer {admin_token(server)}",
            "Content-Type": "application/json-patch+json",
        },
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def two_nodes(
    tmp_path_factory: pytest.TempPathFactory, shared_database: str, master_key: str
) -> Iterator[tuple[Server, Server]]:
    a = node(tmp_path_factory.mktemp("node-a"), shared_database, master_key).start()
    b = node(tmp_path_factory.mktemp("node-b"), shared_database, master_key).start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def test_no_token_is_active_on_b_after_a_200_from_revoke_on_a(
    two_nodes: tuple[Server, Server],
) -> None:
    run_interleavings(*two_nodes, seed=7)


def run_interleavings(
    a: Server, b: Server, *, seed: int, count: int = INTERLEAVINGS, seconds: float | None = None
) -> int:
    """`count` randomized sequences from 16 threads: issue on A or B, maybe check it live
    on B, revoke on A, then B must say inactive. Zero violations allowed. With `seconds`,
    no sequence starts after that long; returns how many ran."""
    credentials = create_client(a, f"interleavings-{seed}")
    rng = random.Random(seed)
    plans = [(rng.choice((a, b)), rng.random() < 0.5) for _ in range(count)]
    clients: dict[tuple[int, int], httpx.Client] = {}

    def http(server: Server, worker: int) -> httpx.Client:
        key = (server.port, worker)
        if key not in clients:
            clients[key] = httpx.Client(base_url=server.url, timeout=30)
        return clients[key]

    def sequence(index: int) -> str | None:
        if deadline is not None and time.monotonic() > deadline:
            return "not run"
        issuer, check_before = plans[index]
        worker = index % 16
        issued = http(issuer, worker).post(
            f"{AUTH}/token", data={"grant_type": "client_credentials"}, auth=credentials
        )
        assert issued.status_code == 200, issued.text
        token = issued.json()["access_token"]
        if check_before:  # the token is live on the other node before it is revoked
            seen = http(b, worker).post(
                f"{AUTH}/introspection", data={"token": token}, auth=credentials
            )
            if seen.json().get("active") is not True:
                return f"fresh token not active on B: {seen.text}"
        revoked = http(a, worker).post(f"{AUTH}/revoke", data={"token": token}, auth=credentials)
        if revoked.status_code != 200:
            return f"revoke answered {revoked.status_code}"
        after = http(b, worker).post(
            f"{AUTH}/introspection", data={"token": token}, auth=credentials
        )
        if after.status_code != 200 or after.json() != {"active": False}:
            return f"after a 200 from revoke on A, B said {after.status_code} {after.text}"
        return None

    started = time.monotonic()
    deadline = None if seconds is None else started + seconds
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(sequence, range(count)))
    elapsed = time.monotonic() - started
    for client in clients.values():
        client.close()
    ran = count - outcomes.count("not run")
    problems = [p for p in outcomes if p and p != "not run"]
    assert problems == [], f"{len(problems)} violations, first: {problems[:3]}"
    print(f"{ran} interleavings in {elapsed:.1f}s")
    return ran


def test_a_feature_flag_flipped_on_a_is_in_force_on_b_within_a_second(
    two_nodes: tuple[Server, Server],
) -> None:
    a, b = two_nodes
    credentials = create_client(a, "flags")

    def revoke_status() -> int:
        return httpx.post(
            f"{b.url}{AUTH}/revoke", data={"token": "x"}, auth=credentials
        ).status_code

    def time_until(expected: int) -> float:
        started = time.monotonic()
        while time.monotonic() - started < 5:
            if revoke_status() == expected:
                return time.monotonic() - started
            time.sleep(0.02)
        raise AssertionError(f"node B never answered {expected}")

    assert revoke_status() == 200
    patch_config(a, [{"op": "replace", "path": "/featureFlags", "value": ["INTROSPECTION"]}])
    off = time_until(403)
    patch_config(a, [{"op": "replace", "path": "/featureFlags", "value": []}])
    on = time_until(200)
    assert off < 1.0 and on < 1.0, (off, on)


def test_store_outage_gives_503_never_a_false_answer_and_recovers(
    private_postgres: PrivatePostgres, tmp_path: Path, master_key: str
) -> None:
    server = node(tmp_path / "node", private_postgres.url, master_key).start()
    try:
        credentials = create_client(server, "outage")
        with httpx.Client(base_url=server.url, timeout=30) as http:
            tokens = [
                http.post(
                    f"{AUTH}/token", data={"grant_type": "client_credentials"}, auth=credentials
                ).json()["access_token"]
                for _ in range(5)
            ]
            private_postgres.stop("immediate")
            for token in tokens[:3]:
                revoke = http.post(f"{AUTH}/revoke", data={"token": token}, auth=credentials)
                assert revoke.status_code == 503, revoke.text
                assert revoke.json()["error"] == "temporarily_unavailable"
                seen = http.post(
                    f"{AUTH}/introspection", data={"token": tokens[4]}, auth=credentials
                )
                assert seen.status_code == 503, (
                    "introspection must not answer for a token it cannot check"
                )
            assert http.get("/health/ready").status_code == 503
            assert http.get("/health/live").status_code == 200

            private_postgres.start()
            private_postgres.wait_ready()
            deadline = time.monotonic() + 15
            status = 0
            while time.monotonic() < deadline:
                status = http.post(
                    f"{AUTH}/revoke", data={"token": tokens[0]}, auth=credentials
                ).status_code
                if status == 200:
                    break
                time.sleep(0.2)
            assert status == 200, "revocation did not recover after PostgreSQL came back"
            for token in tokens[:3]:
                assert (
                    http.post(f"{AUTH}/revoke", data={"token": token}, auth=credentials).status_code
                    == 200
                )
            states = [
                http.post(f"{AUTH}/introspection", data={"token": t}, auth=credentials).json()[
                    "active"
                ]
                for t in tokens
            ]
            assert states == [False, False, False, True, True]
            assert http.get("/health/ready").status_code == 200
    finally:
        server.stop()
