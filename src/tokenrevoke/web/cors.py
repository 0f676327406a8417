"""CORS as Janssen's CorsFilter does it, from `corsConfigurationFilters`.

A handler that has identified the client may narrow the allowed origins to the client's
`authorizedOrigins` by setting `scope["state"]["cors_origins"]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tokenrevoke.model import AppConfiguration


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


class CorsMiddleware:
    def __init__(self, app: ASGIApp, config: Callable[[], AppConfiguration]) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        # Most requests (servers, not browsers) send no Origin: skip the filter lookup.
        rules = self._filter() if origin is not None else None
        if origin is None or rules is None:
            await self.app(scope, receive, send)
            return
        allowed = self._origin_allowed(origin, rules)
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
            await self._preflight(scope, send, origin, rules, allowed)
            return
        await self.app(scope, receive, self._with_cors(scope, send, origin, rules, allowed))

    def sender(self, scope: Scope, send: Send) -> Send:
        """`send` with the CORS headers this (non-preflight) request's answer gets."""
        origin = _header(scope, b"origin")
        rules = self._filter() if origin is not None else None
        if origin is None or rules is None:
            return send
        return self._with_cors(scope, send, origin, rules, self._origin_allowed(origin, rules))

    def _with_cors(
        self, scope: Scope, send: Send, origin: str, rules: dict[str, Any], allowed: bool
    ) -> Send:
        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allowed:
                narrowed = scope.get("state", {}).get("cors_origins")
                if not narrowed or origin in narrowed:
                    headers = list(message.get("headers", []))
                    headers.extend(self._common(origin, rules))
                    exposed = rules["corsExposedHeaders"]
                    if exposed:
                        headers.append((b"access-control-expose-headers", exposed.encode()))
                    message["headers"] = headers
            await send(message)

        return send_with_cors

    def _filter(self) -> dict[str, Any] | None:
        for rules in self.config().cors_configuration_filters:
            if rules.get("corsEnabled"):
                return dict(rules)
        return None

    @staticmethod
    def _origin_allowed(origin: str, rules: dict[str, Any]) -> bool:
        allowed = _split(rules["corsAllowedOrigins"])
        return "*" in allowed or origin in allowed

    @staticmethod
    def _common(origin: str, rules: dict[str, Any]) -> list[tuple[bytes, bytes]]:
        credentials = rules["corsSupportCredentials"]
        # With credentials the origin must be echoed; "*" is not allowed by browsers.
        value = origin if credentials or "*" not in _split(rules["corsAllowedOrigins"]) else "*"
        headers = [(b"access-control-allow-origin", value.encode("latin-1")), (b"vary", b"Origin")]
        if credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers

    async def _preflight(
        self, scope: Scope, send: Send, origin: str, rules: dict[str, Any], allowed: bool
    ) -> None:
        method = (_header(scope, b"access-control-request-method") or "").upper()
        methods = [m.upper() for m in _split(rules["corsAllowedMethods"])]
        if not allowed or method not in methods:
            await _send(send, 403, [(b"content-type", b"text/plain")], b"CORS request rejected")
            return
        requested = _header(scope, b"access-control-request-headers") or ""
        allow_headers = rules["corsAllowedHeaders"] or requested
        headers = self._common(origin, rules)
        headers.append((b"access-control-allow-methods", ",".join(methods).encode()))
        if allow_headers:
            headers.append((b"access-control-allow-headers", allow_headers.encode("latin-1")))
        headers.append((b"access-control-max-age", str(rules["corsPreflightMaxAge"]).encode()))
        await _send(send, 200, headers, b"")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
