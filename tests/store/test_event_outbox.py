"""The revocation-event outbox, on every backend: each revocation's event is written with
its tombstones, carries exactly what it newly revoked, and is published, leased and
settled per receiver."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from tests.store.test_store_contract import NOW, audit, run, token
from tokenrevoke.model import (
    DeliveryOutcome,
    PublishedEvents,
    RevocationEvent,
    TokenRecord,
    TokenType,
)
from tokenrevoke.store import RevocationTarget, Store

A, B = "https://a.example/events", "https://b.example/events"


def published(loop: asyncio.AbstractEventLoop, store: Store) -> list[RevocationEvent]:
    return list(run(loop, store.publish_events([A, B], 1000)))


def revoke_each(loop: asyncio.AbstractEventLoop, store: Store, tokens: list[TokenRecord]) -> None:
    """Each token's grant in a revocation of its own: one event each."""
    for t in tokens:
        run(loop, store.revoke(RevocationTarget.grants([t.grant_id]), NOW, audit()))


def test_a_grant_revocation_writes_one_event_with_exactly_what_it_revoked(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    grant = [token("g1", user="alice"), token("g1", kind=TokenType.REFRESH_TOKEN, user="alice")]
    already = dataclasses.replace(token("g1", user="alice"), revoked_at=NOW - 5)
    expired = dataclasses.replace(token("g1", user="alice"), expires_at=NOW - 1)
    other = token("g2")
    run(loop, store.insert_tokens([*grant, already, expired, other]))

    run(loop, store.revoke(RevocationTarget.grants(["g1"]), NOW, audit("leaked")))

    (event,) = published(loop, store)
    assert event.token_hashes == tuple(sorted(t.code for t in grant))
    assert (event.grant_ids, event.client_ids, event.user_ids) == (("g1",), ("c1",), ("alice",))
    assert (event.reason, event.action, event.actor) == ("leaked", "revoke", "tester")
    assert (event.target, event.target_values, event.revoked_at) == ("grant", ("g1",), NOW)
    assert event.position == 1 and event.batch == 1


def test_nothing_revoked_means_no_event(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    run(loop, store.insert_tokens([token("g1")]))
    run(loop, store.revoke(RevocationTarget.grants(["g1"]), NOW, audit()))
    run(loop, store.revoke(RevocationTarget.grants(["g1"]), NOW, audit("again")))
    run(loop, store.revoke(RevocationTarget.grants(["unknown"]), NOW, audit("none")))
    run(loop, store.revoke(RevocationTarget.client("nobody"), NOW, audit("none")))
    assert [e.reason for e in published(loop, store)] == ["test"]


def test_batched_revocations_emit_one_event_per_committed_batch(
    store: Store, loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tokenrevoke.store.postgres.revoking as pg
    import tokenrevoke.store.sqlite.store as lite

    monkeypatch.setattr(lite, "REVOKE_BATCH", 7)
    monkeypatch.setattr(pg, "REVOKE_BATCH", 7)
    mine = [token(f"g{i}", "bulk", user=f"u{i % 3}") for i in range(20)]
    run(loop, store.insert_tokens([*mine, token("x", "other")]))

    assert run(loop, store.revoke(RevocationTarget.client("bulk"), NOW, audit("bulk"))) == 20

    events = published(loop, store)
    assert [e.batch for e in events] == [1, 2, 3]
    assert len({e.revocation_id for e in events}) == 1
    assert [len(e.token_hashes) for e in events] == [7, 7, 6]
    assert sorted(h for e in events for h in e.token_hashes) == sorted(t.code for t in mine)
    assert {e.client_ids for e in events} == {("bulk",)}
    assert {u for e in events for u in e.user_ids} == {"u0", "u1", "u2"}
    assert [e.position for e in events] == [1, 2, 3]


def test_a_user_revocation_names_the_user_and_every_client(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    hers = [token("g1", "c1", user="alice"), token("g2", "c2", user="alice")]
    run(loop, store.insert_tokens([*hers, token("g3", "c1", user="bob")]))
    run(loop, store.revoke(RevocationTarget.user("alice"), NOW, audit("offboarded")))
    (event,) = published(loop, store)
    assert (event.target, event.target_values, event.user_ids) == ("user", ("alice",), ("alice",))
    assert event.client_ids == ("c1", "c2")
    assert event.token_hashes == tuple(sorted(t.code for t in hers))


def test_positions_are_consecutive_and_listed_after_a_cursor(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    tokens = [token(f"g{i}") for i in range(5)]
    run(loop, store.insert_tokens(tokens))
    assert run(loop, store.latest_event_position()) == 0
    revoke_each(loop, store, tokens[:3])
    assert [e.position for e in run(loop, store.publish_events([], 2))] == [1, 2]
    assert run(loop, store.list_events(0, 10)) == run(
        loop, store.list_events(0, 2)
    )  # 3 unpublished
    revoke_each(loop, store, tokens[3:])
    assert [e.position for e in published(loop, store)] == [3, 4, 5]
    assert published(loop, store) == []
    assert run(loop, store.latest_event_position()) == 5
    listed = run(loop, store.list_events(2, 10))
    assert [e.position for e in listed] == [3, 4, 5]
    assert [e.grant_ids for e in listed] == [(t.grant_id,) for t in tokens[2:]]


def test_deliveries_are_leased_settled_and_retried(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    tokens = [token(f"g{i}") for i in range(3)]
    run(loop, store.insert_tokens(tokens))
    revoke_each(loop, store, tokens)
    published(loop, store)

    claimed = run(loop, store.claim_deliveries([A, B], NOW, 30, 100))
    assert [(d.receiver, d.event.position, d.attempts) for d in claimed] == [
        (A, 1, 1), (B, 1, 1), (A, 2, 1), (B, 2, 1), (A, 3, 1), (B, 3, 1),
    ]  # fmt: skip
    assert claimed[0].event.token_hashes == (tokens[0].code,)
    # Leased: nobody else claims them until the lease runs out.
    assert run(loop, store.claim_deliveries([A, B], NOW + 29, 30, 100)) == []

    run(loop, store.settle_deliveries([
        DeliveryOutcome(A, 1, delivered=True),
        DeliveryOutcome(A, 2, delivered=False, retry_at=NOW + 5, error="503"),
        DeliveryOutcome(A, 3, delivered=False, error="invalid_request"),  # given up
    ], NOW))  # fmt: skip
    assert [(d.receiver, d.event.position, d.attempts) for d in
            run(loop, store.claim_deliveries([A], NOW + 5, 30, 100))] == [(A, 2, 2)]  # fmt: skip
    # B's lease ran out (a crashed deliverer): due again, attempt counted.
    again = run(loop, store.claim_deliveries([A, B], NOW + 31, 30, 100))
    assert [(d.receiver, d.event.position, d.attempts) for d in again] == [
        (B, 1, 2), (B, 2, 2), (B, 3, 2),
    ]  # fmt: skip
    # Only configured receivers are claimed.
    assert run(loop, store.claim_deliveries(["https://gone.example"], NOW + 99, 30, 100)) == []
    assert run(loop, store.claim_deliveries([], NOW + 99, 30, 100)) == []


def test_purge_keeps_what_a_configured_receiver_still_waits_for(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    tokens = [token(f"g{i}") for i in range(3)]
    run(loop, store.insert_tokens(tokens))
    revoke_each(loop, store, tokens)
    run(loop, store.publish_events([A], 100))
    run(loop, store.settle_deliveries([DeliveryOutcome(A, 1, delivered=True)], NOW))
    assert run(loop, store.purge_events(NOW, 100, [A])) == 0  # none old enough
    assert run(loop, store.purge_events(NOW + 1, 100, [A])) == 1  # 2 and 3 still pending
    assert [e.position for e in run(loop, store.list_events(0, 10))] == [2, 3]
    assert run(loop, store.purge_events(NOW + 1, 100, [])) == 2  # A is no longer configured
    assert run(loop, store.list_events(0, 10)) == []
    assert run(loop, store.claim_deliveries([A], NOW + 99, 30, 100)) == []


def test_postgres_nodes_publish_gap_free_and_never_claim_the_same_delivery(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """Several nodes (each its own pool) publishing and claiming at the same moment."""
    from tokenrevoke.store import open_store

    async def scenario() -> tuple[list[int], list[tuple[str, int]], int]:
        nodes = [await open_store(postgres_url) for _ in range(3)]
        try:
            tokens = [token(f"g{i}") for i in range(40)]
            await nodes[0].insert_tokens(tokens)

            async def revoke_and_publish(i: int) -> PublishedEvents:
                node = nodes[i % 3]
                await node.revoke(RevocationTarget.grants([tokens[i].grant_id]), NOW, audit())
                return await node.publish_events([A, B], 7)

            await asyncio.gather(*(revoke_and_publish(i) for i in range(40)))
            while await nodes[1].publish_events([A, B], 100):  # whatever a busy turn left
                pass
            positions = [e.position or 0 for e in await nodes[2].list_events(0, 1000)]
            claims = await asyncio.gather(
                *(n.claim_deliveries([A, B], NOW, 60, 10) for n in nodes for _ in range(4))
            )
            claimed = [(d.receiver, d.event.position or 0) for c in claims for d in c]
            return positions, claimed, await nodes[0].latest_event_position()
        finally:
            for node in nodes:
                await node.close()

    positions, claimed, latest = loop.run_until_complete(scenario())
    assert positions == list(range(1, 41)) and latest == 40
    assert len(claimed) == len(set(claimed)) == 80  # every delivery claimed exactly once
