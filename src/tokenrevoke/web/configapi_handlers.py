"""The config API's handlers: parse the request, call `configapi/`, shape the answer.

Clients, scopes and scripts share one set of handlers over `configapi/resources.py`;
the table of operations naming them is in configapi_operations.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tokenrevoke.configapi import config as config_admin
from tokenrevoke.configapi import resources
from tokenrevoke.configapi import scripts as script_admin
from tokenrevoke.configapi import server as server_info
from tokenrevoke.configapi import sessions as session_admin
from tokenrevoke.configapi import token_entries as token_admin
from tokenrevoke.configapi.clients import Clients
from tokenrevoke.configapi.errors import ApiError, bad_request
from tokenrevoke.configapi.paging import page_in_memory, parse_paging
from tokenrevoke.configapi.resources import Resource
from tokenrevoke.configapi.scopes import Scopes
from tokenrevoke.configapi.scripts import Scripts
from tokenrevoke.configapi.security import Caller
from tokenrevoke.oauth.errors import OAuthError
from tokenrevoke.runtime import Runtime
from tokenrevoke.web.requests import MAX_JSON_DEPTH, read_body, too_deep
from tokenrevoke.web.responses import NO_STORE

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"

Handler = Callable[[Request, Runtime, Caller], Awaitable[Response]]


def api_json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, NO_STORE, media_type=JSON)


def no_content() -> Response:
    return Response(b"", 204, NO_STORE)


def error_json(error: ApiError) -> Response:
    return Response(
        orjson.dumps(error.body()), error.status, {**NO_STORE, **error.headers}, media_type=JSON
    )


async def json_body(request: Request, runtime: Runtime, media_type: str) -> Any:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    accepted = {media_type, JSON} if media_type == JSON_PATCH else {media_type}
    if content_type not in accepted:
        raise ApiError(415, f"the request body must be {media_type}")
    try:
        body = await read_body(request, runtime.settings.max_body_bytes)
    except OAuthError as error:  # too large, or a malformed Content-Length
        raise ApiError(error.status, error.description) from None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise bad_request("the request body is not valid JSON") from None
    if too_deep(document):
        raise bad_request(f"the request body is nested more than {MAX_JSON_DEPTH} levels deep")
    # A NUL can only come as an escape (JSON has no raw control characters in strings).
    if b"\\u0000" in body and _holds_nul(document):
        raise bad_request("a string in the request body holds a NUL character (\\u0000)")
    return document


def _holds_nul(value: Any) -> bool:
    """Whether a string of the document holds a NUL: no id, name or value may, on either
    store (PostgreSQL's text cannot hold one, so SQLite must not take one either)."""
    pending = [value]  # a loop, not recursion: documents may be 1,024 levels deep
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\0" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def query(request: Request) -> dict[str, str]:
    return dict(request.query_params)


# -- clients, scopes, scripts ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ResourceHandlers:
    """The handlers of one kind of resource; `make` binds it to the store and to what its
    rules need. A listing's `type` filter is a query parameter or a path parameter."""

    make: Callable[[Runtime, Caller], Resource[Any]]
    type_in_query: bool = False

    async def list(self, request: Request, rt: Runtime, caller: Caller) -> Response:
        resource = self.make(rt, caller)
        params = query(request)
        paging = parse_paging(
            params, sort_default="inum", sortable=resource.fields, fields=resource.fields
        )
        kind = params.get("type") if self.type_in_query else request.path_params.get("type")
        items = await resources.listing(resource, kind)
        return api_json(page_in_memory(items, paging, resource.searched))

    async def get(self, request: Request, rt: Runtime, caller: Caller) -> Response:
        return api_json(await resources.get(self.make(rt, caller), request.path_params["inum"]))

    async def create(self, request: Request, rt: Runtime, caller: Caller) -> Response:
        data = await json_body(request, rt, JSON)
        return api_json(await resources.create(self.make(rt, caller), data), 201)

    async def replace(self, request: Request, rt: Runtime, caller: Caller) -> Response:
        data = await json_body(request, rt, JSON)
        return api_json(await resources.replace(self.make(rt, caller), data))

    async def patch(self, request: Request, rt: Runtime, caller: Caller) -> Response:
        resource = self.make(rt, caller)
        existing = await resource.load(request.path_params["inum"])  # 404 before the body
        operations = await json_body(request, rt, JSON_PATCH)
        return api_json(await resources.patch(resource, existing, operations))

    async def delete(self, request: Request, rt: Runtime, caller: Caller) -> Response:
        await resources.delete(self.make(rt, caller), request.path_params["inum"])
        return no_content()


def _clients(rt: Runtime, caller: Caller) -> Clients:
    cfg = rt.config()
    # outboundAllowPrivateNetworks: whether a jwksUri may name a private address
    # (configapi/outbound.py).
    return Clients(
        rt.store,
        rt.box,
        cfg.client_secret_minimum_length,
        caller,
        cfg.outbound_allow_private_networks,
    )


CLIENTS = ResourceHandlers(_clients)
SCOPES = ResourceHandlers(lambda rt, _: Scopes(rt.store), type_in_query=True)
SCRIPTS = ResourceHandlers(lambda rt, _: Scripts(rt.store))


async def scope_by_type(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(await resources.listing(Scopes(rt.store), request.path_params["type"]))


async def script_by_name(request: Request, rt: Runtime, _: Caller) -> Response:
    script = await Scripts(rt.store).load(request.path_params["name"], "name")
    return api_json(script_admin.script_json(script))


async def script_types(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(list(script_admin.SCRIPT_TYPES))


# -- tokens ---------------------------------------------------------------------------------
async def token_by_client(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(
        await token_admin.by_client(rt.store, request.path_params["clientId"], query(request))
    )


async def token_by_code(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(await token_admin.get_token(rt.store, request.path_params["tknCde"]))


async def token_revoke(request: Request, rt: Runtime, caller: Caller) -> Response:
    await token_admin.revoke(rt.store, request.path_params["tknCde"], caller)
    return no_content()


async def token_revoke_user(request: Request, rt: Runtime, caller: Caller) -> Response:
    return api_json(await token_admin.revoke_user(rt.store, request.path_params["userId"], caller))


async def token_search(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(await token_admin.search(rt.store, query(request)))


# -- browser sessions -----------------------------------------------------------------------
async def session_search(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(await session_admin.search(rt.store, query(request)))


async def session_by_sid(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(await session_admin.get(rt.store, request.path_params["sid"]))


async def session_end(request: Request, rt: Runtime, caller: Caller) -> Response:
    await session_admin.end(rt.store, request.path_params["sid"], caller)
    return no_content()


async def session_end_user(request: Request, rt: Runtime, caller: Caller) -> Response:
    await session_admin.end_user(rt.store, request.path_params["userDn"], caller)
    return no_content()


# -- auth-server properties -----------------------------------------------------------------
def _properties(rt: Runtime, cfg: Any) -> dict[str, Any]:
    return config_admin.render(cfg, rt.settings.log_level)


async def properties_get(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(_properties(rt, await config_admin.effective(rt.store, rt.settings.base_url)))


async def properties_patch(request: Request, rt: Runtime, _: Caller) -> Response:
    patch = await json_body(request, rt, JSON_PATCH)
    cfg = await config_admin.patch_properties(rt.store, rt.box, rt.settings.base_url, patch)
    return api_json(_properties(rt, cfg))  # in force at once (see _take_effect)


async def logging_get(request: Request, rt: Runtime, _: Caller) -> Response:
    cfg = await config_admin.effective(rt.store, rt.settings.base_url)
    return api_json(config_admin.logging_view(_properties(rt, cfg)))


async def logging_put(request: Request, rt: Runtime, _: Caller) -> Response:
    body = await json_body(request, rt, JSON)
    cfg = await config_admin.put_logging(rt.store, rt.box, rt.settings.base_url, body)
    return api_json(config_admin.logging_view(_properties(rt, cfg)))


async def persistence_get(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(server_info.persistence(rt.settings.store_url))


# -- the server itself ----------------------------------------------------------------------
async def health(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(await server_info.health(rt.store))


async def health_live(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(server_info.live())


async def health_ready(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(await server_info.ready(rt.store))


async def app_version(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(server_info.app_version(request.query_params.get("artifact", "all")))


async def server_stat(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(server_info.server_stat(rt.settings.store_url, rt.settings.data_dir))


async def plugins(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(server_info.plugins())


async def plugin_by_name(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(request.path_params["pluginName"] in server_info.plugins())


async def attributes(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(server_info.attributes(query(request)))


async def acrs(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(server_info.default_acr())


async def config_jwks(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(server_info.jwks(rt.keys))


async def feature_flags(request: Request, rt: Runtime, _: Caller) -> Response:
    cfg = await config_admin.effective(rt.store, rt.settings.base_url)
    return api_json(list(cfg.feature_flags))
