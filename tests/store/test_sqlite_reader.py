"""The SQLite reader keeps a read transaction only while nothing was committed, and never
for long: every read sees every commit made before it, by any connection."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tokenrevoke.store.sqlite.checkpoint import INTERVAL_SECONDS as CHECKPOINT_INTERVAL
from tokenrevoke.store.sqlite.reader import HOLD_SECONDS, SnapshotReader, WalIndexHeader
from tokenrevoke.store.sqlite.store import SqliteStore


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


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[SnapshotReader, sqlite3.Connection]]:
    """A reader, and another connection (as another process would have) that wrote a row."""
    db = tmp_path / "r.db"
    other = _setup(db)
    header = WalIndexHeader(db)
    reader = SnapshotReader(_connect(db), header)
    try:
        yield reader, other
    finally:
        reader.close()
        header.close()
        other.close()


def test_a_read_sees_what_another_connection_committed_just_before(
    pair: tuple[SnapshotReader, sqlite3.Connection],
) -> None:
    reader, other = pair

    async def scenario() -> None:
        assert _value(reader) == "a"
        assert reader.connection().in_transaction  # a snapshot is kept...
        for value in ("b", "c", "d"):
            other.execute("UPDATE t SET v = ? WHERE k = 1", (value,))
            assert _value(reader) == value  # ...but never past a commit

    asyncio.run(scenario())


def test_the_snapshot_ends_soon_after_the_reads_and_checkpoints_proceed(
    pair: tuple[SnapshotReader, sqlite3.Connection],
) -> None:
    reader, other = pair

    async def scenario() -> None:
        assert _value(reader) == "a"
        other.execute("UPDATE t SET v = 'b' WHERE k = 1")  # a frame the reader's mark precedes
        await asyncio.sleep(HOLD_SECONDS * 4)
        assert not reader._conn.in_transaction
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0  # nobody held the WAL
        assert _value(reader) == "b"

    asyncio.run(scenario())


def test_outside_an_event_loop_every_read_is_its_own_transaction(
    pair: tuple[SnapshotReader, sqlite3.Connection],
) -> None:
    reader, other = pair
    assert _value(reader) == "a"
    assert not reader._conn.in_transaction
    other.execute("UPDATE t SET v = 'b' WHERE k = 1")
    assert _value(reader) == "b"


def test_without_a_wal_index_reads_are_plain(tmp_path: Path) -> None:
    """A database not in WAL mode has no `-shm` to watch: no snapshot is kept."""
    db = tmp_path / "r.db"
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as setup:
        setup.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        setup.execute("INSERT INTO t VALUES (1, 'a')")
    header = WalIndexHeader(db)
    reader = SnapshotReader(sqlite3.connect(db, isolation_level=None), header)

    async def scenario() -> None:
        assert _value(reader) == "a"
        assert not reader._conn.in_transaction

    try:
        asyncio.run(scenario())
    finally:
        reader.close()
        header.close()


# SQLite's unix VFS: the "dead man switch" byte of the -shm file, which every process with
# a connection holds a shared lock on; a process that can lock it exclusively takes the
# -shm for abandoned and truncates it (under the mappings of everyone still using it).
_DMS_BYTE = 128
_PROBE = f"""
import fcntl, os, sys
if not os.path.exists(sys.argv[1]):
    sys.exit(print("gone"))
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, {_DMS_BYTE})
except OSError:
    print("held")
else:
    print("free")
"""


def _dms_lock_seen_by_another_process(db: Path) -> str:
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, f"{db}-shm"], capture_output=True, text=True, timeout=30
    )
    return probe.stdout.strip()


def test_the_store_keeps_sqlites_locks_while_it_reads_and_checkpoints(tmp_path: Path) -> None:
    """Our own descriptors on the -shm and database files (the reader's header, the
    checkpointer's writeback) must never be closed while connections are open: closing
    any descriptor of a file drops all the process's POSIX locks on it. Before this was
    so, another process opening the store truncated the -shm and the server died of a
    SIGBUS."""
    db = tmp_path / "s.db"

    async def scenario() -> None:
        store = await SqliteStore.open(db)
        try:
            await store.save_config({"issuer": "https://example.test"}, None)
            for _ in range(3):
                await store.load_config()  # reads: the reader maps the header
                await asyncio.sleep(CHECKPOINT_INTERVAL)  # and checkpoints run
            assert _dms_lock_seen_by_another_process(db) == "held"
            other = await SqliteStore.open(db)  # as another node or the CLI would
            await other.load_config()
            await other.close()
            assert _dms_lock_seen_by_another_process(db) == "held"
            assert (await store.load_config())[0]["issuer"] == "https://example.test"
        finally:
            await store.close()
        assert _dms_lock_seen_by_another_process(db) in ("free", "gone")

    asyncio.run(scenario())
