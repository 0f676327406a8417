"""Running the ASGI app on uvicorn (httptools, uvloop), with optional TLS and workers."""

from __future__ import annotations

import http.client
import logging
import os
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable

import orjson
import uvicorn

from tokenrevoke.observability.logs import configure_logging
from tokenrevoke.observability.metrics import MULTIPROCESS_ENV
from tokenrevoke.settings import Settings
from tokenrevoke.startup import bind_socket, debugging
from tokenrevoke.web.app import create_app
from tokenrevoke.web.hotpath import HotPathApp
from tokenrevoke.web.protocol import ConnectionLimits, HttpProtocol
from tokenrevoke.web.tls import ssl_context_factory

_ENV = "TOKENREVOKE_SETTINGS_JSON"


def app_from_env() -> HotPathApp:
    """Factory for worker processes: the parent passes its settings through the env."""
    settings = settings_from_json(os.environ[_ENV])
    configure_logging(settings.log_level, settings.log_format)  # a worker starts bare
    _quiet_startup_tracebacks()
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


class _TracebackToLastLine(logging.Filter):
    """uvicorn logs a failed application start-up as the traceback's text: keep its last
    line (the exception), unless --debug (docs/cli.md, *Errors*)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Traceback (most recent call last)"):
            last = message.rstrip().rsplit("\n", 1)[-1]
            record.msg, record.args = f"{last} (--debug shows the traceback)", None
        return True


def _quiet_startup_tracebacks() -> None:
    if not debugging():
        logging.getLogger("uvicorn.error").addFilter(_TracebackToLastLine())


class _LiveWatcher(threading.Thread):
    """Calls `on_live` once the server answers /health/live on its socket: what the
    operator is told (the admin secret among it) comes after the start succeeded."""

    def __init__(self, settings: Settings, on_live: Callable[[], None]) -> None:
        super().__init__(name="tokenrevoke-live-watcher", daemon=True)
        wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104
        host = wildcard.get(settings.host, settings.host)
        self.address = (host, settings.port)
        self.tls = settings.tls_cert is not None
        self.on_live = on_live
        self.went_live = False
        self.stopped = threading.Event()

    def _answers(self) -> bool:
        connection: http.client.HTTPConnection
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # our own socket: only "does it answer?"
            connection = http.client.HTTPSConnection(*self.address, timeout=1, context=context)
        else:
            connection = http.client.HTTPConnection(*self.address, timeout=1)
        try:
            connection.request("GET", "/health/live")
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            if self._answers():
                self.went_live = True
                self.on_live()
                return


def run(
    settings: Settings,
    sock: socket.socket | None = None,
    on_live: Callable[[], None] | None = None,
) -> bool:
    """Serve on `sock` (bound here if not given) until told to stop. Returns whether the
    server came up (for one worker: its start-up succeeded; else: it answered)."""
    configure_logging(settings.log_level, settings.log_format)
    _quiet_startup_tracebacks()
    sock = sock or bind_socket(settings)
    watcher = _LiveWatcher(settings, on_live or (lambda: None))
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
    watcher.start()
    try:
        if settings.workers > 1:
            _run_workers(config, sock)
        else:
            server.run(sockets=[sock])
    finally:
        watcher.stopped.set()
        watcher.join(timeout=2)  # an announcement under way is finished first
    return watcher.went_live or (settings.workers == 1 and server.started)


def _run_workers(config: uvicorn.Config, sock: socket.socket) -> None:
    from uvicorn.supervisors import Multiprocess

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
