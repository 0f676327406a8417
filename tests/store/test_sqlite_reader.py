"""The SQLite reader keeps a read transaction only while nothing was committed, and never
for long: every read sees every commit made before it, by any connection."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from tokenrevoke.store.sqlite.reader import HOLD_SECONDS, SnapshotReader


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def _setup(path: Path) -> sqlite3.Connection:
    """Another connection (as another process would have), with a table of one row."""
    other = _connect(path)
    other.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    other.execute("INSERT INTO t VALUES (1, 'a')")
    return other


def _value(reader: SnapshotReader) -> str:
    return str(reader.connection().execute("SELECT v FROM t WHERE k = 1").fetchone()[0])


def test_a_read_sees_what_another_connection_committed_just_before(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    other = _setup(db)
    reader = SnapshotReader(_connect(db), db)

    async def scenario() -> None:
        assert _value(reader) == "a"
        assert reader.connection().in_transaction  # a snapshot is kept...
        for value in ("b", "c", "d"):
            other.execute("UPDATE t SET v = ? WHERE k = 1", (value,))
            assert _value(reader) == value  # ...but never past a commit

    try:
        asyncio.run(scenario())
    finally:
        reader.close()
        other.close()


def test_the_snapshot_ends_soon_after_the_reads_and_checkpoints_proceed(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    other = _setup(db)
    reader = SnapshotReader(_connect(db), db)

    async def scenario() -> None:
        assert _value(reader) == "a"
        other.execute("UPDATE t SET v = 'b' WHERE k = 1")  # a frame the reader's mark precedes
        await asyncio.sleep(HOLD_SECONDS * 4)
        assert not reader._conn.in_transaction
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0  # nobody held the WAL
        assert _value(reader) == "b"

    try:
        asyncio.run(scenario())
    finally:
        reader.close()
        other.close()


def test_outside_an_event_loop_every_read_is_its_own_transaction(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    other = _setup(db)
    reader = SnapshotReader(_connect(db), db)
    try:
        assert _value(reader) == "a"
        assert not reader._conn.in_transaction
        other.execute("UPDATE t SET v = 'b' WHERE k = 1")
        assert _value(reader) == "b"
    finally:
        reader.close()
        other.close()


def test_without_a_wal_index_reads_are_plain(tmp_path: Path) -> None:
    """A database not in WAL mode has no `-shm` to watch: no snapshot is kept."""
    db = tmp_path / "r.db"
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as setup:
        setup.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        setup.execute("INSERT INTO t VALUES (1, 'a')")
    reader = SnapshotReader(sqlite3.connect(db, isolation_level=None), db)

    async def scenario() -> None:
        assert _value(reader) == "a"
        assert not reader._conn.in_transaction

    try:
        asyncio.run(scenario())
    finally:
        reader.close()
