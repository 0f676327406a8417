"""The token, revocation and introspection endpoints as plain ASGI.

These three carry nearly all of an auth server's traffic. They skip Starlette (its
`Request` and `Response` objects, its error and exception middleware, its route table)
and the generic observation wrapper, and do what those do in one place: the request id,
metrics and access log (observe.py's helpers), CORS (only for a request with an
`Origin`), shaped errors (`auth_handlers.shaped_error`), and a response sent from its encoded
headers. Their handlers are in `auth_handlers.py`. Every other path, and these paths with another
method (Starlette's 405), go to the wrapped app, whose route table takes these paths from
`HOT` too (`starlette_routes`): one table.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tokenrevoke.model import AppConfiguration
from tokenrevoke.observability.logs import REQUEST_ID
from tokenrevoke.paths import AUTH
from tokenrevoke.runtime import Runtime
from tokenrevoke.web import auth_handlers
from tokenrevoke.web.cors import CorsMiddleware
from tokenrevoke.web.observe import (
    REQUEST_ID_HEADER,
    finish_observation,
    incoming_request_id,
    new_request_id,
)

HotHandler = Callable[[Runtime, Scope, Receive], Awaitable[Response]]
HOT: dict[tuple[str, str], HotHandler] = {
    ("POST", f"{AUTH}/token"): auth_handlers.token,
    ("POST", f"{AUTH}/revoke"): auth_handlers.revoke,
    ("POST", f"{AUTH}/introspection"): auth_handlers.introspect,
    ("GET", f"{AUTH}/introspection"): auth_handlers.introspect,
}


def starlette_routes() -> list[Route]:
    """`HOT`'s paths as Starlette routes, one per path and handler with its methods, so
    that the route table knows these paths (another method gets 405, not 404; HEAD goes
    with GET). HotPathApp answers the methods of `HOT` before they are reached."""
    methods: dict[tuple[str, HotHandler], list[str]] = {}
    for (method, path), handler in HOT.items():
        methods.setdefault((path, handler), []).append(method)
    return [
        Route(path, _starlette_endpoint(handler), methods=names)
        for (path, handler), names in methods.items()
    ]


def _starlette_endpoint(handler: HotHandler) -> Callable[[Request], Awaitable[Response]]:
    """The same handler behind a Starlette route."""

    async def endpoint(request: Request) -> Response:
        runtime = auth_handlers.runtime_of(request)
        try:
            return await handler(runtime, request.scope, request.receive)
        except Exception as exc:
            return auth_handlers.shaped_error(exc, runtime, request.scope)

    endpoint.__name__ = handler.__name__
    return endpoint


class HotPathApp:
    def __init__(
        self,
        app: ASGIApp,
        runtime: Callable[[], Runtime],
        config: Callable[[], AppConfiguration],
        *,
        log_requests: bool,
    ) -> None:
        self.app = app
        self._runtime = runtime
        self._cors = CorsMiddleware(app, config=config)
        self._log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = HOT.get((scope["method"], scope["path"]))
            if handler is not None:
                await self._serve(handler, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _serve(self, handler: HotHandler, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        request_id = incoming_request_id(scope) or new_request_id()
        reset = REQUEST_ID.set(request_id.decode())
        status = 500  # what the server answers when sending fails before the start
        try:
            runtime = self._runtime()
            try:
                response = await handler(runtime, scope, receive)
            except Exception as exc:
                response = auth_handlers.shaped_error(exc, runtime, scope)
            status = response.status_code
            headers = response.raw_headers
            headers.append((REQUEST_ID_HEADER, request_id))
            send = self._cors.sender(scope, send)  # a browser's request: CORS headers
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": response.body})
        finally:
            finish_observation(scope, status, start, self._log_requests, scope["path"])
            REQUEST_ID.reset(reset)
