"""The Store contract for browser sessions (migration 0011): create, find by cookie hash,
touch and rotate, list a user's, end them with their tokens in one transaction, redeem an
authorization code into a session, purge. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from tests.store.test_store_contract import NOW, audit, live, run, token
from tokenrevoke.crypto import new_id, sha256_hex
from tokenrevoke.model import TokenRecord, TokenType
from tokenrevoke.model.session import CodeRedemption, SessionEnd, SessionRecord, SessionState
from tokenrevoke.model.token import REDEEMED, REDEMPTION
from tokenrevoke.store import Store

IDLE = 600
LIFETIME = 3600


def session(user: str = "u1", at: int = NOW) -> SessionRecord:
    return SessionRecord(
        sid=new_id(),
        cookie_hash=sha256_hex(new_id()),
        user_id=user,
        auth_time=at,
        created_at=at,
        last_used_at=at,
        idle_expires_at=at + IDLE,
        expires_at=at + LIFETIME,
        attributes={"acr": "simple_password_auth"},
    )


def created(loop: asyncio.AbstractEventLoop, store: Store, user: str = "u1") -> SessionRecord:
    record = session(user)
    run(loop, store.create_session(record))
    return record


def code_in(sid: str | None, client: str = "c1", ttl: int = 60) -> TokenRecord:
    record = token(grant=new_id(), client=client, kind=TokenType.AUTHORIZATION_CODE, ttl=ttl)
    record.session_id = sid
    record.user_id = "u1"
    return record


def test_create_and_find_by_sid_and_cookie(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    record = created(loop, store)
    assert run(loop, store.get_session(record.sid)) == record
    assert run(loop, store.get_session_by_cookie(record.cookie_hash)) == record
    assert run(loop, store.get_session("nope")) is None
    assert run(loop, store.get_session_by_cookie(sha256_hex("nope"))) is None
    assert record.is_live(NOW) and not record.is_live(NOW + IDLE)


def test_touch_extends_idle_expiry_up_to_the_absolute_one(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    record = created(loop, store)
    touched = run(loop, store.touch_session(record.sid, NOW + 100, NOW + 100 + IDLE))
    assert touched is not None
    assert (touched.last_used_at, touched.idle_expires_at) == (NOW + 100, NOW + 100 + IDLE)
    late = NOW + LIFETIME - 10
    run(loop, store.touch_session(record.sid, NOW + 500, NOW + 500 + IDLE))
    # Still idle-live at `late`? No: idle expiry passed; touching it changes nothing.
    assert run(loop, store.touch_session(record.sid, late, late + IDLE)) is None
    # Used in time, the idle expiry is cut at the absolute one.
    other = created(loop, store)
    for at in range(NOW + 500, NOW + LIFETIME, 500):
        assert run(loop, store.touch_session(other.sid, at, at + IDLE)) is not None
    found = run(loop, store.get_session(other.sid))
    assert found is not None and found.idle_expires_at == other.expires_at
    assert run(loop, store.touch_session(other.sid, other.expires_at, other.expires_at + 1)) is None


def test_touch_rotates_the_cookie_and_records_reauthentication(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    record = created(loop, store)
    new_cookie = sha256_hex(new_id())
    touched = run(
        loop,
        store.touch_session(
            record.sid, NOW + 5, NOW + 5 + IDLE, cookie_hash=new_cookie, auth_time=NOW + 5
        ),
    )
    assert touched is not None and touched.auth_time == NOW + 5
    assert touched.created_at == NOW and touched.sid == record.sid
    assert run(loop, store.get_session_by_cookie(record.cookie_hash)) is None
    assert run(loop, store.get_session_by_cookie(new_cookie)) == touched


def test_list_sessions_of_a_user(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    first, second = created(loop, store, "alice"), created(loop, store, "alice")
    created(loop, store, "bob")
    run(loop, store.end_sessions(SessionEnd.of(second.sid), NOW, audit("logout")))
    listed = run(loop, store.list_sessions("alice"))
    assert {s.sid for s in listed} == {first.sid, second.sid}
    ended = next(s for s in listed if s.sid == second.sid)
    assert (ended.state, ended.ended_at, ended.end_reason) == (SessionState.ENDED, NOW, "logout")
    assert [s.sid for s in run(loop, store.list_sessions("alice", live_at=NOW))] == [first.sid]
    assert run(loop, store.list_sessions("alice", live_at=NOW + IDLE)) == []
    assert run(loop, store.list_sessions("nobody")) == []


def test_ending_a_session_revokes_exactly_its_tokens(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    mine, other = created(loop, store), created(loop, store)
    in_mine = [token(grant="g1", user="u1", session=mine.sid), token(grant="g2", client="c2",
               user="u1", session=mine.sid, kind=TokenType.REFRESH_TOKEN)]  # fmt: skip
    in_other = token(grant="g3", user="u1", session=other.sid)
    outside = token(grant="g4", user="u1")
    run(loop, store.insert_tokens([*in_mine, in_other, outside]))
    ended = run(loop, store.end_sessions(SessionEnd.of(mine.sid), NOW, audit("logout")))
    assert (ended.sids, ended.tokens_revoked) == ((mine.sid,), 2)
    assert live(loop, store, *in_mine, in_other, outside) == [False, False, True, True]
    found = run(loop, store.get_session(mine.sid))
    assert found is not None and found.state is SessionState.ENDED and not found.is_live(NOW)
    assert run(loop, store.touch_session(mine.sid, NOW, NOW + IDLE)) is None
    # Ending it again ends nothing and writes nothing.
    records = len(run(loop, store.list_audit()))
    again = run(loop, store.end_sessions(SessionEnd.of(mine.sid), NOW, audit("logout")))
    assert (again.sids, again.tokens_revoked) == ((), 0)
    assert len(run(loop, store.list_audit())) == records


def test_ending_writes_an_audit_record_and_a_session_event(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    mine = created(loop, store)
    issued = token(grant="g1", user="u1", session=mine.sid)
    run(loop, store.insert_tokens([issued]))
    run(loop, store.end_sessions(SessionEnd.of(mine.sid), NOW, audit("logout")))
    (record, *_) = run(loop, store.list_audit())
    assert (record["reason"], record["count"]) == ("logout", 1)
    (event,) = run(loop, store.publish_events([], 10))
    assert (event.target, event.target_values) == ("session", (mine.sid,))
    assert event.token_hashes == (issued.code,)
    # A session without tokens is ended and audited, with no event.
    empty = created(loop, store)
    assert run(loop, store.end_sessions(SessionEnd.of(empty.sid), NOW, audit("idle"))).sids
    assert run(loop, store.list_audit())[0]["count"] == 0
    assert len(run(loop, store.publish_events([], 10))) == 0


def test_ending_every_session_of_a_user(store: Store, loop: asyncio.AbstractEventLoop) -> None:
    a1, a2, bob = (
        created(loop, store, "alice"),
        created(loop, store, "alice"),
        created(loop, store, "bob"),
    )
    tokens = [
        token(grant="g1", user="alice", session=a1.sid),
        token(grant="g2", client="c2", user="alice", session=a2.sid),
        token(grant="g3", user="bob", session=bob.sid),
    ]
    run(loop, store.insert_tokens(tokens))
    ended = run(loop, store.end_sessions(SessionEnd.of_user("alice"), NOW, audit("global")))
    assert ended.sids == tuple(sorted((a1.sid, a2.sid))) and ended.tokens_revoked == 2
    assert live(loop, store, *tokens) == [False, False, True]
    # sids and a user together: only that user's among the sids.
    bobs = run(loop, store.end_sessions(SessionEnd(sids=(bob.sid,), user_id="alice"), NOW, audit()))
    assert bobs.sids == ()
    assert run(loop, store.end_sessions(SessionEnd.of("s\0x"), NOW, audit())).sids == ()
    assert run(loop, store.end_sessions(SessionEnd.of_user("a\0"), NOW, audit())).sids == ()
    assert run(loop, store.get_session("s\0x")) is None
    assert run(loop, store.list_sessions("alice\0")) == []


def test_redeem_code_once_into_a_live_session(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    mine = created(loop, store)
    code = code_in(mine.sid)
    run(loop, store.insert_tokens([code]))
    issued = [token(grant=code.grant_id, user="u1", session=mine.sid)]
    assert run(loop, store.redeem_code(code.code, issued, NOW)) is CodeRedemption.REDEEMED
    assert live(loop, store, code, *issued) == [False, True]
    spent = run(loop, store.get_token(code.code))
    assert spent is not None and (spent.revoked_by, spent.revoke_reason) == (REDEMPTION, REDEEMED)
    again = [token(grant=code.grant_id, user="u1", session=mine.sid)]
    assert run(loop, store.redeem_code(code.code, again, NOW)) is CodeRedemption.SPENT
    assert run(loop, store.get_token(again[0].code)) is None
    assert run(loop, store.redeem_code(sha256_hex("x"), again, NOW)) is CodeRedemption.UNKNOWN
    assert run(loop, store.redeem_code("a\0", again, NOW)) is CodeRedemption.UNKNOWN
    # Not a code: an access token is never redeemed.
    assert run(loop, store.redeem_code(issued[0].code, again, NOW)) is CodeRedemption.UNKNOWN


def test_redeem_code_after_expiry_or_without_session(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    expired = code_in(None, ttl=-1)
    sessionless = code_in(None)
    run(loop, store.insert_tokens([expired, sessionless]))
    issued = [token(grant=sessionless.grant_id)]
    assert run(loop, store.redeem_code(expired.code, issued, NOW)) is CodeRedemption.SPENT
    assert run(loop, store.redeem_code(sessionless.code, issued, NOW)) is CodeRedemption.REDEEMED


def test_no_token_is_issued_into_an_ended_session(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    mine = created(loop, store)
    code = code_in(mine.sid)
    run(loop, store.insert_tokens([code]))
    run(loop, store.end_sessions(SessionEnd.of(mine.sid), NOW, audit("logout")))
    issued = [token(grant=code.grant_id, user="u1", session=mine.sid)]
    # Ending the session revoked its code too.
    outcome = run(loop, store.redeem_code(code.code, issued, NOW))
    assert outcome is CodeRedemption.SPENT
    assert run(loop, store.get_token(issued[0].code)) is None
    # An idle-expired session is as good as ended.
    idle = created(loop, store)
    late = code_in(idle.sid, ttl=IDLE + 60)
    run(loop, store.insert_tokens([late]))
    outcome = run(loop, store.redeem_code(late.code, issued, NOW + IDLE))
    assert outcome is CodeRedemption.SESSION_ENDED
    assert run(loop, store.get_token(issued[0].code)) is None
    assert live(loop, store, late) == [False]


def test_redemption_racing_the_end_of_its_session_leaves_no_live_token(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    """Whichever commits first, a session that was ended has no live token afterwards."""

    async def race() -> list[bool]:
        mine = session()
        await store.create_session(mine)
        code = code_in(mine.sid)
        await store.insert_tokens([code])
        issued = token(grant=code.grant_id, user="u1", session=mine.sid)
        await asyncio.gather(
            store.redeem_code(code.code, [issued], NOW),
            store.end_sessions(SessionEnd.of(mine.sid), NOW, audit("logout")),
        )
        found = await store.get_token(issued.code)
        return [found is not None and found.is_live(NOW)]

    for _ in range(10):
        assert run(loop, race()) == [False]


def test_purge_deletes_sessions_past_their_idle_expiry(
    store: Store, loop: asyncio.AbstractEventLoop
) -> None:
    kept, gone = created(loop, store), created(loop, store)
    run(loop, store.touch_session(kept.sid, NOW + IDLE - 1, NOW + 2 * IDLE))
    run(loop, store.purge_expired(NOW + IDLE, 100))
    assert run(loop, store.get_session(gone.sid)) is None
    assert run(loop, store.get_session(kept.sid)) is not None
