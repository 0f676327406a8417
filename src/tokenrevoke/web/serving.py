"""Running the ASGI app on uvicorn (httptools, uvloop), with optional TLS and workers."""

from __future__ import annotations

import os
import shutil
import tempfile

import orjson
import uvicorn

from tokenrevoke.observability.logs import configure_logging
from tokenrevoke.observability.metrics import MULTIPROCESS_ENV
from tokenrevoke.settings import Settings
from tokenrevoke.web.app import create_app
from tokenrevoke.web.hotpath import HotPathApp
from tokenrevoke.web.protocol import ConnectionLimits, HttpProtocol
from tokenrevoke.web.tls import ssl_context_factory

_ENV = "TOKENREVOKE_SETTINGS_JSON"


def app_from_env() -> HotPathApp:
    """Factory for worker processes: the parent passes its settings through the env."""
    settings = settings_from_json(os.environ[_ENV])
    configure_logging(settings.log_level, settings.log_format)  # a worker starts bare
    return create_app(settings)


def settings_to_json(settings: Settings) -> str:
    data = {f: getattr(settings, f) for f in Settings.__dataclass_fields__}
    return orjson.dumps(data, default=str).decode()


def settings_from_json(text: str) -> Settings:
    from pathlib import Path

    data = orjson.loads(text)
    for name in ("data_dir", "tls_cert", "tls_key", "tls_client_ca"):
        if data.get(name) is not None:
            data[name] = Path(data[name])
    return Settings(**data)


class ServerConfig(uvicorn.Config):
    """uvicorn's config, carrying our protocol's limits (pickled with it into workers)."""

    connection_limits = ConnectionLimits()


def run(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)
    os.environ[_ENV] = settings_to_json(settings)
    tls: dict[str, object] = {}
    if settings.tls_cert:
        tls = {
            "ssl_certfile": str(settings.tls_cert),
            "ssl_keyfile": str(settings.tls_key) if settings.tls_key else None,
            "ssl_context_factory": ssl_context_factory(
                str(settings.tls_client_ca) if settings.tls_client_ca else None
            ),
        }
    config = ServerConfig(
        "tokenrevoke.web.serving:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http=HttpProtocol,
        loop="uvloop",
        log_level=settings.log_level,
        log_config=None,  # uvicorn's loggers propagate to ours (observability/logs.py)
        access_log=False,  # ours (web/observe.py) has the request id and no query string
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=settings.keep_alive_timeout,  # type: ignore[arg-type]
        **tls,  # type: ignore[arg-type]
    )
    config.connection_limits = ConnectionLimits(
        settings.request_read_timeout, settings.max_connections
    )
    server = uvicorn.Server(config)
    if settings.workers > 1:
        from uvicorn.supervisors import Multiprocess

        sock = config.bind_socket()
        # Workers are spawned afresh, so prometheus_client in each sees this and keeps
        # its values in files there, which /metrics adds up (observability/metrics.py).
        own_dir = not os.environ.get(MULTIPROCESS_ENV)
        if own_dir:
            os.environ[MULTIPROCESS_ENV] = tempfile.mkdtemp(prefix="tokenrevoke-metrics-")
        try:
            # uvicorn's supervisor builds each worker's server from the config itself.
            Multiprocess(config, sockets=[sock]).run()
        finally:
            if own_dir:
                shutil.rmtree(os.environ.pop(MULTIPROCESS_ENV), ignore_errors=True)
    else:
        server.run()
