"""The SQL of browser sessions on SQLite (migration 0011), and of what redeeming an
authorization code does to tokens in the same transaction. Writes run inside the writer
thread's transaction (the functions take its connection); reads are plain statements the
store runs on its snapshot reader. Revoking an ended session's tokens is the revocation
engine's (revoking.py), which store.py runs in the same transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from tokenrevoke.model import TokenType
from tokenrevoke.model.session import CodeRedemption, SessionEnd, SessionRecord, SessionState
from tokenrevoke.model.token import REDEEMED, REDEMPTION
from tokenrevoke.store.codec import SESSION_COLUMNS, session_from_row, session_to_row
from tokenrevoke.store.sqlite.rows import TOMBSTONE_SET, insert_tokens, revoker_id

_AUTHENTICATED = SessionState.AUTHENTICATED.value

SELECT_BY_SID = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE sid = ?"
SELECT_BY_COOKIE = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE cookie_hash = ?"
SELECT_OF_USER = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE usr_id = ?"
LIVE = f" AND state = '{_AUTHENTICATED}' AND idle_exp > ? AND exp > ?"
ORDER = " ORDER BY created_at, sid"


def insert(conn: sqlite3.Connection, session: SessionRecord) -> None:
    marks = ",".join("?" * len(SESSION_COLUMNS.split(",")))
    conn.execute(
        f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ({marks})", session_to_row(session)
    )


def touch(
    conn: sqlite3.Connection,
    sid: str,
    at: int,
    idle_expires_at: int,
    cookie_hash: str | None,
    auth_time: int | None,
) -> SessionRecord | None:
    row = conn.execute(
        "UPDATE sessions SET last_used = ?, idle_exp = min(?, exp), "
        "cookie_hash = coalesce(?, cookie_hash), auth_time = coalesce(?, auth_time) "
        f"WHERE sid = ?{LIVE} RETURNING {SESSION_COLUMNS}",
        (at, idle_expires_at, cookie_hash, auth_time, sid, at, at),
    ).fetchone()
    return session_from_row(row) if row else None


def end(conn: sqlite3.Connection, which: SessionEnd, at: int, reason: str) -> list[str]:
    """Mark the chosen sessions that are not ended yet ENDED; their sids, sorted."""
    clauses: list[str] = []
    params: list[Any] = [SessionState.ENDED.value, at, reason]
    if which.sids is not None:
        clauses.append("sid IN (SELECT value FROM json_each(?))")
        params.append(orjson.dumps(which.sids).decode())
    if which.user_id is not None:
        clauses.append("usr_id = ?")
        params.append(which.user_id)
    if not clauses:
        raise ValueError("which sessions to end: sids, a user, or both")
    rows = conn.execute(
        "UPDATE sessions SET state = ?, ended_at = ?, end_reason = ? "
        f"WHERE state = '{_AUTHENTICATED}' AND {' AND '.join(clauses)} RETURNING sid",
        params,
    ).fetchall()
    return sorted(r[0] for r in rows)


def is_live(conn: sqlite3.Connection, sid: str, at: int) -> bool:
    """Inside the writer's transaction: nothing can end it before the commit."""
    return (
        conn.execute(f"SELECT 1 FROM sessions WHERE sid = ?{LIVE}", (sid, at, at)).fetchone()
        is not None
    )


def redeem(
    conn: sqlite3.Connection, code: str, rows: Sequence[tuple[Any, ...]], at: int
) -> CodeRedemption:
    """Retire the code and store the tokens it is exchanged for (their rows). The single
    writer serialises this with `end`."""
    found = conn.execute(
        "SELECT ssn_id, revoked_at IS NULL AND exp > ? FROM tokens "
        "WHERE tkn_cde = ? AND tkn_typ = ?",
        (at, code, TokenType.AUTHORIZATION_CODE.value),
    ).fetchone()
    if found is None:
        return CodeRedemption.UNKNOWN
    session_id, live = found
    if not live:
        return CodeRedemption.SPENT
    conn.execute(
        f"UPDATE tokens SET {TOMBSTONE_SET} WHERE tkn_cde = ?",
        (at, revoker_id(conn, REDEMPTION, REDEEMED), code),
    )
    if session_id is not None and not is_live(conn, session_id, at):
        return CodeRedemption.SESSION_ENDED
    insert_tokens(conn, rows)
    return CodeRedemption.REDEEMED


def purge(conn: sqlite3.Connection, now: int, batch_size: int) -> int:
    """Sessions past their idle expiry (which is never past the absolute one), ended or
    not: nothing can use them again."""
    return conn.execute(
        "DELETE FROM sessions WHERE rowid IN "
        "(SELECT rowid FROM sessions WHERE idle_exp <= ? LIMIT ?)",
        (now, batch_size),
    ).rowcount
