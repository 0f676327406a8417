"""Refresh-token rotation with reuse detection (RFC 9700 section 4.14.2) as fast unit tests
of the token endpoint's rules over the real store, no HTTP. The clock is the one seam: the
grace window is crossed by moving it, not by sleeping."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import types
from typing import Any

import pytest
from argon2 import PasswordHasher

from tests.support.harness import Harness
from tokenrevoke.crypto import new_id, sha256_hex
from tokenrevoke.model import Client, TokenType, User
from tokenrevoke.model.token import ROTATED, ROTATED_FROM, ROTATION, SUPERSEDED
from tokenrevoke.oauth import token_endpoint
from tokenrevoke.oauth.errors import OAuthError
from tokenrevoke.oauth.request import OAuthRequest
from tokenrevoke.store.base import TokenQuery

PASSWORD = "correct horse battery staple"
REFRESH_GRANTS = ("password", "refresh_token")


class Clock:
    """The token endpoint's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Refresher:
    """The revocation rules' harness (`h`), plus a user and the token endpoint."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.user = User(new_id(), "alice", PasswordHasher().hash(PASSWORD))
        h.run(h.rt.store.save_user(self.user))

    def refresh_client(self, name: str = "app", **overrides: Any) -> tuple[Client, str | None]:
        client, secret = self.h.client(name, "openid", "email", grants=REFRESH_GRANTS)
        if overrides:
            client = dataclasses.replace(client, **overrides)
            self.h.run(self.h.rt.store.save_client(client))
            self.h.run(self.h.rt.refresh())
        return client, secret

    def authenticate(self, client: Client, secret: str | None) -> Any:
        request = OAuthRequest({}, self.h.basic(client, secret))
        return self.h.run(self.h.rt.authenticator.authenticate(request))

    def token(self, client: Client, secret: str | None, **params: str) -> dict[str, Any]:
        auth = self.authenticate(client, secret)
        result: dict[str, Any] = self.h.run(self.h.rt.tokens.issue(auth, OAuthRequest(params)))
        return result

    def login(self, client: Client, secret: str | None) -> dict[str, Any]:
        return self.token(
            client, secret, grant_type="password", username="alice", password=PASSWORD
        )

    def refresh(
        self, client: Client, secret: str | None, refresh_token: str, **extra: str
    ) -> dict[str, Any]:
        return self.token(
            client, secret, grant_type="refresh_token", refresh_token=refresh_token, **extra
        )

    def refused(
        self, client: Client, secret: str | None, refresh_token: str, **extra: str
    ) -> OAuthError:
        with pytest.raises(OAuthError) as err:
            self.refresh(client, secret, refresh_token, **extra)
        return err.value

    def record(self, raw: str) -> Any:
        return self.h.run(self.h.rt.store.get_token(sha256_hex(raw)))

    def reuse_audits(self) -> list[dict[str, Any]]:
        return [
            a
            for a in self.h.run(self.h.rt.store.list_audit())
            if a["reason"] == "refresh_token_reuse"
        ]

    def live(self, *tokens: str) -> list[bool]:
        return [self.h.active(t) for t in tokens]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(token_endpoint, "time", types.SimpleNamespace(time=fake.time))
    return fake


@pytest.fixture
def r(h: Harness, clock: Clock) -> Refresher:
    return Refresher(h)


def assert_invalid_grant(error: OAuthError) -> None:
    assert (error.status, error.error) == (400, "invalid_grant")
    assert error.description == "refresh token is invalid, expired or revoked"


# -- reuse detection -------------------------------------------------------------------------
def test_reuse_of_a_rotated_token_revokes_the_whole_family(r: Refresher) -> None:
    c, s = r.refresh_client()
    first = r.login(c, s)
    second = r.refresh(c, s, first["refresh_token"])
    third = r.refresh(c, s, second["refresh_token"])
    other = r.login(c, s)  # another grant of the same client and user

    assert_invalid_grant(r.refused(c, s, first["refresh_token"]))

    family = [
        third["access_token"],
        third["refresh_token"],
        third["id_token"],
        second["access_token"],
    ]
    assert r.live(*family) == [False] * 4
    assert r.live(other["access_token"], other["refresh_token"]) == [True, True]
    assert r.record(third["refresh_token"]).revoked_by == token_endpoint.REUSE_DETECTION_ACTOR
    assert r.record(third["refresh_token"]).revoke_reason == "refresh_token_reuse"
    # The rotated tokens keep their own tombstones.
    assert r.record(first["refresh_token"]).revoke_reason == ROTATED
    (audit,) = r.reuse_audits()
    assert (audit["action"], audit["actor"], audit["clientId"]) == (
        "revoke",
        "refresh_token_reuse_detection",
        c.client_id,
    )
    assert audit["details"]["grants"] == [r.record(first["refresh_token"]).grant_id]
    assert audit["details"]["token_codes"] == [sha256_hex(first["refresh_token"])]
    # Every live token of the grant: three access and three id tokens, the live refresh one.
    assert audit["count"] == 7
    # The family stays dead: its newest refresh token is refused too, and a second replay
    # finds nothing left to revoke.
    assert_invalid_grant(r.refused(c, s, third["refresh_token"]))
    assert_invalid_grant(r.refused(c, s, first["refresh_token"]))
    assert len(r.reuse_audits()) == 1


def test_a_replay_is_detected_before_the_other_parameters_are_checked(r: Refresher) -> None:
    c, s = r.refresh_client()
    first = r.login(c, s)
    second = r.refresh(c, s, first["refresh_token"])
    # A widened scope would be invalid_scope for a live token; a replay is still a replay.
    assert_invalid_grant(r.refused(c, s, first["refresh_token"], scope="openid email profile"))
    assert r.live(second["refresh_token"]) == [False]


def test_detection_off_answers_invalid_grant_and_leaves_the_family(r: Refresher) -> None:
    r.h.set(refreshTokenReuseDetection=False)
    c, s = r.refresh_client()
    first = r.login(c, s)
    second = r.refresh(c, s, first["refresh_token"])
    assert_invalid_grant(r.refused(c, s, first["refresh_token"]))
    assert r.live(second["access_token"], second["refresh_token"]) == [True, True]
    assert r.reuse_audits() == []


def test_a_client_override_beats_the_property_both_ways(r: Refresher) -> None:
    exempt, es = r.refresh_client("exempt", refresh_token_reuse_detection=False)
    strict, ss = r.refresh_client("strict", refresh_token_reuse_detection=True)
    r.h.set(refreshTokenReuseDetection=False)
    for client, secret, killed in ((exempt, es, False), (strict, ss, True)):
        first = r.login(client, secret)
        second = r.refresh(client, secret, first["refresh_token"])
        assert_invalid_grant(r.refused(client, secret, first["refresh_token"]))
        assert r.live(second["refresh_token"]) == [not killed]
    r.h.set(refreshTokenReuseDetection=True)
    first = r.login(exempt, es)
    second = r.refresh(exempt, es, first["refresh_token"])
    r.refused(exempt, es, first["refresh_token"])
    assert r.live(second["refresh_token"]) == [True]


def test_an_ordinarily_revoked_or_expired_token_is_only_invalid_grant(
    r: Refresher, clock: Clock
) -> None:
    c, s = r.refresh_client()
    revoked = r.login(c, s)
    assert r.h.revoke(c, s, token=revoked["refresh_token"]) == 3
    assert_invalid_grant(r.refused(c, s, revoked["refresh_token"]))

    r.h.set(refreshTokenLifetime=60)
    expiring = r.login(c, s)
    rotated = r.refresh(c, s, expiring["refresh_token"])
    clock.advance(61)  # the whole family has expired (rotation keeps the expiry)
    assert_invalid_grant(r.refused(c, s, expiring["refresh_token"]))
    assert_invalid_grant(r.refused(c, s, rotated["refresh_token"]))
    assert r.reuse_audits() == []


def test_another_clients_rotated_token_does_not_touch_the_family(r: Refresher) -> None:
    mine, ms = r.refresh_client("mine")
    theirs, ts = r.refresh_client("theirs")
    first = r.login(mine, ms)
    second = r.refresh(mine, ms, first["refresh_token"])
    assert_invalid_grant(r.refused(theirs, ts, first["refresh_token"]))
    assert r.live(second["refresh_token"]) == [True]


# -- the grace window ------------------------------------------------------------------------
def test_inside_the_window_the_previous_token_is_exchanged_again(
    r: Refresher, clock: Clock
) -> None:
    r.h.set(refreshTokenReuseGraceSeconds=10)
    c, s = r.refresh_client()
    first = r.login(c, s)
    lost = r.refresh(c, s, first["refresh_token"])  # the client never saw this answer
    clock.advance(9)
    retry = r.refresh(c, s, first["refresh_token"])
    assert retry["refresh_token"] not in (lost["refresh_token"], first["refresh_token"])
    # One live refresh token per family: the one the retry superseded is dead.
    assert r.live(lost["refresh_token"], retry["refresh_token"]) == [False, True]
    superseded = r.record(lost["refresh_token"])
    assert (superseded.revoked_by, superseded.revoke_reason) == (ROTATION, SUPERSEDED)
    assert r.record(retry["refresh_token"]).attributes[ROTATED_FROM] == sha256_hex(
        first["refresh_token"]
    )
    # Same family, same fixed expiry.
    assert r.record(retry["refresh_token"]).grant_id == r.record(first["refresh_token"]).grant_id
    assert (
        r.record(retry["refresh_token"]).expires_at == r.record(first["refresh_token"]).expires_at
    )
    # The family goes on from the retry's token.
    onward = r.refresh(c, s, retry["refresh_token"])
    assert r.live(onward["refresh_token"]) == [True]
    assert r.reuse_audits() == []


def test_the_window_ends_and_it_covers_only_the_previous_token(r: Refresher, clock: Clock) -> None:
    r.h.set(refreshTokenReuseGraceSeconds=10)
    c, s = r.refresh_client()
    first = r.login(c, s)
    second = r.refresh(c, s, first["refresh_token"])
    third = r.refresh(c, s, second["refresh_token"])
    # first is older than the previous token: reuse, even well inside the window.
    assert_invalid_grant(r.refused(c, s, first["refresh_token"]))
    assert r.live(third["refresh_token"]) == [False]

    again = r.login(c, s)
    rotated = r.refresh(c, s, again["refresh_token"])
    clock.advance(10)  # the window is [rotation, rotation + 10 s)
    assert_invalid_grant(r.refused(c, s, again["refresh_token"]))
    assert r.live(rotated["access_token"], rotated["refresh_token"]) == [False, False]
    assert len(r.reuse_audits()) == 2


def test_a_superseded_token_presented_later_is_reuse(r: Refresher, clock: Clock) -> None:
    # The thief retried the previous token inside the window; the legitimate client still
    # holds the successor it was given, and its next refresh gives the theft away.
    r.h.set(refreshTokenReuseGraceSeconds=30)
    c, s = r.refresh_client()
    first = r.login(c, s)
    legitimate = r.refresh(c, s, first["refresh_token"])
    stolen = r.refresh(c, s, first["refresh_token"])
    assert_invalid_grant(r.refused(c, s, legitimate["refresh_token"]))
    assert r.live(stolen["access_token"], stolen["refresh_token"]) == [False, False]


def test_a_client_grace_overrides_the_property(r: Refresher, clock: Clock) -> None:
    lenient, ls = r.refresh_client("lenient", refresh_token_reuse_grace_seconds=5)
    strict, ss = r.refresh_client("strict", refresh_token_reuse_grace_seconds=0)
    r.h.set(refreshTokenReuseGraceSeconds=60)
    first = r.login(lenient, ls)
    r.refresh(lenient, ls, first["refresh_token"])
    clock.advance(4)
    r.refresh(lenient, ls, first["refresh_token"])  # inside the client's 5 s
    clock.advance(1)
    assert_invalid_grant(r.refused(lenient, ls, first["refresh_token"]))

    first = r.login(strict, ss)
    second = r.refresh(strict, ss, first["refresh_token"])
    assert_invalid_grant(r.refused(strict, ss, first["refresh_token"]))
    assert r.live(second["refresh_token"]) == [False]


def test_the_window_forgives_nothing_when_detection_is_off(r: Refresher) -> None:
    r.h.set(refreshTokenReuseDetection=False, refreshTokenReuseGraceSeconds=60)
    c, s = r.refresh_client()
    first = r.login(c, s)
    second = r.refresh(c, s, first["refresh_token"])
    assert_invalid_grant(r.refused(c, s, first["refresh_token"]))
    assert r.live(second["refresh_token"]) == [True]


# -- races -----------------------------------------------------------------------------------
def race(
    r: Refresher, client: Client, secret: str | None, refresh_token: str, n: int = 50
) -> list[Any]:
    auth = r.authenticate(client, secret)
    request = OAuthRequest({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def storm() -> list[Any]:
        return list(
            await asyncio.gather(
                *(r.h.rt.tokens.issue(auth, request) for _ in range(n)), return_exceptions=True
            )
        )

    return r.h.run(storm())


def test_fifty_concurrent_refreshes_one_winner_and_detection_kills_the_family(r: Refresher) -> None:
    c, s = r.refresh_client()
    first = r.login(c, s)
    results = race(r, c, s, first["refresh_token"])
    winners = [x for x in results if isinstance(x, dict)]
    assert len(winners) == 1
    for loser in (x for x in results if not isinstance(x, dict)):
        assert isinstance(loser, OAuthError)
        assert_invalid_grant(loser)
    # The same refresh token was presented 50 times: with no grace window that is reuse.
    assert r.live(winners[0]["access_token"], winners[0]["refresh_token"]) == [False, False]


def test_fifty_concurrent_refreshes_without_detection_one_live_winner(r: Refresher) -> None:
    c, s = r.refresh_client(refresh_token_reuse_detection=False)
    first = r.login(c, s)
    results = race(r, c, s, first["refresh_token"])
    winners = [x for x in results if isinstance(x, dict)]
    assert len(winners) == 1
    assert all(
        isinstance(x, OAuthError) and x.error == "invalid_grant"
        for x in results
        if x not in winners
    )
    assert r.live(winners[0]["refresh_token"]) == [True]


def test_fifty_concurrent_refreshes_inside_the_window_leave_one_live_refresh_token(
    r: Refresher, clock: Clock
) -> None:
    c, s = r.refresh_client(refresh_token_reuse_grace_seconds=30)
    first = r.login(c, s)
    results = race(r, c, s, first["refresh_token"])
    winners = [x for x in results if isinstance(x, dict)]
    # Each one inside the window retires the one before it: all succeed, one survives.
    assert len(winners) == 50
    alive = [w for w in winners if r.record(w["refresh_token"]).is_live(int(clock.now))]
    assert len(alive) == 1
    grant = r.record(first["refresh_token"]).grant_id
    # The first refresh token and its 50 successors: more than one page of 50.
    fields = (("grtId", grant), ("tknTyp", TokenType.REFRESH_TOKEN.value))
    total, rows = r.h.run(r.h.rt.store.search_tokens(TokenQuery(fields=fields, limit=100)))
    assert total == len(rows) == 51
    assert sum(row.revoked_at is None for row in rows) == 1
