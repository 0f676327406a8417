"""Rendering: JSON bodies with orjson, no-store headers everywhere, Janssen error shapes.

Responses carry their header list already encoded: Starlette's `Response.__init__`
re-encodes and searches a header mapping on every request, a measurable share of the hot
endpoints' CPU.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from tokenrevoke.oauth.errors import OAuthError

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
JSON = "application/json"
# A signed introspection response (RFC 9701 section 5; Janssen's media type for it).
INTROSPECTION_JWT = "application/token-introspection+jwt"
_NO_STORE_RAW = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in NO_STORE.items()]
_JSON_RAW = (b"content-type", JSON.encode())
_EMPTY_RAW = (b"content-length", b"0")


class RawResponse(Response):
    """A response built from an encoded header list (content-length included)."""

    def __init__(self, body: bytes, status: int, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status
        self.background = None
        self.body = body
        self.raw_headers = raw_headers


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = orjson.dumps(body)
    raw = _encoded({**NO_STORE, **headers}) if headers else list(_NO_STORE_RAW)
    raw += [(b"content-length", b"%d" % len(content)), _JSON_RAW]
    return RawResponse(content, status, raw)


def empty_response(extra: list[tuple[str, str]] | None = None) -> Response:
    raw = [*_NO_STORE_RAW, _EMPTY_RAW]
    for name, value in extra or ():
        raw.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return RawResponse(b"", 200, raw)


def no_content() -> Response:
    return Response(b"", 204, NO_STORE)


def error_response(error: OAuthError, with_reason: bool) -> Response:
    return json_response(error.body(with_reason), error.status, error.headers)
