"""Revocation events through a real server: every revocation path pushes one signed SET
(RFC 8417/8935) carrying exactly the hashes of the tokens it revoked, to a real receiver;
nothing is lost while the receiver is down and the server restarts in between."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import AUTH, Client, Server
from tests.support.set_receiver import TOKENS_REVOKED, SetReceiver
from tokenrevoke.crypto import sha256_hex

PASSWORD = "correct horse battery staple"
AUDIENCE = "resource-server-1"
RECEIVER_AUTH = "Bearer receiver-credential-123"


@pytest.fixture(scope="module")
def receiver() -> Iterator[SetReceiver]:
    receiver = SetReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


def events_server(data_dir: Path, receiver: SetReceiver, **extra: Any) -> Server:
    server = Server(data_dir, extra_args=extra.pop("extra_args", None))
    server.configure({
        "revocationEventReceivers": [
            {"url": receiver.url, "authorization": RECEIVER_AUTH, "audience": AUDIENCE}
        ],
        "revocationEventRetryMaxSeconds": 1,
        "allowAllValueForRevokeEndpoint": True,
        **extra,
    })  # fmt: skip
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, receiver: SetReceiver) -> Iterator[Server]:
    srv = events_server(tmp_path_factory.mktemp("events") / "data", receiver).start()
    srv.create_user("alice", PASSWORD)
    try:
        yield srv
    finally:
        srv.close_session()
        srv.stop()


def password_client(server: Server) -> Client:
    return server.create_client(
        "--grant-type", "client_credentials", "--grant-type", "password",
        "--grant-type", "refresh_token",
    )  # fmt: skip


def event_for(server: Server, receiver: SetReceiver, hashes: set[str]) -> dict[str, Any]:
    """The one event whose tokens include `hashes`, once it has arrived."""
    found: list[dict[str, Any]] = []

    def arrived() -> bool:
        events = receiver.events(f"{server.url}{AUTH}/jwks", server.url, AUDIENCE).values()
        found[:] = [e for e in events if hashes & set(e["events"][TOKENS_REVOKED]["token_hashes"])]
        return bool(found)

    receiver.wait_for(arrived)
    (event,) = found
    return event


def test_revoke_endpoint_pushes_exactly_the_grant_it_revoked(
    server: Server, receiver: SetReceiver
) -> None:
    client = password_client(server)
    body = server.password_token(client, "alice", PASSWORD)
    bystander = server.fetch_token(client)["access_token"]
    alice = server.fetch_introspection(body["access_token"])["sub"]  # the user's inum
    assert server.send_revoke(client, token=body["access_token"]).status_code == 200

    grant = {sha256_hex(body["access_token"]), sha256_hex(body["refresh_token"])}
    claims = event_for(server, receiver, grant)
    event = claims["events"][TOKENS_REVOKED]
    assert set(event["token_hashes"]) == grant  # the whole grant, nothing else
    assert sha256_hex(bystander) not in event["token_hashes"]
    assert event["client_ids"] == [client.client_id] and event["user_ids"] == [alice]
    assert event["subject"] == {"subject_type": "iss-sub", "iss": server.url, "sub": alice}
    assert event["reason"] == "revoke_endpoint" and len(event["grant_ids"]) == 1
    assert claims["iss"] == server.url and claims["aud"] == AUDIENCE
    assert isinstance(claims["toe"], int) and claims["txn"] == event["revocation"]["id"]
    # RFC 8935 request shape, with the configured credential; never a raw token.
    pushed = next(r for r in receiver.received if body["access_token"] not in r.token)
    assert pushed.headers["content-type"] == "application/secevent+jwt"
    assert pushed.headers["authorization"] == RECEIVER_AUTH
    assert all(body["access_token"] not in r.token for r in receiver.received)


def test_config_api_delete_pushes_the_grant(server: Server, receiver: SetReceiver) -> None:
    client = password_client(server)
    body = server.password_token(client, "alice", PASSWORD)
    server.cli("token", "revoke", "--", sha256_hex(body["refresh_token"]))

    grant = {sha256_hex(body["access_token"]), sha256_hex(body["refresh_token"])}
    event = event_for(server, receiver, grant)["events"][TOKENS_REVOKED]
    assert set(event["token_hashes"]) == grant
    assert event["reason"] == "config_api"
    assert event["revocation"]["actor"].startswith("admin:")


def test_revoke_all_pushes_every_live_token_of_the_client(
    server: Server, receiver: SetReceiver
) -> None:
    client = password_client(server)
    tokens = [server.fetch_token(client)["access_token"] for _ in range(3)]
    revoked_before = server.fetch_token(client)["access_token"]
    assert server.send_revoke(client, token=revoked_before).status_code == 200
    other = password_client(server)
    untouched = server.fetch_token(other)["access_token"]

    assert server.send_revoke(client, token="all").status_code == 200
    hashes = {sha256_hex(t) for t in tokens}
    event = event_for(server, receiver, hashes)["events"][TOKENS_REVOKED]
    assert set(event["token_hashes"]) == hashes  # not the one already revoked
    assert event["subject"] == {"subject_type": "opaque", "id": client.client_id}
    assert event["revocation"]["target"] == {"type": "client", "values": [client.client_id]}
    assert server.is_active(untouched)


def test_client_deletion_pushes_its_remaining_tokens(server: Server, receiver: SetReceiver) -> None:
    client = password_client(server)
    tokens = [server.fetch_token(client)["access_token"] for _ in range(2)]
    server.cli("client", "delete", client.client_id)
    hashes = {sha256_hex(t) for t in tokens}
    event = event_for(server, receiver, hashes)["events"][TOKENS_REVOKED]
    assert set(event["token_hashes"]) == hashes
    assert event["reason"] == "client_deleted"


def test_events_survive_a_receiver_outage_and_a_server_crash(
    tmp_path: Path,
) -> None:
    receiver = SetReceiver()  # not started: the receiver is down
    server = events_server(tmp_path / "data", receiver).start()
    try:
        client = server.create_client()
        tokens = [server.fetch_token(client)["access_token"] for _ in range(4)]
        for token in tokens[:2]:
            assert server.send_revoke(client, token=token).status_code == 200
        server.wait_until(lambda: "not delivered" in server.log(), timeout=10)
        server.kill()  # no shutdown at all
        server.close_session()
        server.start()
        for token in tokens[2:]:
            assert server.send_revoke(client, token=token).status_code == 200
        server.stop()
        server.start()
        receiver.start()  # back up: everything arrives, at least once

        expected = {sha256_hex(t) for t in tokens}

        def all_arrived() -> bool:
            events = receiver.events(f"{server.url}{AUTH}/jwks", server.url, AUDIENCE)
            got = [h for e in events.values() for h in e["events"][TOKENS_REVOKED]["token_hashes"]]
            return set(got) == expected and len(got) == len(expected)

        receiver.wait_for(all_arrived, timeout=20)
    finally:
        server.close_session()
        server.stop()
        receiver.stop()


def test_only_invalid_request_is_final_other_rejections_are_retried(tmp_path: Path) -> None:
    """RFC 8935: 400 `invalid_request` means this SET can never be accepted; a key or
    credential the receiver rejects may be fixed, so that is retried (capped backoff)."""
    final = SetReceiver(error="invalid_request").start()
    healing = SetReceiver(error="invalid_key").start()
    healthy = SetReceiver().start()
    receivers = [{"url": r.url} for r in (final, healing, healthy)]
    server = Server(tmp_path / "data")
    server.configure({"revocationEventReceivers": receivers, "revocationEventRetryMaxSeconds": 1})
    server.start()
    try:
        client = server.create_client()
        token = server.fetch_token(client)["access_token"]
        assert server.send_revoke(client, token=token).status_code == 200
        healthy.wait_for(lambda: len(healthy.received) == 1)
        healing.wait_for(lambda: len(healing.received) >= 3, timeout=10)
        assert len(final.received) == 1
        assert "rejected revocation event" in server.log()
    finally:
        server.close_session()
        server.stop()
        for receiver in (final, healing, healthy):
            receiver.stop()
