"""The Store contract: every backend must pass these."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from tokenrevoke.crypto import new_id, sha256_hex
from tokenrevoke.model import (
    AuditEvent,
    AuthMethod,
    Client,
    Scope,
    ScriptDefinition,
    TokenRecord,
    TokenType,
    User,
)
from tokenrevoke.store import RevocationTarget, Store
from tokenrevoke.store.base import ConflictError, SigningKey, TokenQuery

T = TypeVar("T")
NOW = int(time.time())


def run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    return loop.run_until_complete(coro)


def token(
    grant: str = "g1",
    client: str = "c1",
    kind: TokenType = TokenType.ACCESS_TOKEN,
    user: str | None = None,
    session: str | None = None,
    ttl: int = 300,
) -> TokenRecord:
    return TokenRecord(
        code=sha256_hex(new_id()),
        grant_id=grant,
        client_id=client,
        token_type=kind,
        grant_type="password",
        created_at=NOW,
        expires_at=NOW + ttl,
        scope="openid",
        user_id=user,
        session_id=session,
        attributes={"username": "alice"},
    )


def audit(reason: str = "test") -> AuditEvent:
    return AuditEvent("revoke", "tester", reason, "c1", {"why": reason})


def live(loop: asyncio.AbstractEventLoop, store: Store, *records: TokenRecord) -> list[bool]:
    found = {t.code: t for t in run(loop, store.get_tokens([r.code for r in records]))}
    return [found[r.code].is_live(NOW) for r in records]


def test_insert_and_get_round_trip(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    record = token(user="u1", session="s1")
    run(loop, store.insert_tokens([record]))
    assert run(loop, store.get_token(record.code)) == record
    assert run(loop, store.get_token(sha256_hex("nope"))) is None


def test_get_tokens_handles_many_codes(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    records = [token(grant=f"g{i}") for i in range(1200)]
    run(loop, store.insert_tokens(records))
    codes = [r.code for r in records] + [sha256_hex("unknown")]
    assert {t.code for t in run(loop, store.get_tokens(codes))} == {r.code for r in records}


def test_revoke_by_grant_cascades_within_the_grant_only(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    a1, r1 = token("g1"), token("g1", kind=TokenType.REFRESH_TOKEN)
    other = token("g2")
    run(loop, store.insert_tokens([a1, r1, other]))
    assert run(loop, store.revoke(RevocationTarget.grants(["g1"]), NOW, audit())) == 2
    assert live(loop, store, a1, r1, other) == [False, False, True]
    revoked = run(loop, store.get_token(a1.code))
    assert revoked is not None and revoked.revoked_at == NOW and revoked.revoked_by == "tester"


def test_revoke_is_idempotent_and_audited_once(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    run(loop, store.insert_tokens([token("g1")]))
    assert run(loop, store.revoke(RevocationTarget.grants(["g1"]), NOW, audit("first"))) == 1
    assert run(loop, store.revoke(RevocationTarget.grants(["g1"]), NOW, audit("second"))) == 0
    records = run(loop, store.list_audit())
    assert [r["reason"] for r in records] == ["first"]
    assert records[0]["count"] == 1 and records[0]["details"] == {"why": "first"}


def test_revoke_grants_of_found_tokens_as_planned(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    a1, r1 = token("g1"), token("g1", kind=TokenType.REFRESH_TOKEN)
    other, foreign = token("g2"), token("g3", client="c2")
    run(loop, store.insert_tokens([a1, r1, other, foreign]))
    seen: list[set[str]] = []

    def plan(records: list[TokenRecord]) -> tuple[set[str], AuditEvent] | None:
        seen.append({r.code for r in records})
        return {r.grant_id for r in records if r.client_id == "c1"}, audit("planned")

    unknown = sha256_hex("unknown")
    found, count = run(loop, store.revoke_grants_of([a1.code, a1.code, unknown], plan, NOW))
    assert [r.code for r in found] == [a1.code] and seen[-1] == {a1.code}
    assert count == 2  # the whole grant: its refresh token too
    assert live(loop, store, a1, r1, other, foreign) == [False, False, True, True]
    assert [r["reason"] for r in run(loop, store.list_audit())] == ["planned"]
    # The plan sees what is stored now (a1 revoked) and may decide to revoke nothing.
    found, count = run(loop, store.revoke_grants_of([a1.code, foreign.code], lambda _: None, NOW))
    assert {r.code for r in found} == {a1.code, foreign.code} and count == 0
    assert not found[0].is_live(NOW) or not found[1].is_live(NOW)
    assert live(loop, store, foreign) == [True]
    assert len(run(loop, store.list_audit())) == 1


def test_revoke_by_client_with_type_filter(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    access = token("g1", "c1")
    refresh = token("g1", "c1", TokenType.REFRESH_TOKEN)
    foreign = token("g2", "c2")
    run(loop, store.insert_tokens([access, refresh, foreign]))
    target = RevocationTarget.client("c1", [TokenType.REFRESH_TOKEN])
    assert run(loop, store.revoke(target, NOW, audit())) == 1
    assert live(loop, store, access, refresh, foreign) == [True, False, True]
    assert run(loop, store.revoke(RevocationTarget.client("c1"), NOW, audit())) == 1
    assert live(loop, store, access, refresh, foreign) == [False, False, True]


def test_revoke_by_user_and_by_session(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    alice1 = token("g1", user="alice", session="s1")
    alice2 = token("g2", client="c2", user="alice", session="s2")
    bob = token("g3", user="bob", session="s3")
    run(loop, store.insert_tokens([alice1, alice2, bob]))
    assert run(loop, store.revoke(RevocationTarget.session("s2"), NOW, audit())) == 1
    assert live(loop, store, alice1, alice2, bob) == [True, False, True]
    assert run(loop, store.revoke(RevocationTarget.user("alice"), NOW, audit())) == 1
    assert live(loop, store, alice1, alice2, bob) == [False, False, True]


def test_session_ids_of_a_user_cover_revoked_and_expired_tokens(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    revoked = token("g1", user="alice", session="s2")
    expired = dataclasses.replace(token("g2", user="alice", session="s1"), expires_at=NOW - 1)
    run(loop, store.insert_tokens([
        revoked, expired, token("g3", client="c2", user="alice", session="s2"),
        token("g4", user="alice"), token("g5", user="bob", session="s3"),
        token("g6", session="s4"),
    ]))  # fmt: skip
    run(loop, store.revoke(RevocationTarget.grants(["g1"]), NOW, audit()))
    assert run(loop, store.session_ids_of_user("alice")) == ["s1", "s2"]
    assert run(loop, store.session_ids_of_user("bob")) == ["s3"]
    assert run(loop, store.session_ids_of_user("nobody")) == []


def test_users_by_inum_and_by_email(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    alice = User("u1", "alice", "hash", "Alice@Example.COM")
    shared = User("u0", "alice2", "hash", "alice@example.com")
    bob = User("u2", "bob", "hash", None)
    for user in (alice, shared, bob):
        run(loop, store.save_user(user))
    assert run(loop, store.get_user("u1")) == alice
    assert run(loop, store.get_user("alice")) is None  # a uid is not an inum
    # Case-insensitive, every match (an email need not be unique), in inum order.
    assert run(loop, store.find_users_by_email(" ALICE@example.com")) == [shared, alice]
    assert run(loop, store.find_users_by_email("bob@example.com")) == []
    assert run(loop, store.find_users_by_email("")) == []
    # Changing a user's email moves them in the index.
    moved = dataclasses.replace(alice, email="new@example.com")
    run(loop, store.save_user(moved))
    assert run(loop, store.find_users_by_email("alice@example.com")) == [shared]
    assert run(loop, store.find_users_by_email("NEW@example.com")) == [moved]
    run(loop, store.save_user(dataclasses.replace(moved, email=None)))
    assert run(loop, store.find_users_by_email("new@example.com")) == []


def test_expired_tokens_are_not_revoked_again(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    expired = dataclasses.replace(token("g1"), expires_at=NOW - 1)
    run(loop, store.insert_tokens([expired]))
    assert run(loop, store.revoke(RevocationTarget.grants(["g1"]), NOW, audit())) == 0


def test_rotation_has_exactly_one_winner(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    old = token("g1", kind=TokenType.REFRESH_TOKEN)
    run(loop, store.insert_tokens([old]))

    async def race() -> list[bool]:
        attempts = [
            store.rotate_refresh_token(old.code, [token("g1", kind=TokenType.REFRESH_TOKEN)], NOW)
            for _ in range(20)
        ]
        return list(await asyncio.gather(*attempts))

    assert sorted(run(loop, race())) == [False] * 19 + [True]
    assert live(loop, store, old) == [False]
    assert run(loop, store.count_tokens(live_at=NOW)) == 1


def test_purge_removes_expired_rows_in_batches(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    expired = [dataclasses.replace(token(f"g{i}"), expires_at=NOW - 10) for i in range(25)]
    keep = token("keep")
    run(loop, store.insert_tokens([*expired, keep]))
    run(loop, store.revoke(RevocationTarget.grants(["g0"]), NOW - 20, audit()))
    assert run(loop, store.purge_expired(NOW, 10)) == 10
    assert run(loop, store.purge_expired(NOW, 10)) == 10
    assert run(loop, store.purge_expired(NOW, 10)) == 5
    assert run(loop, store.purge_expired(NOW, 10)) == 0
    assert run(loop, store.count_tokens()) == 1


def test_concurrent_writes_are_all_committed(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    records = [token(f"g{i}") for i in range(500)]

    async def storm() -> None:
        await asyncio.gather(*(store.insert_tokens([r]) for r in records))

    run(loop, storm())
    assert run(loop, store.count_tokens()) == 500


def test_one_failing_write_does_not_sink_its_batch(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    dup = token("g1")
    run(loop, store.insert_tokens([dup]))
    fresh = [token(f"n{i}") for i in range(20)]

    async def mixed() -> list[Any]:
        jobs = [store.insert_tokens([r]) for r in fresh] + [store.insert_tokens([dup])]
        return list(await asyncio.gather(*jobs, return_exceptions=True))

    results = run(loop, mixed())
    assert all(r is None for r in results[:-1])
    assert isinstance(results[-1], Exception)
    assert run(loop, store.count_tokens()) == 21


def test_replayed_jti_is_refused(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    now = int(time.time())  # the store compares against the wall clock
    assert run(loop, store.remember_jti("c1", "j1", now + 60)) is True
    assert run(loop, store.remember_jti("c1", "j1", now + 60)) is False
    assert run(loop, store.remember_jti("c2", "j1", now + 60)) is True
    # An entry whose assertion has expired may be reused (and is purged anyway).
    assert run(loop, store.remember_jti("c3", "j2", now - 1)) is True
    assert run(loop, store.remember_jti("c3", "j2", now + 60)) is True


def test_config_revisions_and_conflicts(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    doc, revision = run(loop, store.load_config())
    assert doc == {}
    new_revision = run(loop, store.save_config({"errorReasonEnabled": True}, revision))
    assert new_revision == revision + 1
    assert run(loop, store.load_config()) == ({"errorReasonEnabled": True}, new_revision)
    with pytest.raises(ConflictError):
        run(loop, store.save_config({}, revision))
    assert run(loop, store.revisions()).config == new_revision


def test_clients_and_scopes_keep_janssens_other_members(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    """What the config API stores as given (Janssen members we do not act on) comes back
    unchanged: nested objects, unicode, big and negative numbers, empty values."""
    extra = {
        "redirectUris": ["https://app.example/cb", "http://localhost:4100"],
        "subjectType": "pairwise",
        "persistClientAuthorizations": True,
        "defaultMaxAge": -2147483648,
        "customAttributes": [{"name": "displayName", "values": ["Api Clïent"], "value": {}}],
        "clientNameLocalized": {"values": {"fr": "Clïent \u2603", "": ""}},
        "attributes": {"parLifetime": 2147483647, "spontaneousScopes": []},
    }
    client = Client("c-extra", "extra", scopes=["openid"], extra=extra)
    run(loop, store.save_client(client))
    assert run(loop, store.get_client("c-extra")) == client
    scope = Scope(new_id(), "s-extra", extra={"iconUrl": "https://i", "claims": ["a", "b"]})
    run(loop, store.save_scope(scope))
    assert [s for s in run(loop, store.list_scopes()) if s.id == "s-extra"] == [scope]


def test_clients_users_scripts_keys(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    before = run(loop, store.revisions())
    client = Client(
        "c1",
        "one",
        secret_hash="h",
        auth_method=AuthMethod.PRIVATE_KEY_JWT,
        jwks={"keys": []},
        scopes=["openid"],
    )
    run(loop, store.save_client(client))
    assert run(loop, store.get_client("c1")) == client
    assert [c.client_id for c in run(loop, store.list_clients())] == ["c1"]
    run(loop, store.save_user(User("u1", "alice", "hash", "a@example.com")))
    assert run(loop, store.get_user_by_uid("alice")) == User("u1", "alice", "hash", "a@example.com")
    saved = run(loop, store.save_script(ScriptDefinition("s1", "veto", "source", level=5)))
    assert saved.revision > 0
    assert run(loop, store.list_scripts()) == [saved]
    key = SigningKey("k1", "RS256", "enc", {"kty": "RSA", "kid": "k1"}, NOW, NOW + 10)
    run(loop, store.save_signing_key(key))
    assert run(loop, store.list_signing_keys()) == [key]
    after = run(loop, store.revisions())
    assert (
        after.clients > before.clients
        and after.scripts > before.scripts
        and after.keys > before.keys
    )
    assert run(loop, store.delete_client("c1")) is True
    assert run(loop, store.delete_client("c1")) is False
    assert run(loop, store.delete_script("s1")) is True
    run(loop, store.delete_signing_key("k1"))
    assert run(loop, store.list_signing_keys()) == []


def test_search_by_pattern_fields_and_pages(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    records = [token(f"grant-{i:02d}", client="alpha" if i % 2 else "beta") for i in range(10)]
    records.append(token("odd_%_grant", client="gamma", kind=TokenType.REFRESH_TOKEN))
    run(loop, store.insert_tokens(records))
    total, page = run(loop, store.search_tokens(TokenQuery(patterns=("alpha",), limit=3)))
    assert total == 5 and len(page) == 3 and all(t.client_id == "alpha" for t in page)
    total, _ = run(loop, store.search_tokens(TokenQuery(patterns=("alpha", "gamma"))))
    assert total == 6
    total, _ = run(loop, store.search_tokens(TokenQuery(patterns=("ALPHA",))))
    assert total == 5, "patterns match case-insensitively on every backend"
    # LIKE wildcards in a pattern are literal characters.
    total, page = run(loop, store.search_tokens(TokenQuery(patterns=("_%_",))))
    assert total == 1 and page[0].grant_id == "odd_%_grant"
    query = TokenQuery(
        fields=(("clnId", "beta"), ("tknTyp", "access_token")), sort_by="grtId", descending=True
    )
    total, page = run(loop, store.search_tokens(query))
    assert total == 5 and [t.grant_id for t in page] == sorted(
        (t.grant_id for t in page), reverse=True
    )
    _, second = run(loop, store.search_tokens(TokenQuery(start=8, limit=5)))
    assert len(second) == 3


def test_bulk_revocation_runs_in_batches_and_audits_once(
    store: Store, loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tokenrevoke.store.postgres.revoking as pg
    import tokenrevoke.store.sqlite.store as lite

    monkeypatch.setattr(lite, "REVOKE_BATCH", 7)
    monkeypatch.setattr(pg, "REVOKE_BATCH", 7)
    mine = [token(f"g{i}", "bulk") for i in range(30)]
    refresh = [token(f"g{i}", "bulk", TokenType.REFRESH_TOKEN) for i in range(5)]
    expired = dataclasses.replace(token("old", "bulk"), expires_at=NOW - 1)
    other = token("x", "other")
    run(loop, store.insert_tokens([*mine, *refresh, expired, other]))
    run(loop, store.revoke(RevocationTarget.grants(["g0"]), NOW, audit("one grant")))
    assert (
        run(
            loop,
            store.revoke(
                RevocationTarget.client("bulk", [TokenType.ACCESS_TOKEN]), NOW, audit("bulk")
            ),
        )
        == 29
    )
    assert run(loop, store.revoke(RevocationTarget.client("bulk"), NOW, audit("rest"))) == 4
    assert run(loop, store.count_tokens(client_id="bulk", live_at=NOW)) == 0
    assert live(loop, store, other) == [True]
    assert [(a["reason"], a["count"]) for a in run(loop, store.list_audit())] == [
        ("rest", 4),
        ("bulk", 29),
        ("one grant", 2),
    ]


def test_bulk_revocation_batches_cover_tokens_issued_at_different_times(
    store: Store, loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch boundaries fall between and inside runs of equal issue times; a batch ending
    exactly at the last token is followed by an empty one that still writes the audit."""
    import tokenrevoke.store.postgres.revoking as pg
    import tokenrevoke.store.sqlite.store as lite

    monkeypatch.setattr(lite, "REVOKE_BATCH", 4)
    monkeypatch.setattr(pg, "REVOKE_BATCH", 4)
    issued = [
        dataclasses.replace(token(f"g{i}", "timed"), created_at=NOW - 100 + i // 3)
        for i in range(12)
    ]
    other = token("x", "other")
    run(loop, store.insert_tokens([*reversed(issued), other]))
    assert run(loop, store.revoke(RevocationTarget.client("timed"), NOW, audit("timed"))) == 12
    assert live(loop, store, *issued) == [False] * 12
    assert live(loop, store, other) == [True]
    assert [(a["reason"], a["count"]) for a in run(loop, store.list_audit())] == [("timed", 12)]
    events = run(loop, store.publish_events([], 100))
    assert sorted(code for e in events for code in e.token_hashes) == sorted(t.code for t in issued)


def test_concurrent_saves_of_one_scope_id_store_one_and_the_others_conflict(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    """Workers or nodes starting together on a new store race to create the built-in
    scopes (configapi/scopes.py ensure_builtin_scopes): each loser must hear ConflictError,
    never a driver error, and the race must leave one scope per id."""
    from tokenrevoke.configapi.scopes import ensure_builtin_scopes
    from tokenrevoke.model.scope import ScopeType
    from tokenrevoke.model.scope_ids import BUILTIN_SCOPES

    async def save(n: int) -> None:
        await store.save_scope(Scope(new_id(), "shared", f"shared {n}", "", ScopeType.OAUTH))

    async def race() -> list[BaseException | None]:
        return await asyncio.gather(*(save(n) for n in range(8)), return_exceptions=True)

    outcomes = run(loop, race())
    assert outcomes.count(None) == 1
    assert all(isinstance(o, ConflictError) for o in outcomes if o is not None), outcomes

    async def start_together() -> None:
        await asyncio.gather(*(ensure_builtin_scopes(store) for _ in range(4)))

    run(loop, start_together())
    ids = [s.id for s in run(loop, store.list_scopes())]
    assert sorted(ids) == sorted([*BUILTIN_SCOPES, "shared"])


def test_a_fact_is_recorded_once(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    """The first value recorded for a name stays (the master-key check, startup.py)."""
    assert run(loop, store.record_fact("master_key_check", "first")) == "first"
    assert run(loop, store.record_fact("master_key_check", "second")) == "first"
    assert run(loop, store.record_fact("other", "x")) == "x"


def test_no_token_is_issued_to_a_deleted_client_whatever_races_it(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    """issue_tokens checks the client row in its own transaction, and delete_client waits
    for the issuances in flight: a revocation after the deletion finds every token."""
    assert not run(loop, store.issue_tokens([token(client="nobody")]))
    assert run(loop, store.count_tokens("nobody")) == 0
    run(loop, store.save_client(Client("doomed", "doomed", scopes=["openid"])))
    assert run(loop, store.issue_tokens([token(client="doomed")]))

    async def race() -> list[bool]:
        async def issue(i: int) -> list[bool]:
            outcomes: list[bool] = []
            while len(outcomes) < 5_000:  # until the deletion refuses it
                grant = f"g{i}-{len(outcomes)}"
                outcomes.append(await store.issue_tokens([token(grant=grant, client="doomed")]))
                if not outcomes[-1]:
                    break
            return outcomes

        async def delete() -> None:
            await asyncio.sleep(0.05)
            assert await store.delete_client("doomed")
            await store.revoke(RevocationTarget.client("doomed"), NOW, audit("deleted"))

        issuers = asyncio.gather(*(issue(i) for i in range(8)))
        await delete()
        return [ok for outcomes in await issuers for ok in outcomes]

    outcomes = run(loop, race())
    assert True in outcomes and False in outcomes, "the deletion did not race the issuance"
    assert run(loop, store.count_tokens("doomed", live_at=NOW)) == 0
    assert run(loop, store.count_tokens("doomed")) == 1 + outcomes.count(True)


def test_audit_records_of_changes_that_revoke_nothing(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    details = {"resource": {"type": "properties", "id": ""}, "changes": {"x": 1}}
    change = AuditEvent("patch-properties", "admin:ops", "config_api", None, details)
    run(loop, store.append_audit(NOW, change))
    (latest,) = run(loop, store.list_audit(limit=1))
    assert latest["action"] == "patch-properties" and latest["actor"] == "admin:ops"
    assert latest["count"] == 0 and latest["details"] == change.details
