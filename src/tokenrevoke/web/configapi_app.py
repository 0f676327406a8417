"""The config API over HTTP (`/jans-config-api/api/v1/...`): routes, authorization,
audit records and error mapping around the table of operations
(configapi_operations.py), whose handlers (configapi_handlers.py) call `configapi/`.
This is the HTTP side; the resources' rules, framework-free, are the top-level
`tokenrevoke.configapi` package.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message

from tokenrevoke.configapi import audit, security
from tokenrevoke.configapi.client_json import ClientError
from tokenrevoke.configapi.errors import ApiError, bad_request, not_found
from tokenrevoke.configapi.security import Caller
from tokenrevoke.model import ConfigError
from tokenrevoke.oauth.errors import OAuthError
from tokenrevoke.observability.metrics import store_unavailable
from tokenrevoke.paths import CONFIG_API, CONFIG_API_V1
from tokenrevoke.runtime import Runtime
from tokenrevoke.store import StoreUnavailable, UnstorableText
from tokenrevoke.store.base import ConflictError
from tokenrevoke.web.configapi_handlers import JSON, error_json
from tokenrevoke.web.configapi_operations import (
    OPERATIONS,
    T_CLIENT,
    T_LOGGING,
    T_PROPS,
    T_SCOPE,
    T_SCRIPT,
    T_SESSION,
    T_TOKEN,
    Operation,
)
from tokenrevoke.web.requests import loggable_path, read_body

__all__ = ["JSON", "OPERATIONS", "T_CLIENT", "T_SCOPE", "T_TOKEN", "Operation", "routes"]

log = logging.getLogger("tokenrevoke.configapi")


def endpoint(op: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        try:
            caller = (
                await security.authorize(
                    runtime.store,
                    request.headers.get("authorization"),
                    op.scopes,
                    runtime.get_client,
                )
                if op.scopes
                else security.ANONYMOUS
            )
            if op.method == "GET" or op.tag in (T_TOKEN, T_SESSION):
                # (revocations and sessions' ends audit themselves, with what they revoked)
                return await op.handler(request, runtime, caller)
            request, key = await _resource_key(request, runtime, op)
            kind = _AUDITED[op.tag]
            before = await audit.snapshot(runtime.store, runtime.settings.base_url, kind, key)
            response = await op.handler(request, runtime, caller)
            if response.status_code < 400:
                await _take_effect(runtime, op.tag)
                await _audit(runtime, caller, op, kind, key or _created_key(response), before)
            return response
        except ApiError as error:
            return error_json(error)
        except (ConfigError, ClientError) as exc:
            return error_json(bad_request(str(exc)))
        except ConflictError as exc:
            return error_json(ApiError(409, str(exc)))
        except UnstorableText as exc:
            return error_json(bad_request(str(exc)))
        except ClientDisconnect:  # gone, or cut off (web/protocol.py): no error of ours
            return error_json(bad_request("the request was not received whole"))
        except StoreUnavailable as exc:
            store_unavailable("config_api")
            log.error("store unavailable on %s: %s", loggable_path(request.scope), exc)
            return error_json(
                ApiError(503, "the store is temporarily unavailable", {"Retry-After": "1"})
            )
        except Exception:
            log.exception("unexpected error on %s %s", request.method, loggable_path(request.scope))
            return error_json(ApiError(500, "the server could not complete the request"))

    handle.__name__ = op.operation_id.replace("-", "_")
    return handle


async def _resource_key(request: Request, runtime: Runtime, op: Operation) -> tuple[Request, str]:
    """The inum a write names: in the path, or (Janssen's PUT) in the body, which is then
    read here and replayed to the handler. "" for a POST (known from its answer) and for
    the properties (one resource)."""
    if "inum" in request.path_params:
        return request, str(request.path_params["inum"])
    if op.method != "PUT":
        return request, ""
    try:
        body = await read_body(request, runtime.settings.max_body_bytes)
    except OAuthError as error:  # too large, or a malformed Content-Length
        raise ApiError(error.status, error.description) from None
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        inum = orjson.loads(body).get("inum")
    except (orjson.JSONDecodeError, AttributeError):
        inum = None  # the handler answers 400
    return Request(request.scope, replay), inum if isinstance(inum, str) else ""


def _created_key(response: Response) -> str:
    try:
        inum = orjson.loads(response.body).get("inum")
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return inum if isinstance(inum, str) else ""


async def _audit(
    runtime: Runtime, caller: Caller, op: Operation, kind: str, key: str, before: Any
) -> None:
    """The audit record of a committed write. A store that fails now cannot undo the write:
    the caller gets its answer and the operator an error in the log."""
    try:
        after = await audit.snapshot(runtime.store, runtime.settings.base_url, kind, key)
        await audit.record(
            runtime.store, caller.client_id, op.operation_id, kind, key, before, after
        )
    except StoreUnavailable as exc:
        log.error("config API %s by %s not audited: %s", op.operation_id, caller.client_id, exc)


async def _take_effect(runtime: Runtime, kind: str) -> None:
    """A committed change (a client disabled, a script added...) is in force on this node
    before the response goes out; other nodes hear of it on the change bus (with Redis) or
    at their next poll."""
    try:
        await runtime.refresh()
    except StoreUnavailable as exc:  # committed anyway; the next poll catches up
        log.warning("could not reload after a config API change: %s", exc)
    await runtime.announce_change(kind)


_AUDITED = {T_CLIENT: audit.CLIENT, T_SCOPE: audit.SCOPE, T_PROPS: audit.PROPERTIES,
            T_LOGGING: audit.PROPERTIES, T_SCRIPT: audit.SCRIPT}  # fmt: skip


ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Client ids (RFC 6749 VSCHAR) and user ids are any visible characters, "/" included: as a
# last path segment they match the rest of the path (nothing else lives below these paths).
_ANY_CHARACTERS = (
    "/openid/clients/{inum}",
    "/token/client/{clientId}",
    "/token/revoke/user/{userId}",
)


class _AnyCharacters(Convertor[str]):
    """Starlette's `path` convertor (`.*`) stops at a newline: `/clients/%0A` matched no
    route, not even the catch-all, and got the auth server's 404 instead of an ApiError."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("any_characters", _AnyCharacters())


def routes() -> list[BaseRoute]:
    """Static paths first (Starlette matches in order: /scripts/types before /scripts/{inum}).

    Each path takes every method, so that a wrong method (405) and, through the final
    catch-all, an unknown path (404) get ApiError JSON like every other config API error.
    """
    ordered = sorted(OPERATIONS, key=lambda op: op.path.count("{"))
    by_path: dict[str, dict[str, Operation]] = {}
    for op in ordered:
        by_path.setdefault(op.path, {})[op.method] = op
    out: list[BaseRoute] = []
    for path, methods in by_path.items():
        route_path = CONFIG_API + path
        for param in _ANY_CHARACTERS:
            route_path = route_path.replace(param, param[:-1] + ":any_characters}")
        out.append(Route(route_path, _dispatch(methods), methods=ANY_METHOD))
    out.append(Route(CONFIG_API_V1 + "/{rest:any_characters}", unknown_path, methods=ANY_METHOD))
    return out


async def unknown_path(request: Request) -> Response:
    return error_json(not_found(f"no such resource: {request.url.path}"))


def _dispatch(methods: dict[str, Operation]) -> Callable[[Request], Awaitable[Response]]:
    handlers = {method: endpoint(op) for method, op in methods.items()}
    allowed = sorted({*methods, *(("HEAD",) if "GET" in methods else ())})

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" and "GET" in handlers else request.method
        handler = handlers.get(method)
        if handler is None:
            return error_json(
                ApiError(
                    405, f"{request.method} is not allowed here", {"Allow": ", ".join(allowed)}
                )
            )
        return await handler(request)

    return dispatch
