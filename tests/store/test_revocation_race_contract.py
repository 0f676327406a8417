"""The Store contract for a revocation that races a refresh: when `revoke` returns, no token
of the target is live, not even one a refresh committed behind the batches' walk. Runs
against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.store.test_store_contract import NOW, audit, live, run, token
from tokenrevoke.model import TokenRecord, TokenType
from tokenrevoke.model.token import ROTATED_FROM, ROTATION
from tokenrevoke.store import RevocationTarget, Store
from tokenrevoke.store.sqlite.store import SqliteStore


def keyed(record: TokenRecord, digit: str, issued: int) -> TokenRecord:
    """The token with a code and an issue time that place it in every walk's order (the
    walks go by issue time, hash or rowid; docs/architecture.md, Storage)."""
    return dataclasses.replace(record, code=digit * 64, created_at=issued)


def after_first_write(store: Store, then: Callable[[], Awaitable[Any]]) -> None:
    """Run `then` right after the store's first committed write from now on: for a
    batched revocation, between its first batch and the next."""
    name = "_write" if isinstance(store, SqliteStore) else "_run"
    original = getattr(store, name)
    armed = [True]

    async def write(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        if armed[0]:
            armed[0] = False
            await then()
        return result

    setattr(store, name, write)


@pytest.mark.parametrize(
    "target",
    [RevocationTarget.user("u1"), RevocationTarget.session("s1"), RevocationTarget.client("c1")],
    ids=["user", "session", "client"],
)
# Where the successor lands: walked first (behind the walk when it commits), or last.
@pytest.mark.parametrize("successor", [("0", NOW - 200), ("f", NOW + 100)], ids=["behind", "ahead"])
def test_a_refresh_racing_the_walk_leaves_nothing_live(
    store: Store,
    loop: asyncio.AbstractEventLoop,
    monkeypatch: pytest.MonkeyPatch,
    target: RevocationTarget,
    successor: tuple[str, int],
) -> None:
    import tokenrevoke.store.postgres.revoking as pg
    import tokenrevoke.store.sqlite.store as lite

    monkeypatch.setattr(lite, "REVOKE_BATCH", 2)
    monkeypatch.setattr(pg, "REVOKE_BATCH", 2)

    def users(grant: str, kind: TokenType = TokenType.ACCESS_TOKEN) -> TokenRecord:
        return token(grant, "c1", kind, user="u1", session="s1")

    issued = [keyed(users(f"g{i}"), str(i + 1), NOW - 100) for i in range(5)]
    # Walked late: its refresh commits after the first batch.
    old = keyed(users("family", TokenType.REFRESH_TOKEN), "e", NOW)
    new = keyed(users("family", TokenType.REFRESH_TOKEN), *successor)
    new.attributes[ROTATED_FROM] = old.code
    bystander = token("x", "c2", user="u2", session="s2")
    run(loop, store.insert_tokens([*issued, old, bystander]))

    async def refresh() -> None:
        assert await store.rotate_refresh_token(old.code, [new], NOW)

    after_first_write(store, refresh)
    assert run(loop, store.revoke(target, NOW, audit("race"))) == 6
    assert live(loop, store, *issued, old, new) == [False] * 7
    assert live(loop, store, bystander) == [True]
    records = {r.code: r for r in run(loop, store.get_tokens([old.code, new.code]))}
    assert (records[old.code].revoked_by, records[new.code].revoked_by) == (ROTATION, "tester")
    assert [(a["reason"], a["count"]) for a in run(loop, store.list_audit())] == [("race", 6)]
    events = run(loop, store.publish_events([], 100))
    assert len({e.revocation_id for e in events}) == 1
    revoked = sorted(code for e in events for code in e.token_hashes)
    assert revoked == sorted(t.code for t in [*issued, new])
