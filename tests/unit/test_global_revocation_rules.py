"""Global token revocation rules as fast unit tests: subject identifiers, who they name,
and how a user is ended, over a real SQLite store (no HTTP)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tokenrevoke.crypto import new_id, sha256_hex
from tokenrevoke.model import AuditEvent, TokenRecord, TokenType, User
from tokenrevoke.oauth.errors import OAuthError
from tokenrevoke.oauth.global_revocation import (
    Subject,
    end_user,
    parse_subject,
    resolve_users,
    revoke_subject,
)
from tokenrevoke.store.sqlite.store import SqliteStore

NOW = int(time.time())


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"sub_id": {"format": "uid", "id": "alice"}}, Subject("uid", "alice")),
        ({"sub_id": {"format": "opaque", "id": "U1"}}, Subject("opaque", "U1")),
        ({"sub_id": {"format": "inum", "id": "U1"}}, Subject("inum", "U1")),
        ({"subject": {"format": "email", "email": "a@b.c"}}, Subject("email", "a@b.c")),
        ({"sub_id": {"format": "email", "id": "a@b.c"}}, Subject("email", "a@b.c")),
        ({"sub_id": {"format": "mail", "id": "a@b.c"}}, Subject("mail", "a@b.c")),
        (
            {"sub_id": {"format": "iss_sub", "iss": "https://as", "sub": "U1"}},
            Subject("iss_sub", "U1", iss="https://as"),
        ),
        ({"sub_id": {"format": "session_id", "id": "s1"}}, Subject("session_id", "s1")),
        # Other top-level members (client credentials) are not the subject's business.
        ({"sub_id": {"format": "uid", "id": "a"}, "client_id": "c"}, Subject("uid", "a")),
    ],
)
def test_subject_identifiers(document: Any, expected: Subject) -> None:
    assert parse_subject(document) == expected


@pytest.mark.parametrize(
    "document",
    [
        [],
        "uid",
        {},
        {"sub_id": None},
        {"sub_id": {"format": "uid", "id": "a"}, "subject": {"format": "uid", "id": "a"}},
        {"sub_id": {"id": "a"}},
        {"sub_id": {"format": "", "id": "a"}},
        {"sub_id": {"format": "UID", "id": "a"}},  # RFC 9493 format names are case-sensitive
        {"sub_id": {"format": "phone_number", "phone_number": "+1"}},
        {"sub_id": {"format": "aliases", "identifiers": []}},
        {"sub_id": {"format": "uid", "id": ""}},
        {"sub_id": {"format": "uid", "id": ["a"]}},
        {"sub_id": {"format": "uid", "id": "a" * 1025}},
        {"sub_id": {"format": "email", "mail": "a@b.c"}},
        {"sub_id": {"format": "iss_sub", "iss": "https://as"}},
        {"sub_id": {"format": "iss_sub", "sub": "U1"}},
    ],
)
def test_malformed_subjects_are_invalid_request(document: Any) -> None:
    with pytest.raises(OAuthError) as caught:
        parse_subject(document)
    assert (caught.value.status, caught.value.error) == (400, "invalid_request")


# -- over a real store -----------------------------------------------------------------
def token(user: str | None, session: str | None = None, client: str = "c1") -> TokenRecord:
    return TokenRecord(
        code=sha256_hex(new_id()), grant_id=new_id(), client_id=client,
        token_type=TokenType.ACCESS_TOKEN, grant_type="password", created_at=NOW,
        # Far from expiry: revoke_subject revokes at the current time, however late the
        # suite runs this test after NOW was taken.
        expires_at=NOW + 86400, user_id=user, session_id=session,
    )  # fmt: skip


def live(loop: asyncio.AbstractEventLoop, store: SqliteStore, *records: TokenRecord) -> list[bool]:
    stored = loop.run_until_complete(store.get_tokens([r.code for r in records]))
    found = {t.code: t for t in stored}
    return [found[r.code].is_live(NOW) for r in records]


AUDIT = AuditEvent("global_revoke", "client:test", "global_token_revocation")


def test_user_ids_resolve_by_uid_then_as_inum(
    store: SqliteStore, loop: asyncio.AbstractEventLoop
) -> None:
    for user in (User("U1", "alice", "h", "A@x.org"), User("U2", "bob", "h", "a@X.org")):
        loop.run_until_complete(store.save_user(user))

    def resolve(fmt: str, value: str) -> list[str]:
        return loop.run_until_complete(resolve_users(store, Subject(fmt, value)))

    assert resolve("uid", "alice") == ["U1"]
    assert resolve("opaque", "U2") == ["U2"]
    assert resolve("inum", "alice") == ["alice"]  # an inum is never looked up as a uid
    assert resolve("uid", "gone") == ["gone"]  # a deleted user's tokens still go
    assert resolve("email", "a@x.org") == ["U1", "U2"]  # every account with the address
    assert resolve("mail", "nobody@x.org") == []


def test_ending_a_user_ends_their_sessions_and_spares_others(
    store: SqliteStore, loop: asyncio.AbstractEventLoop
) -> None:
    alice = [token("U1", "s1"), token("U1", client="c2"), token("U1", "s2", client="c3")]
    in_session = token(None, "s1", client="c4")  # a token of alice's session, no user
    bob = [token("U2", "s3"), token(None, "s4")]
    loop.run_until_complete(store.insert_tokens([*alice, in_session, *bob]))
    revoked, sessions = loop.run_until_complete(end_user(store, "U1", AUDIT, NOW))
    assert (revoked, sessions) == (4, ["s1", "s2"])
    assert live(loop, store, *alice, in_session, *bob) == [False] * 4 + [True] * 2
    audits = loop.run_until_complete(store.list_audit())
    details = sorted((a["count"], a["details"].get("sessionId")) for a in audits)
    assert details == [(1, "s1"), (3, None)]
    assert all(a["action"] == "global_revoke" for a in audits)


T = TypeVar("T")


class RacingStore(SqliteStore):
    """A refresh that wins against the revocation: right after the first batch of the walk
    over the user's tokens commits, a successor token of theirs is committed too. The
    store's contract (tests/store/test_revocation_race_contract.py) has `revoke` take it."""

    successor: TokenRecord | None = None

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        result = await super()._write(work)
        if self.successor is not None:
            late, self.successor = self.successor, None
            await self.insert_tokens([late])
        return result


def test_a_token_committed_during_the_revocation_is_revoked_too(
    tmp_path: Path, loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tokenrevoke.store.sqlite.store as lite

    monkeypatch.setattr(lite, "REVOKE_BATCH", 1)  # one batch per token: the race has room
    store = loop.run_until_complete(RacingStore.open(tmp_path / "race.db"))
    try:
        first, late = token("U1"), token("U1")
        loop.run_until_complete(store.insert_tokens([first]))
        store.successor = late
        revoked, _ = loop.run_until_complete(end_user(store, "U1", AUDIT, NOW))
        assert revoked == 2
        assert live(loop, store, first, late) == [False, False]
    finally:
        loop.run_until_complete(store.close())


def test_a_session_subject_ends_only_that_session(
    store: SqliteStore, loop: asyncio.AbstractEventLoop
) -> None:
    ended, kept = token("U1", "s1"), token("U1", "s2")
    loop.run_until_complete(store.insert_tokens([ended, kept]))
    outcome = loop.run_until_complete(revoke_subject(store, Subject("session_id", "s1"), "x"))
    assert (outcome.users, outcome.sessions, outcome.revoked) == ((), ("s1",), 1)
    assert live(loop, store, ended, kept) == [False, True]
