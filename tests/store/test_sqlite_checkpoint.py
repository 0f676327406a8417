"""The WAL checkpointer thread (SQLite): it copies committed WAL pages into the database
file, so the writer's own COMMITs need not."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tokenrevoke.store.sqlite.checkpoint import Checkpointer


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


class _RecordingConnection:
    """Answers `PRAGMA wal_checkpoint` with a WAL of `frames` frames; records statements."""

    def __init__(self, frames: int) -> None:
        self.frames = frames
        self.statements: list[str] = []

    def execute(self, sql: str) -> _RecordingConnection:
        self.statements.append(sql)
        return self

    def fetchone(self) -> tuple[int, int, int]:
        return (0, self.frames, self.frames - 10)

    def fetchall(self) -> list[tuple[int, int, int]]:
        return [self.fetchone()]

    def close(self) -> None:
        pass


def _statements_with_wal_of(frames: int) -> list[str]:
    conn = _RecordingConnection(frames)
    checkpointer = Checkpointer(lambda: conn, interval=0.01, restart_frames=1000)  # type: ignore[arg-type, return-value]
    time.sleep(0.1)
    checkpointer.close()
    return conn.statements


def test_a_long_wal_is_started_over() -> None:
    """Under a steady stream of writes a PASSIVE checkpoint never copies the whole WAL, so
    SQLite never starts it over: once it holds `restart_frames`, a RESTART does."""
    statements = _statements_with_wal_of(1500)
    assert "PRAGMA wal_checkpoint(PASSIVE)" in statements
    assert "PRAGMA wal_checkpoint(RESTART)" in statements


def test_a_short_wal_only_gets_passive_checkpoints() -> None:
    statements = _statements_with_wal_of(999)
    assert statements and set(statements) == {"PRAGMA wal_checkpoint(PASSIVE)"}
