"""Per-request observation: the request id (taken from a sane `X-Request-Id`, else
generated; echoed in the response), request metrics, and the optional access log. An ASGI
wrapper around the Starlette app; the hot endpoints (hotpath.py) use the same helpers.

What is logged of a request: method, a path that cannot carry a secret, status, duration
and the peer address. Never the query string (introspection takes `?token=` on GET), the
body, or any header.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tokenrevoke.observability.logs import REQUEST_ID
from tokenrevoke.observability.metrics import observe_request
from tokenrevoke.web.requests import loggable_path

access_log = logging.getLogger("tokenrevoke.access")

_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}")
REQUEST_ID_HEADER = b"x-request-id"
UNMATCHED = "unmatched"
# Generated ids: a random per-process prefix and a counter, 32 hex digits. Unique, not
# secret; no system call per request (os.urandom costs tens of microseconds in some sandboxes).
_ID_PREFIX = secrets.token_hex(8).encode()
_id_counter = itertools.count()


def new_request_id() -> bytes:
    return b"%s%016x" % (_ID_PREFIX, next(_id_counter))


class ObservedApp:
    def __init__(self, app: ASGIApp, *, log_requests: bool) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = incoming_request_id(scope) or new_request_id()
        reset = REQUEST_ID.set(request_id.decode())
        status = 500  # what the server answers when the app fails before responding

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers")
                if isinstance(headers, list):  # Starlette's own list: append in place
                    headers.append((REQUEST_ID_HEADER, request_id))
                else:
                    message["headers"] = [*(headers or ()), (REQUEST_ID_HEADER, request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            finish_observation(scope, status, start, self.log_requests)
            REQUEST_ID.reset(reset)


def finish_observation(
    scope: Scope, status: int, start: float, log_requests: bool, label: str | None = None
) -> None:
    """Metrics and the access log of a finished request (`label`: its endpoint, when the
    caller knows it better than the scope's route)."""
    seconds = time.perf_counter() - start
    observe_request(label or endpoint_label(scope), scope["method"], status, seconds)
    if log_requests:
        _log(scope, status, seconds)


def _log(scope: Scope, status: int, seconds: float) -> None:
    method, path, ms = scope["method"], loggable_path(scope), round(seconds * 1000, 3)
    client = scope.get("client")
    peer = client[0] if client else None
    access_log.info(
        "%s %s %d %.3f ms", method, path, status, ms,
        extra={"method": method, "path": path, "status": status, "duration_ms": ms,
               "client": peer},
    )  # fmt: skip


def incoming_request_id(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            return value if _SANE_REQUEST_ID.fullmatch(value) else None
    return None


def endpoint_label(scope: Scope) -> str:
    """The route template (bounded: never a raw path an attacker chose)."""
    route = scope.get("route")
    if route is not None:
        return str(route.path)
    return UNMATCHED
