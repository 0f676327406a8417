"""uvicorn's httptools protocol as the server runs it: the client certificate for mTLS
(tls.py), and one socket write per response.

uvicorn writes a response's status line and headers, then its body, as two writes; uvloop
sends each at once, so every response costs two `send` calls and two TCP segments, and
the client two wake-ups (a quarter of the event loop's time on the hot endpoints, measured
with py-spy under wrk). Here the header block waits for the body's first write and goes out
with it. Whatever sends its headers and then waits (an event stream, a response without a
body) has them sent by the end of the same event-loop iteration.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tokenrevoke.web.tls import TlsAwareHttpToolsProtocol

_STATUS_LINE = b"HTTP/1.1 "
_END_OF_HEADERS = b"\r\n\r\n"


class OneWriteTransport:
    """A connection's transport, holding a response's header block until the next write
    (or the end of the event-loop iteration); everything else is the transport's own."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._held is not None:
            data, self._held = self._held + data, None
        elif data.startswith(_STATUS_LINE) and data.endswith(_END_OF_HEADERS):
            self._held = data
            self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        if self._held is not None:
            data, self._held = self._held, None
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(TlsAwareHttpToolsProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.transport = OneWriteTransport(transport, self.loop)  # type: ignore[assignment]
