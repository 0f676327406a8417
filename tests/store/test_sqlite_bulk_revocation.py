"""Revocations that the SQLite writer runs together (`submit_bulk`) give what they would
give one after another: the same counts, tombstones, audit records and events."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Collection
from pathlib import Path

import pytest

from tests.support.writer import in_one_batch
from tokenrevoke.crypto import new_grant_id, new_token, sha256_hex
from tokenrevoke.model import AuditEvent, TokenRecord, TokenType
from tokenrevoke.store.sqlite import store as sqlite_store
from tokenrevoke.store.sqlite.revoking import GrantJob, GrantResult
from tokenrevoke.store.sqlite.store import SqliteStore
from tokenrevoke.store.sqlite.writer import BulkWork

NOW = int(time.time())


def _grant(client: str, size: int) -> tuple[list[TokenRecord], list[str]]:
    """A grant of `size` tokens, and their raw values."""
    grant = new_grant_id()
    raws = [new_token() for _ in range(size)]
    kinds = [TokenType.ACCESS_TOKEN] * (size - 1) + [TokenType.REFRESH_TOKEN]
    records = [
        TokenRecord(sha256_hex(raw), grant, client, kind, "password", NOW, NOW + 3600)
        for raw, kind in zip(raws, kinds, strict=True)
    ]
    return records, raws


def _planner(client: str) -> object:
    """Revoke the grants of the live tokens of `client` among those found; nothing for
    another client's (as the revocation service plans it)."""

    def plan(records: list[TokenRecord]) -> tuple[Collection[str], AuditEvent] | None:
        live = [r for r in records if r.is_live(NOW)]
        if not live or any(r.client_id != client for r in live):
            return None
        grants = {r.grant_id for r in live}
        audit = AuditEvent("revoke", f"client:{client}", "revoke_endpoint", client,
                           {"grants": sorted(grants)})  # fmt: skip
        return grants, audit

    return plan


async def _in_one_batch(store: SqliteStore, jobs: list[tuple[str, str]]) -> list[int]:
    """Revoke (client, raw token) each, in one batch of the writer; the counts, in order."""

    def submit() -> list[Awaitable[tuple[list[TokenRecord], int]]]:
        return [
            store.revoke_grants_of([sha256_hex(raw)], _planner(client), NOW)  # type: ignore[arg-type]
            for client, raw in jobs
        ]

    return [count for _, count in await in_one_batch(store._writer, submit)]


def test_revocations_of_one_batch_each_revoke_their_grant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[int] = []
    real = sqlite_store.REVOKE_GRANTS_OF

    def many(conn: sqlite3.Connection, jobs: list[GrantJob]) -> list[GrantResult]:
        runs.append(len(jobs))
        return real.many(conn, jobs)

    monkeypatch.setattr(sqlite_store, "REVOKE_GRANTS_OF", BulkWork(real.one, many))

    async def scenario() -> None:
        store = await SqliteStore.open(tmp_path / "s.db")
        try:
            grants = [_grant(f"client-{i % 3}", 2 + i % 2) for i in range(12)]
            await store.insert_tokens([r for records, _ in grants for r in records])
            jobs = [(records[0].client_id, raws[0]) for records, raws in grants]
            assert await _in_one_batch(store, jobs) == [len(records) for records, _ in grants]
            assert runs == [12]  # one bulk call did them all
            for records, _ in grants:
                for record in records:
                    stored = await store.get_token(record.code)
                    assert stored is not None and stored.revoked_at == NOW
                    assert stored.revoked_by == f"client:{record.client_id}"
            audit = await store.list_audit(100)
            assert len(audit) == 12
            events = await store.list_events(0, 100) or []
            published = await store.publish_events([], 100)
            assert not events and len(published) == 12
            for (records, _), event in zip(grants, published, strict=True):
                assert event.grant_ids == (records[0].grant_id,)
                assert event.token_hashes == tuple(sorted(r.code for r in records))
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_grant_revoked_twice_in_one_batch_counts_once(tmp_path: Path) -> None:
    """The second revocation sees the first one's tombstones, as it would one after the
    other: it revokes nothing and writes no audit record or event."""

    async def scenario() -> None:
        store = await SqliteStore.open(tmp_path / "s.db")
        try:
            (shared, raws), (other, other_raws) = _grant("a", 3), _grant("a", 2)
            await store.insert_tokens(shared + other)
            jobs = [("a", raws[0]), ("a", other_raws[0]), ("a", raws[2])]
            assert await _in_one_batch(store, jobs) == [3, 2, 0]
            assert len(await store.list_audit(100)) == 2
            assert len(await store.publish_events([], 100)) == 2
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_refused_revocation_leaves_the_others_of_its_batch_alone(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await SqliteStore.open(tmp_path / "s.db")
        try:
            (mine, mine_raws), (theirs, their_raws) = _grant("a", 2), _grant("b", 2)
            await store.insert_tokens(mine + theirs)
            # "a" presents b's token (refused: nothing), then its own.
            assert await _in_one_batch(store, [("a", their_raws[0]), ("a", mine_raws[0])]) == [
                0,
                2,
            ]
            stored = await store.get_token(theirs[0].code)
            assert stored is not None and stored.revoked_at is None
        finally:
            await store.close()

    asyncio.run(scenario())
