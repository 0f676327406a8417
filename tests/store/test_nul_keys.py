"""A key holding a NUL (which PostgreSQL's text cannot hold) names nothing, on every
backend: lookups find nothing and revocations revoke nothing, with no database error
(docs/security.md, S7). A write of one is refused on PostgreSQL as UnstorableText."""

from __future__ import annotations

import asyncio

import pytest

from tests.store.test_store_contract import audit, live, run, token
from tokenrevoke.model import User
from tokenrevoke.store import RevocationTarget, Store, UnstorableText
from tokenrevoke.store.base import TokenQuery
from tokenrevoke.store.postgres import PostgresStore

NUL = "c1\x00"  # a prefix of a real id, as a C-string reader would see it


def test_lookups_by_a_key_with_a_nul_find_nothing(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    record = token(client="c1", user="c1", session="c1", grant="c1")
    run(loop, store.insert_tokens([record]))
    assert run(loop, store.get_token(record.code + "\x00")) is None
    assert [t.code for t in run(loop, store.get_tokens([record.code, NUL]))] == [record.code]
    assert run(loop, store.get_tokens([NUL])) == []
    assert run(loop, store.get_client(NUL)) is None
    assert run(loop, store.get_user(NUL)) is None
    assert run(loop, store.get_user_by_uid(NUL)) is None
    assert run(loop, store.find_users_by_email(f"{NUL}@example.com")) == []
    assert run(loop, store.session_ids_of_user(NUL)) == []
    assert run(loop, store.count_tokens(NUL)) == 0
    assert run(loop, store.search_tokens(TokenQuery(fields=(("clnId", NUL),)))) == (0, [])
    assert run(loop, store.search_tokens(TokenQuery(patterns=(NUL,)))) == (0, [])
    assert run(loop, store.search_tokens(TokenQuery(patterns=(NUL, "c1"))))[0] == 1
    for delete in (store.delete_client, store.delete_scope, store.delete_script):
        assert run(loop, delete(NUL)) is False


def test_revoking_by_a_key_with_a_nul_revokes_nothing(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    record = token(client="c1", user="c1", session="c1", grant="c1")
    run(loop, store.insert_tokens([record]))
    for target in (RevocationTarget.client(NUL), RevocationTarget.user(NUL),
                   RevocationTarget.grants([NUL])):  # fmt: skip
        assert run(loop, store.revoke(target, 0, audit())) == 0
    assert run(loop, store.revoke(RevocationTarget.grants([NUL, "c1"]), 0, audit())) == 1
    assert live(loop, store, record) == [False]


def test_a_write_of_a_nul_is_refused_on_postgres(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    if not isinstance(store, PostgresStore):
        pytest.skip("SQLite's text holds a NUL")
    with pytest.raises(UnstorableText):
        run(loop, store.save_user(User(inum=NUL, uid=NUL, password_hash="x")))
