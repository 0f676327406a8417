"""The SQLite writer's durability: no caller hears of a commit before it is on disk."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.support.writer import in_one_batch
from tokenrevoke.store.sqlite.connections import WalSync
from tokenrevoke.store.sqlite.writer import BulkWork, GroupCommitWriter


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY)")
    return conn


def _insert(key: int) -> Callable[[sqlite3.Connection], int]:
    return lambda conn: conn.execute("INSERT INTO t (k) VALUES (?)", (key,)).rowcount


def _wait_for_rows(db: Path, count: int) -> None:
    """Until another connection sees `count` committed rows (10 s at most)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            if conn.execute("SELECT count(*) FROM t").fetchone()[0] >= count:
                return
        time.sleep(0.01)
    raise AssertionError(f"fewer than {count} rows were committed")


def test_a_write_is_acknowledged_only_after_its_sync(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    release = threading.Event()
    synced: list[int] = []

    def sync() -> None:
        release.wait(10)
        synced.append(len(synced))

    writer = GroupCommitWriter(lambda: _connect(db), sync=sync)

    async def scenario() -> None:
        pending = asyncio.ensure_future(writer.submit(_insert(1)))
        await asyncio.sleep(0.3)
        assert not pending.done() and synced == []  # committed, not yet durable
        release.set()
        assert await asyncio.wait_for(pending, 10) == 1
        assert synced  # the sync had returned before the answer

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        writer.close()


def test_batches_committed_during_a_sync_share_the_next_one(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    first_sync_started = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def sync() -> None:
        calls.append(1)
        first_sync_started.set()
        release.wait(10)

    writer = GroupCommitWriter(lambda: _connect(db), sync=sync)

    async def scenario() -> list[int]:
        first = asyncio.ensure_future(writer.submit(_insert(0)))
        await asyncio.get_running_loop().run_in_executor(None, first_sync_started.wait, 10)
        # The writer goes on committing while the first sync is still running.
        rest = [asyncio.ensure_future(writer.submit(_insert(k))) for k in range(1, 6)]
        await asyncio.get_running_loop().run_in_executor(None, _wait_for_rows, db, 6)
        release.set()
        return list(await asyncio.gather(first, *rest))

    try:
        assert asyncio.run(scenario()) == [1] * 6
        assert len(calls) <= 3  # one sync for the first batch, one or two for the rest
    finally:
        release.set()
        writer.close()


def test_a_failed_sync_fails_every_write_it_covered(tmp_path: Path) -> None:
    db = tmp_path / "w.db"

    def sync() -> None:
        raise OSError(5, "Input/output error")

    writer = GroupCommitWriter(lambda: _connect(db), sync=sync)

    async def scenario() -> None:
        with pytest.raises(sqlite3.OperationalError, match="could not be made durable"):
            await writer.submit(_insert(1))

    try:
        asyncio.run(scenario())
    finally:
        writer.close()


def test_wal_sync_follows_a_replaced_wal_file(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    wal = tmp_path / "w.db-wal"
    sync = WalSync(db)
    conn = _connect(db)
    conn.execute("INSERT INTO t (k) VALUES (1)")
    sync()
    first = wal.stat().st_ino
    conn.close()  # the last connection: SQLite checkpoints and deletes the WAL
    assert not wal.exists()
    # The sync's descriptor keeps the old inode allocated, so the new WAL's differs.
    conn = _connect(db)
    conn.execute("INSERT INTO t (k) VALUES (2)")
    second = wal.stat().st_ino
    assert second != first
    sync()
    assert sync._fd is not None and os.fstat(sync._fd).st_ino == second
    sync.close()
    conn.close()


def test_the_store_syncs_the_wal_before_a_write_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's writer commits with synchronous=NORMAL: its durability is WalSync's."""
    from tokenrevoke.store.sqlite import connections
    from tokenrevoke.store.sqlite.store import SqliteStore

    synced: list[int] = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        real(fd)
        synced.append(os.fstat(fd).st_ino)

    monkeypatch.setattr(connections.os, "fdatasync", counting)

    async def scenario() -> None:
        store = await SqliteStore.open(tmp_path / "s.db")
        try:
            await store.save_config({"issuer": "https://example.test"}, None)
            assert synced == [(tmp_path / "s.db-wal").stat().st_ino]
        finally:
            await store.close()

    asyncio.run(scenario())


# -- bulk writes -------------------------------------------------------------------------
def _bulk_inserts(calls: list[tuple[str, list[int]]]) -> BulkWork[int, int]:
    """Inserts of key k: `one` and `many` both record their calls; key -1 fails."""

    def one(conn: sqlite3.Connection, key: int) -> int:
        calls.append(("one", [key]))
        if key < 0:
            raise ValueError("refused")
        return int(conn.execute("INSERT INTO t (k) VALUES (?)", (key,)).rowcount)

    def many(conn: sqlite3.Connection, keys: list[int]) -> list[int]:
        calls.append(("many", keys))
        if any(k < 0 for k in keys):
            raise ValueError("refused")
        marks = ",".join(["(?)"] * len(keys))
        conn.execute(f"INSERT INTO t (k) VALUES {marks}", keys)  # one statement for all
        return [1] * len(keys)

    return BulkWork(one, many)


def test_consecutive_bulk_writes_run_as_one_call_in_order(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    calls: list[tuple[str, list[int]]] = []
    kind = _bulk_inserts(calls)
    writer = GroupCommitWriter(lambda: _connect(db))

    def submit() -> list[Awaitable[int]]:
        queued = [writer.submit_bulk(kind, k) for k in (1, 2, 3)]
        queued.append(writer.submit(_insert(4)))  # another kind of write splits the run
        return queued + [writer.submit_bulk(kind, k) for k in (5, 6)]

    try:
        assert asyncio.run(in_one_batch(writer, submit)) == [1] * 6
        assert calls == [("many", [1, 2, 3]), ("many", [5, 6])]
        with contextlib.closing(sqlite3.connect(db)) as conn:
            assert [k for (k,) in conn.execute("SELECT k FROM t ORDER BY k")] == [1, 2, 3, 4, 5, 6]
    finally:
        writer.close()


def test_a_failing_bulk_call_is_run_again_job_by_job(tmp_path: Path) -> None:
    """Only the job that fails fails; the others commit, each through `one`."""
    db = tmp_path / "w.db"
    calls: list[tuple[str, list[int]]] = []
    kind = _bulk_inserts(calls)
    writer = GroupCommitWriter(lambda: _connect(db))

    def submit() -> list[Awaitable[int]]:
        return [writer.submit_bulk(kind, k) for k in (1, -1, 2)]

    try:
        first, failed, last = asyncio.run(in_one_batch(writer, submit))
        assert (first, last) == (1, 1) and isinstance(failed, ValueError)
        assert calls == [("many", [1, -1, 2]), ("one", [1]), ("one", [-1]), ("one", [2])]
        with contextlib.closing(sqlite3.connect(db)) as conn:
            assert [k for (k,) in conn.execute("SELECT k FROM t ORDER BY k")] == [1, 2]
    finally:
        writer.close()
