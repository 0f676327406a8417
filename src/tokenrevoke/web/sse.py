"""Server-Sent Events framing (the WHATWG `text/event-stream` format) of the revocation
event stream."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from starlette.responses import StreamingResponse

from tokenrevoke.model import RevocationEvent
from tokenrevoke.store import StoreUnavailable

log = logging.getLogger("tokenrevoke.web")

EVENT_NAME = "tokens-revoked"
RECONNECT_MS = 2000


async def frames(stream: AsyncIterator[RevocationEvent | None]) -> AsyncIterator[bytes]:
    # The reconnection delay first; it also gets the headers to the subscriber at once.
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    try:
        async for event in stream:
            if event is None:
                yield b": heartbeat\n\n"
                continue
            data = orjson.dumps(event.to_json()).decode()
            yield f"id: {event.position}\nevent: {EVENT_NAME}\ndata: {data}\n\n".encode()
    except StoreUnavailable as exc:
        # End the stream: the subscriber reconnects with Last-Event-ID and loses nothing.
        log.warning("store unavailable; ending a revocation event stream: %s", exc)


def event_stream_response(stream: AsyncIterator[RevocationEvent | None]) -> StreamingResponse:
    return StreamingResponse(
        frames(stream),
        media_type="text/event-stream",
        # No proxy buffering: an event must reach the subscriber when it happens.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def end_streams_on_exit(end_streams: Callable[[], None]) -> None:
    """Open streams would hold a graceful shutdown for its whole timeout: uvicorn waits
    for running responses before the app hears of the shutdown. So the exit signals end
    them first, then go on to the handler uvicorn installed."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue  # not under uvicorn's signal handling (tests, embedding): nothing to do

        def handler(signum: int, frame: Any, previous: Callable[..., Any] = previous) -> None:
            loop.call_soon_threadsafe(end_streams)
            previous(signum, frame)

        signal.signal(sig, handler)
