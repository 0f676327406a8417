"""One socket write per response (web/protocol.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from tokenrevoke.web.protocol import OneWriteTransport

HEADERS = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return f"extra:{name}"


def _transport(loop: asyncio.AbstractEventLoop) -> tuple[OneWriteTransport, Recorder]:
    recorder = Recorder()
    return OneWriteTransport(recorder, loop), recorder  # type: ignore[arg-type]


def test_headers_go_out_with_the_body_in_one_write() -> None:
    async def scenario() -> list[bytes]:
        transport, recorder = _transport(asyncio.get_running_loop())
        transport.write(HEADERS)
        assert recorder.writes == []
        transport.write(b"{}")
        await asyncio.sleep(0)
        return recorder.writes

    assert asyncio.run(scenario()) == [HEADERS + b"{}"]


def test_headers_alone_go_out_by_the_end_of_the_loop_iteration() -> None:
    """An event stream sends its headers and then waits for events."""

    async def scenario() -> list[bytes]:
        transport, recorder = _transport(asyncio.get_running_loop())
        transport.write(HEADERS)
        await asyncio.sleep(0)
        return recorder.writes

    assert asyncio.run(scenario()) == [HEADERS]


def test_close_sends_what_is_held_first_and_the_rest_passes_through() -> None:
    async def scenario() -> tuple[list[bytes], bool, Any]:
        transport, recorder = _transport(asyncio.get_running_loop())
        transport.write(b"data: event\n\n")  # not a header block: straight out
        transport.write(HEADERS)
        transport.close()
        return recorder.writes, recorder.closed, transport.get_extra_info("peername")

    writes, closed, extra = asyncio.run(scenario())
    assert writes == [b"data: event\n\n", HEADERS] and closed
    assert extra == "extra:peername"
