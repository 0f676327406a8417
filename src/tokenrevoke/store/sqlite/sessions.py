"""The SQL of browser sessions on SQLite (migration 0011). Writes run inside the writer
thread's transaction (the functions take its connection); reads are plain statements the
store runs on its snapshot reader. What touches tokens (revoking a session's, issuing for
a code) stays with the token SQL in store.py, which calls these in the same transaction."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from tokenrevoke.model.session import SessionEnd, SessionRecord, SessionState
from tokenrevoke.store.codec import SESSION_COLUMNS, session_from_row, session_to_row

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


def purge(conn: sqlite3.Connection, now: int, batch_size: int) -> int:
    """Sessions past their idle expiry (which is never past the absolute one), ended or
    not: nothing can use them again."""
    return conn.execute(
        "DELETE FROM sessions WHERE rowid IN "
        "(SELECT rowid FROM sessions WHERE idle_exp <= ? LIMIT ?)",
        (now, batch_size),
    ).rowcount
