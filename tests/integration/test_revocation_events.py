"""Revocation events through a real server: every revocation path (the revoke endpoint,
the config API, revoke-all, client deletion, global token revocation by the endpoint and
the config API, session revocation, refresh-token reuse detection) pushes signed SETs
(RFC 8417/8935) carrying exactly the hashes of the tokens it revoked, to a real receiver;
nothing is lost while the receiver is down and the server restarts in between."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_configapi_support import admin_api
from tests.integration.test_global_revocation import (
    ALL_KINDS,
    APP_GRANTS,
    SCOPE,
    Setup,
    assert_no_content,
    bind_to_session,
    global_revoke,
    login,
    login_everywhere,
    new_user,
    raw_tokens,
    sub,
    two_sessions,
)
from tests.integration.test_refresh_reuse import ok, refresh, refused
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
        srv.stop()


def password_client(server: Server) -> Client:
    return server.create_client(grant_types=["client_credentials", "password", "refresh_token"])


def hashes_of(claims: dict[str, Any]) -> set[str]:
    return set(claims["events"][TOKENS_REVOKED]["token_hashes"])


def events_touching(server: Server, receiver: SetReceiver, hashes: set[str]) -> list[Any]:
    """Every verified SET received so far that names any of `hashes`."""
    events = receiver.events(f"{server.url}{AUTH}/jwks", server.url, AUDIENCE).values()
    return [e for e in events if hashes & hashes_of(e)]


def event_for(server: Server, receiver: SetReceiver, hashes: set[str]) -> dict[str, Any]:
    """The one event whose tokens include `hashes`, once it has arrived."""
    found: list[dict[str, Any]] = []

    def arrived() -> bool:
        found[:] = events_touching(server, receiver, hashes)
        return bool(found)

    receiver.wait_for(arrived)
    (event,) = found
    return event


def settled_events(server: Server, receiver: SetReceiver, hashes: set[str]) -> list[Any]:
    """Every event that names any of `hashes`, once all events committed so far have
    arrived: a receiver gets its events in commit order, so a fresh revocation's event
    arriving means every earlier one did (and anything revoked wrongly would show)."""
    marker = server.create_client()
    token = server.fetch_token(marker)["access_token"]
    assert server.send_revoke(marker, token=token).status_code == 200
    event_for(server, receiver, {sha256_hex(token)})
    return events_touching(server, receiver, hashes)


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
    # One user's grant among the client's own tokens: the subject is still the client.
    grant = server.password_token(client, "alice", PASSWORD)
    tokens += [grant["access_token"], grant["refresh_token"]]
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


@pytest.fixture(scope="module")
def apps(server: Server) -> Setup:
    """Three clients users log in to, and one allowed to revoke globally."""
    revoker = server.create_client(grant_types=["client_credentials"], scopes=[SCOPE])
    unscoped = server.create_client(grant_types=["client_credentials"])
    clients = [server.create_client(grant_types=APP_GRANTS, scopes=["openid"]) for _ in range(3)]
    return Setup(server, revoker, unscoped, clients)


def hashes(tokens: list[str]) -> set[str]:
    return {sha256_hex(t) for t in tokens}


def assert_user_revoked(events: list[Any], user_tokens: set[str], inum: str) -> dict[str, Any]:
    """The user's live tokens went out in one event, as a revocation of the user; returns
    the event's payload."""
    (claims,) = events
    event: dict[str, Any] = claims["events"][TOKENS_REVOKED]
    assert set(event["token_hashes"]) == user_tokens
    assert event["user_ids"] == [inum] and event["revocation"]["action"] == "global_revoke"
    assert event["revocation"]["target"] == {"type": "user", "values": [inum]}
    assert event["subject"]["sub"] == inum and claims["sub_id"]["sub"] == inum
    return event


def test_global_revocation_pushes_exactly_the_users_live_tokens(
    server: Server, receiver: SetReceiver, apps: Setup
) -> None:
    alice, inum = new_user(server, "alice")
    bob, _ = new_user(server, "bob")
    earlier = login(apps, alice, apps.apps[0])
    assert server.send_revoke(apps.apps[0], token=earlier["access_token"]).status_code == 200
    alice_tokens = hashes(raw_tokens(login_everywhere(apps, alice), ALL_KINDS))
    others = raw_tokens(login_everywhere(apps, bob), ALL_KINDS)
    others.append(server.fetch_token(apps.apps[1])["access_token"])  # the client's own
    already = event_for(server, receiver, hashes([earlier["access_token"]]))["jti"]

    assert_no_content(global_revoke(server, sub("uid", id=alice), apps.revoker))

    involved = alice_tokens | hashes(others) | hashes(raw_tokens([earlier], ALL_KINDS))
    events = [e for e in settled_events(server, receiver, involved) if e["jti"] != already]
    event = assert_user_revoked(events, alice_tokens, inum)  # not bob's, not the spent grant
    assert event["reason"] == "global_token_revocation"
    assert event["revocation"]["actor"] == f"client:{apps.revoker.client_id}"
    assert event["client_ids"] == sorted(c.client_id for c in apps.apps)
    assert len(event["grant_ids"]) == 3 and event["revocation"]["batch"] == 1


def test_config_api_revoke_user_pushes_exactly_the_users_live_tokens(
    server: Server, receiver: SetReceiver, apps: Setup
) -> None:
    carol, inum = new_user(server, "carol")
    dave, _ = new_user(server, "dave")
    grants = [login(apps, carol, app) for app in apps.apps[:2]]  # two of the three clients
    carol_tokens = hashes(raw_tokens(grants, ALL_KINDS))
    others = raw_tokens([login(apps, dave, apps.apps[0])], ALL_KINDS)
    api = admin_api(server)
    assert api.ok("POST", f"/token/revoke/user/{carol}")["revokedTokens"] == 6

    events = settled_events(server, receiver, carol_tokens | hashes(others))
    event = assert_user_revoked(events, carol_tokens, inum)
    assert event["reason"] == "config_api"
    assert event["revocation"]["actor"].startswith("admin:")
    assert event["client_ids"] == sorted(c.client_id for c in apps.apps[:2])


def test_ending_a_users_sessions_pushes_the_session_tokens_that_name_no_user(
    server: Server, receiver: SetReceiver, apps: Setup
) -> None:
    erin, inum = new_user(server, "erin")
    session = f"session-{uuid.uuid4().hex}"
    grant = login(apps, erin, apps.apps[0])
    bind_to_session(server, grant["access_token"], session)
    in_session = server.fetch_token(apps.apps[1])["access_token"]  # the app's, in her session
    bind_to_session(server, in_session, session, user=False)

    assert_no_content(global_revoke(server, sub("uid", id=erin), apps.revoker))

    erin_tokens = hashes(raw_tokens([grant], ALL_KINDS))
    events = settled_events(server, receiver, erin_tokens | hashes([in_session]))
    by_target = {e["events"][TOKENS_REVOKED]["revocation"]["target"]["type"]: e for e in events}
    assert sorted(by_target) == ["session", "user"]
    assert_user_revoked([by_target["user"]], erin_tokens, inum)
    ended = by_target["session"]["events"][TOKENS_REVOKED]
    assert ended["token_hashes"] == [sha256_hex(in_session)]  # hers were revoked already
    assert ended["revocation"]["target"] == {"type": "session", "values": [session]}
    assert ended["reason"] == "global_token_revocation" and ended["user_ids"] == []
    assert ended["subject"] == {"subject_type": "opaque", "id": apps.apps[1].client_id}


def test_the_session_id_format_pushes_that_sessions_tokens_only(
    server: Server, receiver: SetReceiver, apps: Setup
) -> None:
    frank, inum = new_user(server, "frank")
    first, second, ended, _ = two_sessions(apps, frank)

    assert_no_content(global_revoke(server, sub("session_id", id=ended), apps.revoker))

    bound = hashes(raw_tokens([first]))
    involved = hashes(raw_tokens([first, second], ALL_KINDS))
    (claims,) = settled_events(server, receiver, involved)
    event = claims["events"][TOKENS_REVOKED]
    assert set(event["token_hashes"]) == bound  # not the grant's unbound id_token
    assert event["revocation"]["target"] == {"type": "session", "values": [ended]}
    assert event["reason"] == "global_token_revocation" and event["user_ids"] == [inum]


def test_refresh_token_reuse_pushes_the_familys_live_tokens(
    server: Server, receiver: SetReceiver
) -> None:
    client = password_client(server)
    first = server.password_token(client, "alice", PASSWORD)
    second = ok(refresh(server, client, first["refresh_token"]))
    current = ok(refresh(server, client, second["refresh_token"]))
    bystander = server.password_token(client, "alice", PASSWORD)  # another grant

    refused(refresh(server, client, first["refresh_token"]))  # a replay

    # Every token of the family still live: each access token and the current refresh
    # token; the rotated refresh tokens were retired before, and the other grant stays.
    family = hashes([first["access_token"], second["access_token"], current["access_token"],
                     current["refresh_token"]])  # fmt: skip
    involved = family | hashes([first["refresh_token"], second["refresh_token"],
                                bystander["access_token"], bystander["refresh_token"]])  # fmt: skip
    (claims,) = settled_events(server, receiver, involved)
    event = claims["events"][TOKENS_REVOKED]
    assert set(event["token_hashes"]) == family
    assert event["reason"] == "refresh_token_reuse"
    assert event["revocation"]["actor"] == "refresh_token_reuse_detection"
    assert event["revocation"]["target"]["type"] == "grant" and len(event["grant_ids"]) == 1
    assert event["client_ids"] == [client.client_id]


def failed_attempts_recorded(server: Server) -> int:
    """Deliveries whose failed attempt the server has settled and not claimed again (a
    claim's lease puts the next attempt minutes away)."""
    with sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True, timeout=10) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM event_deliveries WHERE last_error IS NOT NULL "
            "AND next_attempt_at < ?",
            (time.time() + 60,),
        ).fetchone()
    return int(count)


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
        # Killed once both failed attempts are settled: a kill while a push is in flight
        # leaves its 120 s lease, which a test cannot wait out.
        server.wait_until(lambda: failed_attempts_recorded(server) == 2, timeout=10)
        server.kill()  # no shutdown at all
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
        server.stop()
        for receiver in (final, healing, healthy):
            receiver.stop()
