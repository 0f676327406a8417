"""The store's connections to its SQLite file: their settings, and the WAL's fdatasync
for the writer, which commits without one (store/sqlite/writer.py)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: every commit is fsynced, so a 200 survives power loss, not just a crash.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    # 64 MiB of page cache per connection: the upper levels of the indexes of a large
    # store stay in memory. (No mmap: mapped pages would count against the server's RSS.)
    conn.execute("PRAGMA cache_size=-65536")
    return conn


# The writer's own checkpoints are only a backstop (the checkpointer thread does the
# work, store/sqlite/checkpoint.py): should it fall behind, the writer checkpoints once the
# WAL holds this many pages (~400 MiB; the WAL is not mapped, so it is not in RSS). Past
# it the writer checkpoints after every COMMIT, so it must stay above what a burst writes
# while the checkpointer cannot start the WAL over: a revoke-all of 100,000 tokens leaves
# 55,000 to 65,000 frames (at 20,000 pages the same revoke-all took 10 to 20% longer and
# its concurrent p99 doubled: docs/benchmarks.md).
_WAL_BACKSTOP_PAGES = 100_000
# After such a burst the WAL file is cut back to this size once SQLite starts it over
# (steady writes stay below it: the checkpointer restarts the WAL at ~40 MiB).
_WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def connect_writer(path: Path) -> sqlite3.Connection:
    conn = connect(path)
    conn.execute(f"PRAGMA wal_autocheckpoint={_WAL_BACKSTOP_PAGES}")
    conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT_BYTES}")
    # NORMAL: a COMMIT writes its WAL frames without waiting for them to reach the disk;
    # `WalSync` does that before any caller hears of the commit (store/sqlite/writer.py).
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class WalSync:
    """fdatasync of the database's WAL: what synchronous=FULL does inside every COMMIT,
    done after it, for all commits since the last sync at once. fdatasync flushes the
    file, whichever descriptor wrote it. The WAL file lives while any connection to the
    database is open (the store's are open until it closes); should it be replaced all the
    same, the file is opened again (a stat per sync, against syncing a deleted file)."""

    def __init__(self, path: Path) -> None:
        self._wal = Path(f"{path}-wal")
        self._fd: int | None = None
        self._inode = -1

    def __call__(self) -> None:
        inode = os.stat(self._wal).st_ino
        if inode != self._inode:
            self.close()
            self._fd = os.open(self._wal, os.O_RDONLY | os.O_CLOEXEC)
            self._inode = os.fstat(self._fd).st_ino
        assert self._fd is not None
        os.fdatasync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
