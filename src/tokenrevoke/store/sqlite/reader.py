"""The event loop's reading connection, which keeps one read transaction for as long as
nothing has been committed.

An autocommit SELECT in WAL mode opens and closes a read transaction each time: two
`fcntl` locks on the `-shm` file and an `fstat` of the database, about a third of a token
lookup's cost here (docs/benchmarks.md). Instead the reader keeps its transaction open
and, before each read, looks whether any connection, in this process or another, has
committed since it began: the WAL-index header at the start of `<db>-shm` changes with
every commit (its change counter and last frame; https://www.sqlite.org/walformat.html,
"The WAL-Index Header"). Unchanged, the open snapshot is exactly what a new transaction
would see, so the read is as fresh as an autocommit one; changed (or torn, mid-update),
the transaction is ended and a new one begun.

An open read transaction holds back checkpoints (they may not copy frames past the
snapshot it reads), so the reader never keeps one for longer than `HOLD_SECONDS`: a timer
on the event loop ends it, busy or idle. Outside a running event loop, or when the header
cannot be mapped, every read is an ordinary autocommit one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mmap
import os
import sqlite3
from pathlib import Path

log = logging.getLogger("tokenrevoke.store")

# At most this long a snapshot is kept (checkpoints wait for it; the checkpointer's RESTART
# waits up to 20 ms for readers).
HOLD_SECONDS = 0.005
# Both copies of the 48-byte WAL-index header; a writer updates the second, then the first.
_HEADER_BYTES = 96


class SnapshotReader:
    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._shm = Path(f"{path}-shm")
        self._map: mmap.mmap | None = None
        self._seen: bytes | None = None  # the header when the open transaction began
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection(self) -> sqlite3.Connection:
        """The connection, inside a transaction that sees every commit made so far."""
        loop = _running_loop()
        if self._seen is not None:
            if loop is self._loop and self._header() == self._seen:
                return self._conn
            self.end()
        header = self._header() if loop is not None else None
        if loop is not None and header is not None:
            self._conn.execute("BEGIN")  # the snapshot is taken by the first read after it
            self._seen, self._loop = header, loop
            self._timer = loop.call_later(HOLD_SECONDS, self.end)
        return self._conn

    def end(self) -> None:
        """End the open read transaction, if any (also after a failed read)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._seen = self._loop = None
        if self._conn.in_transaction:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:  # a read transaction has nothing to lose
                log.warning("ending the reader's transaction failed: %s", exc)
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self.end()
        if self._map is not None:
            self._map.close()
            self._map = None
        self._conn.close()

    def _header(self) -> bytes | None:
        if self._map is None:
            self._map = _map_header(self._shm)
            if self._map is None:
                return None
        header = self._map[:_HEADER_BYTES]
        # A writer mid-update leaves the two copies different: no snapshot from that.
        return header if header[:48] == header[48:] else b""


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _map_header(shm: Path) -> mmap.mmap | None:
    """A read-only view of the WAL-index header, once SQLite has made the `-shm` file (the
    store's connections keep it for as long as they are open)."""
    try:
        fd = os.open(shm, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_size < _HEADER_BYTES:
            return None
        return mmap.mmap(fd, _HEADER_BYTES, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
