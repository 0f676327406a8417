"""examples/resource_server_cache.py: a resource server with an hour-long introspection
cache drops a revoked token as soon as the pushed event arrives."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.server import ADMIN_ID, ADMIN_SECRET, Server, free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "resource_server_cache.py"
RECEIVER_AUTH = "Bearer example-receiver-secret"


def test_the_example_resource_server_forgets_a_revoked_token_at_once(tmp_path: Path) -> None:
    port = free_port()
    server = Server(tmp_path / "data")
    server.configure({"revocationEventReceivers": [{
        "url": f"http://127.0.0.1:{port}/events", "audience": "example-rs",
        "authorization": RECEIVER_AUTH,
    }]})  # fmt: skip
    server.start()
    example = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--issuer", server.url, "--client-id", ADMIN_ID,
         "--client-secret", ADMIN_SECRET, "--port", str(port), "--audience", "example-rs",
         "--receiver-authorization", RECEIVER_AUTH, "--cache-ttl", "3600"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert example.stdout is not None and "resource server" in example.stdout.readline()
        client = server.create_client()
        token = server.fetch_token(client)["access_token"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as rs:
            bearer = {"Authorization": f"Bearer {token}"}
            first, second = rs.get("/resource", headers=bearer), rs.get("/resource", headers=bearer)
            assert (first.status_code, first.headers["x-cache"]) == (200, "miss")
            assert (second.status_code, second.headers["x-cache"]) == (200, "hit")  # cached

            assert server.send_revoke(client, token=token).status_code == 200
            deadline = time.monotonic() + 10
            while (answer := rs.get("/resource", headers=bearer)).status_code == 200:
                assert answer.headers["x-cache"] == "hit"  # only the event can evict it
                assert time.monotonic() < deadline, "the cached token was never dropped"
                time.sleep(0.05)
            assert (answer.status_code, answer.headers["x-cache"]) == (401, "miss")
    finally:
        example.terminate()
        example.wait(timeout=10)
        server.stop()
