"""The config API over HTTP (`/jans-config-api/api/v1/...`), Janssen's paths and names.

One table of operations drives both the routes and the OpenAPI document, so the two
cannot drift apart. Handlers parse, call `configapi/`, render; rules live there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message

from tokenrevoke.configapi import audit, security
from tokenrevoke.configapi import clients as client_admin
from tokenrevoke.configapi import config as config_admin
from tokenrevoke.configapi import scopes as scope_admin
from tokenrevoke.configapi import scripts as script_admin
from tokenrevoke.configapi import server as server_info
from tokenrevoke.configapi import tokens as token_admin
from tokenrevoke.configapi.errors import ApiError, bad_request, not_found
from tokenrevoke.configapi.paging import page_in_memory, parse_paging
from tokenrevoke.configapi.security import Caller
from tokenrevoke.model import ConfigError, ScriptDefinition
from tokenrevoke.oauth.errors import OAuthError
from tokenrevoke.observability.metrics import store_unavailable
from tokenrevoke.paths import CONFIG_API, CONFIG_API_V1, CONFIG_API_VERSION
from tokenrevoke.runtime import Runtime
from tokenrevoke.store import StoreUnavailable, UnstorableText
from tokenrevoke.store.base import ConflictError
from tokenrevoke.web.requests import MAX_JSON_DEPTH, loggable_path, read_body, too_deep
from tokenrevoke.web.responses import NO_STORE

log = logging.getLogger("tokenrevoke.configapi")

API = CONFIG_API_VERSION  # operation paths are relative to CONFIG_API
JSON = "application/json"
JSON_PATCH = "application/json-patch+json"

Handler = Callable[[Request, Runtime, Caller], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str  # below /jans-config-api
    operation_id: str
    summary: str
    tag: str
    scopes: tuple[str, ...]
    handler: Handler
    request: str | None = None  # schema name of a JSON body
    request_type: str = JSON
    response: str | None = None  # schema name of the success body
    status: int = 200
    query: tuple[tuple[str, str, Any], ...] = ()  # (name, type, default)
    errors: tuple[int, ...] = (400, 401, 403, 404, 500)
    extra: dict[str, Any] = field(default_factory=dict)


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
            if op.method == "GET" or op.tag == T_TOKEN:  # (revocations audit themselves)
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
        except (ConfigError, client_admin.ClientError) as exc:
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


def body_inum(data: Any) -> str:
    """Janssen's PUT names the resource in the body, not the path."""
    inum = data.get("inum") if isinstance(data, dict) else None
    if not isinstance(inum, str) or not inum:
        raise bad_request("inum is required")
    return inum


def query(request: Request) -> dict[str, str]:
    return dict(request.query_params)


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


# -- clients --------------------------------------------------------------------------------
CLIENT_FIELDS = ("inum", "clientName", "displayName", "tokenEndpointAuthMethod", "disabled")


def _secret_min_length(rt: Runtime) -> int:
    return int(rt.config()["clientSecretMinimumLength"])


async def client_list(request: Request, rt: Runtime, _: Caller) -> Response:
    paging = parse_paging(
        query(request), sort_default="inum", sortable=CLIENT_FIELDS, fields=CLIENT_FIELDS
    )
    items = await client_admin.list_json(rt.store)
    return api_json(page_in_memory(items, paging, ("inum", "clientName", "displayName")))


async def client_get(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(await client_admin.get(rt.store, request.path_params["inum"]))


async def client_create(request: Request, rt: Runtime, caller: Caller) -> Response:
    data = await json_body(request, rt, JSON)
    created = await client_admin.create(
        rt.store, rt.box, data, _secret_min_length(rt), caller, _private_ok(rt)
    )
    return api_json(created, 201)


async def client_replace(request: Request, rt: Runtime, caller: Caller) -> Response:
    data = await json_body(request, rt, JSON)
    return api_json(
        await client_admin.replace(
            rt.store, rt.box, data, _secret_min_length(rt), caller, _private_ok(rt)
        )
    )


async def client_patch(request: Request, rt: Runtime, caller: Caller) -> Response:
    inum = request.path_params["inum"]
    await client_admin.get(rt.store, inum)  # 404 before reading the body
    patch = await json_body(request, rt, JSON_PATCH)
    return api_json(
        await client_admin.patch(
            rt.store, rt.box, inum, patch, _secret_min_length(rt), caller, _private_ok(rt)
        )
    )


def _private_ok(rt: Runtime) -> bool:
    """Whether a client's jwksUri may name a private address (configapi/outbound.py)."""
    return bool(rt.config()["outboundAllowPrivateNetworks"])


async def client_delete(request: Request, rt: Runtime, caller: Caller) -> Response:
    if not await client_admin.delete_client(
        rt.store, request.path_params["inum"], f"admin:{caller.client_id}"
    ):
        raise not_found(f"no client {request.path_params['inum']}")
    return no_content()


# -- scopes ---------------------------------------------------------------------------------
SCOPE_FIELDS = ("inum", "id", "displayName", "scopeType", "defaultScope")


async def _scope(rt: Runtime, inum: str) -> Any:
    for scope in await rt.store.list_scopes():
        if scope.inum == inum:
            return scope
    raise not_found(f"no scope {inum}")


async def scope_list(request: Request, rt: Runtime, _: Caller) -> Response:
    params = query(request)
    paging = parse_paging(params, sort_default="inum", sortable=SCOPE_FIELDS, fields=SCOPE_FIELDS)
    scope_type = params.get("type") or ""
    items = [
        scope_admin.scope_json(s)
        for s in await rt.store.list_scopes()
        if not scope_type or s.scope_type.value == scope_type
    ]
    return api_json(page_in_memory(items, paging, ("id", "displayName", "description")))


async def scope_get(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(scope_admin.scope_json(await _scope(rt, request.path_params["inum"])))


async def scope_by_type(request: Request, rt: Runtime, _: Caller) -> Response:
    kind = request.path_params["type"]
    return api_json(
        [
            scope_admin.scope_json(s)
            for s in await rt.store.list_scopes()
            if s.scope_type.value == kind
        ]
    )


async def scope_create(request: Request, rt: Runtime, _: Caller) -> Response:
    data = await json_body(request, rt, JSON)
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "inum"}
    scope = scope_admin.scope_from_json(data, None)
    await rt.store.save_scope(scope)
    return api_json(scope_admin.scope_json(scope), 201)


async def scope_replace(request: Request, rt: Runtime, _: Caller) -> Response:
    data = await json_body(request, rt, JSON)
    inum = body_inum(data)
    scope = scope_admin.scope_from_json(data, await _scope(rt, inum))
    await rt.store.save_scope(scope)
    return api_json(scope_admin.scope_json(scope))


async def scope_patch(request: Request, rt: Runtime, _: Caller) -> Response:
    existing = await _scope(rt, request.path_params["inum"])
    patch = await json_body(request, rt, JSON_PATCH)
    document = config_admin.apply_json_patch(scope_admin.patch_base(existing), patch)
    if document.get("inum") != existing.inum:
        raise bad_request("inum cannot be changed")
    scope = scope_admin.scope_from_json(document, existing)
    await rt.store.save_scope(scope)
    return api_json(scope_admin.scope_json(scope))


async def scope_delete(request: Request, rt: Runtime, _: Caller) -> Response:
    if not await rt.store.delete_scope(request.path_params["inum"]):
        raise not_found(f"no scope {request.path_params['inum']}")
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
    return api_json(list(cfg["featureFlags"]))


# -- scripts --------------------------------------------------------------------------------
SCRIPT_FIELDS = ("inum", "name", "scriptType", "level", "enabled")


async def _script(rt: Runtime, key: str, by: str = "inum") -> Any:
    for script in await rt.store.list_scripts():
        if getattr(script, by) == key:
            return script
    raise not_found(f"no script with {by} {key}")


async def script_list(request: Request, rt: Runtime, _: Caller) -> Response:
    kind = request.path_params.get("type")
    paging = parse_paging(
        query(request), sort_default="inum", sortable=SCRIPT_FIELDS, fields=SCRIPT_FIELDS
    )
    items = [
        script_admin.script_json(s)
        for s in await rt.store.list_scripts()
        if kind is None or s.script_type == kind
    ]
    return api_json(page_in_memory(items, paging, ("name", "description", "scriptType")))


async def script_get(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(script_admin.script_json(await _script(rt, request.path_params["inum"])))


async def script_by_name(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(
        script_admin.script_json(await _script(rt, request.path_params["name"], "name"))
    )


async def script_types(request: Request, rt: Runtime, _: Caller) -> Response:
    return api_json(list(script_admin.SCRIPT_TYPES))


async def _unique_name(rt: Runtime, script: Any) -> None:
    if any(s.name == script.name and s.inum != script.inum for s in await rt.store.list_scripts()):
        raise ApiError(409, f"a script named {script.name!r} already exists")


async def script_create(request: Request, rt: Runtime, _: Caller) -> Response:
    data = await json_body(request, rt, JSON)
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in ("inum", "revision")}
    script = await _validated_script(data, None)
    await _unique_name(rt, script)
    saved = await rt.store.save_script(script)
    return api_json(script_admin.script_json(saved), 201)


async def _validated_script(data: Any, base: ScriptDefinition | None) -> ScriptDefinition:
    # Validation runs the script in a throwaway worker process: off the event loop.
    return await asyncio.to_thread(script_admin.script_from_json, data, base)


async def script_replace(request: Request, rt: Runtime, _: Caller) -> Response:
    data = await json_body(request, rt, JSON)
    inum = body_inum(data)
    script = await _validated_script(data, await _script(rt, inum))
    await _unique_name(rt, script)
    return api_json(script_admin.script_json(await rt.store.save_script(script)))


async def script_patch(request: Request, rt: Runtime, _: Caller) -> Response:
    existing = await _script(rt, request.path_params["inum"])
    patch = await json_body(request, rt, JSON_PATCH)
    document = config_admin.apply_json_patch(script_admin.script_json(existing), patch)
    if document.get("inum") != existing.inum:
        raise bad_request("inum cannot be changed")
    script = await _validated_script(document, existing)
    await _unique_name(rt, script)
    return api_json(
        script_admin.script_json(await rt.store.save_script(dataclasses.replace(script)))
    )


async def script_delete(request: Request, rt: Runtime, _: Caller) -> Response:
    if not await rt.store.delete_script(request.path_params["inum"]):
        raise not_found(f"no script {request.path_params['inum']}")
    return no_content()


# -- the table ------------------------------------------------------------------------------
T_TOKEN, T_CLIENT, T_SCOPE = "Token", "OAuth - OpenID Connect - Clients", "OAuth - Scopes"
T_PROPS, T_SCRIPT = "Configuration \u2013 Properties", "Custom Scripts"
T_HEALTH, T_PLUGIN, T_ATTR = "Health - Check", "Plugins", "Attribute"
T_ACRS = "Default Authentication Method"
T_JWKS = "Configuration \u2013 JWK - JSON Web Key (JWK)"
T_LOGGING = "Configuration \u2013 Logging"
PAGING: tuple[tuple[str, str, Any], ...] = (
    ("limit", "integer", 50),
    ("pattern", "string", ""),
    ("startIndex", "integer", 0),
    ("sortBy", "string", "inum"),
    ("sortOrder", "string", "ascending"),
    ("fieldValuePair", "string", ""),
)
TOKEN_PAGING = tuple((n, t, "tknCde" if n == "sortBy" else d) for n, t, d in PAGING)
S = security
_AUDITED = {T_CLIENT: audit.CLIENT, T_SCOPE: audit.SCOPE, T_PROPS: audit.PROPERTIES,
            T_LOGGING: audit.PROPERTIES, T_SCRIPT: audit.SCRIPT}  # fmt: skip

OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        f"{API}/token/client/{{clientId}}",
        "get-token-by-client",
        "Get token details by client.",
        T_TOKEN,
        S.TOKEN_READ,
        token_by_client,
        response="TokenEntityPagedResult",
        query=TOKEN_PAGING,
    ),
    Operation(
        "GET",
        f"{API}/token/tknCde/{{tknCde}}",
        "get-token-by-id",
        "Get token details by Id.",
        T_TOKEN,
        S.TOKEN_READ,
        token_by_code,
        response="TokenEntity",
    ),
    Operation(
        "DELETE",
        f"{API}/token/revoke/{{tknCde}}",
        "revoke-token",
        "Revoke client token.",
        T_TOKEN,
        S.TOKEN_DELETE,
        token_revoke,
        status=204,
    ),
    Operation(
        "POST",
        f"{API}/token/revoke/user/{{userId}}",
        "revoke-user-tokens",
        "Revoke every token and session of a user, across all clients (tokenrevoke "
        "extension; the config API side of global token revocation). userId: inum or uid.",
        T_TOKEN,
        S.TOKEN_DELETE,
        token_revoke_user,
        response="UserTokenRevocation",
        errors=(401, 403, 404, 500),
    ),
    Operation(
        "GET",
        f"{API}/token/search",
        "search-token",
        "Search tokens",
        T_TOKEN,
        S.TOKEN_READ,
        token_search,
        response="TokenEntityPagedResult",
        query=TOKEN_PAGING,
    ),
    Operation(
        "GET",
        f"{API}/openid/clients",
        "get-oauth-openid-clients",
        "Gets list of OpenID Connect clients",
        T_CLIENT,
        S.CLIENT_READ,
        client_list,
        response="PagedResult",
        query=PAGING,
    ),
    Operation(
        "PUT",
        f"{API}/openid/clients",
        "put-oauth-openid-client",
        "Update OpenId Connect client",
        T_CLIENT,
        S.CLIENT_WRITE,
        client_replace,
        request="Client",
        response="Client",
    ),
    Operation(
        "POST",
        f"{API}/openid/clients",
        "post-oauth-openid-client",
        "Create new OpenId Connect client",
        T_CLIENT,
        S.CLIENT_WRITE,
        client_create,
        request="Client",
        response="Client",
        status=201,
    ),
    Operation(
        "GET",
        f"{API}/openid/clients/{{inum}}",
        "get-oauth-openid-clients-by-inum",
        "Get OpenId Connect Client by Inum",
        T_CLIENT,
        S.CLIENT_GET,
        client_get,
        response="Client",
    ),
    Operation(
        "DELETE",
        f"{API}/openid/clients/{{inum}}",
        "delete-oauth-openid-client-by-inum",
        "Delete OpenId Connect client",
        T_CLIENT,
        S.CLIENT_DELETE,
        client_delete,
        status=204,
    ),
    Operation(
        "PATCH",
        f"{API}/openid/clients/{{inum}}",
        "patch-oauth-openid-client-by-inum",
        "Patch OpenId Connect client",
        T_CLIENT,
        S.CLIENT_WRITE,
        client_patch,
        request="JsonPatchArray",
        request_type=JSON_PATCH,
        response="Client",
    ),
    Operation(
        "GET",
        f"{API}/scopes",
        "get-oauth-scopes",
        "Gets list of Scopes",
        T_SCOPE,
        S.SCOPE_READ,
        scope_list,
        response="PagedResult",
        query=(("type", "string", ""), *PAGING),
    ),
    Operation(
        "PUT",
        f"{API}/scopes",
        "put-oauth-scopes",
        "Update Scope",
        T_SCOPE,
        S.SCOPE_WRITE,
        scope_replace,
        request="Scope",
        response="Scope",
    ),
    Operation(
        "POST",
        f"{API}/scopes",
        "post-oauth-scopes",
        "Create Scope",
        T_SCOPE,
        S.SCOPE_WRITE,
        scope_create,
        request="Scope",
        response="Scope",
        status=201,
    ),
    Operation(
        "GET",
        f"{API}/scopes/{{inum}}",
        "get-oauth-scopes-by-inum",
        "Get Scope by Inum",
        T_SCOPE,
        S.SCOPE_READ,
        scope_get,
        response="Scope",
    ),
    Operation(
        "DELETE",
        f"{API}/scopes/{{inum}}",
        "delete-oauth-scopes-by-inum",
        "Delete Scope",
        T_SCOPE,
        S.SCOPE_DELETE,
        scope_delete,
        status=204,
    ),
    Operation(
        "PATCH",
        f"{API}/scopes/{{inum}}",
        "patch-oauth-scopes-by-id",
        "Patch Scope",
        T_SCOPE,
        S.SCOPE_WRITE,
        scope_patch,
        request="JsonPatchArray",
        request_type=JSON_PATCH,
        response="Scope",
    ),
    Operation(
        "GET",
        f"{API}/scopes/type/{{type}}",
        "get-scope-by-type",
        "Get Scope by type",
        T_SCOPE,
        S.SCOPE_READ,
        scope_by_type,
        response="ScopeList",
    ),
    Operation(
        "GET",
        f"{API}/jans-auth-server/config",
        "get-properties",
        "Gets all Jans authorization server configuration properties.",
        T_PROPS,
        S.PROPERTIES_READ,
        properties_get,
        response="AppConfiguration",
    ),
    Operation(
        "PATCH",
        f"{API}/jans-auth-server/config",
        "patch-properties",
        "Partially modifies Jans authorization server Application configuration properties.",
        T_PROPS,
        S.PROPERTIES_WRITE,
        properties_patch,
        request="JsonPatchArray",
        request_type=JSON_PATCH,
        response="AppConfiguration",
    ),
    Operation(
        "GET",
        f"{API}/jans-auth-server/config/feature-flags",
        "get-feature-flag-type",
        "Returns feature flags type configured for Jans authorization server.",
        T_PROPS,
        S.PROPERTIES_READ,
        feature_flags,
        response="StringList",
    ),
    Operation(
        "GET",
        f"{API}/jans-auth-server/config/persistence",
        "get-properties-persistence",
        "Returns persistence type configured for Jans authorization server.",
        T_PROPS,
        S.PROPERTIES_READ,
        persistence_get,
        response="PersistenceConfiguration",
    ),
    Operation(
        "GET",
        f"{API}/logging",
        "get-config-logging",
        "Returns Jans Authorization Server logging settings",
        T_LOGGING,
        S.LOGGING_READ,
        logging_get,
        response="Logging",
    ),
    Operation(
        "PUT",
        f"{API}/logging",
        "put-config-logging",
        "Updates Jans Authorization Server logging settings",
        T_LOGGING,
        S.LOGGING_WRITE,
        logging_put,
        request="Logging",
        response="Logging",
    ),
    Operation(
        "GET",
        f"{API}/health",
        "get-config-health",
        "Returns application health status",
        T_HEALTH,
        S.PUBLIC,
        health,
        response="HealthStatusList",
        errors=(500, 503),
    ),
    Operation(
        "GET",
        f"{API}/health/live",
        "get-config-health-live",
        "Returns application liveness status",
        T_HEALTH,
        S.PUBLIC,
        health_live,
        response="Status",
        errors=(500,),
    ),
    Operation(
        "GET",
        f"{API}/health/ready",
        "get-config-health-ready",
        "Returns application readiness status",
        T_HEALTH,
        S.PUBLIC,
        health_ready,
        response="Status",
        errors=(500, 503),
    ),
    Operation(
        "GET",
        f"{API}/health/app-version",
        "get-app-version",
        "Returns application version",
        T_HEALTH,
        S.APP_VERSION_READ,
        app_version,
        response="JsonNode",
        query=(("artifact", "string", "all"),),
        errors=(401, 403, 500),
    ),
    Operation(
        "GET",
        f"{API}/health/server-stat",
        "get-server-stat",
        "Returns application server status",
        T_HEALTH,
        S.APP_VERSION_READ,
        server_stat,
        response="StatsData",
        errors=(401, 403, 500),
    ),
    Operation(
        "GET",
        f"{API}/plugin",
        "get-plugins",
        "Gets list of Plugins",
        T_PLUGIN,
        S.PLUGIN_READ,
        plugins,
        response="PluginConfList",
        errors=(401, 403, 500),
    ),
    Operation(
        "GET",
        f"{API}/plugin/{{pluginName}}",
        "get-plugin-by-name",
        "Check if plugin is deployed",
        T_PLUGIN,
        S.PLUGIN_READ,
        plugin_by_name,
        response="Boolean",
        errors=(401, 403, 500),
    ),
    Operation(
        "GET",
        f"{API}/attributes",
        "get-attributes",
        "Gets a list of Jans attributes.",
        T_ATTR,
        S.ATTRIBUTE_READ,
        attributes,
        response="PagedResult",
        query=(("status", "string", "all"), *PAGING),
    ),
    Operation(
        "GET",
        f"{API}/acrs",
        "get-acrs",
        "Gets default authentication method.",
        T_ACRS,
        S.ACRS_READ,
        acrs,
        response="AuthenticationMethod",
        errors=(401, 403, 500),
    ),
    Operation(
        "GET",
        f"{API}/config/jwks",
        "get-config-jwks",
        "Gets list of JSON Web Key (JWK) used by server",
        T_JWKS,
        S.JWKS_READ,
        config_jwks,
        response="WebKeysConfiguration",
        errors=(401, 403, 500),
    ),
    Operation(
        "GET",
        f"{API}/config/scripts",
        "get-config-scripts",
        "Gets a list of custom scripts",
        T_SCRIPT,
        S.SCRIPT_READ,
        script_list,
        response="PagedResult",
        query=PAGING,
    ),
    Operation(
        "PUT",
        f"{API}/config/scripts",
        "put-config-scripts",
        "Updates a custom script",
        T_SCRIPT,
        S.SCRIPT_WRITE,
        script_replace,
        request="CustomScript",
        response="CustomScript",
    ),
    Operation(
        "POST",
        f"{API}/config/scripts",
        "post-config-scripts",
        "Adds a new custom script",
        T_SCRIPT,
        S.SCRIPT_WRITE,
        script_create,
        request="CustomScript",
        response="CustomScript",
        status=201,
    ),
    Operation(
        "DELETE",
        f"{API}/config/scripts/{{inum}}",
        "delete-config-scripts-by-inum",
        "Deletes a custom script",
        T_SCRIPT,
        S.SCRIPT_DELETE,
        script_delete,
        status=204,
    ),
    Operation(
        "PATCH",
        f"{API}/config/scripts/{{inum}}",
        "patch-config-scripts-by-inum",
        "Patches a custom script",
        T_SCRIPT,
        S.SCRIPT_WRITE,
        script_patch,
        request="JsonPatchArray",
        request_type=JSON_PATCH,
        response="CustomScript",
    ),
    Operation(
        "GET",
        f"{API}/config/scripts/inum/{{inum}}",
        "get-config-scripts-by-inum",
        "Gets a script by Inum",
        T_SCRIPT,
        S.SCRIPT_READ,
        script_get,
        response="CustomScript",
    ),
    Operation(
        "GET",
        f"{API}/config/scripts/name/{{name}}",
        "get-custom-script-by-name",
        "Fetch custom script by name",
        T_SCRIPT,
        S.SCRIPT_READ,
        script_by_name,
        response="CustomScript",
    ),
    Operation(
        "GET",
        f"{API}/config/scripts/types",
        "get-custom-script-type",
        "Fetch custom script types",
        T_SCRIPT,
        S.SCRIPT_READ,
        script_types,
        response="StringList",
    ),
    Operation(
        "GET",
        f"{API}/config/scripts/script-types",
        "get-custom-script-types",
        "Fetch custom script types",
        T_SCRIPT,
        S.SCRIPT_READ,
        script_types,
        response="StringList",
    ),
    Operation(
        "GET",
        f"{API}/config/scripts/type/{{type}}",
        "get-config-scripts-by-type",
        "Gets list of scripts by type",
        T_SCRIPT,
        S.SCRIPT_READ,
        script_list,
        response="PagedResult",
        query=PAGING,
    ),
]


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
