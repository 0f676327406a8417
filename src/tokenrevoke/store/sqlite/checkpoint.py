"""WAL checkpoints on their own thread, so the group-commit writer never runs one.

A checkpoint copies the pages written to the WAL back into the database file and fsyncs
it. Left to SQLite (`wal_autocheckpoint`), the writer does this inside a COMMIT every
1,000 WAL pages: token writes dirty ~3 random B-tree pages each, so that is every few
batches, and every write waiting behind that batch waits for the copy. Here a thread with
its own connection runs a PASSIVE checkpoint (it never blocks the writer or the readers)
ten times a second.

Under a steady stream of writes a PASSIVE checkpoint never catches up completely (the
writer appends while it copies), and SQLite only starts the WAL over once every frame in
it has been copied back. The WAL would then grow until the writer's own backstop
checkpoint fires inside a COMMIT: a stall of 100 to 300 ms for every write in flight,
which was the p99 of writes (measured with `python -m bench.inprocess issuance`). So once
the WAL holds `RESTART_FRAMES`, the thread runs a RESTART checkpoint: it waits for the
writer's current transaction, copies the little a PASSIVE pass left, and makes the next
transaction write the WAL from its start (a short, hot WAL also keeps each commit and
each read's WAL lookup cheap). Durability is unchanged: a commit is durable once its WAL
frames are fsynced.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger("tokenrevoke.store")

INTERVAL_SECONDS = 0.1
# ~40 MiB of 4 KiB frames; below the writer's backstop (store.py, _WAL_BACKSTOP_PAGES).
RESTART_FRAMES = 10_000


class Checkpointer:
    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        interval: float = INTERVAL_SECONDS,
        restart_frames: int = RESTART_FRAMES,
    ) -> None:
        self._connect = connect
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
            conn = self._connect()
        except sqlite3.Error as exc:
            # The writer's own backstop checkpoints still bound the WAL.
            log.error("sqlite checkpointer could not connect: %s", exc)
            return
        try:
            while not self._stop.wait(self._interval):
                try:
                    _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames >= self._restart_frames:
                        conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
                except sqlite3.Error as exc:
                    log.warning("sqlite checkpoint failed (will retry): %s", exc)
        finally:
            conn.close()
