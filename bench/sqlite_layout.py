"""`python -m bench.sqlite_layout`: what the token table's layout costs SQLite, raw.

No server, no Python of ours in the loop (only the schema and its column list): a token
table with N rows in one of three layouts, then the writes the server's writer thread
does, measured as CPU time of the calling thread and WAL frames per commit (every frame
is a 4 KiB page the COMMIT writes and a checkpoint copies back later):

  by-client    the schema before migration 0005: a table keyed by the token hash, client
               index on (cln_id), so a new token lands on a random page of it
  by-time      the schema of 0005, before 0006: client index on (cln_id, iat)
  issue-order  the schema today (0006 to 0008, made by the store's own migrations): a
               rowid table with a unique index on the hash, rows in issue order, so the
               tokens of a grant share a page; who revoked a token and why in a table of
               their own (0007), and room in a live row for what its revocation writes
               (0008), so that a revocation does not lengthen the rows

Measured per layout: inserting tokens in commits of 32 (issuance), revoking random grants
in commits of 32 (an UPDATE of the grant's tokens that writes what the revocation
endpoint writes), and a point read by hash.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from tokenrevoke.store.codec import TOKEN_COLUMNS
from tokenrevoke.store.sqlite.migrating import migrate
from tokenrevoke.store.sqlite.rows import INSERT_TOKEN, SPARE, TOMBSTONE_SET

# The earlier layouts' columns (0001's: no status-list columns, migration 0010).
_HISTORIC = [c for c in TOKEN_COLUMNS if c not in ("status_list", "status_idx")]
_INSERT = f"INSERT INTO tokens ({', '.join(_HISTORIC)}) VALUES ({','.join('?' * len(_HISTORIC))})"
_PER_COMMIT = 32
_INUM = "1800.5b7f5a3e-9c1d-4f2a-8e6b-3d2c1b0a9f8e"
_FRAME = 4096 + 24


def _create(path: Path, layout: str) -> None:
    if layout == "issue-order":
        asyncio.run(migrate(path))
        return
    initial = (
        resources.files("tokenrevoke.store.migrations")
        .joinpath("sqlite/0001_initial.sql")
        .read_text("utf-8")
    )
    tokens = initial.split("CREATE TABLE clients")[0]
    if layout == "by-time":
        tokens = tokens.replace("ON tokens (cln_id)", "ON tokens (cln_id, iat)")
    with sqlite3.connect(path) as conn:
        conn.executescript(tokens)


def _row(insert: str, issued: int, grant: str) -> tuple[object, ...]:
    row = (
        secrets.token_hex(32), grant, "client-1", None, None, None, "access_token",
        "client_credentials", issued, issued + 3600, "openid", None, None, 1, None, None, None,
    )  # fmt: skip
    # Today: no status-list entry, the revoker's id (NULL) and the room for the
    # revocation (migration 0008).
    return row if insert == _INSERT else (*row[:-3], None, None, None, None, SPARE)


def _grant_id(issued: int, n: int) -> str:
    return f"{issued * 1000 + n % 1000:012x}{secrets.token_hex(10)}"  # as crypto.new_grant_id


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


def _seed(conn: sqlite3.Connection, insert: str, rows: int, issued: int) -> int:
    """`rows` tokens in grants of two, issued 100 grants a second; returns the clock."""
    for start in range(0, rows, 100_000):
        batch: list[tuple[object, ...]] = []
        for n in range(min(100_000, rows - start) // 2):
            grant = _grant_id(issued, n)
            batch += [_row(insert, issued, grant), _row(insert, issued, grant)]
            issued += 1 if n % 100 == 99 else 0
        conn.execute("BEGIN")
        conn.executemany(insert, batch)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return issued


def _commits(
    conn: sqlite3.Connection, path: Path, jobs: list[tuple[str, tuple[object, ...]]]
) -> str:
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cpu = time.thread_time()
    for start in range(0, len(jobs), _PER_COMMIT):
        conn.execute("BEGIN IMMEDIATE")
        for sql, params in jobs[start : start + _PER_COMMIT]:
            conn.execute(sql, params)
        conn.execute("COMMIT")
    cpu = time.thread_time() - cpu
    frames = os.path.getsize(f"{path}-wal") / _FRAME / (len(jobs) / _PER_COMMIT)
    return f"{cpu / len(jobs) * 1e6:5.1f} us, {frames:4.0f} WAL frames per commit"


def measure(layout: str, rows: int, writes: int, directory: Path) -> str:
    path = directory / f"{layout}.db"
    _create(path, layout)
    conn = _connect(path)
    statement = INSERT_TOKEN if layout == "issue-order" else _INSERT
    issued = _seed(conn, statement, rows, 1_700_000_000)
    conn.close()
    conn = _connect(path)  # a fresh page cache, like a server that has just started
    inserts = []
    for n in range(writes):
        issued += 1 if n % 100 == 99 else 0
        inserts.append((statement, _row(statement, issued, _grant_id(issued, n))))
    insert = _commits(conn, path, inserts)
    grants = [
        r[0] for r in conn.execute("SELECT grt_id FROM tokens ORDER BY random() LIMIT ?", (writes,))
    ]
    # What the revocation endpoint writes: the time, the client (a Janssen inum) and why;
    # today the id of that pair, stored once.
    by, why = f"client:{_INUM}", "revoke_endpoint"
    jobs: list[tuple[str, tuple[object, ...]]]
    if statement == _INSERT:
        update = (
            "UPDATE tokens SET revoked_at = ?, revoked_by = ?, revoke_reason = ? "
            "WHERE grt_id = ? AND revoked_at IS NULL"
        )
        jobs = [(update, (issued, by, why, g)) for g in grants]
    else:
        add = "INSERT INTO revokers (revoked_by, revoke_reason) VALUES (?, ?)"
        revoker = conn.execute(add, (by, why)).lastrowid
        update = f"UPDATE tokens SET {TOMBSTONE_SET} WHERE grt_id = ? AND revoked_at IS NULL"
        jobs = [(update, (issued, revoker, g)) for g in grants]
    revoke = _commits(conn, path, jobs)
    codes = [
        r[0]
        for r in conn.execute("SELECT tkn_cde FROM tokens ORDER BY random() LIMIT ?", (writes,))
    ]
    cpu = time.thread_time()
    for code in codes:
        conn.execute("SELECT * FROM tokens WHERE tkn_cde = ?", (code,)).fetchall()
    read = (time.thread_time() - cpu) / len(codes) * 1e6
    conn.close()
    return f"{layout:11s}  insert {insert};  revoke a grant {revoke};  point read {read:4.1f} us"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sqlite_layout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="tokens already stored")
    parser.add_argument("--writes", type=int, default=20_000, help="per measurement")
    layouts = ["by-client", "by-time", "issue-order"]
    parser.add_argument("--layouts", nargs="+", choices=layouts, default=layouts)
    args = parser.parse_args(argv)
    if args.rows < 2 or args.writes < _PER_COMMIT:
        parser.error(f"need --rows >= 2 and --writes >= {_PER_COMMIT}")
    with tempfile.TemporaryDirectory(prefix="tokenrevoke-layout-") as directory:
        print(f"{args.rows:,} tokens stored; {args.writes:,} writes per measurement", flush=True)
        for layout in args.layouts:
            print(measure(layout, args.rows, args.writes, Path(directory)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
