"""The WAL checkpointer thread (SQLite): it copies committed WAL pages into the database
file, so the writer's own COMMITs need not."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tokenrevoke.store.sqlite.checkpoint import (
    _SYNC_FILE_RANGE,
    RESTART_WAIT_MS,
    Checkpointer,
    Writeback,
    _checkpointing,
    _restart,
)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def test_committed_pages_reach_the_database_file(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    writer = _connect(db)
    writer.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer may copy pages
    writer.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)")
    writer.execute("BEGIN")
    writer.executemany(
        "INSERT INTO t VALUES (?, randomblob(1000))", [(str(i),) for i in range(2000)]
    )
    writer.execute("COMMIT")
    before = db.stat().st_size
    assert before < 1_000_000  # the rows are in the WAL only

    checkpointer = Checkpointer(lambda: _connect(db), interval=0.05)
    try:
        deadline = time.monotonic() + 10
        while db.stat().st_size <= before and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        checkpointer.close()
    assert db.stat().st_size > 2_000_000
    writer.close()
    # Everything committed is readable from the database file alone.
    plain = sqlite3.connect(db)
    assert plain.execute("SELECT count(*) FROM t").fetchone() == (2000,)
    plain.close()


def test_close_stops_the_thread(tmp_path: Path) -> None:
    checkpointer = Checkpointer(lambda: _connect(tmp_path / "d.db"), interval=0.05)
    checkpointer.close()
    assert not checkpointer._thread.is_alive()


def test_a_steady_stream_of_writes_keeps_the_wal_short(tmp_path: Path) -> None:
    """PASSIVE checkpoints alone never let SQLite start a busy WAL over (the writer appends
    while they copy); the RESTART checkpoint does, so the WAL file stays near its bound."""
    db = tmp_path / "s.db"
    writer = _connect(db)
    writer.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer may copy pages
    writer.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")

    def connect() -> sqlite3.Connection:  # waits for the writer, as the store's connections do
        conn = _connect(db)
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    checkpointer = Checkpointer(connect, interval=0.02, restart_frames=200)
    try:
        for start in range(0, 20_000, 20):  # ~5 pages per commit, 5,000 frames in all
            writer.execute("BEGIN")
            writer.executemany(
                "INSERT INTO t VALUES (?, randomblob(1000))",
                [(k,) for k in range(start, start + 20)],
            )
            writer.execute("COMMIT")
            time.sleep(0.001)  # a stream, not one burst: let the checkpointer run
    finally:
        checkpointer.close()
    wal_frames = (tmp_path / "s.db-wal").stat().st_size // 4096
    assert wal_frames < 1_000, wal_frames  # ~300 here; ~2,500 without the RESTART
    writer.close()


def test_writeback_starts_and_waits_on_a_real_file_and_is_a_no_op_without_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 65536)
    writeback = Writeback(str(path))
    if _SYNC_FILE_RANGE is not None:  # Linux
        assert writeback._fd >= 0
    writeback.start()
    writeback.finish()
    assert writeback._fd >= 0 or _SYNC_FILE_RANGE is None  # it did not fail
    writeback.close()
    memory = Writeback("")  # an in-memory database has no file
    memory.start()
    memory.finish()
    memory.close()


def test_a_restart_gives_up_at_once_on_a_busy_writer_and_restarts_the_wal_when_it_is_free(
    tmp_path: Path,
) -> None:
    """It holds the writer's lock once it has it, so it must not queue for it (a queued
    RESTART stopped every write behind a copy of the whole WAL: docs/benchmarks.md)."""
    db = tmp_path / "r.db"
    writer = _connect(db)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
    writer.executemany("INSERT INTO t VALUES (?, randomblob(3000))", [(k,) for k in range(500)])

    def connect() -> sqlite3.Connection:  # as the store's: it would wait a minute
        conn = _connect(db)
        conn.execute("PRAGMA busy_timeout=60000")
        return conn

    checkpointing = _checkpointing(connect)
    assert checkpointing.execute("PRAGMA busy_timeout").fetchone() == (RESTART_WAIT_MS,)

    writer.execute("BEGIN IMMEDIATE")  # the writer is busy
    writer.execute("INSERT INTO t VALUES (1000, x'00')")
    started = time.monotonic()
    _restart(checkpointing)
    assert time.monotonic() - started < 5  # not the connection's 60 s
    writer.execute("COMMIT")

    _restart(checkpointing)  # the writer is idle now
    writer.execute("INSERT INTO t VALUES (1001, x'00')")
    _, frames, _ = checkpointing.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames <= 3  # the write went to the start of the WAL, not after ~500 frames
    assert writer.execute("SELECT count(*) FROM t").fetchone() == (502,)
    checkpointing.close()
    writer.close()


def test_a_failed_sync_of_the_database_file_does_not_stop_the_checkpointer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "e.db"
    writer = _connect(db)
    writer.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer may copy pages
    writer.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
    failures: list[int] = []

    def failing_finish(self: Writeback) -> None:
        failures.append(1)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(Writeback, "finish", failing_finish)
    checkpointer = Checkpointer(lambda: _connect(db), interval=0.02, restart_frames=50)
    try:
        deadline = time.monotonic() + 10
        while len(failures) < 3 and time.monotonic() < deadline:
            writer.executemany("INSERT INTO t VALUES (NULL, randomblob(3000))", [()] * 100)
            time.sleep(0.02)
        assert len(failures) >= 3  # it kept trying, pass after pass
        assert checkpointer._thread.is_alive()
    finally:
        checkpointer.close()
        writer.close()
