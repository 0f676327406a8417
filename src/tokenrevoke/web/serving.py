"""Running the ASGI app on uvicorn (httptools, uvloop), with optional TLS and workers."""

from __future__ import annotations

import logging
import os

import orjson
import uvicorn

from tokenrevoke.settings import Settings
from tokenrevoke.web.app import create_app
from tokenrevoke.web.hotpath import HotPathApp
from tokenrevoke.web.tls import TlsAwareHttpToolsProtocol, ssl_context_factory

_ENV = "TOKENREVOKE_SETTINGS_JSON"


def app_from_env() -> HotPathApp:
    """Factory for worker processes: the parent passes its settings through the env."""
    return create_app(settings_from_json(os.environ[_ENV]))


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


def run(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
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
    config = uvicorn.Config(
        "tokenrevoke.web.serving:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http=TlsAwareHttpToolsProtocol,
        loop="uvloop",
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        **tls,  # type: ignore[arg-type]
    )
    server = uvicorn.Server(config)
    if settings.workers > 1:
        from uvicorn.supervisors import Multiprocess

        sock = config.bind_socket()
        # uvicorn's supervisor builds each worker's server from the config itself.
        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run()
