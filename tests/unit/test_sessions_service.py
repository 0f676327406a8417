"""The session rules (oauth/sessions.py) over a real SQLite store, at chosen times: idle
and absolute lifetimes, the cookie replaced at every sign-in, another user's sign-in
ending the previous session with its tokens. (The store's side runs on both backends in
tests/store/test_sessions_contract.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from tokenrevoke.crypto import new_id, sha256_hex
from tokenrevoke.model import AppConfiguration, TokenRecord, TokenType, User
from tokenrevoke.oauth.sessions import SessionService
from tokenrevoke.store.sqlite import SqliteStore

T = TypeVar("T")
IDLE, ABSOLUTE = 100, 250
NOW = int(time.time())
ALICE = User("inum-alice", "alice", "hash")
BOB = User("inum-bob", "bob", "hash")


@pytest.fixture
def sessions(store: SqliteStore) -> SessionService:
    values = {"sessionIdUnusedLifetime": IDLE, "sessionIdLifetime": ABSOLUTE}
    config = AppConfiguration.build(values, 1, "https://login.example")
    return SessionService(store, lambda: config)


def run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    return loop.run_until_complete(coro)


def test_idle_and_absolute_lifetimes(
    loop: asyncio.AbstractEventLoop, sessions: SessionService
) -> None:
    signed = run(loop, sessions.sign_in(ALICE, NOW, None))
    assert signed.session.idle_expires_at == NOW + IDLE
    assert signed.session.expires_at == NOW + ABSOLUTE
    assert run(loop, sessions.find(signed.cookie, NOW + IDLE - 1)) is not None
    assert run(loop, sessions.find(signed.cookie, NOW + IDLE)) is None  # unused too long
    # Used in time, it lives on, but never past the absolute lifetime.
    at = NOW
    while at + IDLE // 2 < NOW + ABSOLUTE:
        at += IDLE // 2
        found = run(loop, sessions.find(signed.cookie, at))
        assert found is not None and run(loop, sessions.use(found, at)) is not None
    assert run(loop, sessions.find(signed.cookie, NOW + ABSOLUTE)) is None
    # Only the stored hash names it: no cookie, a long one, another one name nothing.
    for cookie in (None, "", "x" * 500, sha256_hex(signed.cookie)):
        assert run(loop, sessions.find(cookie, NOW)) is None


def test_signing_in_again_replaces_the_cookie_and_keeps_the_session(
    loop: asyncio.AbstractEventLoop, sessions: SessionService
) -> None:
    first = run(loop, sessions.sign_in(ALICE, NOW, None))
    again = run(loop, sessions.sign_in(ALICE, NOW + 10, first.session))
    assert again.cookie != first.cookie and again.session.sid == first.session.sid
    assert again.session.auth_time == NOW + 10 and again.replaced is None
    assert run(loop, sessions.find(first.cookie, NOW + 10)) is None  # fixation: gone
    found = run(loop, sessions.find(again.cookie, NOW + 10))
    assert found is not None and found.sid == first.session.sid


def test_another_user_signing_in_ends_the_previous_session(
    loop: asyncio.AbstractEventLoop, store: SqliteStore, sessions: SessionService
) -> None:
    alices = run(loop, sessions.sign_in(ALICE, NOW, None))
    issued = TokenRecord(
        sha256_hex(new_id()), "g1", "c1", TokenType.ACCESS_TOKEN, "authorization_code",
        NOW, NOW + 300, user_id=ALICE.inum, session_id=alices.session.sid,
    )  # fmt: skip
    run(loop, store.insert_tokens([issued]))
    bobs = run(loop, sessions.sign_in(BOB, NOW + 1, alices.session))
    assert bobs.session.sid != alices.session.sid and bobs.session.user_id == BOB.inum
    assert bobs.replaced is not None and bobs.replaced.sids == (alices.session.sid,)
    assert bobs.replaced.tokens_revoked == 1
    assert run(loop, sessions.find(alices.cookie, NOW + 1)) is None
    token = run(loop, store.get_token(issued.code))
    assert token is not None and not token.is_live(NOW + 1)
