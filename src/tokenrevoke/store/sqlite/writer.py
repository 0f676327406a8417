"""One writer thread per process with group commit.

Concurrent requests each submit a small write; the thread takes every write waiting in the
queue, runs them in one transaction (each inside its own savepoint, so one failure does not
sink the others) and commits once. Each caller's future resolves only after that commit is
durable, so an acknowledged write survives power loss, and an fsync is shared by a batch.

Writes of one kind may also run together (`submit_bulk`): a run of consecutive jobs of one
`BulkWork` becomes one call that does them all in a few statements. Python's sqlite3 lets
go of the GIL around every statement step and must take it back after, and on a busy
server each take waits for the event loop's thread (measured: ~40 us of wall time per
statement for ~17 us of CPU), so statements per batch, not per job, is what the writer
can keep up with. Should a bulk call fail, the batch runs again job by job, as any batch
with a failing job does.

With a `sync` (the store's: fdatasync of the WAL, its connection on synchronous=NORMAL)
the fsync is pipelined: the writer commits a batch and goes on with the next one while a
second thread makes the committed batches durable, one sync for all of them, and only
then resolves their futures. The writer thus never waits for the disk, and the disk's
latency overlaps the next batch's work instead of adding to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 (a bulk job's item)
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class BulkWork(Generic[I, R]):
    """A kind of write the writer may run for several callers at once. `many(conn, items)`
    must have the effect and give the results that `one(conn, item)` run on each item in
    turn would have and give; it runs inside the batch's transaction."""

    one: Callable[[sqlite3.Connection, I], R]
    many: Callable[[sqlite3.Connection, list[I]], list[R]]


@dataclass(slots=True)
class Bulk:
    """A job's part in a bulk write: its kind, and its item for `kind.many`."""

    kind: BulkWork[Any, Any]
    item: Any


@dataclass(slots=True)
class Job:
    """A write queued for the writer thread, and where its outcome goes."""

    work: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    bulk: Bulk | None


log = logging.getLogger("tokenrevoke.store")

_MAX_BATCH = 1024
_STOP = object()


class GroupCommitWriter:
    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        sync: Callable[[], None] | None = None,
    ) -> None:
        self._queue: queue.SimpleQueue[Job | object] = queue.SimpleQueue()
        self._connect = connect
        self._syncer = _Syncer(sync) if sync is not None else None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            # Fail where the store is opened, not later with every write.
            self._thread.join()
            raise self._startup_error

    async def submit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._submit(work, None)

    async def submit_bulk(self, kind: BulkWork[I, R], item: I) -> R:
        """A write that may run together with the other `kind` writes queued beside it."""
        return await self._submit(lambda conn: kind.one(conn, item), Bulk(kind, item))

    async def _submit(self, work: Callable[[sqlite3.Connection], T], bulk: Bulk | None) -> T:
        if not self._thread.is_alive():
            # Never queue behind a writer that is gone: the caller would wait forever.
            raise sqlite3.OperationalError("the sqlite writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(Job(work, future, loop, bulk))
        return await future

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)
        if self._syncer is not None:
            self._syncer.close()

    def _run(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            self._startup_error = exc
            return
        finally:
            self._ready.set()
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                batch: list[Job] = [first]  # type: ignore[list-item]
                stop = False
                while len(batch) < _MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    batch.append(item)  # type: ignore[arg-type]
                try:
                    outcomes = self._commit_batch(conn, batch)
                except BaseException as exc:  # never let the thread die with callers waiting
                    log.exception("sqlite writer failed on a batch of %d writes", len(batch))
                    _rollback(conn)
                    outcomes = [(False, _failure(exc))] * len(batch)
                if self._syncer is not None:
                    self._syncer.put(batch, outcomes)
                else:
                    _notify_batch(batch, outcomes)
                if stop:
                    return
        finally:
            conn.close()
            # Whoever queued after the end must not wait forever.
            gone = sqlite3.OperationalError("the sqlite writer has stopped")
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not _STOP:
                    job = cast(Job, item)
                    _notify(job.loop, [(job.future, False, gone)])

    @staticmethod
    def _commit_batch(conn: sqlite3.Connection, batch: list[Job]) -> list[tuple[bool, Any]]:
        """Run the batch in one transaction. An outcome reports success only once the
        transaction holding it is committed; on any doubt every write reports failure.

        The usual batch has no failing job, so it runs without savepoints (two statements
        fewer per write). When a job fails, the transaction is rolled back and the batch
        runs again with a savepoint around each job, so only that job fails."""
        try:
            return GroupCommitWriter._run_batch(conn, batch, isolate=False)
        except _JobFailed:
            _rollback(conn)
        try:
            return GroupCommitWriter._run_batch(conn, batch, isolate=True)
        except sqlite3.Error as exc:
            log.error("commit failed for a batch of %d writes: %s", len(batch), exc)
            _rollback(conn)
            return [(False, exc)] * len(batch)

    @staticmethod
    def _run_batch(
        conn: sqlite3.Connection, batch: list[Job], *, isolate: bool
    ) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for run in _runs(batch, isolate):
                if isolate:
                    conn.execute("SAVEPOINT job")
                try:
                    results = _run(conn, run)
                except Exception as exc:  # the job's own failure, not the batch's
                    if not isolate:
                        raise _JobFailed from exc
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((False, exc))
                else:
                    if isolate:
                        conn.execute("RELEASE job")
                    outcomes += [(True, result) for result in results]
                if not conn.in_transaction:
                    # SQLite rolls the whole transaction back on some errors (disk full,
                    # I/O error); what ran before in this batch is gone with it.
                    raise sqlite3.OperationalError("the transaction was rolled back")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if isolate:
                raise
            log.error("commit failed for a batch of %d writes: %s", len(batch), exc)
            _rollback(conn)
            return [(False, exc)] * len(batch)
        return outcomes


def _runs(batch: list[Job], isolate: bool) -> list[list[Job]]:
    """The batch in order, as runs that execute together: consecutive jobs of one bulk
    kind (unless isolated), every other job alone."""
    runs: list[list[Job]] = []
    for job in batch:
        bulk, last = job.bulk, runs[-1][-1].bulk if runs else None
        if not isolate and bulk is not None and last is not None and last.kind is bulk.kind:
            runs[-1].append(job)
        else:
            runs.append([job])
    return runs


def _run(conn: sqlite3.Connection, run: list[Job]) -> list[Any]:
    if len(run) == 1:
        return [run[0].work(conn)]
    kind = cast(Bulk, run[0].bulk).kind
    results = kind.many(conn, [cast(Bulk, job.bulk).item for job in run])
    if len(results) != len(run):
        raise RuntimeError(f"a bulk write gave {len(results)} results for {len(run)} jobs")
    return results


class _Syncer:
    """Makes committed batches durable in commit order, then settles their futures."""

    def __init__(self, sync: Callable[[], None]) -> None:
        self._sync = sync
        self._queue: queue.SimpleQueue[tuple[list[Job], list[tuple[bool, Any]]] | object] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._run, name="sqlite-sync", daemon=True)
        self._thread.start()

    def put(self, batch: list[Job], outcomes: list[tuple[bool, Any]]) -> None:
        self._queue.put((batch, outcomes))

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            waiting = [self._queue.get()]
            while True:  # every batch committed meanwhile shares this sync
                try:
                    waiting.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = _STOP in waiting
            committed = cast(
                list[tuple[list[Job], list[tuple[bool, Any]]]],
                [item for item in waiting if item is not _STOP],
            )
            failure: Exception | None = None
            try:
                self._sync()
            except Exception as exc:
                # Committed but maybe not on disk: no caller may hear that it is durable.
                log.error("sync of %d committed batches failed: %s", len(committed), exc)
                failure = sqlite3.OperationalError(f"the write could not be made durable: {exc}")
            for batch, outcomes in committed:
                if failure is not None:
                    outcomes = [(False, failure)] * len(batch)
                _notify_batch(batch, outcomes)
            if stop:
                return


class _JobFailed(Exception):
    """A job raised during the fast (savepoint-free) pass: redo the batch isolated."""


def _rollback(conn: sqlite3.Connection) -> None:
    """Leave no transaction open: the next batch's BEGIN would fail, and every write after."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.error("rollback failed: %s", exc)


def _failure(exc: BaseException) -> Exception:
    return exc if isinstance(exc, sqlite3.Error) else sqlite3.OperationalError(str(exc))


Settlement = tuple[asyncio.Future[Any], bool, Any]


def _notify_batch(batch: list[Job], outcomes: list[tuple[bool, Any]]) -> None:
    """Wake each caller's loop once per batch, not once per write: every wake-up is a
    syscall and a GIL hand-off, which at thousands of writes a second is the writer's cost."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Settlement]] = {}
    for job, (ok, value) in zip(batch, outcomes, strict=True):
        by_loop.setdefault(job.loop, []).append((job.future, ok, value))
    for loop, settlements in by_loop.items():
        _notify(loop, settlements)


def _notify(loop: asyncio.AbstractEventLoop, settlements: list[Settlement]) -> None:
    # RuntimeError: the caller's event loop is closed, so nobody is waiting.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_settle, settlements)


def _settle(settlements: list[Settlement]) -> None:
    for future, ok, value in settlements:
        if future.done():  # the caller went away (cancelled); the write stands regardless
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
