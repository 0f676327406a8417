"""WAL checkpoints on their own thread, so the group-commit writer never runs one.

A checkpoint copies the pages written to the WAL back into the database file and fsyncs
it. Left to SQLite (`wal_autocheckpoint`), the writer does this inside a COMMIT every
1,000 WAL pages: token writes dirty ~3 random B-tree pages each, so that is every few
batches, and every write waiting behind that batch waits for the copy. Here a thread with
its own connection runs a PASSIVE checkpoint (it never blocks the writer or the readers)
once a second; pages rewritten by many commits in that second are copied once.
Durability is unchanged: a commit is durable once its WAL frames are fsynced.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger("tokenrevoke.store")

INTERVAL_SECONDS = 1.0


class Checkpointer:
    def __init__(
        self, connect: Callable[[], sqlite3.Connection], interval: float = INTERVAL_SECONDS
    ) -> None:
        self._connect = connect
        self._interval = interval
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
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    log.warning("sqlite checkpoint failed (will retry): %s", exc)
        finally:
            conn.close()
