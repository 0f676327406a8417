"""The SQL of browser sessions on PostgreSQL (migration 0011), and of what ending one or
redeeming an authorization code does to tokens in the same transaction. The functions
take a connection inside the store's transaction (store.py runs them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenrevoke.model import AuditEvent, TokenRecord, TokenType
from tokenrevoke.model.session import (
    CodeRedemption,
    EndedSessions,
    SessionEnd,
    SessionRecord,
    SessionState,
)
from tokenrevoke.model.token import REDEEMED, REDEMPTION
from tokenrevoke.store import codec
from tokenrevoke.store.base import TargetKind
from tokenrevoke.store.codec import (
    REVOKED_COLUMNS,
    SESSION_COLUMNS,
    session_from_row,
    session_to_row,
)
from tokenrevoke.store.postgres import records
from tokenrevoke.store.postgres.rows import INSERT_TOKENS

_AUTHENTICATED = SessionState.AUTHENTICATED.value
_WIDTH = len(SESSION_COLUMNS.split(","))
_INSERT = (
    f"INSERT INTO sessions ({SESSION_COLUMNS}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, _WIDTH + 1))})"
)
SELECT_BY_SID = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE sid = $1"
SELECT_BY_COOKIE = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE cookie_hash = $1"
_OF_USER = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE usr_id = $1"
_LIVE = f"state = '{_AUTHENTICATED}' AND idle_exp > $2 AND exp > $2"
_ORDER = " ORDER BY created_at, sid"


async def insert(conn: Any, session: SessionRecord) -> None:
    await conn.execute(_INSERT, *session_to_row(session))


async def of_user(conn: Any, user_id: str, live_at: int | None) -> list[SessionRecord]:
    if live_at is None:
        rows = await conn.fetch(_OF_USER + _ORDER, user_id)
    else:
        rows = await conn.fetch(f"{_OF_USER} AND {_LIVE}{_ORDER}", user_id, live_at)
    return [session_from_row(r) for r in rows]


async def touch(
    conn: Any,
    sid: str,
    at: int,
    idle_expires_at: int,
    cookie_hash: str | None,
    auth_time: int | None,
) -> SessionRecord | None:
    row = await conn.fetchrow(
        "UPDATE sessions SET last_used = $2, idle_exp = least($3, exp), "
        "cookie_hash = coalesce($4, cookie_hash), auth_time = coalesce($5, auth_time) "
        f"WHERE sid = $1 AND {_LIVE} RETURNING {SESSION_COLUMNS}",
        sid, at, idle_expires_at, cookie_hash, auth_time,
    )  # fmt: skip
    return session_from_row(row) if row else None


async def end(
    conn: Any, which: SessionEnd, at: int, audit: AuditEvent, revocation_id: str
) -> EndedSessions:
    """End the chosen sessions, then revoke their live tokens, in the caller's transaction.
    The session rows' locks (UPDATE) make a concurrent `redeem` wait, or see them ended;
    the token UPDATE, a later statement, sees whatever a redemption committed meanwhile."""
    clauses: list[str] = []
    args: list[Any] = [SessionState.ENDED.value, at, audit.reason]
    if which.sids is not None:
        args.append(list(which.sids))
        clauses.append(f"sid = ANY(${len(args)}::text[])")
    if which.user_id is not None:
        args.append(which.user_id)
        clauses.append(f"usr_id = ${len(args)}")
    if not clauses:
        raise ValueError("which sessions to end: sids, a user, or both")
    rows = await conn.fetch(
        "UPDATE sessions SET state = $1, ended_at = $2, end_reason = $3 "
        f"WHERE state = '{_AUTHENTICATED}' AND {' AND '.join(clauses)} RETURNING sid",
        *args,
    )
    sids = sorted(r[0] for r in rows)
    if not sids:
        return EndedSessions((), 0)
    revoked = await conn.fetch(
        "UPDATE tokens SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 "
        "WHERE ssn_id = ANY($4::text[]) AND revoked_at IS NULL AND exp + 0 > $1 "
        f"RETURNING {REVOKED_COLUMNS}",
        at, audit.actor, audit.reason, sids,
    )  # fmt: skip
    await records.write_audit(conn, at, audit, len(revoked))
    if revoked:
        event_id, body = codec.revocation_event_body(
            revocation_id,
            1,
            at,
            audit,
            (TargetKind.SESSION, tuple(sids)),
            [tuple(r) for r in revoked],
        )
        await conn.execute(
            "INSERT INTO revocation_events (id, at, body) VALUES ($1, $2, $3)", event_id, at, body
        )
    return EndedSessions(tuple(sids), len(revoked))


async def redeem(
    conn: Any, code: str, new_tokens: Sequence[TokenRecord], at: int
) -> CodeRedemption:
    found = await conn.fetchrow(
        "SELECT ssn_id, revoked_at IS NULL AND exp > $2 FROM tokens "
        "WHERE tkn_cde = $1 AND tkn_typ = $3",
        code, at, TokenType.AUTHORIZATION_CODE.value,
    )  # fmt: skip
    if found is None:
        return CodeRedemption.UNKNOWN
    session_id = found[0]
    # FOR SHARE: `end` (an UPDATE of the row) waits for this transaction, or this waits
    # for it and then reads the session ended.
    session_live = session_id is None or (
        await conn.fetchval(
            f"SELECT 1 FROM sessions WHERE sid = $1 AND {_LIVE} FOR SHARE", session_id, at
        )
        is not None
    )
    # Conditional: of two concurrent redemptions, one retires the code, the other none.
    retired = await conn.execute(
        "UPDATE tokens SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 "
        "WHERE tkn_cde = $4 AND revoked_at IS NULL AND exp > $1",
        at, REDEMPTION, REDEEMED, code,
    )  # fmt: skip
    if retired != "UPDATE 1":
        return CodeRedemption.SPENT
    if not session_live:
        return CodeRedemption.SESSION_ENDED
    await conn.executemany(INSERT_TOKENS, [codec.token_to_row(t) for t in new_tokens])
    return CodeRedemption.REDEEMED


async def purge(conn: Any, now: int, batch_size: int) -> None:
    """Sessions past their idle expiry (never past the absolute one), ended or not."""
    await conn.execute(
        "DELETE FROM sessions WHERE sid IN "
        "(SELECT sid FROM sessions WHERE idle_exp <= $1 LIMIT $2)",
        now,
        batch_size,
    )
