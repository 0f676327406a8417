"""The token, revocation and introspection endpoints, without Starlette's app stack.

They run the same handlers (`routes.py`: the same parsing, the same shaped errors) inside
the same CORS middleware, but skip Starlette's error and exception middleware, its route
table and its endpoint wrapper, which cost a large share of these requests' CPU. Every
other path, and these paths with another method (405), go to the Starlette app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tokenrevoke.model import AppConfiguration
from tokenrevoke.paths import AUTH
from tokenrevoke.web import routes
from tokenrevoke.web.cors import CorsMiddleware

Handler = Callable[[Request], Awaitable[Response]]
HOT: dict[tuple[str, str], Handler] = {
    ("POST", f"{AUTH}/token"): routes.token,
    ("POST", f"{AUTH}/revoke"): routes.revoke,
    ("POST", f"{AUTH}/introspection"): routes.introspect,
    ("GET", f"{AUTH}/introspection"): routes.introspect,
}
_HANDLER = "tokenrevoke.handler"


class HotPathApp:
    def __init__(self, app: Starlette, config: Callable[[], AppConfiguration]) -> None:
        self.app = app
        self._hot = CorsMiddleware(self._serve, config=config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = HOT.get((scope["method"], scope["path"]))
            if handler is not None:
                scope["app"] = self.app  # handlers find the runtime through request.app
                scope[_HANDLER] = handler
                await self._hot(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _serve(scope: Scope, receive: Receive, send: Send) -> None:
        response = await scope[_HANDLER](Request(scope, receive))
        await response(scope, receive, send)
