"""uvicorn's httptools protocol as the server runs it: the client certificate for mTLS
(tls.py), and responses sent in bursts, once per event-loop iteration.

uvicorn writes a response's status line and headers, then its body; uvloop sends each
write at once. Every `send` to a client that is waiting in `epoll` wakes it, and on a
virtual machine a wake-up is the most expensive part of a small response (a quarter of
the event loop's time under wrk, in `send` and the kernel's wake-up path; the raw ASGI
hello app pays much less only because its client never gets to sleep). Here a
connection's writes wait for the end of the event-loop iteration they were made in, and
then every connection's go out together: a response is one `send`, and a client that
reads several connections is woken once for all the answers of that iteration. Under
load that is more answers per second with a lower p50 and p99 (docs/benchmarks.md); idle,
it delays an answer by the rest of one iteration, microseconds.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from tokenrevoke.web.tls import TlsAwareHttpToolsProtocol

log = logging.getLogger("tokenrevoke.web")


class _Flusher:
    """The connections of one event loop with writes waiting, sent at the end of the
    iteration (one callback for them all)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: list[BurstTransport] = []

    def add(self, transport: BurstTransport) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(transport)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for transport in pending:
            try:
                transport.flush()
            except Exception:  # one connection's failure must not hold up the others
                log.exception("sending a response failed")


_flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Flusher] = (
    weakref.WeakKeyDictionary()
)


class BurstTransport:
    """A connection's transport whose writes wait for the end of the event-loop iteration
    (`flush`); everything else is the transport's own."""

    __slots__ = ("_flusher", "_held", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        flusher = _flushers.get(loop)
        if flusher is None:
            flusher = _flushers[loop] = _Flusher(loop)
        self._flusher = flusher
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._flusher.add(self)
        self._held.append(data)

    def flush(self) -> None:
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held = []
        if not self._transport.is_closing():  # the client went away meanwhile
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(TlsAwareHttpToolsProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.transport = BurstTransport(transport, self.loop)  # type: ignore[assignment]
