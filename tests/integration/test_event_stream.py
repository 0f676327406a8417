"""The SSE stream of revocation events and their Redis echo, through a real server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.support.server import AUTH, Client, Server
from tokenrevoke.crypto import sha256_hex

STREAM = f"{AUTH}/revocation-events"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("sse") / "data")
    srv.configure({"revocationEventHeartbeatSeconds": 1})
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def subscriber(server: Server) -> Client:
    return server.create_client(scopes=["revocation_events"])


class Subscription:
    """A subscriber reading the stream on a thread; frames as (field -> value) dicts."""

    def __init__(self, server: Server, token: str, last_event_id: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.frames: list[dict[str, str]] = []
        self.ended = threading.Event()
        self._http = httpx.Client(base_url=server.url, timeout=httpx.Timeout(10, read=30))
        self._response = self._http.send(self._http.build_request("GET", STREAM, headers=headers),
                                         stream=True)  # fmt: skip
        assert self._response.status_code == 200, self._response.read()
        assert self._response.headers["content-type"].startswith("text/event-stream")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        frame: dict[str, str] = {}
        try:
            for line in self._response.iter_lines():
                if not line:
                    if frame:
                        self.frames.append(frame)
                    frame = {}
                    continue
                name, _, value = line.partition(":")
                frame[name or "comment"] = value.strip()
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()

    def events(self) -> list[dict[str, Any]]:
        return [
            {**json.loads(f["data"]), "sseId": int(f["id"])}
            for f in list(self.frames)
            if f.get("event") == "tokens-revoked"
        ]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"stream condition not met; frames: {self.frames}")
            time.sleep(0.05)

    def close(self) -> None:
        self._response.close()
        self._http.close()


def stream_token(server: Server, subscriber: Client) -> str:
    return str(server.fetch_token(subscriber, scope="revocation_events")["access_token"])


def test_subscribers_must_present_a_live_token_with_the_scope(
    server: Server, subscriber: Client
) -> None:
    plain = server.create_client()
    with server.http() as http:
        missing = http.get(STREAM)
        assert missing.status_code == 401 and missing.json()["error"] == "invalid_token"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        bogus = http.get(STREAM, headers={"Authorization": "Bearer nope"})
        assert bogus.status_code == 401 and 'error="invalid_token"' in bogus.headers[
            "www-authenticate"]  # fmt: skip
        unscoped = http.get(STREAM, headers={
            "Authorization": f"Bearer {server.fetch_token(plain)['access_token']}"})  # fmt: skip
        assert unscoped.status_code == 403 and unscoped.json()["error"] == "insufficient_scope"
        bad_cursor = http.get(STREAM, headers={
            "Authorization": f"Bearer {stream_token(server, subscriber)}",
            "Last-Event-ID": "yesterday"})  # fmt: skip
        assert bad_cursor.status_code == 400 and bad_cursor.json()["error"] == "invalid_request"


def test_events_stream_live_resume_from_last_event_id_and_heartbeat(
    server: Server, subscriber: Client
) -> None:
    client = server.create_client()
    first, second = (server.fetch_token(client)["access_token"] for _ in range(2))
    live = Subscription(server, stream_token(server, subscriber))
    try:
        assert server.send_revoke(client, token=first).status_code == 200
        live.wait_for(lambda: any(sha256_hex(first) in e["tokenHashes"] for e in live.events()))
        assert server.send_revoke(client, token=second).status_code == 200
        live.wait_for(lambda: len(live.events()) == 2)
        one, two = live.events()
        assert (one["tokenHashes"], two["tokenHashes"]) == ([sha256_hex(first)],
                                                           [sha256_hex(second)])  # fmt: skip
        assert two["sseId"] == one["sseId"] + 1 == two["position"]
        assert one["clientIds"] == [client.client_id] and one["reason"] == "revoke_endpoint"
        live.wait_for(lambda: any("comment" in f for f in live.frames), timeout=5)  # heartbeat
    finally:
        live.close()
    # A subscriber that saw `one` resumes after it and misses nothing.
    resumed = Subscription(server, stream_token(server, subscriber), str(one["sseId"]))
    try:
        resumed.wait_for(lambda: len(resumed.events()) >= 1)
        assert resumed.events()[0]["tokenHashes"] == [sha256_hex(second)]
    finally:
        resumed.close()


def test_the_stream_ends_when_the_subscribers_token_is_revoked(
    server: Server, subscriber: Client
) -> None:
    token = stream_token(server, subscriber)
    subscription = Subscription(server, token)
    try:
        assert server.send_revoke(subscriber, token=token).status_code == 200
        assert subscription.ended.wait(timeout=10)
    finally:
        subscription.close()


def test_events_are_published_on_redis(tmp_path: Path) -> None:
    from tokenrevoke.store.bus import EVENTS_CHANNEL

    url = "redis://127.0.0.1:6379/0"
    pubsub = redis.Redis.from_url(url).pubsub()
    pubsub.subscribe(EVENTS_CHANNEL)
    server = Server(tmp_path / "data", extra_args=["--redis-url", url]).start()
    try:
        client = server.create_client()
        token = server.fetch_token(client)["access_token"]
        assert server.send_revoke(client, token=token).status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.5)
            if message and message["type"] == "message":
                event = json.loads(message["data"])
                # The shared Redis may carry other servers' events: find ours.
                if event["tokenHashes"] == [sha256_hex(token)]:
                    assert event["clientIds"] == [client.client_id]
                    assert isinstance(event["position"], int)
                    return
        raise AssertionError("the event was not published on Redis")
    finally:
        pubsub.close()
        server.stop()


def test_an_open_stream_does_not_hold_up_a_graceful_shutdown(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    subscriber = server.create_client(scopes=["revocation_events"])
    subscription = Subscription(server, stream_token(server, subscriber))
    try:
        started = time.monotonic()
        server.stop()
        assert subscription.ended.wait(timeout=5)
        # Without ending streams first, uvicorn waits out its 10 s graceful timeout.
        assert time.monotonic() - started < 8
        assert "ASGI callable returned without" not in server.log()
    finally:
        subscription.close()
        server.stop()
