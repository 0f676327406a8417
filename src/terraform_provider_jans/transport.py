"""HTTP/1.1 with keep-alive on the standard library: one connection per thread.

Terraform starts the provider process several times per command, so its start-up time
counts; `http.client` costs nothing to import (httpx pulls in a CLI toolkit). Proxies
from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`) are honoured.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlencode, urlsplit


class TransportError(Exception):
    """The request did not get an HTTP response (connection, timeout, TLS)."""

    def __init__(self, message: str, *, tls: bool = False) -> None:
        super().__init__(message)
        self.tls = tls


@dataclass(frozen=True)
class Response:
    status_code: int
    reason: str
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)


_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class Transport:
    def __init__(self, base_url: str, *, verify: ssl.SSLContext | bool, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        if verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif verify is True:
            context = ssl.create_default_context()
        else:
            context = verify
        self.context = context
        self.proxy = self._proxy(parts.scheme)
        self._local = threading.local()

    def _proxy(self, scheme: str) -> tuple[str, int] | None:
        proxies = urllib.request.getproxies_environment()
        url = proxies.get(scheme)
        if not url or urllib.request.proxy_bypass(self.host):
            return None
        parts = urlsplit(url if "://" in url else "http://" + url)
        return (parts.hostname or "", parts.port or 80)

    def _connect(self) -> http.client.HTTPConnection:
        if self.proxy is not None:
            host, port = self.proxy
        else:
            host, port = self.host, self.port
        conn: http.client.HTTPConnection
        if self.https:
            conn = http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=self.context
            )
            if self.proxy is not None:
                conn.set_tunnel(self.host, self.port)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        return conn

    def _target(self, path: str, params: Mapping[str, str | int] | None) -> str:
        target = self.prefix + path
        if params:
            target += "?" + urlencode({k: str(v) for k, v in params.items()})
        if self.proxy is not None and not self.https:
            target = f"http://{self.host}:{self.port}{target}"
        return target

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        target = self._target(path, params)
        send_headers = {"Host": self._host_header(), **(headers or {})}
        if body is not None:
            send_headers["Content-Length"] = str(len(body))
        for attempt in range(2):
            conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
            reused = conn is not None
            if conn is None:
                conn = self._connect()
                self._local.conn = conn
            try:
                conn.request(method, target, body=body, headers=send_headers)
                response = conn.getresponse()
                data = response.read()
            except _STALE as exc:
                self.close_thread()
                if reused and attempt == 0:
                    continue  # the server closed an idle keep-alive connection
                raise TransportError(f"{type(exc).__name__}: {exc}") from None
            except ssl.SSLError as exc:
                self.close_thread()
                raise TransportError(f"{type(exc).__name__}: {exc}", tls=True) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close_thread()
                raise TransportError(f"{type(exc).__name__}: {exc}") from None
            if response.will_close:
                self.close_thread()
            return Response(response.status, response.reason, response.headers, data)
        raise AssertionError("unreachable")  # pragma: no cover

    def _host_header(self) -> str:
        default = 443 if self.https else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    def close_thread(self) -> None:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()
