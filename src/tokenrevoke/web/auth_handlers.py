"""The auth server's endpoint handlers (the config API's are in configapi_handlers.py).
Each handler: parse, call one service, render."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope

from tokenrevoke.model import Client
from tokenrevoke.oauth.client_auth import require_client
from tokenrevoke.oauth.discovery import discovery_document
from tokenrevoke.oauth.errors import OAuthError, access_denied, invalid_request, unavailable
from tokenrevoke.observability.metrics import exposition, store_unavailable
from tokenrevoke.runtime import Runtime
from tokenrevoke.store import StoreUnavailable, UnstorableText
from tokenrevoke.web.requests import (
    authorization_header,
    json_oauth_request,
    loggable_path,
    may_read_metrics,
    oauth_request,
)
from tokenrevoke.web.responses import (
    INTROSPECTION_JWT,
    empty_response,
    error_response,
    json_response,
    no_content,
)
from tokenrevoke.web.sse import event_stream_response

log = logging.getLogger("tokenrevoke.web")

Handler = Callable[[Request], Awaitable[Response]]


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def shaped_error(exc: Exception, runtime: Runtime, scope: Scope) -> Response:
    """A failure as the client sees it: OAuthError as is, a store outage as 503, and
    anything unexpected as a bare 500 (logged, never a stack trace on the wire)."""
    if isinstance(exc, OAuthError):
        return error_response(exc, runtime.config().error_reason_enabled)
    if isinstance(exc, ClientDisconnect):  # gone, or cut off (web/protocol.py): no error
        return error_response(invalid_request("the request was not received whole"), False)
    if isinstance(exc, UnstorableText):  # a NUL the store cannot hold (PostgreSQL)
        return error_response(invalid_request("a parameter holds a NUL character"), False)
    if isinstance(exc, StoreUnavailable):
        store_unavailable("auth_server")
        log.error("store unavailable on %s: %s", loggable_path(scope), exc)
        return error_response(unavailable(), False)
    log.error("unexpected error on %s", loggable_path(scope), exc_info=exc)
    failure = OAuthError(500, "server_error", "the server could not complete the request")
    return error_response(failure, False)


def guarded(handler: Handler) -> Handler:
    """Every failure of a Starlette-routed handler becomes a shaped error."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as exc:
            return shaped_error(exc, runtime_of(request), request.scope)

    wrapper.__name__ = handler.__name__
    return wrapper


def narrow_cors(scope: Scope, client: Client) -> None:
    """Let the CORS middleware narrow the allowed origins to the identified client's
    `authorizedOrigins` (empty: the global filter applies)."""
    scope.setdefault("state", {})["cors_origins"] = list(client.authorized_origins)


# -- the hot endpoints: plain ASGI in, a response out (served by web/hotpath.py) ---------
async def token(runtime: Runtime, scope: Scope, receive: Receive) -> Response:
    oauth = await oauth_request(scope, receive, runtime.settings)
    auth = require_client(await runtime.authenticator.authenticate(oauth), oauth)
    narrow_cors(scope, auth.client)
    return json_response(await runtime.tokens.issue(auth, oauth))


async def revoke(runtime: Runtime, scope: Scope, receive: Receive) -> Response:
    oauth = await oauth_request(scope, receive, runtime.settings)
    # Authenticated first, so that CORS is narrowed to the client's origins for the
    # revocation's errors too.
    auth = await runtime.revocation.authenticate(oauth)
    narrow_cors(scope, auth.client)
    outcome = await runtime.revocation.revoke(oauth, auth)
    return empty_response(outcome.headers)


async def introspect(runtime: Runtime, scope: Scope, receive: Receive) -> Response:
    oauth = await oauth_request(scope, receive, runtime.settings)
    claims, as_jwt = await runtime.introspection.introspect(oauth)
    if as_jwt is not None:
        # RFC 9701 section 5's media type, as Janssen answers it.
        return Response(as_jwt, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"},
                        media_type=INTROSPECTION_JWT)  # fmt: skip
    return json_response(claims)


# -- the other auth-server endpoints, routed by Starlette --------------------------------
@guarded
async def global_token_revocation(request: Request) -> Response:
    runtime = runtime_of(request)
    oauth, document = await json_oauth_request(request, runtime.settings)
    await runtime.global_revocation.revoke(oauth, document)
    return no_content()  # only after every revocation has committed


@guarded
async def revocation_events(request: Request) -> Response:
    """The SSE stream of revocation events (docs/events.md)."""
    runtime = runtime_of(request)
    stream = await runtime.event_stream.open(
        authorization_header(request), request.headers.get("last-event-id")
    )
    return event_stream_response(stream)


@guarded
async def userinfo(request: Request) -> Response:
    """OpenID Connect Core 5.3, GET or POST (oauth/userinfo.py)."""
    runtime = runtime_of(request)
    oauth = await oauth_request(request.scope, request.receive, runtime.settings)
    if request.method == "GET" and "access_token" in oauth.params:
        # RFC 9700 section 4.3.2: never in a URL (logs, history, Referer).
        raise invalid_request("send the access token in the Authorization header, not the URL")
    return json_response(await runtime.userinfo.claims(oauth))


@guarded
async def jwks(request: Request) -> Response:
    return json_response(runtime_of(request).keys.jwks())


@guarded
async def discovery(request: Request) -> Response:
    runtime = runtime_of(request)
    return json_response(discovery_document(runtime.config(), runtime.scopes))


@guarded
async def authorization_server_metadata(request: Request) -> Response:
    """RFC 8414 section 3: the same document at `/.well-known/oauth-authorization-server`,
    followed by the issuer's path when it has one (section 3.1)."""
    runtime = runtime_of(request)
    cfg = runtime.config()
    suffix = request.path_params.get("suffix")
    if suffix is not None and "/" + suffix.strip("/") != urlsplit(cfg.issuer).path.rstrip("/"):
        return json_response(
            {"error": "not_found", "error_description": "no authorization server metadata here"},
            404,
        )
    return json_response(discovery_document(cfg, runtime.scopes))


@guarded
async def live(request: Request) -> Response:
    return json_response({"status": "ok"})


@guarded
async def ready(request: Request) -> Response:
    await runtime_of(request).store.revisions()  # raises StoreUnavailable -> 503
    return json_response({"status": "ready"})


@guarded
async def metrics(request: Request) -> Response:
    if not may_read_metrics(request, runtime_of(request).settings):
        raise access_denied("metrics are not available to this address")
    body, content_type = exposition()
    return Response(body, 200, {"Cache-Control": "no-store"}, media_type=content_type)
