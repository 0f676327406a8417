"""Responses leave in bursts, one per event-loop iteration (web/protocol.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from tokenrevoke.web.protocol import BurstTransport

HEADERS = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Recorder:
    def __init__(self, log: list[tuple[int, bytes]], number: int) -> None:
        self.log = log
        self.number = number
        self.closed = False

    def write(self, data: bytes) -> None:
        self.log.append((self.number, data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> Any:
        return f"extra:{name}"


def _transports(count: int) -> tuple[list[BurstTransport], list[Recorder], list[tuple[int, bytes]]]:
    loop = asyncio.get_running_loop()
    log: list[tuple[int, bytes]] = []
    recorders = [Recorder(log, n) for n in range(count)]
    return [BurstTransport(r, loop) for r in recorders], recorders, log  # type: ignore[arg-type]


def test_a_response_is_one_write_and_an_iterations_responses_leave_together() -> None:
    async def scenario() -> list[tuple[int, bytes]]:
        (a, b), _, log = _transports(2)
        a.write(HEADERS)
        b.write(HEADERS)
        a.write(b"{}")
        b.write(b"[]")
        assert log == []  # nothing before the end of this iteration
        await asyncio.sleep(0)
        return log

    assert asyncio.run(scenario()) == [(0, HEADERS + b"{}"), (1, HEADERS + b"[]")]


def test_what_is_written_later_leaves_with_the_next_burst() -> None:
    """An event stream: headers first, events as they come."""

    async def scenario() -> list[tuple[int, bytes]]:
        (stream,), _, log = _transports(1)
        stream.write(HEADERS)
        await asyncio.sleep(0)
        stream.write(b"data: 1\n\n")
        await asyncio.sleep(0)
        return log

    assert asyncio.run(scenario()) == [(0, HEADERS), (0, b"data: 1\n\n")]


def test_close_sends_what_waits_and_a_closed_connection_gets_nothing() -> None:
    async def scenario() -> tuple[list[tuple[int, bytes]], bool, Any]:
        (a, gone), recorders, log = _transports(2)
        a.write(HEADERS)
        a.close()
        gone.write(HEADERS)
        recorders[1].closed = True  # the client went away before the burst
        await asyncio.sleep(0)
        return log, recorders[0].closed, a.get_extra_info("peername")

    log, closed, extra = asyncio.run(scenario())
    assert log == [(0, HEADERS)] and closed and extra == "extra:peername"
