"""uvicorn's httptools protocol as the server runs it: the client certificate for mTLS
(tls.py), deadlines and a bound on connections, and responses sent in bursts, once per
event-loop iteration.

uvicorn bounds only the wait between two requests (its keep-alive timeout): a connection
that never sends a byte, or sends its request slowly (slowloris), is held for ever. Here a
request must be read whole (headers and body) within `request_read_timeout` seconds of the
connection opening or of the request's first byte, else the connection is closed; and
beyond `max_connections` open connections a new one is closed at once (settings.py).

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
from dataclasses import dataclass
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
    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        limits: ConnectionLimits = getattr(config, "connection_limits", ConnectionLimits())
        self._limits = limits
        self._read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.transport = BurstTransport(transport, self.loop)  # type: ignore[assignment]
        if len(self.connections) > self._limits.max_connections:
            transport.close()  # beyond the bound: no request is read from it
            return
        self._arm_read_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._read_deadline is None:  # the next request on a kept-alive connection
            self._arm_read_deadline()

    def on_message_complete(self) -> None:
        self._cancel_read_deadline()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_deadline()
        super().connection_lost(exc)

    def _arm_read_deadline(self) -> None:
        timeout = self._limits.request_read_timeout
        if timeout > 0:
            self._read_deadline = self.loop.call_later(timeout, self._read_timed_out)

    def _cancel_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What uvicorn's config carries to every connection's protocol (an attribute of the
    config, so that it reaches `--workers` processes with it)."""

    request_read_timeout: float = 10.0
    max_connections: int = 1000
