"""WAL checkpoints on their own thread, so the group-commit writer never runs one.

A checkpoint copies the pages written to the WAL back into the database file and fsyncs
it. Left to SQLite (`wal_autocheckpoint`), the writer does this inside a COMMIT every
1,000 WAL pages: token writes dirty ~3 random B-tree pages each, so that is every few
batches, and every write waiting behind that batch waits for the copy. Here a thread with
its own connection does it, in three parts (docs/benchmarks.md has the measurements):

- every `INTERVAL_SECONDS`, a PASSIVE checkpoint: it copies what it can without blocking
  the writer or the readers;
- right after it, the kernel is asked to start writing the pages just copied to the disk
  (`sync_file_range`, which does not wait for them). Without this, a store of a million
  tokens piles up tens of MiB of dirty pages in the OS cache between full checkpoints,
  and the fsync that ends one then takes hundreds of milliseconds;
- once the WAL holds `RESTART_FRAMES`, a second PASSIVE pass and an fdatasync of the
  database file (holding no lock), then a RESTART checkpoint. Under a steady stream of
  writes a PASSIVE one never catches up completely (the writer appends while it copies),
  and SQLite only starts the WAL over once every frame was copied back; the WAL would grow
  until the writer's own backstop checkpoint fired inside a COMMIT, a stall of 100 to 300
  ms for every write in flight. The RESTART waits (at most `RESTART_WAIT_MS`) for the
  writer's current transaction, copies the little the PASSIVE passes left, fsyncs the
  database file (quick: the fdatasync before it wrote the rest) and makes the next
  transaction write the WAL from its start. When the writer is busy for longer (a
  revoke-all), it gives up and the PASSIVE passes go on; the WAL grows meanwhile, up to
  the writer's backstop (connections.py), and is started over once the burst is past.

Durability does not depend on any of this: a commit is durable once its WAL frames are.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sqlite3
import threading
from collections.abc import Callable

from tokenrevoke.store.sqlite import files

log = logging.getLogger("tokenrevoke.store")

INTERVAL_SECONDS = 0.25
# ~40 MiB of 4 KiB frames; below the writer's backstop (connections.py, _WAL_BACKSTOP_PAGES).
RESTART_FRAMES = 10_000
# How long a RESTART may wait for the writer's lock and the readers (_checkpointing).
RESTART_WAIT_MS = 20


class Checkpointer:
    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        interval: float = INTERVAL_SECONDS,
        restart_frames: int = RESTART_FRAMES,
        writeback: Writeback | None = None,
    ) -> None:
        """`writeback`: of the database file; its owner closes it, after every connection
        (see `Writeback`). Without one, no early writeback."""
        self._connect = connect
        self._writeback = writeback or Writeback("")
        self._interval = interval
        self._restart_frames = restart_frames
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            conn = _checkpointing(self._connect)
        except sqlite3.Error as exc:
            # The writer's own backstop checkpoints still bound the WAL.
            log.error("sqlite checkpointer could not connect: %s", exc)
            return
        writeback = self._writeback
        try:
            while not self._stop.wait(self._interval):
                try:
                    _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    writeback.start()
                    if frames >= self._restart_frames:
                        # Copy what came in during the writeback and wait for the disk
                        # here, holding no lock: the RESTART, which holds the writer's,
                        # then has almost nothing left to copy and to sync.
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                        writeback.finish()
                        _restart(conn)
                except (sqlite3.Error, OSError) as exc:  # OSError: the fdatasync
                    log.warning("sqlite checkpoint failed (will retry): %s", exc)
        finally:
            conn.close()


def _checkpointing(connect: Callable[[], sqlite3.Connection]) -> sqlite3.Connection:
    """The checkpointer's connection: it waits at most `RESTART_WAIT_MS` for a lock. Only
    the RESTART waits at all (a PASSIVE checkpoint never does), and it holds the writer's
    lock from the moment it gets it, so it must not queue for it: while it waited (the
    store's busy timeout, seconds) no PASSIVE pass ran, the WAL kept growing under a
    revoke-all's batches, and the RESTART that finally got the lock copied 60,000 to
    90,000 frames with every write stopped behind it (0.4 to 0.5 s). Failing fast
    instead leaves the copying to the next PASSIVE passes and tries again after the next
    one, with little to copy."""
    conn = connect()
    conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
    return conn


def _restart(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()


_SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>: start writing dirty pages, do not wait


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """Linux's sync_file_range(2) from the C library, or None where there is none."""
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range  # the C library's
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_SYNC_FILE_RANGE = _sync_file_range()


class Writeback:
    """Starts the disk writes of a file's dirty pages without waiting for them, or waits
    for them (a no-op where sync_file_range does not exist, or for an in-memory
    database).

    Its descriptor is shared by the process's stores and closed after their connections
    (files.py): closing it earlier would drop SQLite's locks on the database file."""

    def __init__(self, path: str) -> None:
        self._file: files.SharedFile | None = None
        self._started = True  # sync_file_range works here (until it fails once)
        if path and _SYNC_FILE_RANGE is not None:
            try:
                self._file = files.acquire(path)
            except OSError as exc:
                log.warning("no early writeback of %s: %s", path, exc)

    @property
    def _fd(self) -> int:
        return self._file.fd if self._file is not None else -1

    def start(self) -> None:
        if self._fd < 0 or _SYNC_FILE_RANGE is None or not self._started:
            return
        if _SYNC_FILE_RANGE(self._fd, 0, 0, _SYNC_FILE_RANGE_WRITE) != 0:
            # Only an optimisation: say so once and stop trying (the descriptor stays
            # open until the owner closes it, see above).
            log.warning("no early writeback: %s", os.strerror(ctypes.get_errno()))
            self._started = False

    def finish(self) -> None:
        """Wait until the file's dirty pages are on disk (fdatasync)."""
        if self._fd >= 0:
            os.fdatasync(self._fd)

    def close(self) -> None:
        """Only after every connection of the store (see above)."""
        if self._file is not None:
            self._file.release()
            self._file = None
