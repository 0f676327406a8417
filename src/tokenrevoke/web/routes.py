"""The auth-server endpoints. Each handler: parse, call one service, render."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from tokenrevoke.model import Client
from tokenrevoke.oauth.client_auth import require_client
from tokenrevoke.oauth.discovery import discovery_document
from tokenrevoke.oauth.errors import OAuthError, access_denied, unavailable
from tokenrevoke.observability.metrics import exposition, store_unavailable
from tokenrevoke.runtime import Runtime
from tokenrevoke.store import StoreUnavailable
from tokenrevoke.web.requests import (
    authorization_header,
    json_oauth_request,
    loggable_path,
    may_read_metrics,
    oauth_request,
)
from tokenrevoke.web.responses import empty_response, error_response, json_response, no_content
from tokenrevoke.web.sse import event_stream_response

log = logging.getLogger("tokenrevoke.web")

Handler = Callable[[Request], Awaitable[Response]]


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def guarded(handler: Handler) -> Handler:
    """Every failure becomes a shaped error: OAuthError as is, a store outage as 503, and
    anything unexpected as a bare 500 (logged, never a stack trace on the wire)."""

    async def wrapper(request: Request) -> Response:
        runtime = runtime_of(request)
        try:
            return await handler(request)
        except OAuthError as error:
            return error_response(error, runtime.config()["errorReasonEnabled"])
        except StoreUnavailable as exc:
            store_unavailable("auth_server")
            log.error("store unavailable on %s: %s", loggable_path(request.scope), exc)
            return error_response(unavailable(), False)
        except Exception:
            log.exception("unexpected error on %s", loggable_path(request.scope))
            failure = OAuthError(500, "server_error", "the server could not complete the request")
            return error_response(failure, False)

    wrapper.__name__ = handler.__name__
    return wrapper


def narrow_cors(request: Request) -> Callable[[Client], None]:
    """Let the CORS middleware narrow the allowed origins to the identified client's
    `authorizedOrigins` (empty: the global filter applies)."""

    def narrow(client: Client) -> None:
        request.scope.setdefault("state", {})["cors_origins"] = list(client.authorized_origins)

    return narrow


@guarded
async def token(request: Request) -> Response:
    runtime = runtime_of(request)
    oauth = await oauth_request(request, runtime.settings)
    auth = require_client(await runtime.authenticator.authenticate(oauth))
    narrow_cors(request)(auth.client)
    return json_response(await runtime.tokens.issue(auth, oauth))


@guarded
async def revoke(request: Request) -> Response:
    runtime = runtime_of(request)
    oauth = await oauth_request(request, runtime.settings)
    outcome = await runtime.revocation.revoke(oauth, narrow_cors(request))
    return empty_response(outcome.headers)


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
async def introspect(request: Request) -> Response:
    runtime = runtime_of(request)
    oauth = await oauth_request(request, runtime.settings)
    claims, as_jwt = await runtime.introspection.introspect(oauth)
    if as_jwt is not None:
        return Response(as_jwt, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"},
                        media_type="application/jwt")  # fmt: skip
    return json_response(claims)


@guarded
async def jwks(request: Request) -> Response:
    return json_response(runtime_of(request).keys.jwks())


@guarded
async def discovery(request: Request) -> Response:
    runtime = runtime_of(request)
    return json_response(discovery_document(runtime.config(), runtime.scopes))


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
