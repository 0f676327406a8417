"""Rendering: JSON bodies with orjson, no-store headers everywhere, Janssen error shapes."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from tokenrevoke.oauth.errors import OAuthError

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
JSON = "application/json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, {**NO_STORE, **(headers or {})}, media_type=JSON)


def empty_response(extra: list[tuple[str, str]] | None = None) -> Response:
    response = Response(b"", 200, NO_STORE)
    for name, value in extra or ():
        response.headers.append(name, value)
    return response


def no_content() -> Response:
    return Response(b"", 204, NO_STORE)


def error_response(error: OAuthError, with_reason: bool) -> Response:
    return json_response(error.body(with_reason), error.status, error.headers)
