"""The ASGI application: routes, CORS, lifecycle of the runtime."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from typing import cast

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tokenrevoke.model import AppConfiguration, AuthMethod, Client
from tokenrevoke.oauth.client_auth import jwks_certificates
from tokenrevoke.oauth.status_lists import STATUS_LIST_AGGREGATION_PATH, STATUS_LIST_PATH
from tokenrevoke.paths import (
    AUTH,
    CONFIG_API,
    END_SESSION_PATH,
    GLOBAL_TOKEN_REVOCATION_PATH,
    REVOKE_SESSION_PATH,
)
from tokenrevoke.runtime import Runtime
from tokenrevoke.settings import Settings
from tokenrevoke.web import auth_handlers, configapi_app, logout, signin, status_routes
from tokenrevoke.web.auth_openapi import auth_openapi_document
from tokenrevoke.web.cors import CorsMiddleware
from tokenrevoke.web.hotpath import HotPathApp, starlette_routes
from tokenrevoke.web.observe import ObservedApp
from tokenrevoke.web.openapi import docs_page, openapi_document
from tokenrevoke.web.responses import json_response
from tokenrevoke.web.sse import end_streams_on_exit
from tokenrevoke.web.tls import trust_self_signed


def create_app(settings: Settings) -> HotPathApp:
    """The auth server's hot endpoints (hotpath.py) in front of the Starlette app for the
    rest, which runs inside the per-request observation (request id, metrics, access log)."""
    holder: dict[str, Runtime] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await Runtime.open(settings)
        if settings.tls_cert:
            runtime.client_listeners.append(trust_registered_certificates)
        await runtime.start()
        # What exists now (modules, the app, the runtime) lives as long as the process:
        # out of the collector's sight, a full collection costs ~0.5 ms instead of ~30 ms.
        # Under a write load requests live long enough to reach the oldest generation,
        # so full collections ran every ~0.5 s and each stopped every request in flight
        # (the writes' p99: docs/benchmarks.md).
        gc.collect()
        gc.freeze()
        end_streams_on_exit(runtime.event_feed.close)
        app.state.runtime = runtime
        holder["runtime"] = runtime
        try:
            yield
        finally:
            await runtime.close()

    def config_provider() -> AppConfiguration:
        return holder["runtime"].config()

    def runtime_provider() -> Runtime:
        return holder["runtime"]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        error = "not_found" if exc.status_code == 404 else "invalid_request"
        return json_response({"error": error, "error_description": exc.detail}, exc.status_code)

    async def openapi_json(request: Request) -> Response:
        return json_response(openapi_document(settings.base_url))

    async def auth_openapi_json(request: Request) -> Response:
        return json_response(auth_openapi_document(settings.base_url))

    async def openapi_docs(request: Request) -> Response:
        return HTMLResponse(docs_page())

    starlette = Starlette(
        routes=[
            *starlette_routes(),  # the hot endpoints' table (hotpath.py)
            Route(
                GLOBAL_TOKEN_REVOCATION_PATH,
                auth_handlers.global_token_revocation,
                methods=["POST"],
            ),
            Route(f"{AUTH}/authorize", signin.authorize, methods=["GET", "POST"]),
            Route(signin.SIGN_IN_PATH, signin.sign_in, methods=["POST"]),
            Route(f"{AUTH}/userinfo", auth_handlers.userinfo, methods=["GET", "POST"]),
            Route(f"{AUTH}/jwks", auth_handlers.jwks, methods=["GET"]),
            Route(END_SESSION_PATH, logout.end_session, methods=["GET", "POST"]),
            Route(REVOKE_SESSION_PATH, logout.revoke_session, methods=["POST"]),
            Route(f"{AUTH}/revocation-events", auth_handlers.revocation_events, methods=["GET"]),
            Route(STATUS_LIST_PATH, status_routes.status_list, methods=["GET"]),
            Route(f"{STATUS_LIST_PATH}/{{list_id}}", status_routes.status_list, methods=["GET"]),
            Route(
                STATUS_LIST_AGGREGATION_PATH,
                status_routes.status_list_aggregation,
                methods=["GET"],
            ),
            Route("/.well-known/openid-configuration", auth_handlers.discovery, methods=["GET"]),
            Route(
                "/jans-auth/.well-known/openid-configuration",
                auth_handlers.discovery,
                methods=["GET"],
            ),
            Route(
                "/.well-known/oauth-authorization-server",
                auth_handlers.authorization_server_metadata,
                methods=["GET"],
            ),
            Route(
                "/.well-known/oauth-authorization-server/{suffix:path}",
                auth_handlers.authorization_server_metadata,
                methods=["GET"],
            ),
            Route("/health/live", auth_handlers.live, methods=["GET"]),
            Route("/health/ready", auth_handlers.ready, methods=["GET"]),
            Route(f"{AUTH}/openapi.json", auth_openapi_json, methods=["GET"]),
            Route("/metrics", auth_handlers.metrics, methods=["GET"]),
            Route(f"{CONFIG_API}/openapi.json", openapi_json, methods=["GET"]),
            Route(f"{CONFIG_API}/docs", openapi_docs, methods=["GET"]),
            *configapi_app.routes(),
        ],
        middleware=[Middleware(CorsMiddleware, config=config_provider)],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    observed = ObservedApp(starlette, log_requests=settings.access_log)
    return HotPathApp(observed, runtime_provider, config_provider, log_requests=settings.access_log)


def starlette_of(app: HotPathApp) -> Starlette:
    """The Starlette app inside what `create_app` returns (for its lifespan, in tests and
    the in-process benchmark)."""
    observed = cast(ObservedApp, app.app)
    return cast(Starlette, observed.app)


def trust_registered_certificates(clients: list[Client]) -> None:
    trust_self_signed(
        der
        for client in clients
        if client.auth_method is AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH and not client.disabled
        for der in jwks_certificates(client.jwks)
    )
