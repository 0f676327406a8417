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
