"""Token Status List storage, on every backend: index blocks, the revoked-token read, and
the purge keeping the bits of the tombstones it deletes."""

from __future__ import annotations

import asyncio
import dataclasses

from tests.store.test_store_contract import NOW, audit, run, token
from tokenrevoke.model import AppConfiguration
from tokenrevoke.oauth.status_lists import IndexAllocator, StatusRef, current_list
from tokenrevoke.store import RevocationTarget, Store


def test_blocks_never_overlap(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    async def many() -> list[int]:
        return list(
            await asyncio.gather(*(store.allocate_status_indices(7, 100) for _ in range(20)))
        )

    firsts = run(loop, many())
    assert sorted(firsts) == list(range(0, 2000, 100))
    assert run(loop, store.allocate_status_indices(8, 5)) == 0  # each list counts on its own
    state = run(loop, store.read_status_list(7))
    assert state is not None and state.size == 2000
    assert run(loop, store.read_status_list(9)) is None
    assert run(loop, store.status_list_ids()) == [7, 8]


def test_the_list_reads_exactly_the_revoked_tokens(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    run(loop, store.allocate_status_indices(1, 10))
    records = [dataclasses.replace(token(f"g{i}"), status_list=1, status_idx=i) for i in range(10)]
    other = dataclasses.replace(token("g3"), status_list=2, status_idx=3)  # another list
    run(loop, store.insert_tokens([*records, other, token("g5")]))  # and one with no index
    assert run(loop, store.get_token(records[4].code)) == records[4]  # the columns round-trip
    run(loop, store.revoke(RevocationTarget.grants(["g3", "g5"]), NOW, audit()))
    state = run(loop, store.read_status_list(1))
    assert state is not None and sorted(state.revoked) == [3, 5] and state.purged == b""


def test_the_list_reads_tokens_revoked_by_a_walk_and_tokens_stored_revoked(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    run(loop, store.allocate_status_indices(1, 10))
    walked = [
        dataclasses.replace(token(f"g{i}", "c1"), status_list=1, status_idx=i) for i in range(4)
    ]
    stored = dataclasses.replace(
        token("g9", "c2"), status_list=1, status_idx=9,
        revoked_at=NOW - 1, revoked_by="tester", revoke_reason="test",
    )  # fmt: skip
    run(loop, store.insert_tokens([*walked, stored]))
    run(loop, store.revoke(RevocationTarget.client("c1"), NOW, audit()))
    state = run(loop, store.read_status_list(1))
    assert state is not None and sorted(state.revoked) == [0, 1, 2, 3, 9]


def test_purge_keeps_the_bits_of_revoked_tokens_and_retires_empty_lists(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    for list_id in (1, 2, 3):
        run(loop, store.allocate_status_indices(list_id, 20))
    expired = [
        dataclasses.replace(token(f"e{i}"), status_list=1, status_idx=i, expires_at=NOW - 5)
        for i in range(12)
    ]
    gone = dataclasses.replace(token("x"), status_list=2, status_idx=0, expires_at=NOW - 5)
    kept = dataclasses.replace(token("k"), status_list=1, status_idx=15)
    run(loop, store.insert_tokens([*expired, gone, kept]))
    grants = ["e2", "e9", "e11", "k"]
    run(loop, store.revoke(RevocationTarget.grants(grants), NOW - 10, audit()))  # e*: live then
    run(loop, store.revoke(RevocationTarget.grants(["k"]), NOW, audit()))
    while run(loop, store.purge_expired(NOW, 5, keep_lists=[3, 4])):
        pass
    state = run(loop, store.read_status_list(1))
    assert state is not None and state.revoked == [15]
    assert [i for i in range(8 * len(state.purged)) if state.purged[i // 8] >> (i % 8) & 1] == [
        2, 9, 11,
    ]  # fmt: skip
    # List 2 has no token left: retired. List 3 neither, but it is kept.
    assert run(loop, store.status_list_ids()) == [1, 3]


def test_the_allocator_hands_out_each_index_once(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    config = AppConfiguration.build({"statusListIndexAllocationBlockSize": 10}, 1, "http://x")
    allocator = IndexAllocator(store, lambda: config)

    async def burst() -> list[StatusRef]:
        return list(await asyncio.gather(*(allocator.allocate(NOW) for _ in range(500))))

    refs = run(loop, burst()) + run(loop, burst())
    run(loop, allocator.close())
    assert len({r.index for r in refs}) == 1000  # never twice, across refills
    assert {r.list_id for r in refs} == {current_list(config, NOW)}
    state = run(loop, store.read_status_list(current_list(config, NOW)))
    # Handed out: the 1,000 taken, plus what the node fetched ahead (bigger blocks, once a
    # burst outran one).
    assert state is not None and 1000 <= state.size <= 1000 + 10 * IndexAllocator.MAX_SCALE * 2
