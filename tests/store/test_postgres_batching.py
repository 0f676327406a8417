"""Group commit on PostgreSQL (store/postgres/batcher.py): concurrent writes share
batches, each is committed (visible to another connection) when its await returns, one
failing member fails alone, and reads stay fresh across nodes."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Collection

import asyncpg
import pytest

from tests.store.test_store_contract import NOW, audit, token
from tokenrevoke.model import AuditEvent, TokenRecord, TokenType
from tokenrevoke.model.token import ROTATION
from tokenrevoke.store import RevocationTarget, UnstorableText
from tokenrevoke.store.postgres import PostgresStore

Plan = tuple[Collection[str], AuditEvent] | None


def every_grant(records: list[TokenRecord]) -> Plan:
    grants = {r.grant_id for r in records if r.is_live(NOW)}
    return (grants, audit("batch")) if grants else None


def test_concurrent_revocations_commit_in_fewer_transactions(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    async def scenario() -> None:
        store = await PostgresStore.open(postgres_url)
        observer = await asyncpg.create_pool(postgres_url, min_size=1, max_size=4)
        try:
            tokens = [token(f"g{i}") for i in range(200)]
            await store.insert_tokens(tokens)
            before = store.writes.batches

            async def revoke(record: TokenRecord) -> None:
                found, revoked = await store.revoke_grants_of([record.code], every_grant, NOW)
                assert ([r.code for r in found], revoked) == ([record.code], 1)
                # Committed by now: another connection sees the tombstone.
                assert await observer.fetchval(
                    "SELECT revoked_at FROM tokens WHERE tkn_cde = $1", record.code
                ) == NOW  # fmt: skip

            await asyncio.gather(*(revoke(t) for t in tokens))
            batches = store.writes.batches - before
            assert batches < len(tokens) / 4, batches
            assert await observer.fetchval("SELECT count(*) FROM audit") == 200
            events = await store.publish_events([], 500)
            assert sorted(h for e in events for h in e.token_hashes) == sorted(
                t.code for t in tokens
            )
            assert all(e.target == "grant" and e.reason == "batch" for e in events)
        finally:
            await observer.close()
            await store.close()

    loop.run_until_complete(scenario())


def test_batched_issuances_check_their_clients(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    async def scenario() -> None:
        store = await PostgresStore.open(postgres_url)
        try:
            await store._run(  # two clients exist; "gone" does not
                lambda conn: conn.execute("INSERT INTO clients VALUES ('c1', '{}'), ('c2', '{}')")
            )
            issued = [[token(f"g{i}", client), token(f"g{i}", client, TokenType.REFRESH_TOKEN)]
                      for i, client in enumerate(["c1", "c2", "gone"] * 30)]  # fmt: skip
            before = store.writes.batches
            results = await asyncio.gather(*(store.issue_tokens(pair) for pair in issued))
            assert store.writes.batches - before < len(issued) / 4
            assert results == [pair[0].client_id != "gone" for pair in issued]
            found = {t.code for t in await store.get_tokens([t.code for p in issued for t in p])}
            assert found == {t.code for p in issued for t in p if t.client_id != "gone"}
        finally:
            await store.close()

    loop.run_until_complete(scenario())


def test_a_failing_member_does_not_fail_its_batch(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    async def scenario() -> None:
        store = await PostgresStore.open(postgres_url)
        try:
            stored = token("old")
            victims = [token(f"v{i}") for i in range(20)]
            await store.insert_tokens([stored, *victims])
            fresh = [token(f"n{i}") for i in range(40)]
            duplicate = dataclasses.replace(token("dup"), code=stored.code)
            unstorable = token("bad\0grant")
            before = store.writes.batches
            results = await asyncio.gather(
                *(store.insert_tokens([t]) for t in fresh[:20]),
                store.insert_tokens([duplicate]),
                *(store.revoke_grants_of([v.code], every_grant, NOW) for v in victims),
                store.insert_tokens([unstorable]),
                *(store.insert_tokens([t]) for t in fresh[20:]),
                return_exceptions=True,
            )
            assert isinstance(results[20], asyncpg.UniqueViolationError)
            assert isinstance(results[41], UnstorableText)
            assert [r for i, r in enumerate(results) if i not in (20, 41)] == (
                [None] * 20 + [([v], 1) for v in victims] + [None] * 20
            )
            # The failures were in the first batch with the others, which then ran alone.
            assert store.writes.batches - before < 10
            found = await store.get_tokens([t.code for t in [*fresh, stored, *victims]])
            assert len(found) == 61
            assert {t.code: t.grant_id for t in found}[stored.code] == "old"
            assert await store.get_token(unstorable.code) is None
        finally:
            await store.close()

    loop.run_until_complete(scenario())


def test_a_revocation_whose_audit_cannot_be_stored_fails_alone(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """The batch's grants and audit records travel as one JSON text: a NUL in one
    member's reason (JSON's \\u0000, which PostgreSQL's text refuses) fails that member
    alone, while others' quotes, backslashes and non-ASCII go through as they are."""

    def plan_with(reason: str) -> Callable[[list[TokenRecord]], Plan]:
        def plan(records: list[TokenRecord]) -> Plan:
            event = dataclasses.replace(audit("batch"), reason=reason, details={"r": reason})
            return {r.grant_id for r in records}, event

        return plan

    async def scenario() -> None:
        store = await PostgresStore.open(postgres_url)
        try:
            victims = [token(f"j{i}") for i in range(10)]
            await store.insert_tokens(victims)
            reasons = [f'r{i} "q" \\ é 😀' for i in range(10)]
            reasons[4] = "bad\0reason"
            results = await asyncio.gather(
                *(
                    store.revoke_grants_of([v.code], plan_with(reasons[i]), NOW)
                    for i, v in enumerate(victims)
                ),
                return_exceptions=True,
            )
            assert isinstance(results[4], UnstorableText)
            assert [r for i, r in enumerate(results) if i != 4] == [
                ([v], 1) for i, v in enumerate(victims) if i != 4
            ]
            stored = {t.code: t for t in await store.get_tokens([v.code for v in victims])}
            for i, v in enumerate(victims):
                assert (stored[v.code].revoke_reason == reasons[i]) is (i != 4)
            audited = {e["reason"]: e["details"] for e in await store.list_audit(50)}
            assert audited == {r: {"r": r} for i, r in enumerate(reasons) if i != 4}
        finally:
            await store.close()

    loop.run_until_complete(scenario())


def test_revocations_of_one_grant_in_one_batch_revoke_it_once(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """Later revocations of a grant see the earlier one's tombstones, as if run in turn."""

    async def scenario() -> None:
        store = await PostgresStore.open(postgres_url)
        try:
            family = [token("shared"), token("shared", kind=TokenType.REFRESH_TOKEN)]
            others = [token(f"o{i}") for i in range(10)]
            await store.insert_tokens([*family, *others])
            results = await asyncio.gather(
                *(
                    store.revoke_grants_of([family[i % 2].code], every_grant, NOW)
                    for i in range(10)
                ),
                *(store.revoke_grants_of([o.code], every_grant, NOW) for o in others),
            )
            assert sorted(n for _, n in results[:10]) == [0] * 9 + [2]
            assert [n for _, n in results[10:]] == [1] * 10
            audits = await store.list_audit(100)
            assert sorted(a["count"] for a in audits) == [1] * 10 + [2]
            events = await store.publish_events([], 100)
            assert len(events) == 11
        finally:
            await store.close()

    loop.run_until_complete(scenario())


def test_refresh_rotation_stays_exclusive_beside_batches(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """30 rotations of one refresh token race batches of issuances and revocations: one
    rotation wins, the family keeps one live refresh token, the batches all commit."""

    async def scenario() -> None:
        store = await PostgresStore.open(postgres_url)
        try:
            await store._run(lambda conn: conn.execute("INSERT INTO clients VALUES ('c1', '{}')"))
            refresh = token("fam", kind=TokenType.REFRESH_TOKEN)
            victims = [token(f"v{i}") for i in range(30)]
            await store.insert_tokens([refresh, *victims])
            successors = [token("fam", kind=TokenType.REFRESH_TOKEN) for _ in range(30)]
            rotated, revoked, issued = await asyncio.gather(
                asyncio.gather(
                    *(store.rotate_refresh_token(refresh.code, [s], NOW) for s in successors)
                ),
                asyncio.gather(
                    *(store.revoke_grants_of([v.code], every_grant, NOW) for v in victims)
                ),
                asyncio.gather(*(store.issue_tokens([token(f"i{i}")]) for i in range(30))),
            )
            assert rotated.count(True) == 1
            assert [n for _, n in revoked] == [1] * 30
            assert issued == [True] * 30
            winner = successors[rotated.index(True)]
            rows = await store.get_tokens([refresh.code, *(s.code for s in successors)])
            assert [r.code for r in rows if r.is_live(NOW)] == [winner.code]
        finally:
            await store.close()

    loop.run_until_complete(scenario())


def test_reads_never_join_a_lookup_sent_before_a_write_committed(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """Two nodes: each revocation acknowledged by one is seen by the other's next read,
    while that node's shared lookups are kept busy by a steady read load."""

    async def scenario() -> None:
        a = await PostgresStore.open(postgres_url)
        b = await PostgresStore.open(postgres_url)
        try:
            tokens = [token(f"g{i}") for i in range(100)]
            await a.insert_tokens(tokens)
            done = False

            async def background() -> int:
                reads = 0
                while not done:
                    await asyncio.gather(*(b.get_token(t.code) for t in tokens[:32]))
                    reads += 32
                return reads

            load = asyncio.ensure_future(background())
            reads_before = b.reads.batches
            for t in tokens:
                assert (await b.get_token(t.code)).is_live(NOW)  # type: ignore[union-attr]
                assert (await a.revoke_grants_of([t.code], every_grant, NOW))[1] == 1
                seen = await b.get_token(t.code)
                assert seen is not None and not seen.is_live(NOW), t.grant_id
            done = True
            reads = await load
            assert b.reads.batches - reads_before < reads  # the load's reads were shared
        finally:
            await a.close()
            await b.close()

    loop.run_until_complete(scenario())


@pytest.mark.parametrize("kind", ["client", "user"])
def test_revoke_all_does_not_hold_up_batched_writes(
    postgres_url: str, loop: asyncio.AbstractEventLoop, kind: str
) -> None:
    """While a large scope is revoked in keyset batches, other revocations commit."""

    async def scenario() -> None:
        store = await PostgresStore.open(postgres_url)
        try:
            big = [token(f"b{i}", "big", user="u1") for i in range(6000)]
            await store.insert_tokens(big)
            victims = [token(f"v{i}") for i in range(40)]
            await store.insert_tokens(victims)
            target = (
                RevocationTarget.client("big") if kind == "client" else RevocationTarget.user("u1")
            )
            everything = asyncio.ensure_future(store.revoke(target, NOW, audit("all")))
            results = await asyncio.gather(
                *(store.revoke_grants_of([v.code], every_grant, NOW) for v in victims)
            )
            assert [n for _, n in results] == [1] * 40
            assert await everything == 6000
            assert await store.count_tokens("big", live_at=NOW) == 0
            counts = sorted(a["count"] for a in await store.list_audit(100))
            assert counts == [1] * 40 + [6000]
        finally:
            await store.close()

    loop.run_until_complete(scenario())


def test_batches_in_flight_stay_grant_disjoint_and_leave_nothing_live(
    postgres_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    """Two write batches in flight (batcher.py, `Claims`): revocations of one grant arrive
    staggered, so that some land in a batch while another batch revoking that grant is in
    flight, beside a refresh chain of the grant and a revocation of it as a grant target
    (what reuse detection does). The later batch waits for the earlier one's COMMIT, each
    token is revoked exactly once, and no token of the grant stays live."""

    async def scenario() -> None:
        store = await PostgresStore.open(postgres_url)
        observer = await asyncpg.connect(postgres_url)
        try:
            assert store.writes._parallel >= 2
            families = {f"fam{n}": [token(f"fam{n}") for _ in range(6)] for n in range(12)}
            refreshes = {g: token(g, kind=TokenType.REFRESH_TOKEN) for g in families}
            await store.insert_tokens([*(t for f in families.values() for t in f),
                                       *refreshes.values()])  # fmt: skip

            async def revoke_later(record: TokenRecord, delay: float) -> int:
                await asyncio.sleep(delay)
                _, revoked = await store.revoke_grants_of([record.code], every_grant, NOW)
                return revoked

            async def revoke_grant(grant: str, delay: float) -> int:
                await asyncio.sleep(delay)
                return await store.revoke(RevocationTarget.grants([grant]), NOW, audit("reuse"))

            async def refresh_chain(grant: str) -> int:
                current, rotations = refreshes[grant], 0
                while True:
                    successor = token(grant, kind=TokenType.REFRESH_TOKEN)
                    if not await store.rotate_refresh_token(current.code, [successor], NOW):
                        return rotations
                    current, rotations = successor, rotations + 1

            delays = (0.0, 0.0005, 0.001, 0.002, 0.003, 0.005)
            work = [
                *(revoke_later(t, d) for f in families.values() for t, d in zip(f, delays)),
                *(revoke_grant(g, 0.004) for g in families),
            ]
            revoked, _ = await asyncio.gather(
                asyncio.gather(*work), asyncio.gather(*(refresh_chain(g) for g in families))
            )
            assert store.claims.waits > 0  # a batch did wait for another in flight
            live = await observer.fetchval(
                "SELECT count(*) FROM tokens WHERE revoked_at IS NULL AND grt_id LIKE 'fam%'"
            )
            assert live == 0
            # Every token of the grants revoked exactly once: no lost update, no double count.
            by_revocation = await observer.fetchval(
                "SELECT count(*) FROM tokens WHERE grt_id LIKE 'fam%' AND revoked_by <> $1",
                ROTATION,
            )
            assert sum(revoked) == by_revocation
            assert by_revocation >= 7 * len(families)  # six access tokens, a refresh token
        finally:
            await observer.close()
            await store.close()

    loop.run_until_complete(scenario())
