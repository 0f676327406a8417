"""Optional Redis: change notices make configuration changes instant on other nodes;
with Redis gone the nodes fall back to polling (still within a second), and they pick
the bus up again when Redis returns."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.scaleout.test_nodes import create_client, node, patch_config
from tests.support.server import AUTH, Server, free_port


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ping = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
            )
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("private Redis did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def flag_latency(
    a: Server, b: Server, credentials: tuple[str, str], flags: list[str], expected: int
) -> float:
    patch_config(a, [{"op": "replace", "path": "/featureFlags", "value": flags}])
    started = time.monotonic()
    while time.monotonic() - started < 5:
        status = httpx.post(
            f"{b.url}{AUTH}/revoke", data={"token": "x"}, auth=credentials
        ).status_code
        if status == expected:
            return time.monotonic() - started
        time.sleep(0.005)
    raise AssertionError(f"node B never answered {expected}")


def test_changes_travel_over_redis_and_survive_its_outage(
    redis_server: PrivateRedis,
    shared_database: str,
    master_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    extra = ["--redis-url", redis_server.url]
    a = node(tmp_path_factory.mktemp("redis-a"), shared_database, master_key)
    b = node(tmp_path_factory.mktemp("redis-b"), shared_database, master_key)
    a.extra_args += extra
    b.extra_args += extra
    a.start()
    b.start()
    try:
        credentials = create_client(a, "bus")
        with_bus = [
            flag_latency(a, b, credentials, f, s) for f, s in ((["INTROSPECTION"], 403), ([], 200))
        ] * 1
        assert max(with_bus) < 0.25, f"with Redis, B should follow at once: {with_bus}"

        redis_server.stop()
        without = [
            flag_latency(a, b, credentials, f, s) for f, s in ((["INTROSPECTION"], 403), ([], 200))
        ]
        assert max(without) < 1.0, (
            f"without Redis, polling must still deliver within 1 s: {without}"
        )
        assert httpx.get(f"{b.url}/health/ready").status_code == 200

        redis_server.start()
        time.sleep(6)  # the listener reconnects with backoff (at most 5 s)
        again = [
            flag_latency(a, b, credentials, f, s) for f, s in ((["INTROSPECTION"], 403), ([], 200))
        ]
        assert max(again) < 0.25, f"after Redis returned, notices should be instant again: {again}"
    finally:
        a.stop()
        b.stop()


def test_no_stale_revocation_with_redis_either(
    redis_server: PrivateRedis,
    shared_database: str,
    master_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The same 10,000 interleavings as without Redis: the bus must not change the rule."""
    from tests.scaleout.test_nodes import run_interleavings

    nodes = [
        node(tmp_path_factory.mktemp(f"redis-il-{n}"), shared_database, master_key) for n in "ab"
    ]
    for server in nodes:
        server.extra_args += ["--redis-url", redis_server.url]
        server.start()
    try:
        run_interleavings(nodes[0], nodes[1], seed=11)
    finally:
        for server in nodes:
            server.stop()
