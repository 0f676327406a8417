"""Issuances that the SQLite writer runs together (`ISSUE_TOKENS`): one look-up of the
batch's clients and one insert, with each issuance's answer what it would be alone."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from tests.support.writer import in_one_batch
from tokenrevoke.crypto import new_grant_id, new_token, sha256_hex
from tokenrevoke.model import AuthMethod, Client, TokenRecord, TokenType
from tokenrevoke.store.sqlite import store as sqlite_store
from tokenrevoke.store.sqlite.rows import IssueJob
from tokenrevoke.store.sqlite.store import SqliteStore
from tokenrevoke.store.sqlite.writer import BulkWork

NOW = int(time.time())


def _tokens(client_id: str, count: int) -> list[TokenRecord]:
    grant = new_grant_id()
    return [
        TokenRecord(
            sha256_hex(new_token()),
            grant,
            client_id,
            TokenType.ACCESS_TOKEN,
            "client_credentials",
            NOW,
            NOW + 3600,
        )  # fmt: skip
        for _ in range(count)
    ]


def test_a_batch_issues_for_the_clients_that_exist_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[list[str]] = []
    real = sqlite_store.ISSUE_TOKENS

    def many(conn: sqlite3.Connection, jobs: list[IssueJob]) -> list[bool]:
        runs.append([client_id for client_id, _ in jobs])
        return real.many(conn, jobs)

    monkeypatch.setattr(sqlite_store, "ISSUE_TOKENS", BulkWork(real.one, many))

    async def scenario() -> None:
        store = await SqliteStore.open(tmp_path / "s.db")
        try:
            for name in ("a", "b"):
                await store.save_client(
                    Client(client_id=name, client_name=name, auth_method=AuthMethod.NONE)
                )
            asked = [_tokens("a", 2), _tokens("gone", 1), _tokens("b", 3), _tokens("a", 1)]

            def submit() -> list[Awaitable[Any]]:
                return [store.issue_tokens(tokens) for tokens in asked]

            assert await in_one_batch(store._writer, submit) == [True, False, True, True]
            assert runs == [["a", "gone", "b", "a"]]  # one bulk call for the batch
            for tokens, kept in zip(asked, [True, False, True, True], strict=True):
                for token in tokens:
                    assert (await store.get_token(token.code) is not None) is kept
        finally:
            await store.close()

    asyncio.run(scenario())


def test_one_bad_issuance_fails_alone(tmp_path: Path) -> None:
    """A token whose hash is already stored fails its issuance (run again job by job);
    the batch's other issuances are stored."""

    async def scenario() -> None:
        store = await SqliteStore.open(tmp_path / "s.db")
        try:
            await store.save_client(Client(client_id="a", client_name="a"))
            taken = _tokens("a", 1)
            await store.insert_tokens(taken)
            asked = [_tokens("a", 1), taken, _tokens("a", 2)]

            def submit() -> list[Awaitable[Any]]:
                return [store.issue_tokens(tokens) for tokens in asked]

            first, failed, last = await in_one_batch(store._writer, submit)
            assert (first, last) == (True, True) and isinstance(failed, sqlite3.IntegrityError)
            for token in asked[0] + asked[2]:
                assert await store.get_token(token.code) is not None
        finally:
            await store.close()

    asyncio.run(scenario())
