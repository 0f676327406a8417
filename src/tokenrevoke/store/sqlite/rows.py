"""The token table's SQLite layout, and the statements that write and read its rows.

Shared by the store (store.py) and the modules whose writer jobs write tokens: the
revocation engine (revoking.py), rotating.py and sessions.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from tokenrevoke.model import TokenRecord
from tokenrevoke.store.codec import TOKEN_COLUMNS, token_from_row
from tokenrevoke.store.sqlite.writer import BulkWork

# Who revoked a token and why are in `revokers` (migration 0007): a token's row holds the
# pair's id, `revoker`. Tokens are read through the join, written with the id. (The
# stored columns are also what bench/sqlite_layout.py inserts.)
STORED_COLUMNS = (*TOKEN_COLUMNS[:-2], "revoker", "spare")
# A live token's `spare` (migration 0008): as many bytes as its revocation will write
# (`revoked_at`, 4 bytes until 2038, and `revoker`, 1 byte), given back by setting it to
# NULL then, so that the row keeps its size and is overwritten in place, never split.
SPARE = bytes(5)
# What every revocation of a stored token sets (then: the time, the revoker's id).
TOMBSTONE_SET = "revoked_at = ?, revoker = ?, spare = NULL"
INSERT_TOKEN = (
    f"INSERT INTO tokens ({', '.join(STORED_COLUMNS)}) "
    f"VALUES ({','.join('?' * len(STORED_COLUMNS))})"
)
# A token's values in TOKEN_COLUMNS order, FROM `TOKENS_JOINED` (tokens are `t`).
TOKEN_VALUES = ", ".join(
    [*(f"t.{c}" for c in TOKEN_COLUMNS[:-2]), "r.revoked_by", "r.revoke_reason"]
)
TOKENS_JOINED = "tokens AS t LEFT JOIN revokers AS r ON r.id = t.revoker"
SELECT_TOKENS = f"SELECT {TOKEN_VALUES} FROM {TOKENS_JOINED}"


def revoker_id(conn: sqlite3.Connection, revoked_by: str | None, reason: str | None) -> int | None:
    """The id of this (revoked_by, revoke_reason) pair in `revokers`, added if new; None
    for a token nobody revoked. Inside the writer's transaction; the pair is nearly always
    there already, so that is looked for first (one statement)."""
    if revoked_by is None and reason is None:
        return None
    find = "SELECT id FROM revokers WHERE revoked_by IS ? AND revoke_reason IS ?"
    found = conn.execute(find, (revoked_by, reason)).fetchone()
    if found is None:
        conn.execute(
            "INSERT INTO revokers (revoked_by, revoke_reason) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (revoked_by, reason),
        )
        found = conn.execute(find, (revoked_by, reason)).fetchone()
    return int(found[0])


# Rows per multi-row INSERT at most; a run of rows goes in chunks of powers of two up to
# it, so that a handful of statement texts (each prepared once, then cached) cover any
# count. One step per chunk: executemany would take one step, and one GIL retake, per row,
# and for rows appended to a table (audit, events) costs more CPU too (2.2 against 1.3 us).
ROWS_PER_INSERT = 64


def insert_rows(
    conn: sqlite3.Connection, into: str, width: int, rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT INTO `into` (a table and its column list, `width` columns) these rows."""
    start = 0
    while start < len(rows):
        size = min(ROWS_PER_INSERT, 1 << ((len(rows) - start).bit_length() - 1))
        chunk = rows[start : start + size]
        marks = ",".join(["(" + ",".join("?" * width) + ")"] * size)
        conn.execute(f"INSERT INTO {into} VALUES {marks}", [v for row in chunk for v in row])
        start += size


def tokens_by_code(conn: sqlite3.Connection, unique_codes: Sequence[str]) -> list[TokenRecord]:
    """The stored tokens among these codes, in one statement step (see `tombstone`)."""
    (found,) = conn.execute(
        f"SELECT json_group_array(json_array({TOKEN_VALUES})) FROM {TOKENS_JOINED} "
        "WHERE t.tkn_cde IN (SELECT value FROM json_each(?))",
        (orjson.dumps(unique_codes).decode(),),
    ).fetchone()
    return [token_from_row(row) for row in orjson.loads(found)]


def insert_tokens(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Tokens (token_to_row). executemany, unlike `insert_rows`: one multi-row INSERT
    for a batch's tokens was measured no cheaper, with the tokens keyed by their hash (33
    against 22 to 28 us a row) and in issue order alike (docs/benchmarks.md)."""
    conn.executemany(
        INSERT_TOKEN,
        [  # who revoked it and why as the pair's id; room for the revocation while live
            (*row[:-2], revoker_id(conn, row[-2], row[-1]), SPARE if row[-3] is None else None)
            for row in rows
        ],
    )


# An issuance: (the client's id, its tokens' rows); its result, whether the client exists.
IssueJob = tuple[str, list[tuple[Any, ...]]]


def issue(conn: sqlite3.Connection, job: IssueJob) -> bool:
    return issue_many(conn, [job])[0]


def issue_many(conn: sqlite3.Connection, jobs: list[IssueJob]) -> list[bool]:
    """Tokens of clients that exist, in two statements for them all: the clients' lookup
    and the INSERT. One writer: nothing can delete a client between the two."""
    wanted = orjson.dumps(list({client_id for client_id, _ in jobs})).decode()
    (found,) = conn.execute(
        "SELECT json_group_array(inum) FROM clients WHERE inum IN (SELECT value FROM json_each(?))",
        (wanted,),
    ).fetchone()
    known = set(orjson.loads(found))
    insert_tokens(conn, [row for client_id, rows in jobs if client_id in known for row in rows])
    return [client_id in known for client_id, _ in jobs]


ISSUE_TOKENS = BulkWork(issue, issue_many)
