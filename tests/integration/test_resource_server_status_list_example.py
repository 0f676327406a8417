"""examples/resource_server_status_list.py: a resource server that checks JWT access tokens
offline (JWKS and the Token Status List, never introspection) keeps each list for its `ttl`
and refuses a revoked token within `ttl` (plus the server's rebuild interval) of the 200."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.server import Server, free_port
from tokenrevoke.oauth.status_lists import REBUILD_SECONDS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "resource_server_status_list.py"
TTL = 2


def test_the_example_refuses_a_revoked_token_within_ttl(tmp_path: Path) -> None:
    port = free_port()
    server = Server(tmp_path / "data").configure({"statusListTtlSeconds": TTL}).start()
    example = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--issuer", server.url, "--port", str(port)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert example.stdout is not None and "resource server" in example.stdout.readline()
        client = server.create_client("--access-token-as-jwt")
        revoked, kept = (server.fetch_token(client)["access_token"] for _ in range(2))
        opaque = server.fetch_token(server.create_client())["access_token"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as rs:

            def get(token: str) -> httpx.Response:
                return rs.get("/resource", headers={"Authorization": f"Bearer {token}"})

            first, second = get(revoked), get(kept)
            assert (first.status_code, first.headers["x-status-list"]) == (200, "miss")
            assert (second.status_code, second.headers["x-status-list"]) == (200, "hit")
            assert get(opaque).status_code == 401  # not a JWT: nothing to check offline
            assert server.send_revoke(client, token=revoked).status_code == 200
            answered = time.monotonic()
            while (answer := get(revoked)).status_code == 200:
                assert answer.headers["x-status-list"] == "hit"  # served from its cache
                assert time.monotonic() - answered < TTL + REBUILD_SECONDS + 1, "still accepted"
                time.sleep(0.05)
            assert answer.status_code == 401
            assert answer.json()["error_description"] == "the token was revoked"
            assert get(kept).status_code == 200
    finally:
        example.terminate()
        example.wait(timeout=10)
        server.close_session()
        server.stop()
