"""The Store contract for refresh-token rotation with reuse detection: judging a refresh
token that is no longer live, and re-exchanging the previous one inside the grace window.
Every test runs against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses

from tests.store.test_store_contract import NOW, audit, run, token
from tokenrevoke.crypto import sha256_hex
from tokenrevoke.model import TokenRecord, TokenType
from tokenrevoke.model.token import ROTATED, ROTATED_FROM, ROTATION, SUPERSEDED
from tokenrevoke.store import RevocationTarget, Store
from tokenrevoke.store.base import PreviousRefreshToken, TokenQuery

REISSUED, REUSED, INVALID = (
    PreviousRefreshToken.REISSUED,
    PreviousRefreshToken.REUSED,
    PreviousRefreshToken.INVALID,
)
GRANT = "family"
GRACE = 10


def successor(of: TokenRecord) -> TokenRecord:
    """A refresh token rotated in for `of`, linked to it as the token endpoint links it."""
    record = token(GRANT, kind=TokenType.REFRESH_TOKEN)
    record.attributes[ROTATED_FROM] = of.code
    return record


def first(loop: asyncio.AbstractEventLoop, store: Store) -> TokenRecord:
    record = token(GRANT, kind=TokenType.REFRESH_TOKEN)
    run(loop, store.insert_tokens([record]))
    return record


def rotate(loop: asyncio.AbstractEventLoop, store: Store, old: TokenRecord, at: int) -> TokenRecord:
    new = successor(old)
    assert run(loop, store.rotate_refresh_token(old.code, [new], at))
    return new


def exchange(
    loop: asyncio.AbstractEventLoop, store: Store, old: TokenRecord, at: int, grace: int = GRACE
) -> tuple[PreviousRefreshToken, TokenRecord]:
    new = successor(old)
    return run(loop, store.exchange_previous_refresh_token(old.code, [new], at, grace)), new


def family(loop: asyncio.AbstractEventLoop, store: Store) -> dict[str, TokenRecord]:
    query = TokenQuery(fields=(("grtId", GRANT),), limit=1000)
    return {r.code: r for r in run(loop, store.search_tokens(query))[1]}


def live_refresh(loop: asyncio.AbstractEventLoop, store: Store) -> list[str]:
    return [
        r.code
        for r in family(loop, store).values()
        if r.token_type is TokenType.REFRESH_TOKEN and r.is_live(NOW)
    ]


def test_previous_token_inside_the_window_is_reissued_and_its_successor_retired(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    a = first(loop, store)
    b = rotate(loop, store, a, NOW - 3)
    verdict, c = exchange(loop, store, a, NOW)
    assert verdict is REISSUED
    rows = family(loop, store)
    assert (rows[a.code].revoked_by, rows[a.code].revoke_reason) == (ROTATION, ROTATED)
    assert rows[a.code].revoked_at == NOW - 3  # the window does not move
    assert (rows[b.code].revoked_by, rows[b.code].revoke_reason) == (ROTATION, SUPERSEDED)
    assert rows[b.code].revoked_at == NOW
    assert live_refresh(loop, store) == [c.code]
    # Still the previous token of the live one: inside the window it may be retried again.
    verdict, d = exchange(loop, store, a, NOW + 1)
    assert verdict is REISSUED
    assert live_refresh(loop, store) == [d.code]


def test_previous_token_after_the_window_is_reuse_and_nothing_changes(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    a = first(loop, store)
    b = rotate(loop, store, a, NOW - GRACE)  # the window is [rotation, rotation + grace)
    before = family(loop, store)
    assert exchange(loop, store, a, NOW)[0] is REUSED
    assert exchange(loop, store, a, NOW, grace=0)[0] is REUSED
    assert family(loop, store) == before
    assert live_refresh(loop, store) == [b.code]


def test_an_older_token_or_a_superseded_one_is_reuse_even_inside_the_window(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    a = first(loop, store)
    b = rotate(loop, store, a, NOW)
    c = rotate(loop, store, b, NOW)
    assert exchange(loop, store, a, NOW)[0] is REUSED  # c's predecessor is b, not a
    verdict, d = exchange(loop, store, b, NOW)
    assert verdict is REISSUED  # c superseded
    assert exchange(loop, store, c, NOW)[0] is REUSED  # d came from b: c is a dead branch
    assert live_refresh(loop, store) == [d.code]


def test_revoked_expired_unknown_and_live_tokens_are_invalid(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    revoked = token("other", kind=TokenType.REFRESH_TOKEN)
    expired_rotated = token("old", kind=TokenType.REFRESH_TOKEN)
    access = token("other-access")
    run(loop, store.insert_tokens([revoked, expired_rotated, access]))
    replacement = token("old", kind=TokenType.REFRESH_TOKEN)
    assert run(loop, store.rotate_refresh_token(expired_rotated.code, [replacement], NOW - 5))
    run(loop, store.revoke(RevocationTarget.grants(["other"]), NOW, audit()))
    run(loop, store.revoke(RevocationTarget.grants(["other-access"]), NOW, audit()))
    live = first(loop, store)
    unknown = dataclasses.replace(live, code=sha256_hex("never issued"))
    for record, at in ((revoked, NOW), (expired_rotated, NOW + 301), (unknown, NOW),
                       (access, NOW), (live, NOW)):  # fmt: skip
        assert exchange(loop, store, record, at, grace=10_000)[0] is INVALID
    assert live_refresh(loop, store) == [live.code]


def test_a_revoked_family_cannot_be_reissued(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    a = first(loop, store)
    rotate(loop, store, a, NOW)
    run(loop, store.revoke(RevocationTarget.grants([GRANT]), NOW, audit("reuse")))
    # a is still a rotation tombstone (a replay), but no live successor is left to retire.
    assert exchange(loop, store, a, NOW)[0] is REUSED
    assert live_refresh(loop, store) == []


def test_concurrent_reexchanges_leave_exactly_one_live_refresh_token(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    a = first(loop, store)
    b = rotate(loop, store, a, NOW)

    async def race() -> list[PreviousRefreshToken | bool]:
        # 25 retries of the previous token, interleaved with 25 rotations of its successor.
        jobs: list[asyncio.Future[PreviousRefreshToken | bool]] = []
        for _ in range(25):
            jobs.append(
                asyncio.ensure_future(
                    store.exchange_previous_refresh_token(a.code, [successor(a)], NOW, GRACE)
                )
            )
            jobs.append(
                asyncio.ensure_future(store.rotate_refresh_token(b.code, [successor(b)], NOW))
            )
        return list(await asyncio.gather(*jobs))

    results = run(loop, race())
    assert len(live_refresh(loop, store)) == 1
    # Whichever reaches b first decides: b's own rotation (then a is an older token: every
    # retry is reuse) or a retry of a (then b is superseded: every rotation of b fails).
    exchanges, rotations = results[0::2], results[1::2]
    if True in rotations:
        assert sorted(rotations) == [False] * 24 + [True]
        assert exchanges == [REUSED] * 25
    else:
        assert exchanges == [REISSUED] * 25


def test_concurrent_retries_of_the_previous_token_are_serialised(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    a = first(loop, store)
    rotate(loop, store, a, NOW)

    async def race() -> list[PreviousRefreshToken]:
        return list(
            await asyncio.gather(
                *(
                    store.exchange_previous_refresh_token(a.code, [successor(a)], NOW, GRACE)
                    for _ in range(50)
                )
            )
        )

    # Each retry sees the one before it (its successor is the live token) and retires it.
    assert run(loop, race()) == [REISSUED] * 50
    assert len(live_refresh(loop, store)) == 1
    rows = family(loop, store).values()
    assert sum(r.revoke_reason == SUPERSEDED for r in rows) == 50
