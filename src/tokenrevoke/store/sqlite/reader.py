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

The header is read through our own mapping of the `-shm` file (`WalIndexHeader`), on a
descriptor shared by the process's stores and closed after their connections: closing
one earlier would drop SQLite's locks on that file (files.py; a SIGBUS in the benchmark
before it was so).

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
import sqlite3
from pathlib import Path

from tokenrevoke.store.sqlite import files

log = logging.getLogger("tokenrevoke.store")

# At most this long a snapshot is kept (checkpoints wait for it; the checkpointer's RESTART
# waits up to 20 ms for readers).
HOLD_SECONDS = 0.005
# Both copies of the 48-byte WAL-index header; a writer updates the second, then the first.
_HEADER_BYTES = 96


class WalIndexHeader:
    """Both copies of the WAL-index header, read from a mapping of `<db>-shm` (made once
    SQLite has created that file). Close it only after every connection of the store
    (see above and files.py)."""

    def __init__(self, path: Path) -> None:
        self._shm = Path(f"{path}-shm")
        self._file: files.SharedFile | None = None
        self._map: mmap.mmap | None = None

    def read(self) -> bytes | None:
        """The header; b"" while a writer is updating it; None when it cannot be read."""
        if self._map is None and not self._open():
            return None
        assert self._map is not None
        header = self._map[:_HEADER_BYTES]
        # A writer mid-update leaves the two copies different: no snapshot from that.
        return header if header[:48] == header[48:] else b""

    def _open(self) -> bool:
        if self._file is None:
            try:
                self._file = files.acquire(self._shm)
            except OSError:
                return False  # not made yet: looked for again at the next read
        self._map = self._file.mapping(_HEADER_BYTES)
        return self._map is not None

    def close(self) -> None:
        self._map = None
        if self._file is not None:
            self._file.release()
            self._file = None


class SnapshotReader:
    def __init__(self, conn: sqlite3.Connection, header: WalIndexHeader) -> None:
        self._conn = conn
        self._header = header.read
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
        """Close the connection (not the header: the store does, after every connection)."""
        self.end()
        self._conn.close()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
