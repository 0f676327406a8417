"""SQLite seeks each batch of a keyset walk (querying.batch_end, batch_range) within a run
of equal issue times, rather than scanning the run from its start: SQLite seeks only the
first column of a row-value range, and a client's tokens may share one issue time."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tokenrevoke.store.querying import SQLITE, Params, batch_end, batch_range
from tokenrevoke.store.sqlite.store import SqliteStore

KEYS = ("iat", "seq")


def plan(path: Path, sql: str, params: Params) -> str:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params.values).fetchall()
    return " | ".join(row[3] for row in rows)


def test_each_batch_seeks_inside_a_run_of_equal_issue_times(
    tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    path = tmp_path / "store.db"
    loop.run_until_complete(loop.run_until_complete(SqliteStore.open(path)).close())
    after, last = (1000, 5), (1000, 9)  # one issue time: the run the batch sits in
    plans = {}
    for name, bounds in {
        "first": ((), last),
        "middle": (after, last),
        "rest": (after, None),
    }.items():
        params = Params(SQLITE)
        condition = batch_range("cln_id", KEYS, "c1", *bounds, params)
        plans[name] = plan(path, f"SELECT count(*) FROM tokens WHERE {condition}", params)
    params = Params(SQLITE)
    plans["end"] = plan(path, batch_end("cln_id", KEYS, "c1", after, 4, params), params)
    apart = ((1000, 5), (1001, 2))  # a batch across two issue times
    params = Params(SQLITE)
    condition = batch_range("cln_id", KEYS, "c1", *apart, params)
    plans["across"] = plan(path, f"SELECT count(*) FROM tokens WHERE {condition}", params)
    assert "tokens_by_client (cln_id=? AND iat=? AND rowid>? AND rowid<?)" in plans["middle"]
    for name in ("first", "rest", "end", "across"):  # each run of equal issue times by rowid
        assert "iat=? AND rowid" in plans[name], plans
