"""Driving the SQLite group-commit writer in tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from tokenrevoke.store.sqlite.writer import GroupCommitWriter


async def in_one_batch(
    writer: GroupCommitWriter, submit: Callable[[], list[Awaitable[Any]]]
) -> list[Any]:
    """Hold the writer inside a job while `submit` queues writes, so that they make up its
    next batch; their results (or exceptions), in order."""
    gate = threading.Event()
    held = asyncio.ensure_future(writer.submit(lambda conn: gate.wait(10)))
    try:
        await asyncio.sleep(0.05)  # the writer is inside the held job
        jobs = [asyncio.ensure_future(write) for write in submit()]
        await asyncio.sleep(0.05)
    finally:
        gate.set()
    await held
    return list(await asyncio.gather(*jobs, return_exceptions=True))
